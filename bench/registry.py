"""Lookups per second of the hub's schema registry (POST /subjects/{s} of a registered schema).

Starts a registry in-process against the broker at HUB_BOOTSTRAP_SERVERS (fresh topic), registers
one schema, then a concurrent httpx client (own process, so client and server each get a core)
sends a bounded number of lookups; where `wrk` is installed (apt-get install wrk), it measures
the same lookups with it too, a client light enough not to starve the server of its core.
Prints one JSON object.

    .venv/bin/python bench/registry.py [--requests 4000] [--concurrency 8] [--clients 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import shutil
import tempfile
import time
import uuid
from typing import Any

import httpx

SUBJECT = "bench.registry.lookup-value"
SCHEMA = {
    "type": "record",
    "name": "Lookup",
    "namespace": "de.hamm.bench",
    "fields": [{"name": f"f{i}", "type": "string", "doc": f"field {i}"} for i in range(12)],
}
BODY = json.dumps({"schema": json.dumps(SCHEMA)}).encode()
HEADERS = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


async def _load(url: str, requests: int, concurrency: int) -> dict:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=HEADERS) as client:
        counter = iter(range(min(requests, 200)))
        failures = 0

        async def worker() -> None:
            nonlocal failures
            for _ in counter:
                response = await client.post(f"/subjects/{SUBJECT}", content=BODY)
                failures += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(min(concurrency, 4))))  # warm up
        counter = iter(range(requests))
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"requests": requests, "seconds": round(elapsed, 3), "failures": failures}


def _run(coroutine: Any) -> Any:
    """asyncio.run, on uvloop where it is installed (faster for both client and server)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _client_process(url: str, requests: int, concurrency: int, out: multiprocessing.Queue) -> None:
    out.put(_run(_load(url, requests, concurrency)))


async def main(requests: int, concurrency: int, clients: int) -> dict:
    from hub.registry.server import RegistryServer

    bootstrap = os.environ.get("HUB_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    topic = f"bench._schemas.{uuid.uuid4().hex[:8]}"
    async with RegistryServer(bootstrap, topic=topic, port=0) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=HEADERS) as client:
            started = time.perf_counter()
            response = await client.post(f"/subjects/{SUBJECT}/versions", content=BODY)
            register_ms = (time.perf_counter() - started) * 1000
            response.raise_for_status()
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        processes = [
            context.Process(
                target=_client_process, args=(server.url, requests // clients, concurrency, queue)
            )
            for _ in range(clients)
        ]
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        for process in processes:
            process.start()
        results = [await asyncio.to_thread(queue.get, True, 120) for _ in processes]
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        for process in processes:
            process.join(timeout=10)
        measured_by_wrk = await _wrk(server.url) if shutil.which("wrk") else None
    done = sum(r["requests"] for r in results)
    cpu_seconds = (
        cpu_after.ru_utime - cpu_before.ru_utime + cpu_after.ru_stime - cpu_before.ru_stime
    )
    server_us = cpu_seconds / (done + 200 * clients) * 1e6
    return {
        "benchmark": "registry",
        "register_ms": round(register_ms, 1),
        "lookups": done,
        "client_processes": clients,
        "concurrency_per_client": concurrency,
        "failures": sum(r["failures"] for r in results),
        "lookups_per_s": round(done / max(r["seconds"] for r in results)),
        "target_per_s": 1000,
        # CPU the registry process spent per lookup (client warm-up requests included), and
        # what that allows on one core: the httpx clients, not the server, are usually the limit.
        "server_cpu_us_per_lookup": round(server_us),
        "server_capacity_per_core_per_s": round(1e6 / server_us),
        # The same lookups from wrk (C, from Debian's packages) where it is installed: a client
        # that costs the server's core little shows what the registry itself serves.
        "wrk": measured_by_wrk,
    }


async def _wrk(url: str, seconds: int = 5, connections: int = 8) -> dict:
    body = BODY.decode().replace("]]", "] ]")  # a Lua long string must not close early
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f'wrk.method = "POST"\nwrk.body = [[{body}]]\n'
            f'wrk.headers["Content-Type"] = "{HEADERS["Content-Type"]}"\n'
        )
    proc = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "-s",
        script.name,
        "--latency",
        f"{url}/subjects/{SUBJECT}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    os.unlink(script.name)
    text = out.decode()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "lookups_per_s": round(float(rate.group(1))) if rate else None,
        "p99_ms": round(float(p99.group(1)) * factor[p99.group(2)], 2) if p99 else None,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "connections": connections,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8, help="connections per client")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    args = parser.parse_args()
    print(json.dumps(_run(main(args.requests, args.concurrency, args.clients))))
