"""Deliveries per second through the HTTP pull API (pages of ``limit``, read_committed).

Writes ``--deliveries`` delivery-shaped records to a fresh delivery topic the way the router
does (transactions, the agreement's derived schema registered under ``<topic>-value``, the
router's headers), then runs the pull API in-process under uvicorn on a free port against the
broker at HUB_BOOTSTRAP_SERVERS, with a registry of its own in a thread (``RegistryThread`` on
a fresh ``_schemas`` topic) unless HUB_REGISTRY_URL is set. A client process (so client and
service each get a core) pages through the topic from the start with ``--clients`` independent
cursors, parsing every batch, until each has seen every delivery. Also measures the service's
CPU per delivery without HTTP or Kafka (decode, CloudEvent, JSON). Prints one JSON object.

    .venv/bin/python bench/subscribers_pull.py [--deliveries 100000] [--limit 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from _topics import removed_afterwards

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# Benchmarks run as the local super user (hub-admin, .hub/credentials): authenticated, no ACL setup.
os.environ.setdefault("HUB_KAFKA_USERNAME", "hub-admin")
os.environ.setdefault("HUB_ROUTER_APPLY_ACCESS", "false")
os.environ["HUB_CREDENTIALS_DIR"] = os.path.abspath(
    os.environ.get("HUB_CREDENTIALS_DIR", ".hub/credentials")
)

SECRET = b"bench-master-secret-0123456789abcdef"
TARGET_PER_S = 10_000
SOURCE_SCHEMA = "buergeramt.resident.moved"


def _agreement_yaml(agreement_id: str, source: str) -> str:
    # the Statistikstelle's sample agreement, on a source of the bench's own
    return (
        f"id: {agreement_id}\nsubscriber: statistikstelle\nsource: {source}\n"
        "purpose: Kommunale Wanderungsstatistik\nlegal_basis: '§ 4 Abs. 1 StatG NRW'\n"
        "valid_until: 2099-12-31\n"
        "fields:\n  resident_id: pseudonymize\n  moved_at: {truncate: month}\n"
        "  birth_date: {age_band: [0, 18, 30, 45, 65]}\n"
        "  old_address.postcode: {postcode_prefix: 3}\n  new_address.postcode: {postcode_prefix: 3}\n"
        "  residence_type: keep\n"
    )


def _resident(i: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID(int=i)),
        "occurred_at": dt.datetime(2026, 11, 25, 8, 30, tzinfo=dt.UTC),
        "resident_id": f"R-{i}",
        "moved_at": dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.UTC),
        "birth_date": dt.date(1950 + i % 60, 5, 17),
        "old_address": {"street": "A", "house_number": "1", "postcode": "59063", "city": "Hamm"},
        "new_address": {"street": "B", "house_number": "2", "postcode": "59077", "city": "Hamm"},
        "residence_type": "MAIN",
    }


def _source_record(schema: dict[str, Any], i: int) -> dict[str, Any]:
    """A valid source record: the fields the agreement reads, defaults for the others."""
    record = _resident(i)
    for field in schema["fields"]:
        if field["name"] not in record:
            record[field["name"]] = field.get("default")
    return record


async def write_deliveries(
    bootstrap: str, registry_url: str, catalog_dir: Path, count: int, partitions: int
) -> tuple[Any, int, list[tuple[bytes | None, bytes, list]]]:
    """A fresh agreement with ``count`` committed deliveries; (agreement, schema id, a sample
    of the written records for the CPU figure)."""
    from aiokafka import AIOKafkaProducer

    from hub.agreements.compile import compile_agreement
    from hub.agreements.model import load_agreement
    from hub.kafka import KafkaSecurity
    from hub.schemas.catalog import load_catalog
    from hub.serde import AvroSerde, RegistryClient
    from hub.topics import TopicSpec, ensure_topics

    dept = "bench" + uuid.uuid4().hex[:8]
    source = f"{dept}.resident.moved"
    agreement_id = f"{dept}-statistik"
    (catalog_dir / "agreements").mkdir(parents=True)
    path = catalog_dir / "agreements" / f"{agreement_id}.yaml"
    path.write_text(_agreement_yaml(agreement_id, source))
    agreement = load_agreement(path)
    schema = load_catalog(REPO / "schemas")[SOURCE_SCHEMA].latest.schema
    compiled = compile_agreement(agreement, schema, SECRET)
    with RegistryClient(registry_url) as client:
        schema_id = client.register(f"{agreement.topic}-value", compiled.output_schema)
    await ensure_topics(bootstrap, [TopicSpec(agreement.topic, partitions=partitions)])
    serde = AvroSerde()
    serde.add_schema(schema_id, compiled.output_schema)
    security = KafkaSecurity.from_settings()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"{dept}-bench-writer",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=512 * 1024,
        **security.aiokafka(),
    )
    await producer.start()
    sample = []
    try:
        per_transaction = 5000  # the router commits batches of this order
        for start in range(0, count, per_transaction):
            await producer.begin_transaction()
            futures = []
            for i in range(start, min(count, start + per_transaction)):
                key, value = compiled.transform(f"R-{i}", _source_record(schema, i))
                headers = [
                    ("ce_specversion", b"1.0"),
                    ("ce_id", str(uuid.UUID(int=i)).encode()),
                    ("ce_source", b"/hamm/buergeramt/bench"),
                    ("ce_type", b"de.hamm.buergeramt.resident.moved"),
                    ("ce_time", b"2026-11-25T08:30:00Z"),
                    ("content-type", b"application/avro"),
                    ("ce_hubagreement", agreement_id.encode()),
                    ("ce_hubdelivery", f"{agreement_id}/{source}/0/{i}".encode()),
                ]
                data = serde.encode(schema_id, value)
                raw_key = key.encode() if key else None
                if len(sample) < 2000:
                    sample.append((raw_key, data, headers))
                futures.append(
                    await producer.send(agreement.topic, data, key=raw_key, headers=headers)
                )
            await asyncio.gather(*futures)
            await producer.commit_transaction()
    finally:
        await producer.stop()
    return agreement, schema_id, sample


def cpu_us_per_delivery(agreement: Any, schema_id: int, schema: dict, sample: list) -> float:
    """The service's own work per delivery without HTTP or Kafka: decode, event, JSON."""
    from consumers.deliveries.encoding import batch, cloudevent
    from hub.serde import AvroSerde

    serde = AvroSerde()
    serde.add_schema(schema_id, schema)
    rounds = 5
    started = time.process_time()
    for _ in range(rounds):
        events = [
            cloudevent(agreement.id, agreement.topic, 0, i, key, headers, serde.decode(value))
            for i, (key, value, headers) in enumerate(sample)
        ]
        batch(events)
    return (time.process_time() - started) / (rounds * len(sample)) * 1e6


