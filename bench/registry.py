"""Lookups per second of the hub's schema registry (POST /subjects/{s} of a registered schema).

Starts a registry in-process against the broker at HUB_BOOTSTRAP_SERVERS (fresh topic), secured
as `hub registry serve` runs it (HTTP Basic verified against Kafka; the bench is hub-admin, its
credential from HUB_KAFKA_PASSWORD or .hub/credentials), registers one schema, then a concurrent
httpx client (own process, so client and server each get a core) sends a bounded number of
lookups; where `wrk` is installed (apt-get install wrk), it measures the same lookups with it
too, a client light enough not to starve the server of its core.
Prints one JSON object.

    .venv/bin/python bench/registry.py [--requests 4000] [--concurrency 8] [--clients 2]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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
from _topics import removed_afterwards

SUBJECT = "bench.registry.lookup-value"
SCHEMA = {
    "type": "record",
    "name": "Lookup",
    "namespace": "de.hamm.bench",
    "fields": [{"name": f"f{i}", "type": "string", "doc": f"field {i}"} for i in range(12)],
}
BODY = json.dumps({"schema": json.dumps(SCHEMA)}).encode()
HEADERS = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


async def _load(url: str, requests: int, concurrency: int, headers: dict[str, str]) -> dict:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers) as client:
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


def _client_process(
    url: str, requests: int, concurrency: int, headers: dict[str, str], out: multiprocessing.Queue
) -> None:
    out.put(_run(_load(url, requests, concurrency, headers)))


async def main(requests: int, concurrency: int, clients: int) -> dict:
    from hub.access.principals import load_principals
    from hub.kafka import KafkaSecurity
    from hub.registry.auth import authenticator_for
    from hub.registry.server import RegistryServer
    from hub.settings import get_settings

    bootstrap = os.environ.get("HUB_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    topic = f"bench._schemas.{uuid.uuid4().hex[:8]}"
    # hub-admin: the bench creates a topic of its own, which hub-registry may not.
    security = KafkaSecurity.from_settings(principal="hub-admin")
    headers = dict(HEADERS)
    if security.credentials is not None:
        headers.update(_basic(security.credentials.username, security.credentials.password))
    server = RegistryServer(
        bootstrap,
        topic=topic,
        port=0,
        security=security,
        principals=load_principals(get_settings().catalog_dir / "departments.yaml"),
        authenticator=authenticator_for(bootstrap, security),
    )
    async with server:
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
            started = time.perf_counter()
            response = await client.post(f"/subjects/{SUBJECT}/versions", content=BODY)
            register_ms = (time.perf_counter() - started) * 1000
            response.raise_for_status()
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        processes = [
            context.Process(
                target=_client_process,
                args=(server.url, requests // clients, concurrency, headers, queue),
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
        measured_by_wrk = await _wrk(server.url, headers) if shutil.which("wrk") else None
    done = sum(r["requests"] for r in results)
    cpu_seconds = (
        cpu_after.ru_utime - cpu_before.ru_utime + cpu_after.ru_stime - cpu_before.ru_stime
    )
    server_us = cpu_seconds / (done + 200 * clients) * 1e6
    return {
        "benchmark": "registry",
        "register_ms": round(register_ms, 1),
        "lookups": done,
        "authenticated": server.authenticator is not None,
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


async def _wrk(url: str, headers: dict[str, str], seconds: int = 5, connections: int = 8) -> dict:
    body = BODY.decode().replace("]]", "] ]")  # a Lua long string must not close early
    # The script holds the credential: a private temporary file (mode 0600), removed after.
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "POST"\nwrk.body = [[{body}]]\n')
        for name, value in headers.items():
            script.write(f'wrk.headers["{name}"] = "{value}"\n')
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
    with removed_afterwards():
        print(json.dumps(_run(main(args.requests, args.concurrency, args.clients))))
