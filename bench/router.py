"""Router throughput, CPU, delivery lag and memory on the local broker, for both engines in one
run. Prints one JSON object.

    .venv/bin/python bench/router.py [--events 100000] [--lag-seconds 20] [--rss-events 1000000]
                                     [--engines native,python]

1. passthrough: consume → produce of the same bytes, one transaction a batch (the floor any
   router pays: fetch, send, commit), with aiokafka and with confluent-kafka (librdkafka);
2. router, per engine (the native core; `native-python-produce`: the core with its deliveries
   produced through Python; the Python engine), on a topic of its own: the same
   events through the router with 3 agreements on the topic (decode once, 3 × filter/transform/
   encode, 3 deliveries an event, audit, one transaction a batch); events/s and the CPU the
   router process spends an event (getrusage, its threads included; routing processes, which
   only the Python engine uses, are counted apart);
3. lag: `hub router run` as its own process; events produced at half the engine's measured
   rate; a read_committed subscriber measures event time (ce_time) → the moment it can read
   the delivery; beside it, the same for the confluent-kafka passthrough in a process of its
   own at the first engine's half rate (the floor of consume → produce → commit → read on
   this machine); deliveries of events sent in the first second are a warm-up, reported apart
   (``warmup_max_ms``);
4. rss: `hub router run` as its own process over --rss-events events, RSS sampled each second,
   and its CPU (utime + stime) an event.

Targets (issue 16): router events/s >= 0.5 × the confluent-kafka passthrough; router CPU
<= 20 µs an event; p99 lag <= 100 ms at half the maximum rate; RSS flat and < 300 MB over 1M
events. Issue 15: receipts (and the quality figures) add at most 15 % to the router's CPU an
event (``receipts_and_quality_cpu_share``, against a native run without them beside it). Uses HUB_BOOTSTRAP_SERVERS (default 127.0.0.1:9092) and starts its own registry unless
HUB_REGISTRY_URL is set.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from _topics import removed_afterwards
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Benchmarks run as the local super user (hub-admin, .hub/credentials): authenticated, no ACL setup.
os.environ.setdefault("HUB_KAFKA_USERNAME", "hub-admin")
os.environ.setdefault("HUB_ROUTER_APPLY_ACCESS", "false")
os.environ["HUB_CREDENTIALS_DIR"] = os.path.abspath(
    os.environ.get("HUB_CREDENTIALS_DIR", ".hub/credentials")
)

from consumers.router.engine import load_core  # noqa: E402
from consumers.router.runtime import default_workers, tune_gc  # noqa: E402
from consumers.router.service import Router, RouterConfig  # noqa: E402
from hub.schemas.catalog import standalone_schema  # noqa: E402
from hub.serde import AsyncRegistryClient, AvroSerde  # noqa: E402
from hub.topics import TopicSpec, ensure_topics  # noqa: E402

SECRET = b"bench-master-secret-0123456789abcdef"
LAG_FIRST_ID = 10_000_000  # events of the lag phase have ce_id from here on
# The first second of a lag phase is a warm-up, reported apart (warmup_max_ms): the router,
# started 5 s before and idle, meets its first events and does what it does once (fetching
# their writer schema, adding partitions to each producer's first transaction); that start
# (lags up to 0.5 s in its first 0.25 s) is not the steady lag the target is about, and in a
# 20 s phase it alone set the p99 of most runs.
WARMUP_S = 1.0
AGREEMENTS = {
    "ordnungsamt": """\
id: {dept}-ordnungsamt
subscriber: ordnungsamt
source: {source}
purpose: Zustellung von Bescheiden an die aktuelle Anschrift
legal_basis: "§ 34 Abs. 1 BMG"
valid_until: 2099-12-31
where: {{new_address.city: {{eq: Hamm}}}}
fields:
  resident_id: pseudonymize
  birth_date: {{generalize: year}}
  new_address.postcode: keep
  new_address.city: keep
  moved_at: {{truncate: day}}
""",
    "statistik": """\
id: {dept}-statistik
subscriber: statistik
source: {source}
purpose: Wanderungsstatistik
legal_basis: "§ 4 Abs. 1 StatG NRW"
valid_until: 2099-12-31
fields:
  resident_id: pseudonymize
  birth_date: {{age_band: 10}}
  new_address.postcode: {{postcode_prefix: 3}}
  old_address.postcode: {{postcode_prefix: 3}}
  residence_type: keep