async def _pull(url: str, token: str, path: str, limit: int, expected: int, clients: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    sizes: list[int] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        # warm up: the service's consumers, metadata and the schema (then start from scratch)
        (await client.get(path, params={"limit": "1"})).raise_for_status()

        async def one_client() -> int:
            cursor = None
            seen = 0
            empty = 0
            while seen < expected and empty < 20:
                params = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
                started = time.perf_counter()
                response = await client.get(path, params=params)
                events = orjson.loads(response.content)  # a client reads what it pulls
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                cursor = response.headers["hub-next-cursor"]
                seen += len(events)
                sizes.append(len(response.content))
                empty = 0 if events else empty + 1
            return seen

        started = time.perf_counter()
        seen = await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "seen": seen, "seconds": elapsed, "sizes": sizes}


def _client_process(args: tuple, out: Any) -> None:
    try:
        out.put(asyncio.run(_pull(*args)))
    except Exception as exc:  # the parent must not wait for a result that never comes
        out.put({"error": repr(exc)})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def bench_pull(
    bootstrap: str | None = None,
    registry_url: str | None = None,
    *,
    deliveries: int = 100_000,
    limit: int = 1000,
    partitions: int = 3,
    clients: int = 1,
    consumers: int = 4,
) -> dict:
    """Write ``deliveries``, serve the pull API, page through them; the figures as a dict."""
    import uvicorn

    from consumers.deliveries.app import create_app
    from consumers.deliveries.catalog import load_pull_catalog
    from consumers.deliveries.cursor import CursorCodec
    from consumers.deliveries.pull import Puller
    from consumers.deliveries.reader import DeliveryReader
    from hub.kafka import KafkaSecurity
    from hub.registry.server import RegistryThread
    from hub.serde import AsyncRegistryClient
    from producers.gateway.departments import hash_token

    bootstrap = bootstrap or os.environ.get("HUB_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    registry_url = registry_url or os.environ.get("HUB_REGISTRY_URL")
    token = "hub_bench-" + uuid.uuid4().hex
    with contextlib.ExitStack() as stack:
        if not registry_url:
            thread = RegistryThread(bootstrap, topic=f"_schemas-bench-{uuid.uuid4().hex[:8]}")
            registry_url = stack.enter_context(thread).url
        catalog_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        written = time.perf_counter()
        agreement, schema_id, sample = await write_deliveries(
            bootstrap, registry_url, catalog_dir, deliveries, partitions
        )
        write_seconds = time.perf_counter() - written
        (catalog_dir / "departments.yaml").write_text(
            f"departments: {{}}\nsubscribers:\n  statistikstelle:\n"
            f"    pull_tokens: ['{hash_token(token)}']\n"
        )
        security = KafkaSecurity.from_settings()
        reader = DeliveryReader(bootstrap, security, consumers=consumers)
        registry = AsyncRegistryClient(registry_url)
        puller = Puller(reader, registry, CursorCodec.from_master_secret(SECRET))
        app = create_app(
            puller,
            load_pull_catalog(catalog_dir),
            schemas_dir=REPO / "schemas",
            manage_lifecycle=True,
        )
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        )
        server_task = asyncio.create_task(server.serve())
        while not server.started:
            if server_task.done():
                return {"benchmark": "subscribers_pull", "error": repr(server_task.exception())}
            await asyncio.sleep(0.01)
        process_cpu = time.process_time()
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        path = f"/v1/deliveries/{agreement.id}"
        process = context.Process(
            target=_client_process,
            args=((f"http://127.0.0.1:{port}", token, path, limit, deliveries, clients), queue),
        )
        process.start()
        result = await asyncio.to_thread(queue.get, True, 600)
        process.join(timeout=10)
        service_cpu = time.process_time() - process_cpu
        server.should_exit = True
        await server_task
        from hub.agreements.compile import compile_agreement
        from hub.schemas.catalog import load_catalog

        schema = load_catalog(REPO / "schemas")[SOURCE_SCHEMA].latest.schema
        output = compile_agreement(agreement, schema, SECRET).output_schema
        cpu = cpu_us_per_delivery(agreement, schema_id, output, sample)
    if "error" in result:
        return {"benchmark": "subscribers_pull", "error": result["error"]}
    latencies = sorted(result["latencies"])
    requests = len(latencies)
    total = sum(result["seen"])
    return {
        "benchmark": "subscribers_pull",
        "deliveries": deliveries,
        "partitions": partitions,
        "limit": limit,
        "clients": clients,
        "pulled": total,
        "complete": all(seen == deliveries for seen in result["seen"]),
        "requests": requests,
        "seconds": round(result["seconds"], 2),
        "deliveries_per_s": round(total / result["seconds"]),
        "target_deliveries_per_s": TARGET_PER_S,
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "latency_ms_p99": round(latencies[min(requests - 1, int(requests * 0.99))] * 1000, 1),
        "bytes_per_delivery": round(sum(result["sizes"]) / max(1, total)),
        "service_cpu_us_per_delivery": round(service_cpu / max(1, total) * 1e6, 1),
        "encode_cpu_us_per_delivery": round(cpu, 1),
        "write_seconds": round(write_seconds, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--clients", type=int, default=1, help="independent cursors at once")
    parser.add_argument("--consumers", type=int, default=4, help="the service's Kafka consumers")
    args = parser.parse_args()
    with removed_afterwards():
        figures = asyncio.run(
            bench_pull(
                deliveries=args.deliveries,
                limit=args.limit,
                partitions=args.partitions,
                clients=args.clients,
                consumers=args.consumers,
            )
        )
    print(json.dumps(figures))
