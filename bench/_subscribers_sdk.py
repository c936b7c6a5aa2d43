"""Deliveries per second the subscriber SDK decodes in one process. Prints one JSON object.

    .venv/bin/python bench/subscribers_sdk.py [--deliveries 100000] [--agreement ID]

Writes deliveries the way the router does (one sample agreement compiled against its source
schema, simulator events transformed and encoded with the derived schema, the router's headers,
one transaction per 1000 records) to a fresh delivery topic registered with that schema, so the
SDK picks the agreement's generated model. Then reads them back with ``Subscription`` (fresh
group each run, read_committed, typed records): record by record with auto-ack, and in batches
of 500 (with CPython's default collector, and tuned as the router tunes it). Timed from the
first delivery to the last (the group join is reported separately).
Also reports the CPU cost of turning one record into a typed ``Delivery`` without Kafka.
The SDK decodes with the native core (``hub_core.Decoder``) where installed; the figures
``*_fastavro`` are the same reads and the same decode with fastavro alone, in the same run.

Target (issue 11): >= 20k deliveries/s decoded in one process. Uses HUB_BOOTSTRAP_SERVERS and
starts its own registry unless HUB_REGISTRY_URL is set.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from _topics import removed_afterwards

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Benchmarks run as the local super user (hub-admin, .hub/credentials): authenticated, no ACL setup.
os.environ.setdefault("HUB_KAFKA_USERNAME", "hub-admin")
os.environ.setdefault("HUB_ROUTER_APPLY_ACCESS", "false")
os.environ["HUB_CREDENTIALS_DIR"] = os.path.abspath(
    os.environ.get("HUB_CREDENTIALS_DIR", ".hub/credentials")
)

import fastavro  # noqa: E402
from _registry import registry  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402

from consumers.subscriber import Subscription  # noqa: E402
from consumers.subscriber.delivery import build_delivery, describe_schema  # noqa: E402
from consumers.subscriber.models.generate import default_agreements_dir  # noqa: E402
from hub.agreements import compile_agreement  # noqa: E402
from hub.agreements.model import load_agreements  # noqa: E402
from hub.kafka import KafkaSecurity  # noqa: E402
from hub.schemas.catalog import default_schemas_dir, load_catalog  # noqa: E402
from hub.serde import AsyncRegistryClient, AvroSerde  # noqa: E402
from hub.serde.wire import frame  # noqa: E402
from hub.settings import get_settings  # noqa: E402
from hub.topics import ensure_topics  # noqa: E402
from producers.simulators import generate  # noqa: E402

SECRET = b"bench-master-secret-0123456789abcdef"
DEFAULT_AGREEMENT = "ordnungsamt-resident-moved"
TRANSACTION = 1000  # records a transaction, as the router's batches
TARGET = 20_000


@dataclass(frozen=True)
class Prepared:
    """Deliveries as the router writes them: (key, value, headers)."""

    agreement: str
    subscriber: str
    schema: dict[str, Any]
    records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]


def prepare(agreement_id: str, count: int, schema_id: int) -> Prepared:
    agreement = next(a for a in load_agreements(default_agreements_dir()) if a.id == agreement_id)
    source = load_catalog(default_schemas_dir())[agreement.source].latest.schema
    compiled = compile_agreement(agreement, source, SECRET)
    parsed = fastavro.parse_schema(compiled.output_schema)
    rng = random.Random(42)
    events = []
    while len(events) < min(count, 5000):  # distinct events, repeated: production is not timed
        key, record = generate(agreement.source, rng)
        if compiled.matches(record):
            events.append(compiled.transform(key, record))
    records = []
    for i in range(count):
        key, value = events[i % len(events)]
        body = BytesIO()
        fastavro.schemaless_writer(body, parsed, value)
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", uuid.uuid4().hex.encode()),
            ("ce_source", b"/hamm/bench/subscribers"),
            ("ce_type", f"de.hamm.{agreement.source}".encode()),
            ("ce_time", b"2026-11-02T10:30:00.000Z"),
            ("content-type", b"application/avro"),
            ("ce_hubagreement", agreement.id.encode()),
            ("ce_hubdelivery", f"{agreement.id}/{agreement.source}/0/{i}".encode()),
        ]
        records.append(
            (None if key is None else key.encode(), frame(schema_id, body.getvalue()), headers)
        )
    return Prepared(agreement.id, agreement.subscriber, compiled.output_schema, records)


async def write(bootstrap: str, topic: str, prepared: Prepared) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"bench-subscribers-{uuid.uuid4().hex[:8]}",
        linger_ms=5,
        max_batch_size=256 * 1024,
        **KafkaSecurity.from_settings().aiokafka(),
    )
    await producer.start()
    try:
        records = prepared.records
        for start in range(0, len(records), TRANSACTION):
            async with producer.transaction():
                futures = [
                    await producer.send(topic, value, key=key, headers=headers, partition=0)
                    for key, value, headers in records[start : start + TRANSACTION]
                ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


def decode_cost_us(prepared: Prepared, schema_id: int, native: bool = True) -> float:
    """CPU per record of the SDK's decode (schema lookup, Avro, model, headers), no Kafka:
    the best of 5 rounds (the machine is shared)."""

    @dataclass
    class Record:
        topic: str
        partition: int
        offset: int
        timestamp: int
        key: bytes | None
        value: bytes
        headers: list[tuple[str, bytes]]

    schema = describe_schema(schema_id, prepared.schema)
    serde = AvroSerde(native=native)
    serde.add_schema(schema_id, schema.parsed)
    sample = [
        Record("deliver.bench", 0, i, 0, key, value, headers)
        for i, (key, value, headers) in enumerate(prepared.records[:20_000])
    ]
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for record in sample:
            build_delivery(record, schema, serde.decode(record.value))
        best = min(best, time.process_time() - started)
    return best / len(sample) * 1e6


def avro_cost_us(prepared: Prepared, schema_id: int, native: bool) -> float:
    """CPU per record of the Avro decode alone (``AvroSerde.decode``), best of 5 rounds."""
    serde = AvroSerde(native=native)
    serde.add_schema(schema_id, prepared.schema)
    values = [value for _, value, _ in prepared.records[:20_000]]
    decode = serde.decode
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for value in values:
            decode(value)
        best = min(best, time.process_time() - started)
    return best / len(values) * 1e6


async def read(
    bootstrap: str,
    url: str,
    prepared: Prepared,
    topic: str,
    *,
    batches: bool,
    typed: bool = True,
    native: bool = True,
) -> dict[str, Any]:
    count = len(prepared.records)
    kwargs: dict[str, Any] = {"native_decode": native}
    if not typed:
        kwargs["models"] = None
    opened = time.perf_counter()
    cpu = time.process_time()
    first = None
    seen = 0
    model = None
    async with Subscription(
        prepared.subscriber,
        name=f"bench-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        bootstrap_servers=bootstrap,
        registry_url=url,
        **kwargs,
    ) as subscription:
        if batches:
            async for batch in subscription.batches(max=500, timeout=1.0):
                if first is None:
                    first = time.perf_counter()
                    model = type(batch[0].record).__name__
                seen += len(batch)
                if seen >= count:
                    break
        else:
            async for delivery in subscription:
                if first is None:
                    first = time.perf_counter()
                    model = type(delivery.record).__name__
                seen += 1
                if seen >= count:
                    break
        last = time.perf_counter()
    assert first is not None
    elapsed = last - first
    return {
        "deliveries_per_s": round((seen - 1) / elapsed) if elapsed > 0 else None,
        "seconds": round(elapsed, 3),
        "join_seconds": round(first - opened, 3),
        "cpu_us_per_delivery": round((time.process_time() - cpu) / seen * 1e6, 1),
        "record_type": model,
    }


async def bench_sdk(
    bootstrap: str, url: str, deliveries: int = 100_000, agreement: str = DEFAULT_AGREEMENT
) -> dict[str, Any]:
    """The ``sdk`` part of ``bench/subscribers.py``: one JSON-able dict of figures."""
    prepared0 = prepare(agreement, 1, 0)
    topic = f"deliver.{prepared0.subscriber}.bench{uuid.uuid4().hex[:8]}.{agreement}"
    async with AsyncRegistryClient(url) as client:
        schema_id = await client.register(f"{topic}-value", prepared0.schema)
    prepared = prepare(agreement, deliveries, schema_id)
    await ensure_topics(bootstrap, [topic])
    started = time.perf_counter()
    await write(bootstrap, topic, prepared)
    written = time.perf_counter() - started
    result: dict[str, Any] = {
        "agreement": agreement,
        "deliveries": deliveries,
        "write_seconds": round(written, 2),
        "native_decode": AvroSerde(native=True).native,
        "decode_us_per_delivery": round(decode_cost_us(prepared, schema_id), 2),
        "decode_us_per_delivery_fastavro": round(decode_cost_us(prepared, schema_id, False), 2),
        "avro_us_per_record": round(avro_cost_us(prepared, schema_id, True), 2),
        "avro_us_per_record_fastavro": round(avro_cost_us(prepared, schema_id, False), 2),
    }
    result["one_by_one"] = await read(bootstrap, url, prepared, topic, batches=False)
    result["one_by_one_fastavro"] = await read(
        bootstrap, url, prepared, topic, batches=False, native=False
    )
    result["batches_of_500"] = await read(bootstrap, url, prepared, topic, batches=True)
    result["batches_of_500_fastavro"] = await read(
        bootstrap, url, prepared, topic, batches=True, native=False
    )
    result["batches_of_500_dicts"] = await read(
        bootstrap, url, prepared, topic, batches=True, typed=False
    )
    # A long-lived batch keeps its records alive across CPython's young-generation collections;
    # a process that reads in batches at this rate tunes the collector as the router does.
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        result["batches_of_500_gc_tuned"] = await read(
            bootstrap, url, prepared, topic, batches=True
        )
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    result["sdk_deliveries_per_s"] = result["one_by_one"]["deliveries_per_s"]
    result["sdk_batch_deliveries_per_s"] = result["batches_of_500"]["deliveries_per_s"]
    result["sdk_deliveries_per_s_fastavro"] = result["one_by_one_fastavro"]["deliveries_per_s"]
    result["sdk_batch_deliveries_per_s_fastavro"] = result["batches_of_500_fastavro"][
        "deliveries_per_s"
    ]
    result["target_deliveries_per_s"] = TARGET
    result["cpus"] = os.cpu_count()
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--agreement", default=DEFAULT_AGREEMENT)
    args = parser.parse_args()
    bootstrap = get_settings().bootstrap_servers
    with registry(bootstrap) as url:
        result = asyncio.run(bench_sdk(bootstrap, url, args.deliveries, args.agreement))
    print(json.dumps(result))


if __name__ == "__main__":
    with removed_afterwards():
        main()
