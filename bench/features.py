"""Benchmark of the feature pipeline. Prints one JSON object.

    .venv/bin/python bench/features.py [--events 100000] [--kafka-events 50000] [--lookups 2000]

- ``core``: delivered records (already decoded) → ``extract`` → ``Aggregator.add`` → windows
  closed by ``advance`` and gated by k, for the shipped noise-complaint view (hourly windows,
  k = 5, 40 postcodes); and the same with Avro decoding of each Confluent-framed record first,
  with the native decoder (``hub_core.Decoder``, the pipeline's default where installed) and
  with fastavro alone (``*_fastavro``), best of 3 rounds each.
- ``kafka``: the whole path on the local broker: a backlog of delivery records (encoded with
  the hub's serde, schema in a registry of our own) read by ``FeaturePipeline`` in batches,
  aggregated, and committed in transactions with the changelog and the offsets. Timed from the
  first batch to the last commit (group join and restore are start-up, reported apart).
  The same backlog is read twice, by fresh groups: native decode, then fastavro (``fastavro``).
- ``online``: Feast ``get_online_features`` for one entity of one view, SQLite online store.

Needs the broker (``hub broker start``) for ``kafka``; ``--skip-kafka`` leaves it out.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# Benchmarks run as the local super user (hub-admin, .hub/credentials): authenticated, no ACL setup.
os.environ.setdefault("HUB_KAFKA_USERNAME", "hub-admin")
os.environ.setdefault("HUB_ROUTER_APPLY_ACCESS", "false")
os.environ["HUB_CREDENTIALS_DIR"] = os.path.abspath(
    os.environ.get("HUB_CREDENTIALS_DIR", ".hub/credentials")
)

from _topics import removed_afterwards

from consumers.features import kgate
from consumers.features.binding import load_feature_catalog
from consumers.features.views import build_runtime

REPO = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
VIEW = "noise_complaints_hourly"


def _records(n: int) -> list[dict[str, Any]]:
    # 40 postcodes, 2000 people, one event every 50 ms of event time (72 000 an hour)
    return [
        {
            "occurred_at": T0 + dt.timedelta(milliseconds=50 * i),
            "postcode": f"590{60 + i % 40}",
            "noise_source": "TRAFFIC",
            "night_time": i % 3 == 0,
            "complainant_name": f"pseudonym-{i % 2000:05d}",
        }
        for i in range(n)
    ]


def _catalog():
    return load_feature_catalog(
        REPO / "catalog" / "features", REPO / "catalog" / "agreements", REPO / "schemas"
    )


def bench_core(n: int) -> dict[str, Any]:
    from hub.serde import AvroSerde, parse

    view = _catalog().view(VIEW)
    records = _records(n)
    runtime = build_runtime(view)
    extract, agg = runtime.extract, runtime.aggregator
    started = time.perf_counter()
    for r in records:
        agg.add(extract(None, r))
    published, suppressed = kgate.gate(agg.advance(10**15), agg.k)
    core_s = time.perf_counter() - started

    from hub.agreements import compile_agreement
    from hub.schemas.catalog import load_catalog

    schemas = {t: s.latest.schema for t, s in load_catalog(REPO / "schemas").items()}
    schema = compile_agreement(
        view.agreement, schemas[view.agreement.source], b"b" * 32
    ).output_schema
    frames = AvroSerde()
    frames.add_schema(1, parse(schema))
    encoded = [frames.encode(1, r) for r in records]

    def timed(native: bool) -> tuple[float, float]:
        """(decode and aggregate, decode alone) seconds, the best of 3 rounds each."""
        serde = AvroSerde(native=native)
        serde.add_schema(1, parse(schema))
        both = alone = float("inf")
        for _ in range(3):
            runtime = build_runtime(view)
            extract, agg, decode = runtime.extract, runtime.aggregator, serde.decode
            started = time.perf_counter()
            for data in encoded:
                agg.add(extract(None, decode(data)))
            agg.advance(10**15)
            both = min(both, time.perf_counter() - started)
            started = time.perf_counter()
            for data in encoded:
                decode(data)
            alone = min(alone, time.perf_counter() - started)
        return both, alone

    native_s, native_decode_s = timed(True)
    fastavro_s, fastavro_decode_s = timed(False)
    return {
        "events": n,
        "aggregate_events_per_s": round(n / core_s),
        "aggregate_us_per_event": round(core_s / n * 1e6, 2),
        "native_decode": AvroSerde(native=True).native,
        "decode_and_aggregate_events_per_s": round(n / native_s),
        "decode_and_aggregate_events_per_s_fastavro": round(n / fastavro_s),
        "decode_us_per_event": round(native_decode_s / n * 1e6, 2),
        "decode_us_per_event_fastavro": round(fastavro_decode_s / n * 1e6, 2),
        "windows_published": len(published),
        "windows_suppressed": len(suppressed),
    }


async def _kafka(n: int, bootstrap: str, registry_url: str) -> dict[str, Any]:
    uid = uuid.uuid4().hex[:8]
    root = Path(tempfile.mkdtemp(prefix="bench-features-"))
    try:
        return await _kafka_in(root, uid, n, bootstrap, registry_url)
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def _kafka_in(
    root: Path, uid: str, n: int, bootstrap: str, registry_url: str
) -> dict[str, Any]:
    from confluent_kafka import Producer

    from hub.agreements import compile_agreement, load_agreement
    from hub.kafka import KafkaSecurity
    from hub.schemas.catalog import load_catalog
    from hub.serde import AvroSerde, RegistryClient
    from hub.topics import TopicSpec, ensure_topics

    (root / "agreements").mkdir()
    (root / "features").mkdir()
    topic = f"bench.deliver.ki-featurestore.{uid}"
    text = (REPO / "catalog" / "agreements" / "ki-featurestore-noise-complaints.yaml").read_text()
    text = text.replace(
        "id: ki-featurestore-noise-complaints",
        f"id: ki-featurestore-bench-{uid}\ndelivery_topic: {topic}",
    )
    (root / "agreements" / "bench.yaml").write_text(text)
    view = (REPO / "catalog" / "features" / f"{VIEW}.yaml").read_text()
    view = view.replace(
        "agreement: ki-featurestore-noise-complaints", f"agreement: ki-featurestore-bench-{uid}"
    )
    (root / "features" / "bench.yaml").write_text(view)

    schemas = {t: s.latest.schema for t, s in load_catalog(REPO / "schemas").items()}
    agreement = load_agreement(root / "agreements" / "bench.yaml")
    schema = compile_agreement(agreement, schemas[agreement.source], b"b" * 32).output_schema
    with RegistryClient(registry_url) as client:
        schema_id = client.register(f"{topic}-value", schema)
    serde = AvroSerde()
    serde.add_schema(schema_id, schema)
    await ensure_topics(bootstrap, [TopicSpec(topic)])
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            **KafkaSecurity.from_settings().confluent(),
            "linger.ms": 20,
            "enable.idempotence": True,
        }
    )
    for r in _records(n):
        producer.produce(topic, serde.encode(schema_id, r), headers=[("ce_specversion", b"1.0")])
        producer.poll(0)
    producer.flush(60)

    out = await _pipeline(root, f"{uid}n", topic, n, bootstrap, registry_url, native=True)
    out["fastavro"] = await _pipeline(
        root, f"{uid}f", topic, n, bootstrap, registry_url, native=False
    )
    return out


async def _pipeline(
    root: Path, uid: str, topic: str, n: int, bootstrap: str, registry_url: str, *, native: bool
) -> dict[str, Any]:
    from consumers.features.pipeline import FeaturePipeline, PipelineConfig

    config = PipelineConfig(
        bootstrap=bootstrap,
        registry_url=registry_url,
        agreements_dir=root / "agreements",
        schemas_dir=REPO / "schemas",
        features_dir=root / "features",
        group=f"bench-features-{uid}",
        changelog_topic=f"bench.features.state.{uid}",
        output_prefix=f"bench.features.{uid}.",
        native_decode=native,
    )
    started = time.perf_counter()
    pipeline = FeaturePipeline(config)
    await pipeline.start()
    startup_s = time.perf_counter() - started
    first: list[float] = []
    handle = pipeline.handle

    async def timed(batch):  # type: ignore[no-untyped-def]
        if not first:
            first.append(time.perf_counter())
        return await handle(batch)

    pipeline.handle = timed  # type: ignore[method-assign]
    task = asyncio.create_task(pipeline.run())
    from aiokafka import TopicPartition

    tp = TopicPartition(topic, 0)
    while (await pipeline._consumer.committed(tp) or 0) < n:  # type: ignore[union-attr]
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - first[0]
    pipeline.stop()
    await task
    await pipeline.close()
    return {
        "native_decode": pipeline._serde.native,
        "events": n,
        "events_per_s": round(n / elapsed),
        "transactions": pipeline.committed_batches,
        "startup_s": round(startup_s, 2),
    }


def bench_kafka(n: int) -> dict[str, Any]:
    from hub.registry.server import RegistryThread
    from hub.settings import get_settings

    bootstrap = get_settings().bootstrap_servers
    with RegistryThread(bootstrap, topic=f"_schemas-bench-{uuid.uuid4().hex[:8]}") as registry:
        return asyncio.run(_kafka(n, bootstrap, registry.url))


def bench_online(lookups: int) -> dict[str, Any]:
    from consumers.features.feast_repo import FeastConfig

    with tempfile.TemporaryDirectory(prefix="bench-feast-") as repo:
        return _online(FeastConfig(Path(repo)), lookups)


def _online(cfg: Any, lookups: int) -> dict[str, Any]:
    from consumers.features.feast_repo import apply, push, results_frame

    catalog = _catalog()
    view = catalog.view(VIEW)
    store = apply(cfg, catalog)
    start = int(T0.timestamp() * 1000)
    rows = [
        {
            "entity": f"590{60 + i}",
            "window_start_ms": start,
            "window_end_ms": start + 3_600_000,
            "features": {"complaints": 10 + i, "night_share": 0.25, "noise_source_kinds": 2},
        }
        for i in range(40)
    ]
    push(store, view.name, results_frame(view, rows))
    features = [f"{view.name}:{a.name}" for a in view.definition.aggregations]
    timings = []
    for i in range(lookups):
        t = time.perf_counter()
        store.get_online_features(
            features=features, entity_rows=[{"postcode": f"590{60 + i % 40}"}]
        ).to_dict()
        timings.append(time.perf_counter() - t)
    timings.sort()
    return {
        "lookups": lookups,
        "p50_ms": round(statistics.median(timings) * 1000, 3),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1] * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--kafka-events", type=int, default=50_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--skip-kafka", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "benchmark": "features",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "core": bench_core(args.events),
    }
    if not args.skip_kafka:
        out["kafka"] = bench_kafka(args.kafka_events)
    out["online"] = bench_online(args.lookups)
    out["targets"] = {
        "aggregate_events_per_s_min": 10_000,
        "kafka_events_per_s_min": 10_000,
        "online_p99_ms_max": 10,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    with removed_afterwards():
        main()
