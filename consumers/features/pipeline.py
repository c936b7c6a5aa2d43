"""The feature pipeline service: deliveries in, windowed k-anonymous aggregates out, exactly once.

Input: only the delivery topics of ki-featurestore agreements that feature views use (from
``binding``). Per batch, one Kafka transaction holds the state changelog records (updated
windows, tombstones of closed ones, watermarks), the published window results
(``hub.features.<view>``) and the consumer offsets: a crash either loses the whole batch (it
is read again and the state is as before it) or nothing. On start, the state is restored from
the compacted changelog (after the transactional producer has fenced any zombie and aborted
what it left open, so the restore reads only committed state).

Feast is fed from the committed output topics by ``FeastPusher`` (its own consumer group,
offsets committed after each push): at least once into Feast, where the online store is an
idempotent overwrite per entity and window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, ProducerFenced

from consumers.features import changelog, kgate, metrics
from consumers.features.binding import FeatureCatalog, load_feature_catalog
from consumers.features.feast_repo import FeastConfig
from consumers.features.views import BadEvent, ViewRuntime, build_runtime
from consumers.features.windows import Arrival, FeatureEvent, WindowResult
from consumers.router.deadletter import DeadLetter, dead_letter_headers
from hub.kafka import KafkaSecurity, registry_auth, start_client
from hub.outage import BrokerWatch, RegistryWatch
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryError, SerdeError
from hub.serde.wire import HEADER_SIZE, MAGIC_BYTE
from hub.topics import TopicCreationError, TopicSpec, ensure_topics, read_snapshot

log = logging.getLogger("hub.features")

RESULT_TYPE = "de.hamm.hub.features.window-published"
RESULT_SOURCE = "/hamm/hub/features"
CLOCK_TICK_S = 5.0


@dataclass
class PipelineConfig:
    bootstrap: str
    registry_url: str
    agreements_dir: Path
    schemas_dir: Path
    features_dir: Path
    group: str = "hub-features"
    instance: str = "0"
    changelog_topic: str = "hub.features.state"
    dlq_topic: str = "hub.dlq"
    output_prefix: str = "hub.features."
    max_batch: int = 5000
    poll_ms: int = 100
    clock_watermark_lag: float | None = None
    retry_backoff: float = 1.0
    feast: FeastConfig | None = None
    # Decode deliveries with the native core (hub_core.Decoder) where installed: the same
    # records as fastavro's, at about half the cost. False: fastavro alone.
    native_decode: bool = True
    # The principal the pipeline is (hub-features in production; the settings' identity if unset).
    security: KafkaSecurity = field(default_factory=KafkaSecurity.from_settings)

    @property
    def transactional_id(self) -> str:
        return f"{self.group}-{self.instance}"

    def output_topic(self, view: str) -> str:
        return f"{self.output_prefix}{view}"

    @classmethod
    def from_settings(
        cls, hub: Any, features: Any, *, feast: bool = True, **overrides: Any
    ) -> PipelineConfig:
        values: dict[str, Any] = {
            "bootstrap": hub.bootstrap_servers,
            "registry_url": hub.registry_url,
            "agreements_dir": hub.catalog_dir / "agreements",
            "schemas_dir": hub.schemas_dir,
            "features_dir": features.dir or hub.catalog_dir / "features",
            "group": features.group,
            "instance": features.instance,
            "changelog_topic": features.changelog_topic,
            "dlq_topic": hub.dlq_topic,
            "output_prefix": features.output_prefix,
            "max_batch": features.max_batch,
            "clock_watermark_lag": features.clock_watermark_lag,
            "feast": FeastConfig.from_settings(features) if feast else None,
            "security": KafkaSecurity.from_settings(hub, principal="hub-features"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def result_record(result: WindowResult, runtime: ViewRuntime, closed_at_ms: int) -> dict[str, Any]:
    """A published window as written to ``hub.features.<view>`` (JSON)."""
    d = runtime.view.definition
    return {
        "view": result.view,
        "entity_name": d.entity.name,
        "entity": result.entity,
        "window_start_ms": result.start_ms,
        "window_end_ms": result.end_ms,
        "features": result.features,
        "k": d.k,
        "agreement": runtime.view.agreement.id,
        "closed_at_ms": closed_at_ms,
    }


def result_headers(result: WindowResult) -> list[tuple[str, bytes]]:
    # Deterministic id: a window is published once; the same id after a replay means the same.
    ident = f"{result.view}/{result.entity}/{result.start_ms}"
    end = datetime.fromtimestamp(result.end_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid5(uuid.NAMESPACE_URL, ident)).encode()),
        ("ce_source", RESULT_SOURCE.encode()),
        ("ce_type", RESULT_TYPE.encode()),
        ("ce_time", end.encode()),
        ("content-type", b"application/json"),
    ]


async def read_log(
    bootstrap: str, topic: str, *, wait: float = 30.0, security: KafkaSecurity | None = None
) -> list[Any]:
    """Every committed record of ``topic`` up to its end as of now: the changelog on restore.
    The topic must exist: a restore that silently read nothing would count twice."""
    try:
        return await read_snapshot(bootstrap, topic, wait=wait, missing_ok=False, security=security)
    except LookupError as error:
        raise KafkaError(str(error)) from None


@dataclass
class BatchOutcome:
    changelog: list[tuple[bytes, bytes | None]] = field(default_factory=list)
    outputs: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = field(default_factory=list)
    published: list[WindowResult] = field(default_factory=list)
    suppressed: list[WindowResult] = field(default_factory=list)
    dead_letters: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = field(
        default_factory=list
    )


class FeaturePipeline:
    """``async with FeaturePipeline(config) as p: await p.run()``; ``stop()`` ends ``run``."""

    def __init__(self, config: PipelineConfig, catalog: FeatureCatalog | None = None) -> None:
        self.config = config
        self.catalog = catalog or load_feature_catalog(
            config.features_dir, config.agreements_dir, config.schemas_dir
        )
        self.runtimes: dict[str, ViewRuntime] = {
            v.name: build_runtime(v) for v in self.catalog.views
        }
        self._by_topic: dict[str, list[ViewRuntime]] = defaultdict(list)
        for rt in self.runtimes.values():
            self._by_topic[rt.view.topic].append(rt)
        self._fps = {
            name: changelog.fingerprint(rt.aggregator) for name, rt in self.runtimes.items()
        }
        self._registry = AsyncRegistryClient(
            config.registry_url,
            auth=registry_auth(config.security),
            watch=RegistryWatch("features", log),  # an outage of it: two lines, counts between
        )
        self._serde = AvroSerde(native=config.native_decode)
        self._known: set[int] = set()
        self._stop = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self.committed_batches = 0
        self._dead: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
        self.restored_windows = 0
        self._last_tick = 0.0
        # While the broker is away: one line when it goes, one when it is back, counts between.
        self.broker = BrokerWatch("features", log)

    @property
    def topics(self) -> list[str]:
        return self.catalog.topics

    @property
    def output_topics(self) -> list[str]:
        return [self.config.output_topic(v) for v in sorted(self.runtimes)]

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> FeaturePipeline:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        cfg = self.config
        await ensure_topics(
            cfg.bootstrap,
            [
                TopicSpec(cfg.changelog_topic, config={"cleanup.policy": "compact"}),
                cfg.dlq_topic,
                *self.output_topics,
            ],
            security=cfg.security,
        )
        # Deliveries: the router creates them; creating one here only lets us subscribe first.
        # Under ACLs hub-features may not: the subscription then waits for the router.
        with contextlib.suppress(TopicCreationError):
            await ensure_topics(cfg.bootstrap, self.topics, security=cfg.security)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=cfg.bootstrap,
            **cfg.security.aiokafka(),
            transactional_id=cfg.transactional_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
        )
        # Fences an older instance with our id and aborts its open transaction: what we restore
        # next is exactly the committed state that matches the committed offsets.
        await start_client(self._producer, cfg.security, cfg.bootstrap)
        await self.restore()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=cfg.bootstrap,
            **cfg.security.aiokafka(),
            group_id=cfg.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await start_client(self._consumer, cfg.security, cfg.bootstrap)
        if self.topics:
            self._consumer.subscribe(self.topics)
        await self.broker.start(cfg.bootstrap, cfg.security)
        # Every view's window series from the start, at 0: ``increase`` over a series that only
        # appears with its first window misses that window (HubFeaturesSuppressionSpike).
        for view in self.runtimes:
            for counter in (metrics.WINDOWS_CLOSED, metrics.PUBLISHED, metrics.SUPPRESSED):
                counter.labels(view)
        log.info(
            "feature pipeline started",
            extra={
                "views": sorted(self.runtimes),
                "topics": self.topics,
                "restored_windows": self.restored_windows,
            },
        )

    async def restore(self) -> None:
        records = await read_log(
            self.config.bootstrap, self.config.changelog_topic, security=self.config.security
        )
        aggregators = {name: rt.aggregator for name, rt in self.runtimes.items()}
        report = changelog.restore(
            ((r.key, r.value) for r in records if r.key is not None), aggregators
        )
        self.restored_windows = report.windows
        for line in report.discarded:
            log.warning("changelog state discarded", extra={"reason": line})
        self._update_gauges()

    async def close(self) -> None:
        await self.broker.stop()
        async with self._lock:
            if self._consumer:
                await self._consumer.stop()
            if self._producer:
                await self._producer.stop()
        await self._registry.aclose()
        log.info("feature pipeline stopped")

    def stop(self) -> None:
        """Finish the batch in flight, then leave ``run`` (SIGTERM does this)."""
        self._stop.set()

    # -- the loop -----------------------------------------------------------------------------
    async def run(self) -> None:
        assert self._consumer is not None
        cfg = self.config
        while not self._stop.is_set():
            if not self.topics:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=1.0)
                continue
            batch = await self._consumer.getmany(timeout_ms=cfg.poll_ms, max_records=cfg.max_batch)
            if not batch:
                # Idle: only the wall clock can close windows, and a tick every few seconds is
                # enough (each tick that moves a watermark is a transaction).
                now = time.monotonic()
                if cfg.clock_watermark_lag is None or now - self._last_tick < CLOCK_TICK_S:
                    continue
                self._last_tick = now
            try:
                await self.handle(batch)
                if batch:  # fetched and committed (an idle tick may not ask the broker)
                    self.broker.ok()
            except ProducerFenced:
                log.critical(
                    "another pipeline runs with our transactional id; stopping",
                    extra={"transactional_id": cfg.transactional_id},
                )
                raise
            except (KafkaError, RegistryError) as error:
                metrics.TRANSACTIONS.labels("aborted").inc()
                registry = self._registry.watch
                if isinstance(error, RegistryError) and registry and not registry.reachable:
                    pass  # the registry's watch logged its outage once
                elif not self.broker.report(error):  # else counted: the outage is logged once
                    log.warning("batch not committed, retrying", extra={"error": repr(error)})
                await self._recover(batch)
                await asyncio.sleep(cfg.retry_backoff)

    async def _recover(self, batch: dict[TopicPartition, list]) -> None:
        """After an aborted transaction the in-memory state is ahead of the committed one:
        rebuild it from the changelog and read the batch again."""
        for rt in self.runtimes.values():
            rt.aggregator.reset()
        await self.restore()
        assert self._consumer is not None
        for tp, records in batch.items():
            if tp in self._consumer.assignment():
                self._consumer.seek(tp, records[0].offset)

    async def handle(self, batch: dict[TopicPartition, list]) -> BatchOutcome:
        async with self._lock:
            for records in batch.values():
                await self._learn_schemas(records)
            self._dead = []
            self.aggregate(batch)
            outcome = self.close_windows(self._clock_watermark())
            outcome.dead_letters, self._dead = self._dead, []
            offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
            if outcome.changelog or outcome.outputs or outcome.dead_letters or offsets:
                await self._commit(outcome, offsets)
        self._after_commit(outcome)
        return outcome

    def _clock_watermark(self) -> int | None:
        lag = self.config.clock_watermark_lag
        return None if lag is None else int((time.time() - lag) * 1000)

    def aggregate(self, batch: dict[TopicPartition, list]) -> None:
        """Decode each delivered record once, extract it for every view of its topic, and add
        the events; partitions new to a view first announce their earliest event time, so one
        partition read ahead of another does not make the other's events look too late."""
        decode = self._serde.decode
        events: dict[str, list[tuple[Any, FeatureEvent]]] = defaultdict(list)
        for tp, records in batch.items():
            runtimes = self._by_topic.get(tp.topic, ())
            for r in records:
                try:
                    if r.value is None:
                        raise SerdeError("the delivery has no value (tombstone)")
                    record = decode(r.value)
                except SerdeError as error:
                    self._reject(r, "*", type(error).__name__, str(error))
                    continue
                key = None if r.key is None else r.key.decode("utf-8", "replace")
                for rt in runtimes:
                    try:
                        events[rt.view.name].append((r, rt.extract(key, record)))
                    except BadEvent as error:
                        self._reject(r, rt.view.name, "bad_event", str(error))
        for name, items in events.items():
            agg = self.runtimes[name].aggregator
            for r, event in items:
                agg.seed(r.partition, event.time_ms)
            tally: dict[str, int] = defaultdict(int)
            for r, event in items:
                arrival = agg.add(event, r.partition)
                tally[arrival.value] += 1
                if arrival is Arrival.TOO_LATE:
                    log.info(
                        "event too late, dropped",
                        extra={
                            "view": name,
                            "topic": r.topic,
                            "partition": r.partition,
                            "offset": r.offset,
                            "event_time_ms": event.time_ms,
                            "watermark_ms": agg.watermark,
                        },
                    )
            for arrival, n in tally.items():
                metrics.EVENTS.labels(name, arrival).inc(n)
            metrics.LATE.labels(name).inc(tally[Arrival.LATE.value])
            metrics.TOO_LATE.labels(name).inc(tally[Arrival.TOO_LATE.value])

    def _reject(self, r: Any, view: str, reason: str, message: str) -> None:
        # Not lost: counted, logged, and sent to the hub's dead-letter topic (same transaction)
        # with the reason and where it came from.
        metrics.REJECTED.labels(view, reason).inc()
        why = DeadLetter(
            reason,
            f"view {view}: {message}",
            r.topic,
            r.partition,
            r.offset,
            None,
            self.config.transactional_id,
            datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        self._dead.append((r.key, r.value, dead_letter_headers(r.headers, why)))
        log.error(
            "delivery not usable",
            extra={
                "view": view,
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "reason": reason,
                "error": message,
            },
        )

    def close_windows(self, watermark: int | None = None) -> BatchOutcome:
        """Advance every view, gate what closed by k, and collect changelog and output records."""
        out = BatchOutcome()
        closed_at = int(time.time() * 1000)
        for name, rt in self.runtimes.items():
            agg = rt.aggregator
            closed = agg.advance(watermark)
            published, suppressed = kgate.gate(closed, agg.k)
            topic = self.config.output_topic(name)
            for result in published:
                value = orjson.dumps(result_record(result, rt, closed_at))
                out.outputs.append((topic, result.entity.encode(), value, result_headers(result)))
            out.published += published
            out.suppressed += suppressed
            out.changelog += changelog.changes(agg, self._fps[name])
        return out

    async def _commit(self, outcome: BatchOutcome, offsets: dict[TopicPartition, int]) -> None:
        producer = self._producer
        assert producer is not None
        cfg = self.config
        await producer.begin_transaction()
        try:
            for key, value in outcome.changelog:
                await producer.send(cfg.changelog_topic, value, key=key)
            for topic, key, value, headers in outcome.outputs:
                await producer.send(topic, value, key=key, headers=headers)
            for key, value, headers in outcome.dead_letters:
                await producer.send(cfg.dlq_topic, value, key=key, headers=headers)
            if offsets:
                await producer.send_offsets_to_transaction(offsets, cfg.group)
            await producer.commit_transaction()
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.abort_transaction()
            raise
        metrics.TRANSACTIONS.labels("committed").inc()
        self.committed_batches += 1

    def _after_commit(self, outcome: BatchOutcome) -> None:
        for r in outcome.published:
            metrics.WINDOWS_CLOSED.labels(r.view).inc()
            metrics.PUBLISHED.labels(r.view).inc()
        for r in outcome.suppressed:
            metrics.WINDOWS_CLOSED.labels(r.view).inc()
            metrics.SUPPRESSED.labels(r.view).inc()
            log.info(
                "window withheld by the k-anonymity gate",
                extra={
                    "view": r.view,
                    "window_start_ms": r.start_ms,
                    "contributors": r.contributors,
                    "k": self.runtimes[r.view].aggregator.k,
                },
            )
        self._update_gauges()

    def _update_gauges(self) -> None:
        for name, rt in self.runtimes.items():
            metrics.OPEN_WINDOWS.labels(name).set(len(rt.aggregator.windows))
            if rt.aggregator.watermark is not None:
                metrics.WATERMARK.labels(name).set(rt.aggregator.watermark / 1000)

    async def _learn_schemas(self, records: list) -> None:
        for r in records:
            value = r.value
            if value is None or len(value) < HEADER_SIZE or value[0] != MAGIC_BYTE:
                continue
            schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
            if schema_id in self._known:
                continue
            try:
                text = await self._registry.schema_by_id(schema_id)
            except RegistryError as error:
                if error.status == 0 or error.status >= 500:
                    raise
                continue  # unknown id: decode fails and the record is rejected by name
            self._serde.add_schema(schema_id, text)
            self._known.add(schema_id)


class FeastPusher:
    """Push committed window results from ``hub.features.<view>`` to Feast (online + offline)."""

    def __init__(self, config: PipelineConfig, catalog: FeatureCatalog) -> None:
        assert config.feast is not None
        self.config = config
        self.catalog = catalog
        self._views = {config.output_topic(v.name): v for v in catalog.views}
        self._stop = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._store: Any = None
        self.pushed = 0

    async def start(self) -> None:
        from consumers.features.feast_repo import apply

        assert self.config.feast is not None
        self._store = await asyncio.to_thread(apply, self.config.feast, self.catalog)
        self._consumer = AIOKafkaConsumer(
            *sorted(self._views),
            bootstrap_servers=self.config.bootstrap,
            **self.config.security.aiokafka(),
            group_id=f"{self.config.group}-feast",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await start_client(self._consumer, self.config.security, self.config.bootstrap)

    async def close(self) -> None:
        if self._consumer:
            await self._consumer.stop()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        assert self._consumer is not None
        while not self._stop.is_set():
            batch = await self._consumer.getmany(timeout_ms=200, max_records=2000)
            if not batch:
                continue
            try:
                await self.push(batch)
            except Exception as error:  # Feast or its store failed: push the batch again
                log.warning("push to Feast failed, retrying", extra={"error": repr(error)})
                for tp, records in batch.items():
                    self._consumer.seek(tp, records[0].offset)
                await asyncio.sleep(self.config.retry_backoff)

    async def push(self, batch: dict[TopicPartition, list]) -> None:
        from consumers.features.feast_repo import push, results_frame

        by_view: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for tp, records in batch.items():
            view = self._views[tp.topic]
            for r in records:
                by_view[view.name].append(orjson.loads(r.value))
        for name, rows in by_view.items():
            view = self.catalog.view(name)
            frame = results_frame(view, rows)
            started = time.perf_counter()
            await asyncio.to_thread(push, self._store, name, frame)
            metrics.PUSH_SECONDS.observe(time.perf_counter() - started)
            now = time.time()
            for row in rows:
                metrics.PUSH_LAG.observe(max(0.0, now - row["closed_at_ms"] / 1000))
            metrics.PUSHED.labels(name).inc(len(rows))
            self.pushed += len(rows)
        assert self._consumer is not None
        await self._consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})


async def serve(config: PipelineConfig, *, install_signals: bool = True) -> None:
    """Run the pipeline (and, with ``config.feast``, the Feast pusher) until SIGTERM/SIGINT."""
    import signal

    pipeline = FeaturePipeline(config)
    pusher = FeastPusher(config, pipeline.catalog) if config.feast is not None else None

    def stop() -> None:
        pipeline.stop()
        if pusher is not None:
            pusher.stop()

    if install_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
    async with pipeline:
        if pusher is None:
            await pipeline.run()
            return
        await pusher.start()
        try:
            await asyncio.gather(pipeline.run(), pusher.run())
        finally:
            await pusher.close()