""",
    "jobcenter": """\
id: {dept}-jobcenter
subscriber: jobcenter
source: {source}
purpose: Zuständigkeitsprüfung nach Umzug
legal_basis: "§ 36 SGB II"
valid_until: 2099-12-31
key: {{mask: 4}}
fields:
  resident_id: {{mask: 4}}
  moved_at: {{date_shift: 14}}
  new_address.postcode: keep
""",
}


def resident(i: int, occurred_at: datetime) -> dict:
    return {
        "resident_id": f"R-{i:09d}",
        "occurred_at": occurred_at,
        "moved_at": occurred_at - timedelta(days=3),
        "birth_date": date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
        "old_address": {"street": "Weststraße", "house_number": str(i % 200), "postcode": "59065", "city": "Hamm"},
        "new_address": {"street": "Oststraße", "house_number": str(i % 150), "postcode": "59063", "city": "Hamm" if i % 10 else "Unna"},
        "residence_type": "MAIN",
    }  # fmt: skip


# What --engines names: the engine, and whether the core produces its deliveries itself.
ENGINES = {
    "native": ("native", True),
    "native-python-produce": ("native", False),  # the core's deliveries produced by Python
    "python": ("python", True),
}


class World:
    def __init__(
        self, bootstrap: str, registry_url: str, root: Path, workers: int, engine: str
    ) -> None:
        self.bootstrap, self.registry_url, self.root = bootstrap, registry_url, root
        self.workers = workers
        self.engine, self.native_produce = ENGINES[engine]
        self.dept = "bench" + uuid.uuid4().hex[:8]
        self.source = f"{self.dept}.resident.moved"
        schema_dir = root / "schemas" / self.dept / "resident.moved"
        schema_dir.mkdir(parents=True)
        # Standalone (shared types written out): this tree has no _types/ of its own.
        self.schema = standalone_schema(REPO / "schemas/buergeramt/resident.moved/v1.avsc")
        (schema_dir / "v1.avsc").write_text(json.dumps(self.schema))
        agreements = root / "catalog" / "agreements"
        agreements.mkdir(parents=True)
        for name, text in AGREEMENTS.items():
            (agreements / f"{name}.yaml").write_text(
                text.format(dept=self.dept, source=self.source)
            )

    def config(self, group: str) -> RouterConfig:
        return RouterConfig(
            bootstrap=self.bootstrap,
            registry_url=self.registry_url,
            agreements_dir=self.root / "catalog" / "agreements",
            schemas_dir=self.root / "schemas",
            group=group,
            dlq_topic=f"{self.dept}.dlq",
            audit_topic=f"{self.dept}.audit",
            # the hub's own logs of the benchmark's world, not the demo's (another registry)
            receipts_topic=f"{self.dept}.receipts",
            agreements_topic=f"{self.dept}.agreements",
            quality_topic=f"{self.dept}.quality",
            workers=self.workers,
            engine=self.engine,
            native_produce=self.native_produce,
        )

    def env(self, group: str) -> dict:
        secret = self.root / "secret"
        secret.write_bytes(SECRET)
        return {
            **os.environ,
            "HUB_BOOTSTRAP_SERVERS": self.bootstrap,
            "HUB_REGISTRY_URL": self.registry_url,
            "HUB_CATALOG_DIR": str(self.root / "catalog"),
            "HUB_SCHEMAS_DIR": str(self.root / "schemas"),
            "HUB_ROUTER_GROUP": group,
            "HUB_DLQ_TOPIC": f"{self.dept}.dlq",
            "HUB_AUDIT_TOPIC": f"{self.dept}.audit",
            "HUB_RECEIPTS_TOPIC": f"{self.dept}.receipts",
            "HUB_AGREEMENTS_TOPIC": f"{self.dept}.agreements",
            "HUB_QUALITY_TOPIC": f"{self.dept}.quality",
            "HUB_ROUTER_METRICS_PORT": "0",
            "HUB_SECRET_FILE": str(secret),
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_ROUTER_WORKERS": str(self.workers),
            "HUB_ROUTER_ENGINE": self.engine,
            "HUB_ROUTER_NATIVE_PRODUCE": str(self.native_produce).lower(),
        }

    async def produce(self, first: int, count: int, rate: float | None = None) -> None:
        """Produce ``count`` events (as fast as possible, or paced at ``rate``/s).

        Paced events are encoded before the clock starts, with their planned event time: the
        load generator shares the machine with the router and should take little of it.
        """
        registry = AsyncRegistryClient(self.registry_url)
        schema_id = await registry.register(f"{self.source}-value", self.schema)
        await registry.aclose()
        serde = AvroSerde()
        serde.add_schema(schema_id, self.schema)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, **_security(), linger_ms=5, max_batch_size=512 * 1024
        )
        await producer.start()
        try:
            if rate:
                await self._paced(producer, serde, schema_id, first, count, rate)
            else:
                for i in range(first, first + count):
                    now = datetime.now(UTC)
                    await producer.send(
                        self.source,
                        serde.encode(schema_id, resident(i, now)),
                        key=f"R-{i:09d}".encode(),
                        headers=[("ce_time", now.isoformat().encode()), ("ce_id", str(i).encode())],
                    )
            await producer.flush()
        finally:
            await producer.stop()

    async def _paced(
        self, producer: AIOKafkaProducer, serde: AvroSerde, schema_id: int, first: int,
        count: int, rate: float,
    ) -> None:  # fmt: skip
        lead = 0.5 + count * 20e-6  # time to encode them all before the first send
        start = datetime.now(UTC) + timedelta(seconds=lead)
        payloads = [
            serde.encode(schema_id, resident(i, start + timedelta(seconds=n / rate)))
            for n, i in enumerate(range(first, first + count))
        ]
        await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
        started = time.perf_counter()
        for n, payload in enumerate(payloads):
            i = first + n
            await producer.send(
                self.source,
                payload,
                key=f"R-{i:09d}".encode(),
                headers=[
                    ("ce_time", datetime.now(UTC).isoformat().encode()),
                    ("ce_id", str(i).encode()),
                ],
            )
            if n % 50 == 0:
                ahead = n / rate - (time.perf_counter() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)


def _security() -> dict:
    from hub.kafka import KafkaSecurity

    return KafkaSecurity.from_settings().aiokafka()


async def passthrough(world: World, events: int) -> float:
    """Events/s of the bare consume → produce loop, transactional like the router."""
    out = world.dept + ".passthrough"
    await ensure_topics(world.bootstrap, [out])
    group = f"{world.dept}-passthrough"
    consumer = AIOKafkaConsumer(
        world.source,
        bootstrap_servers=world.bootstrap,
        **_security(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=world.bootstrap,
        **_security(),
        transactional_id=group,
        linger_ms=5,
        max_batch_size=512 * 1024,
    )
    await consumer.start()
    await producer.start()
    seen, started = 0, None
    try:
        while seen < events:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            if not batch:
                continue
            started = started or time.perf_counter()
            async with producer.transaction():
                for records in batch.values():
                    for r in records:
                        await producer.send(
                            out, r.value, key=r.key, headers=list(r.headers), partition=0
                        )
                    seen += len(records)
                offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
                await producer.send_offsets_to_transaction(offsets, group)
        return seen / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


def passthrough_confluent(world: World, events: int) -> float:
    """Events/s of the same loop with confluent-kafka (librdkafka): consume in batches, produce
    each record, offsets and commit in one transaction a batch."""
    from confluent_kafka import Consumer, Producer

    from hub.kafka import KafkaSecurity

    security = KafkaSecurity.from_settings().confluent()
    out = world.dept + ".passthrough-confluent"
    group = f"{world.dept}-passthrough-confluent"
    consumer = Consumer(
        {
            "bootstrap.servers": world.bootstrap,
            **security,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    producer = Producer(
        {
            "bootstrap.servers": world.bootstrap,
            **security,
            "transactional.id": group,
            "linger.ms": 5,
        }
    )
    producer.init_transactions(30)
    consumer.subscribe([world.source])
    seen, started = 0, None
    try:
        while seen < events:
            batch = consumer.consume(num_messages=5000, timeout=0.5)
            if not batch:
                continue
            started = started or time.perf_counter()
            producer.begin_transaction()
            for m in batch:
                producer.produce(out, m.value(), m.key(), headers=m.headers(), partition=0)
            seen += len(batch)
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata()
            )
            producer.commit_transaction()
        return seen / (time.perf_counter() - started)
    finally:
        consumer.close()


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def through_router(
    world: World, events: int, group_suffix: str = "router", accounts: bool = True
) -> dict:
    """Events/s through the router (time from its first batch to the commit of the last) and
    the CPU it spent an event (this process, its threads included; routing processes apart).
    ``accounts=False``: without receipts and quality figures (the baseline of their cost)."""
    from consumers.router import metrics
    from consumers.router.process import Accounting

    tune_gc()  # as `hub router run` does
    config = world.config(f"{world.dept}-{group_suffix}")
    base = {
        name: metrics.DELIVERIES.labels(f"{world.dept}-{name}")._value.get() for name in AGREEMENTS
    }
    router = Router(config, SECRET)
    if not accounts:
        router.accounting = router.receipts_only = Accounting(None, False)
    children = _cpu_s(resource.RUSAGE_CHILDREN)
    async with router:
        task = asyncio.create_task(router.run())
        while router.committed_batches == 0:
            await asyncio.sleep(0.001)
        started, cpu = time.perf_counter(), _cpu_s(resource.RUSAGE_SELF)
        first = router.committed_events
        while router.committed_events < events:
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - started
        cpu = _cpu_s(resource.RUSAGE_SELF) - cpu
        router.stop()
        await task
        delivered = sum(
            metrics.DELIVERIES.labels(f"{world.dept}-{name}")._value.get() - base[name]
            for name in AGREEMENTS
        )
        engine = router.engine
    workers_cpu = _cpu_s(resource.RUSAGE_CHILDREN) - children  # the pool, once it has ended
    routed = events - first
    out = {
        "engine": engine,
        "router_workers": config.workers,
        "events_per_s": round(routed / elapsed),
        "deliveries_per_s": round(routed / elapsed * delivered / events),
        "cpu_us_per_event": round(cpu / routed * 1e6, 1),
    }
    if config.workers:
        out["workers_cpu_us_per_event"] = round(workers_cpu / routed * 1e6, 1)
    return out


def _serve_passthrough(bootstrap: str, source: str, out: str, group: str, stop: Any) -> None:
    """The confluent-kafka transactional passthrough as a service (its own process, as the
    router is): whatever has arrived, one transaction a batch, until ``stop`` is set."""
    from confluent_kafka import Consumer, Producer

    from hub.kafka import KafkaSecurity

    security = KafkaSecurity.from_settings().confluent()
    common = {"bootstrap.servers": bootstrap, **security, "socket.nagle.disable": True}
    consumer = Consumer(
        {
            **common,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "latest",
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 50,
        }
    )
    producer = Producer(
        {**common, "transactional.id": group, "linger.ms": 5, "retry.backoff.ms": 10}
    )
    producer.init_transactions(30)
    consumer.subscribe([source])
    try:
        while not stop.is_set():
            batch = consumer.consume(num_messages=5000, timeout=0) or consumer.consume(1, 0.1)
            if not batch:
                continue
            producer.begin_transaction()
            for m in batch:
                if m.error() is None:
                    producer.produce(out, m.value(), m.key(), headers=m.headers(), partition=0)
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata()
            )
            producer.commit_transaction()
    finally:
        consumer.close()
        producer.flush(10)


async def passthrough_lag(world: World, rate: float, seconds: float) -> dict:
    """The lag floor beside the router's: the same events at the same rate through the
    confluent-kafka passthrough in its own process (one record out an event, not three),
    measured by the same reader."""
    import multiprocessing

    out = world.dept + ".passthrough-lag"
    await ensure_topics(world.bootstrap, [TopicSpec(out)])
    context = multiprocessing.get_context("spawn")  # librdkafka's threads do not survive fork
    stop = context.Event()
    group = f"{world.dept}-passthrough-lag-{uuid.uuid4().hex[:6]}"
    proc = context.Process(
        target=_serve_passthrough, args=(world.bootstrap, world.source, out, group, stop)
    )
    proc.start()
    try:
        await asyncio.sleep(8)  # started, joined, at the end of the topic
        payloads = await _lag_payloads(world, rate, seconds)
        timed = await asyncio.to_thread(_measure_lag, world, out, payloads, rate)
    finally:
        stop.set()
        proc.join(30)
    return _lag_figures(rate, timed)


async def _lag_payloads(world: World, rate: float, seconds: float) -> list:
    """``rate`` × ``seconds`` events for a lag phase: (ce_id, framed value), event times
    spaced as they will be sent."""
    registry = AsyncRegistryClient(world.registry_url)
    schema_id = await registry.register(f"{world.source}-value", world.schema)
    await registry.aclose()
    serde = AvroSerde()
    serde.add_schema(schema_id, world.schema)
    start = datetime.now(UTC)
    return [
        (i, serde.encode(schema_id, resident(i, start + timedelta(seconds=n / rate))))
        for n, i in enumerate(range(LAG_FIRST_ID, LAG_FIRST_ID + int(rate * seconds)))
    ]


def _lag_figures(rate: float, timed: Timed) -> dict:
    lags = sorted(timed.lags)
    return {
        "rate_events_per_s": round(rate),
        "timed_deliveries": len(lags),  # one in SAMPLE_EVERY of those read, after the warm-up
        "p50_ms": round(statistics.median(lags) * 1000, 1),
        "p99_ms": round(lags[int(len(lags) * 0.99) - 1] * 1000, 1),
        "max_ms": round(lags[-1] * 1000, 1),
        "warmup_s": WARMUP_S,
        "warmup_max_ms": round(max(timed.warmup, default=0.0) * 1000, 1),
    }


@dataclass
class Timed:
    """Lags (s) of the timed deliveries: of events sent after the warm-up, and during it."""

    lags: list[float] = field(default_factory=list)
    warmup: list[float] = field(default_factory=list)


async def lag(world: World, rate: float, seconds: float) -> dict:
    """p50/p99 of event time → readable delivery, at ``rate`` events/s, with `hub router run`
    as its own process. The load generator and the subscriber use confluent-kafka (librdkafka,
    a few µs an event): they share the machine with the router and should take little of it."""
    topic = f"deliver.statistik.{world.source}"
    payloads = await _lag_payloads(world, rate, seconds)
    # The throughput run's group has committed up to the end: no backlog is replayed.
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "router", "run"],
        env=world.env(f"{world.dept}-router"),
        cwd=world.root,
    )
    try:
        await asyncio.sleep(5)  # the router has started and joined its group
        timed = await asyncio.to_thread(_measure_lag, world, topic, payloads, rate)
    finally:
        proc.terminate()
        proc.wait(60)
    return _lag_figures(rate, timed)


BURST = 50  # events the load generator sends between two looks at the clock
SAMPLE_EVERY = 10  # the reader times every so many deliveries (the rest it only counts)


def _measure_lag(world: World, topic: str, payloads: list, rate: float) -> Timed:
    """Send ``payloads`` paced at ``rate`` (a thread), read the deliveries read_committed.
    The load generator and the reader share the machine with what they measure, so they do
    little per event: keys and ids made beforehand, one time stamp a burst (taken before it:
    a lag is never shortened), one delivery in ``SAMPLE_EVERY`` parsed and timed; those sent
    in the first ``WARMUP_S`` apart."""
    import threading

    from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

    from hub.kafka import KafkaSecurity

    security = KafkaSecurity.from_settings().confluent()
    consumer = Consumer(
        {
            "bootstrap.servers": world.bootstrap,
            **security,
            "group.id": f"{world.dept}-lag-reader",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 10,  # a subscriber that wants low latency asks often
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_END)])
    consumer.consume(num_messages=1, timeout=1.0)  # the assignment is in place
    sends = [(payload, f"R-{i:09d}".encode(), str(i).encode()) for i, payload in payloads]

    # Connected before the clock starts: its handshake is no part of any delivery's lag.
    producer = Producer({"bootstrap.servers": world.bootstrap, **security, "linger.ms": 5})
    producer.list_topics(world.source, timeout=10)

    def produce() -> None:
        send = producer.produce
        started = time.perf_counter()
        stamp = b""
        for n, (payload, key, ce_id) in enumerate(sends):
            if n % BURST == 0:
                producer.poll(0)
                ahead = n / rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
                stamp = datetime.now(UTC).isoformat().encode()
            send(world.source, payload, key, headers=[("ce_time", stamp), ("ce_id", ce_id)])
        producer.flush(60)

    # No collection during the phase: a full one walks every payload prepared above (~90 ms
    # each, twice a 20 s phase, holding the GIL), so the reader and the load generator would
    # stall and their pause be counted as the router's lag. Nothing here makes cycles.
    gc.collect()
    gc.disable()
    warm_until = time.time() + WARMUP_S  # taken before the first event's time stamp
    sender = threading.Thread(target=produce, name="lag-load")
    sender.start()
    timed = Timed()
    seen = 0
    last = time.monotonic()
    try:
        while seen < len(payloads) and time.monotonic() - last < 10:
            # consume() waits for num_messages or the timeout: a short timeout, so the reader
            # itself adds no waiting to what it measures
            batch = consumer.consume(num_messages=1000, timeout=0.005)
            now = time.time()
            if batch:
                last = time.monotonic()
            for m in batch:
                if m.error():
                    continue
                seen += 1
                if seen % SAMPLE_EVERY:
                    continue
                headers = dict(m.headers() or [])
                if int(headers["ce_id"]) < LAG_FIRST_ID:
                    seen -= 1
                    continue  # not an event of this phase
                sent = datetime.fromisoformat(headers["ce_time"].decode()).timestamp()
                (timed.lags if sent >= warm_until else timed.warmup).append(now - sent)
    finally:
        sender.join()
        gc.enable()
        consumer.close()
    return timed


async def rss(world: World, events: int) -> dict:
    """`hub router run` in its own process over ``events`` events; its RSS every second."""
    group = f"{world.dept}-rss"
    producing = asyncio.create_task(world.produce(20_000_000, events))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "router", "run"], env=world.env(group), cwd=world.root
    )
    samples: list[float] = []
    progress: list[tuple[int, float]] = []  # (events committed, RSS MB) each second
    consumer = AIOKafkaConsumer(
        bootstrap_servers=world.bootstrap, **_security(), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        from aiokafka import TopicPartition

        tp = TopicPartition(world.source, 0)
        total_needed = None
        started = time.perf_counter()
        while time.perf_counter() - started < 1800:
            await asyncio.sleep(1)
            samples.append(_rss_mb(proc.pid))
            if producing.done() and total_needed is None:
                total_needed = (await consumer.end_offsets([tp]))[tp]
            committed = await consumer.committed(tp) or 0
            progress.append((committed, samples[-1]))
            if total_needed is not None and committed >= total_needed:
                break
        elapsed = time.perf_counter() - started
        cpu = _proc_cpu_s(proc.pid)
    finally:
        await consumer.stop()
        proc.terminate()
        proc.wait(60)
    tenth = max(1, len(samples) // 10)
    # the largest RSS while each tenth of the events was routed: flat once the quality
    # window (2 x 100k ce_id fingerprints a partition) is full
    by_tenth: list[float] = []
    for i in range(10):
        inside = [mb for n, mb in progress if i * events / 10 <= n < (i + 1) * events / 10]
        by_tenth.append(round(max(inside), 1) if inside else by_tenth[-1] if by_tenth else 0.0)
    return {
        "events": events,
        "seconds": round(elapsed, 1),
        "cpu_us_per_event": round(cpu / events * 1e6, 1),
        "rss_mb_first_10pct_max": round(max(samples[:tenth]), 1),
        "rss_mb_last_10pct_max": round(max(samples[-tenth:]), 1),
        "rss_mb_max": round(max(samples), 1),
        "rss_mb_by_tenth_of_events": by_tenth,
        "samples": len(samples),
    }


def _proc_cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` and its live children (the router's workers), in seconds."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _proc_cpu_s(int(child))
    except OSError:
        pass
    return total


def _rss_mb(pid: int) -> float:
    """RSS of ``pid`` and its children (the router's workers), in MB."""
    total = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _rss_mb(int(child))
    except OSError:  # gone meanwhile
        pass
    return total


async def main(args: argparse.Namespace) -> dict:
    bootstrap = os.environ.get("HUB_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    registry_url = os.environ.get("HUB_REGISTRY_URL")
    thread = None
    if not registry_url:
        from hub.registry.server import RegistryThread

        thread = RegistryThread(bootstrap, topic=f"_schemas-bench-{uuid.uuid4().hex[:8]}")
        thread.__enter__()
        registry_url = thread.url
    root = Path(tempfile.mkdtemp(prefix="bench-router-"))
    engines = [e for e in args.engines.split(",") if e]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise SystemExit(f"--engines: unknown {', '.join(unknown)}; known: {', '.join(ENGINES)}")
    if load_core() is None:  # not installed: said in the output
        engines = [e for e in engines if ENGINES[e][0] != "native"]
    try:
        result: dict = {
            "benchmark": "router",
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_1m_at_start": round(os.getloadavg()[0], 2),
            },
            "events": args.events,
            "agreements_on_topic": len(AGREEMENTS),
            "native_core_installed": load_core() is not None,
        }
        # the passthroughs read the first engine's topic (the same bytes every engine reads)
        worlds = {}
        for engine in engines:
            workers = args.workers if engine == "python" else 0
            world = World(bootstrap, registry_url, root / engine, workers, engine)
            await ensure_topics(bootstrap, [TopicSpec(world.source)])
            await world.produce(0, args.events)
            worlds[engine] = world
        first = worlds[engines[0]]
        await ensure_topics(bootstrap, [first.dept + ".passthrough-confluent"])
        aiokafka_rate = await passthrough(first, args.events)
        confluent_rate = await asyncio.to_thread(passthrough_confluent, first, args.events)
        result["passthrough_events_per_s"] = {
            "aiokafka": round(aiokafka_rate),
            "confluent_kafka": round(confluent_rate),
        }
        result["engines"] = {}
        if args.accounts_baseline and "native" in worlds:
            # the same events again, without receipts and quality figures, measured beside
            bare = await through_router(
                worlds["native"], args.events, "router-bare", accounts=False
            )
            result["native_without_receipts_and_quality"] = bare
        for engine, world in worlds.items():
            figures = await through_router(world, args.events)
            if engine == "native" and "native_without_receipts_and_quality" in result:
                bare_cpu = result["native_without_receipts_and_quality"]["cpu_us_per_event"]
                figures["receipts_and_quality_cpu_share"] = round(
                    figures["cpu_us_per_event"] / bare_cpu - 1, 3
                )
            figures["ratio_to_confluent_passthrough"] = round(
                figures["events_per_s"] / confluent_rate, 3
            )
            figures["ratio_to_aiokafka_passthrough"] = round(
                figures["events_per_s"] / aiokafka_rate, 3
            )
            if args.lag_seconds:
                figures["lag_at_half_rate"] = await lag(
                    world, figures["events_per_s"] / 2, args.lag_seconds
                )
            if args.lag_seconds and args.lag_rate:  # the same rate for every engine and run
                figures["lag_at_fixed_rate"] = await lag(world, args.lag_rate, args.lag_seconds)
            if args.rss_events:
                figures["rss"] = await rss(world, args.rss_events)
            result["engines"][engine] = figures
        if args.lag_seconds and result["engines"]:
            # the floor of this machine, beside: the same reader, a passthrough instead
            half = next(iter(result["engines"].values()))["events_per_s"] / 2
            result["passthrough_lag_at_half_rate"] = await passthrough_lag(
                first, half, args.lag_seconds
            )
        result["targets"] = {
            "ratio_to_confluent_passthrough": 0.5,
            "cpu_us_per_event": 20,
            "p99_ms_at_half_rate": 100,
            "rss_mb": 300,
        }
        result["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
        return result
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if thread:
            thread.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--lag-seconds", type=float, default=20)
    parser.add_argument("--rss-events", type=int, default=0, help="e.g. 1000000")
    parser.add_argument(
        "--lag-rate", type=float, default=0, help="also measure the lag at this rate (events/s)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers("python"),
        help="routing processes of the Python engine (0: in-process); the native core uses none",
    )
    parser.add_argument(
        "--engines",
        default="native,python",
        help=f"engines to measure, comma-separated, of {', '.join(ENGINES)}",
    )
    parser.add_argument(
        "--no-accounts-baseline",
        dest="accounts_baseline",
        action="store_false",
        help="skip the native run without receipts and quality figures",
    )
    with removed_afterwards():
        print(json.dumps(asyncio.run(main(parser.parse_args()))))
