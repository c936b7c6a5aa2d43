"""Events per second through the HTTP ingest gateway (batches of 100, acknowledged by Kafka).

Runs the gateway in-process under uvicorn on a free port against the broker at
HUB_BOOTSTRAP_SERVERS, with a registry of its own in a thread (``RegistryThread`` on a fresh
``_schemas`` topic) unless HUB_REGISTRY_URL is set. A client process (so client and gateway each
get a core) posts batches with concurrent connections for a few seconds and measures each
request's latency. Prints one JSON object.

    .venv/bin/python bench/gateway.py [--seconds 5] [--concurrency 8] [--batch 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from _topics import removed_afterwards

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# Benchmarks run as the local super user (hub-admin, .hub/credentials): authenticated, no ACL setup.
os.environ.setdefault("HUB_KAFKA_USERNAME", "hub-admin")
os.environ.setdefault("HUB_ROUTER_APPLY_ACCESS", "false")
os.environ["HUB_CREDENTIALS_DIR"] = os.path.abspath(
    os.environ.get("HUB_CREDENTIALS_DIR", ".hub/credentials")
)
SCHEMA = REPO / "schemas" / "ordnungsamt" / "parking-violation.recorded" / "v1.avsc"


def _event(i: int) -> dict[str, Any]:
    return {
        "violation_id": f"OWI-{i}",
        "occurred_at": "2026-11-25T09:30:00+01:00",
        "licence_plate": f"HAM-AB {i % 9999}",
        "violation_type": "NO_PARKING_ZONE",
        "location": {"lat": 51.68, "lon": 7.82},
        "street": "Bahnhofstraße",
        "postcode": "59065",
        "fine_eur": 55,
        "officer_id": "OD-7",
        "obstruction": False,
    }


async def _load(
    url: str, token: str, topic: str, seconds: float, concurrency: int, batch: int
) -> dict:
    body = json.dumps([_event(i) for i in range(batch)]).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers, timeout=60) as c:
        path = f"/v1/topics/{topic}/events"
        for _ in range(3):  # warm up: schema fetch, connections, producer metadata
            (await c.post(path, content=body)).raise_for_status()
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await c.post(path, content=body)
                latencies.append(time.perf_counter() - started)
                failures += response.status_code != 201

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "failures": failures, "seconds": elapsed}


def _client_process(url: str, token: str, topic: str, args: tuple, out: Any) -> None:
    try:
        out.put(asyncio.run(_load(url, token, topic, *args)))
    except Exception as exc:  # the parent must not wait for a result that never comes
        out.put({"error": repr(exc)})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main(seconds: float, concurrency: int, batch: int) -> dict:
    import uvicorn

    from hub.registry.server import RegistryThread
    from hub.schemas.catalog import standalone_schema
    from hub.serde import RegistryClient
    from hub.topics import ensure_topics
    from producers.gateway.app import create_app
    from producers.gateway.departments import hash_token, parse_departments
    from producers.sdk import Publisher

    token = "hub_bench-" + uuid.uuid4().hex
    bootstrap = os.environ.get("HUB_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    registry_url = os.environ.get("HUB_REGISTRY_URL")
    with contextlib.ExitStack() as stack:
        if not registry_url:
            thread = RegistryThread(bootstrap, topic=f"_schemas-bench-{uuid.uuid4().hex[:8]}")
            registry_url = stack.enter_context(thread).url
        department = "bench" + uuid.uuid4().hex[:8]
        topic = f"{department}.parking-violation.recorded"
        with RegistryClient(registry_url) as client:
            client.register(f"{topic}-value", standalone_schema(SCHEMA))
        await ensure_topics(bootstrap, [topic])
        departments = parse_departments(
            {
                "departments": {
                    department: {
                        "tokens": [hash_token(token)],
                        "rate_limit": {"events_per_second": 1e9, "burst": 10**9},
                    }
                }
            }
        )
        publisher = Publisher(
            source="/hamm/hub/bench", bootstrap_servers=bootstrap, registry_url=registry_url
        )
        app = create_app(publisher, departments, manage_lifecycle=True)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        )
        server_task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        process = context.Process(
            target=_client_process,
            args=(f"http://127.0.0.1:{port}", token, topic, (seconds, concurrency, batch), queue),
        )
        process.start()
        result = await asyncio.to_thread(queue.get, True, seconds + 120)
        process.join(timeout=10)
        server.should_exit = True  # graceful: lifespan shutdown flushes and stops the publisher
        await server_task
    if "error" in result:
        return {"benchmark": "gateway", "error": result["error"]}
    latencies = sorted(result["latencies"])
    requests = len(latencies)
    return {
        "benchmark": "gateway",
        "batch_size": batch,
        "concurrency": concurrency,
        "seconds": round(result["seconds"], 2),
        "requests": requests,
        "failures": result["failures"],
        "events_per_s": round(requests * batch / result["seconds"]),
        "target_events_per_s": 2000,
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "latency_ms_p99": round(latencies[min(requests - 1, int(requests * 0.99))] * 1000, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent connections")
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    args = parser.parse_args()
    with removed_afterwards():
        print(json.dumps(asyncio.run(main(args.seconds, args.concurrency, args.batch))))
