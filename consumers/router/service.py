"""The router service: consume raw topics, apply agreements, deliver, commit, exactly once.

One consumer group over every source topic with a valid agreement. Each batch becomes one
Kafka transaction holding its deliveries, dead letters, audit records and the consumer offsets
(consume-transform-produce), so subscribers reading ``read_committed`` see every event once,
also across crashes. Plain confluent-kafka (librdkafka, ``kafka.py``), not a FastStream
subscriber: the hot loop works on whole batches and queues its records without awaiting each
acknowledgement; the commit fails if any delivery did (see DESIGN.md, "The hot path").

The per-event work runs in the native core (``engine.py``) when it is installed, in a thread
without the GIL, else in the Python engine. While one transaction commits, the next batch is
already being routed (by the core's thread, or by routing processes, ``workers`` > 0), and
what arrives until that commit ends is fetched and routed into the same next transaction
(group commit: an event waits for the commit in flight and its own). Transactions still follow
one another in offset order; when one fails, it and everything routed beside it are read again
from the first offset not committed. With the Python engine in one process, a batch is
committed before the next is routed (routing there holds the event loop, and the commit's
round trips would wait for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consumers.router import metrics
from consumers.router.accounts import QualityLedger, receipt_bodies
from consumers.router.audit import AUDIT_SCHEMA
from consumers.router.engine import (
    NativeSource,
    NativeTable,
    announce,
    route_native,
    select_engine,
)
from consumers.router.kafka import (
    Fenced,
    KafkaFailure,
    RouterConsumer,
    TopicPartition,
    TransactionalProducer,
    group_metadata_of,
)
from consumers.router.process import MAX_BATCH_BYTES, Accounting, Outcome, route_events
from consumers.router.routes import (
    RoutingTable,
    SourceRoutes,
    agreement_files,
    build_routing_table,
)
from consumers.router.runtime import default_workers
from consumers.router.workers import RouteWorkers, WorkerDied
from hub.agreements.history import agreement_bytes
from hub.kafka import KafkaSecurity, check_login, registry_auth
from hub.outage import BrokerWatch, RegistryWatch
from hub.quality.summary import SUMMARY_SCHEMA
from hub.receipts import RECEIPT_SCHEMA, receipts_key
from hub.schemas.catalog import iter_schema_files, load_catalog
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryError
from hub.serde.wire import HEADER_SIZE, MAGIC_BYTE, frame
from hub.settings import Settings
from hub.topics import TopicCreationError, TopicSpec, ensure_topics, read_snapshot

log = logging.getLogger("hub.router")
# Routing in-process holds the event loop; every so many events it lets other tasks run (the
# metrics server, the agreements watcher).
YIELD_EVERY = 250
# While a commit is in flight, new records are fetched in waits this long: its end is seen
# within it, and what arrived meanwhile joins the next transaction.
ARRIVAL_WAIT_S = 0.001


@dataclass
class RouterConfig:
    bootstrap: str
    registry_url: str
    agreements_dir: Path
    schemas_dir: Path
    group: str = "hub-router"
    instance: str = "0"
    dlq_topic: str = "hub.dlq"
    audit_topic: str = "hub.audit"
    receipts_topic: str = "hub.receipts"
    receipts_retention_days: int = 3653
    agreements_topic: str = "hub.agreements"
    quality_topic: str = "hub.quality"
    late_after_s: float = 3600.0
    max_batch: int = 5000
    poll_ms: int = 100
    # How long the producer waits to fill a batch, how long the broker holds a fetch when there
    # is no data (it answers at once when there is). A transaction's commit sends what is queued
    # at once (librdkafka's flush overrides linger.ms), so a long linger costs no latency: a
    # transaction's deliveries leave in one request per partition at its commit, not in several
    # small ones while it is queued (at 35k events/s, 5 alternated rounds: p99 median 123 ms
    # with 5 ms, 91 ms with 500 ms). A full batch (batch.size) still leaves at once.
    linger_ms: float = 500.0
    # Transactional producers taking turns: a transaction begun right after its predecessor
    # committed on the same producer waits for that one's markers (the coordinator answers
    # CONCURRENT_TRANSACTIONS, librdkafka retries after 20 ms); on the other it need not.
    producers: int = 2
    fetch_wait_ms: int = 50
    watch_interval: float = 2.0
    retry_backoff: float = 1.0
    workers: int = 0  # processes routing events; 0: in the router's own process
    engine: str | None = None  # auto | native | python; None: HUB_ROUTER_ENGINE, else auto
    native_produce: bool = True  # the core produces its own deliveries (when it can)
    # The principal the router is (hub-router in production; the settings' identity if unset).
    security: KafkaSecurity = field(default_factory=KafkaSecurity.from_settings)

    @property
    def transactional_id(self) -> str:
        return f"{self.group}-{self.instance}"

    @property
    def name(self) -> str:
        return self.transactional_id

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RouterConfig:
        values: dict[str, Any] = {
            "bootstrap": settings.bootstrap_servers,
            "registry_url": settings.registry_url,
            "agreements_dir": settings.catalog_dir / "agreements",
            "schemas_dir": settings.schemas_dir,
            "group": settings.router_group,
            "instance": settings.router_instance,
            "dlq_topic": settings.dlq_topic,
            "audit_topic": settings.audit_topic,
            "receipts_topic": settings.receipts_topic,
            "receipts_retention_days": settings.receipts_retention_days,
            "agreements_topic": settings.agreements_topic,
            "quality_topic": settings.quality_topic,
            "late_after_s": settings.quality_late_after_s,
            "max_batch": settings.router_max_batch,
            "native_produce": settings.router_native_produce,
            "producers": settings.router_producers,
            "workers": default_workers()
            if settings.router_workers is None
            else settings.router_workers,
            "security": KafkaSecurity.from_settings(settings, principal="hub-router"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class TransientError(RuntimeError):
    """Something outside the event failed (registry, broker): retry the batch, do not DLQ it."""


# Failures of a batch, not of its events: the transaction is aborted, the batch read again
# (BrokerUnreachable is a ConnectionError, so an OSError).
RETRIED = (TransientError, KafkaFailure, OSError)


def fingerprint(*dirs: Path) -> tuple:
    """Names, sizes and mtimes of the agreement and schema files: a change means reload."""
    files = []
    for d in dirs:
        paths = agreement_files(d) if d.name == "agreements" else list(iter_schema_files(d))
        for p in paths:
            with contextlib.suppress(OSError):
                st = p.stat()
                files.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(sorted(files))


class Router:
    """``async with Router(config, secret) as router: await router.run()``; ``stop()`` ends it."""

    def __init__(
        self,
        config: RouterConfig,
        master_secret: bytes,
        *,
        before_reload: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """``before_reload``: awaited when the agreements changed, before the new table is
        built (``hub router run`` applies the access plan there, so a new agreement's topics
        are open to the router before it delivers to them)."""
        self.config = config
        self._secret = master_secret
        self._before_reload = before_reload
        self._registry = AsyncRegistryClient(
            config.registry_url,
            auth=registry_auth(config.security),
            watch=RegistryWatch("router", log),  # an outage of it: two lines, counts between
        )
        self._engine = select_engine(config.engine)
        self._native: NativeTable | None = None  # the table on the core, when it routes
        self._serde = AvroSerde()
        self._known_ids: set[int] = set()
        self._table = RoutingTable()
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._consumer: RouterConsumer | None = None
        self._producers: list[TransactionalProducer] = []
        self._turn = 0  # the producer of the next transaction
        self._native_sender = False
        self._transactional_id = config.transactional_id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._group_metadata: dict[str, Any] = {}  # of groups other than ours (the replay's)
        self._kafka_errors: set[str] = set()  # said once each
        self._audit_schema_id = 0
        self._fingerprint: tuple = ()
        self._watcher: asyncio.Task | None = None
        self._workers: RouteWorkers | None = None
        self._writers: dict[int, str] = {}  # writer schemas by id, as workers need them
        self._inflight: _InFlight | None = None  # the batch being committed
        self._revocations = 0  # partitions taken from this instance, so far
        self.accounting = Accounting(
            receipts_key(master_secret), True, round(config.late_after_s * 1_000_000)
        )
        self.receipts_only = Accounting(self.accounting.receipts_key, False)
        self._quality = QualityLedger()
        self.quality_stale = True  # restore from hub.quality before the next commit
        self._receipts_schema_id = 0
        self._quality_schema_id = 0
        # agreement versions (content hash -> JSON) to write with the next batch
        self._versions: dict[str, bytes] = {}
        self.committed_batches = 0
        self.committed_events = 0
        # While the broker is away: one line when it goes, one when it is back, counts between.
        self.broker = BrokerWatch("router", log)

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> Router:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def table(self) -> RoutingTable:
        return self._table

    async def prepare(self, transactional_id: str | None = None) -> None:
        """Registry, audit schema, the hub's own topics and the transactional producer."""
        cfg = self.config
        # A refused credential is one line naming the principal, not retries.
        await check_login(cfg.bootstrap, cfg.security)
        self._audit_schema_id = await self._register(f"{cfg.audit_topic}-value", AUDIT_SCHEMA)
        self._serde.add_schema(self._audit_schema_id, AUDIT_SCHEMA)
        self._receipts_schema_id = await self._register(
            f"{cfg.receipts_topic}-value", RECEIPT_SCHEMA
        )
        self._quality_schema_id = await self._register(f"{cfg.quality_topic}-value", SUMMARY_SCHEMA)
        self._serde.add_schema(self._quality_schema_id, SUMMARY_SCHEMA)
        compacted = {"cleanup.policy": "compact"}
        retention = str(cfg.receipts_retention_days * 86_400_000)
        await ensure_topics(
            cfg.bootstrap,
            [
                cfg.dlq_topic,
                cfg.audit_topic,
                TopicSpec(cfg.receipts_topic, config={"retention.ms": retention}),
                TopicSpec(cfg.agreements_topic, config=compacted),
                TopicSpec(cfg.quality_topic, config=compacted),
            ],
            security=cfg.security,
        )
        self._transactional_id = transactional_id or cfg.transactional_id
        await self._start_producer()

    @property
    def _producer(self) -> TransactionalProducer | None:
        """The producer whose turn it is (the next transaction's)."""
        return self._producers[self._turn] if self._producers else None

    async def _start_producer(self) -> None:
        """The transactional producers (ids ``<name>``, ``<name>.1``, ...); starting them
        fences older ones with the same ids (a crashed instance's)."""
        cfg = self.config
        self._loop = asyncio.get_running_loop()
        ids = [self._transactional_id] + [
            f"{self._transactional_id}.{n}" for n in range(1, max(1, cfg.producers))
        ]
        self._producers = [
            TransactionalProducer(
                cfg.bootstrap,
                cfg.security,
                tid,
                linger_ms=cfg.linger_ms,
                batch_bytes=MAX_BATCH_BYTES,
                on_error=self._from_client,
                native=cfg.native_produce,
            )
            for tid in ids
        ]
        self._turn = 0
        # the core produces its deliveries itself only where every producer lent it its handle
        self._native_sender = all(p.sender is not None for p in self._producers)
        metrics.NATIVE_SENDER.set(1 if self._native_sender else 0)
        await asyncio.gather(*(p.start() for p in self._producers))

    async def start(self) -> None:
        cfg = self.config
        await self.prepare()
        self._consumer = RouterConsumer(
            cfg.bootstrap,
            cfg.security,
            cfg.group,
            instance_id=self._transactional_id,
            fetch_wait_ms=cfg.fetch_wait_ms,
            # A source topic the department has not created yet is found within 5 s of its
            # first event (a metadata request every 5 s costs nothing).
            metadata_refresh_ms=5_000,
            on_assign=self._assigned,
            on_revoke=self._revoked,
            on_error=self._from_consumer,
            # the native engine in this process reads the consumed messages itself
            intake=self._engine.core is not None and not cfg.workers,
        )
        metrics.NATIVE_INTAKE.set(1 if self._consumer.intake is not None else 0)
        await self.broker.start(cfg.bootstrap, cfg.security)
        announce(self._engine)
        await self._apply_table(await self.build_table())
        self._watcher = asyncio.create_task(self._watch(), name="agreements-watch")
        log.info("router started", extra={"router": cfg.name, "topics": self._table.topics})

    async def close(self) -> None:
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        async with self._lock:  # a batch in flight commits first
            with contextlib.suppress(Exception):
                await self._settle()
        # Outside the lock: leaving the group runs the revocation callback, which takes it.
        if self._consumer:
            with contextlib.suppress(Exception):
                await self._consumer.close()
        for producer in self._producers:
            await producer.close()
        if self._workers:
            await self._workers.stop()
        await self._registry.aclose()
        await self.broker.stop()
        log.info("router stopped", extra={"router": self.config.name})

    async def restore_quality(self) -> None:
        """The quality summaries as committed in ``hub.quality``."""
        cfg = self.config
        records = await read_snapshot(cfg.bootstrap, cfg.quality_topic, security=cfg.security)
        await self._learn_ids(
            {int.from_bytes(r.value[1:HEADER_SIZE], "big") for r in records if r.value}
        )
        summaries, unreadable, first_error = [], 0, None
        for record in records:
            if record.value is None:
                continue
            try:
                summaries.append(self._serde.decode(record.value))
            except Exception as error:  # a summary we cannot read: counted from zero, said
                unreadable += 1
                first_error = first_error or (record.offset, str(error))
        if first_error is not None:  # once, not per record (a topic of another registry)
            log.error(
                "quality summaries unreadable: their figures count from zero",
                extra={"count": unreadable, "offset": first_error[0], "error": first_error[1]},
            )
        self._quality.restore(summaries)
        log.info("quality summaries restored", extra={"summaries": len(summaries)})

    # -- the consumer's callbacks (in its thread) ----------------------------------------------
    def _assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": sorted(map(_name, assigned))})
        # Summaries of partitions that were another instance's until now: as it committed them
        # (read before the next commit: fetching may already go on while this runs).
        self.quality_stale = True

    def _revoked(self, revoked: set[TopicPartition]) -> None:
        """Let the batch in flight commit before its partitions go to another instance."""
        self._revocations += 1
        loop = self._loop
        with contextlib.suppress(RuntimeError):  # no loop runs in the consumer's thread
            if asyncio.get_running_loop() is loop:
                return  # never wait on the loop from the loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(Exception):  # its failure is the loop's to handle
            asyncio.run_coroutine_threadsafe(self.quiesce(), loop).result()

    def _from_client(self, error: Exception, consumer: bool = False) -> None:
        """An error librdkafka reported by itself (in one of its client's threads)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._client_error, error, consumer)

    def _from_consumer(self, error: Exception) -> None:
        self._from_client(error, consumer=True)

    def _client_error(self, error: Exception, consumer: bool = False) -> None:
        if isinstance(error, Fenced):  # another router runs as this instance: it takes over
            log.critical(
                "another router runs with the same instance name; stopping this one",
                extra={"transactional_id": self._transactional_id, "error": str(error)},
            )
            self.stop()
            return
        if consumer and isinstance(error, KafkaFailure) and error.fatal:
            # the consumer is unusable (librdkafka's fatal errors): stop, to be started anew,
            # rather than run on without reading
            log.critical("the consumer failed for good; stopping", extra={"error": str(error)})
            self.stop()
            return
        if self.broker.report(error):  # the outage is logged once, the rest counted
            return
        if str(error) not in self._kafka_errors:  # a fetch repeats it: say it once
            self._kafka_errors.add(str(error))
            log.warning("kafka client error", extra={"error": str(error)})

    def stop(self) -> None:
        """Finish the batch in flight, then leave ``run`` (SIGTERM does this)."""
        self._stop.set()

    def request_reload(self) -> None:
        """Rebuild the routing table between two batches (SIGHUP does this)."""
        self._reload.set()

    # -- routing table ------------------------------------------------------------------------
    async def _register(self, subject: str, schema: dict) -> int:
        while True:
            try:
                return await self._registry.register(subject, schema)
            except RegistryError as error:
                if error.status == 403:
                    # Not ours to write (e.g. a subject an operator registered as hub-admin):
                    # fine when it already holds the schema, which a lookup (a read) finds.
                    try:
                        return (await self._registry.lookup(subject, schema)).id
                    except RegistryError:
                        raise error from None
                if error.status != 0:
                    raise
                await asyncio.sleep(self.config.retry_backoff)  # the watch said it, once

    async def build_table(self) -> RoutingTable:
        cfg = self.config
        self._fingerprint = fingerprint(cfg.agreements_dir, cfg.schemas_dir)
        catalog = load_catalog(cfg.schemas_dir)
        table = await build_routing_table(cfg.agreements_dir, catalog, self._secret, self._register)
        for problem in table.problems:
            log.error("agreement not applied", extra={"problem": problem})
        return table

    async def use_table(self, table: RoutingTable) -> None:
        """Make ``table`` the one applied: output schemas known, topics there."""
        assert self._producer is not None
        cfg = self.config
        for route in table.routes:
            self._serde.add_schema(route.schema_id, route.compiled.output_schema)
        deliveries = {r.topic for r in table.routes}
        await ensure_topics(
            cfg.bootstrap, [TopicSpec(t) for t in sorted(deliveries)], security=cfg.security
        )
        # Raw topics belong to their publishers; creating a missing one (one partition) only
        # lets the subscription start before the first event arrives. Under ACLs hub-router
        # may not create them: the subscription then waits for the department's first event.
        try:
            await ensure_topics(
                cfg.bootstrap, [TopicSpec(t) for t in sorted(table.sources)], security=cfg.security
            )
        except TopicCreationError as error:
            log.warning("source topics not there yet", extra={"topics": sorted(error.failures)})
        for route in table.routes:  # written with the next batch, before any receipt names them
            self._versions[route.compiled.content_hash] = agreement_bytes(route.compiled.agreement)
        if self._engine.core is not None:
            native = NativeTable(self._engine.core, table, self._secret, self.accounting)
            for schema_id, text in self._writers.items():
                for topic in native.sources:
                    native.learn(topic, schema_id, text, self._serde.schema(schema_id).canonical)
            self._native = native
        self._table = table

    async def _apply_table(self, table: RoutingTable) -> None:
        """Use ``table`` and subscribe to its source topics; on any failure the table in force
        stays (with its workers)."""
        assert self._consumer is not None
        old_topics = self._table.topics
        workers = None
        if self.config.workers:  # a new table is a new pool: workers compile what was registered
            workers = RouteWorkers(
                self.config.workers, table, self._secret, self._engine.name, self.accounting
            )
            await workers.start()
        try:
            await self.use_table(table)
        except BaseException:
            if workers:
                await workers.stop()
            raise
        if workers:
            old, self._workers = self._workers, workers
            if old:
                await old.stop()
            metrics.WORKERS.set(workers.count)
        if table.topics != old_topics or not self._consumer.subscription:
            if table.topics:
                self._consumer.subscribe(table.topics)
            elif self._consumer.subscription:
                self._consumer.unsubscribe()
        self._update_agreement_gauges()
        log.info(
            "agreements applied",
            extra={
                "agreements": [r.agreement_id for r in table.routes],
                "problems": len(table.problems),
            },
        )

    def _update_agreement_gauges(self) -> None:
        now = datetime.now(UTC)
        routes = self._table.routes
        active = sum(1 for r in routes if r.compiled.is_active(now))
        metrics.AGREEMENTS.labels("loaded").set(active)
        metrics.AGREEMENTS.labels("expired").set(len(routes) - active)
        metrics.AGREEMENTS.labels("invalid").set(len(self._table.problems))
        metrics.show_valid_until({r.agreement_id: r.compiled.ends_at.timestamp() for r in routes})

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.config.watch_interval)
            cfg = self.config
            if fingerprint(cfg.agreements_dir, cfg.schemas_dir) != self._fingerprint:
                self._reload.set()
            self._update_agreement_gauges()

    async def _reload_now(self) -> None:
        self._reload.clear()
        try:
            if self._before_reload is not None:
                await self._before_reload()
            table = await self.build_table()
        except Exception as error:  # keep delivering under the old table
            metrics.RELOADS.labels("failed").inc()
            log.error("reload failed, keeping the agreements in force", extra={"error": str(error)})
            return
        async with self._lock:
            try:
                await self._apply_table(table)
            except Exception as error:
                metrics.RELOADS.labels("failed").inc()
                log.error(
                    "reload failed, keeping the agreements in force", extra={"error": repr(error)}
                )
                return
        metrics.RELOADS.labels("ok").inc()

    # -- the loop -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Route until ``stop()``; every batch is committed (or read again) before it returns."""
        assert self._consumer is not None
        consumer = self._consumer
        try:
            while not self._stop.is_set():
                if self._reload.is_set():
                    async with self._lock:
                        await self._settle()
                    await self._reload_now()
                if not consumer.subscription:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), timeout=0.5)
                    continue
                try:
                    batch = await consumer.fetch(self.config.max_batch, self.config.poll_ms / 1000)
                except Fenced as error:  # our static membership: another took it
                    self._client_error(error, consumer=True)
                    continue
                except RETRIED as error:  # the fetch itself (rare: librdkafka retries)
                    self._client_error(error, consumer=True)
                    await asyncio.sleep(self.config.retry_backoff)
                    continue
                if batch:
                    await self._handle(batch)
                elif self._inflight is not None and self._inflight.task.done():
                    async with self._lock:
                        await self._settle()
        finally:
            async with self._lock:
                await self._settle()

    async def quiesce(self) -> None:
        """Wait until no batch is in flight (before partitions are revoked). Not under the
        lock: a revocation comes during a fetch, and ``_handle`` fetches what arrives while
        the batch before commits (what it routed meanwhile it then reads again)."""
        inflight = self._inflight
        if inflight is not None:
            await asyncio.wait([inflight.task])

    def _ours(self, batch: dict[TopicPartition, list]) -> dict[TopicPartition, list]:
        """``batch`` without the partitions a rebalance took since the fetch (their new owner
        reads them)."""
        assert self._consumer is not None
        assigned = self._consumer.assignment
        return {tp: records for tp, records in batch.items() if tp in assigned}

    async def _handle(self, batch: dict[TopicPartition, list]) -> None:
        """Route ``batch`` while the previous one commits, and with it whatever arrives until
        that commit ends; then commit them all in one transaction. An event so waits for the
        commit in flight and its own, not also for a fetch after them (group commit)."""
        started = time.perf_counter()
        async with self._lock:
            batch = self._ours(batch)
            if not batch:
                return
            # In one process, Python routing would hold the loop and stall the commit's round
            # trips (its deliveries would wait for this batch): commit first, route then.
            off_loop = self._workers is not None or self._native is not None
            if not off_loop and not await self._settle(batch):
                return
            commit = self._inflight.task if self._inflight is not None else None
            batches, outcome = [batch], Outcome()
            events = sum(len(records) for records in batch.values())
            revocations = self._revocations
            failed: BaseException | None = None
            while True:
                try:
                    outcome.merge(await self._route(batches[-1], datetime.now(UTC)))
                except (TransientError, WorkerDied) as error:
                    failed = error
                    break
                if commit is None or self._stop.is_set() or self._reload.is_set():
                    break
                if events >= self.config.max_batch:
                    break
                limit = self.config.max_batch - events
                if self._native is not None and self._workers is None:
                    routed, more = await self._consumer.in_thread(
                        self._arrivals_routed, limit, commit, revocations
                    )
                    for part, part_outcome in routed:
                        batches.append(part)
                        outcome.merge(part_outcome)
                        events += sum(len(records) for records in part.values())
                else:
                    more = await self._arrivals(limit, commit)
                if self._revocations != revocations or not more:
                    break
                batches.append(more)
                events += sum(len(records) for records in more.values())
            if not await self._settle(*batches):
                return  # every batch here is read again
            if failed is not None:
                await self._retry_later(failed, *batches)
                if isinstance(failed, WorkerDied):
                    await self._restart_workers()
                return
            if self._revocations != revocations:
                # Partitions went while this was routed: what is still ours is read again
                # (the rest by its new owner), and nothing of it is committed.
                self._rewind(*batches)
                return
            offsets = {
                tp: records[-1].offset + 1 for part in batches for tp, records in part.items()
            }
            if not self._consumer.knows_group_metadata:  # after a rebalance: asked now, in the
                # consumer's thread, so that the commit does not ask while arrivals are fetched
                with contextlib.suppress(*RETRIED):  # else the commit asks, and they give way
                    await self._consumer.group_metadata()
            task = asyncio.create_task(self._commit_batch(outcome, offsets, events, started))
            self._inflight = _InFlight(tuple(batches), task, time.monotonic())

    async def _arrivals(self, limit: int, commit: asyncio.Task) -> dict[TopicPartition, list]:
        """Records that arrive before ``commit`` ends (none once it has), fetched in short
        waits so that its end is seen at once."""
        assert self._consumer is not None
        while not commit.done():
            try:
                more = await self._consumer.fetch(limit, ARRIVAL_WAIT_S)
            except (Fenced, *RETRIED):  # the loop's next fetch meets it again, and says so
                return {}
            if more := self._ours(more):
                return more
        return {}

    def _arrivals_routed(
        self, limit: int, commit: asyncio.Task, revocations: int
    ) -> tuple[list[tuple[dict[TopicPartition, list], Outcome]], dict[TopicPartition, list]]:
        """In the consumer's thread: the records that arrive before ``commit`` ends, each fetch
        routed by the core as it comes (one hop to the thread for all of them, not two a fetch,
        and no event waits for the loop). Returns them routed, and a batch fetched but left to
        the loop (a writer schema the core does not know yet, a source it does not route, an
        error, a revocation, a stop or reload), else {}. Called under the loop's lock: the
        table does not change meanwhile."""
        assert self._consumer is not None and self._native is not None
        consumer, native = self._consumer, self._native
        routed: list[tuple[dict[TopicPartition, list], Outcome]] = []
        # Task.done() read from this thread: the loop, idle while this runs, sets it. A commit
        # that needs the group's metadata asks for it in this thread: then this ends first.
        while limit > 0 and not commit.done() and consumer.knows_group_metadata:
            if self._stop.is_set() or self._reload.is_set():
                break
            try:
                batch = self._ours(consumer.fetch_now(limit, ARRIVAL_WAIT_S))
            except (Fenced, *RETRIED):  # the loop's next fetch meets it again, and says so
                break
            if not batch:
                continue
            if self._revocations != revocations:
                return routed, batch
            work = []
            for tp, records in batch.items():
                source = self._table.sources.get(tp.topic)
                if source is None:  # withdrawn since the fetch
                    continue
                core = native.sources.get(tp.topic)
                if core is None or native.unknown_ids(tp.topic, records):
                    return routed, batch
                work.append((source, core, records))
            try:
                outcome = self._route_work(work, datetime.now(UTC))
            except Exception:  # the loop routes it again, and meets the error there
                return routed, batch
            routed.append((batch, outcome))
            limit -= sum(len(records) for records in batch.values())
        return routed, {}

    async def _route(self, batch: dict[TopicPartition, list], now: datetime) -> Outcome:
        if self._native is not None and self._workers is None:
            return await self._route_native(batch, now)
        outcome = Outcome()
        name = self.config.name
        for tp, records in batch.items():
            source = self._table.sources.get(tp.topic)
            if source is None:  # its agreements were withdrawn since the fetch
                continue
            writers = await self.learn_schemas(records)
            metrics.count(metrics.EVENTS_IN, [(tp.topic, len(records))])
            if self._workers is not None:
                outcome.merge(await self._workers.route(tp.topic, records, writers, now, name))
                continue
            for i in range(0, len(records), YIELD_EVERY):
                if i:
                    await asyncio.sleep(0)  # heartbeats, fetches and /metrics go on meanwhile
                part = records[i : i + YIELD_EVERY]
                outcome.merge(
                    route_events(
                        source,
                        ((r, r) for r in part),
                        self._serde,
                        now,
                        name,
                        accounting=self.accounting,
                    )
                )
        return outcome

    async def _route_native(self, batch: dict[TopicPartition, list], now: datetime) -> Outcome:
        """The whole batch in one thread: the core's calls release the GIL, so the loop goes on
        committing the batch before (and fetching, heartbeating, serving /metrics)."""
        native = self._native
        assert native is not None
        work = []
        for tp, records in batch.items():
            source = self._table.sources.get(tp.topic)
            if source is None:  # its agreements were withdrawn since the fetch
                continue
            core = native.sources.get(tp.topic)
            if core is None:  # every agreement on it was refused: the Python engine's
                await self.learn_schemas(records)
            else:
                await self._teach(native, tp.topic, native.unknown_ids(tp.topic, records))
            work.append((source, core, records))
        return await asyncio.to_thread(self._route_work, work, now)

    def _route_work(
        self, work: list[tuple[SourceRoutes, NativeSource | None, list]], now: datetime
    ) -> Outcome:
        """``(source, core, records)`` routed in the calling thread: by the core, or by the
        Python engine where ``core`` is None; every writer schema is known by now."""
        name, serde, accounting = self.config.name, self._serde, self.accounting
        # The core produces its deliveries itself when it could borrow the producer.
        lazy = self._native_sender
        outcome = Outcome()
        for source, core, records in work:
            metrics.count(metrics.EVENTS_IN, [(source.topic, len(records))])
            if core is None:
                events = ((r, r) for r in records)
                outcome.merge(route_events(source, events, serde, now, name, accounting=accounting))
            else:
                outcome.merge(route_native(core, records, serde, now, name, lazy=lazy))
        return outcome

    async def _teach(self, native: NativeTable, topic: str, ids: list[int]) -> None:
        """Give the core (and the serde) the writer schemas of ``ids``."""
        await self._learn_ids(set(ids))
        for schema_id in ids:
            text = self._writers.get(schema_id)
            if text is not None:  # else unknown here too: the event is dead-lettered
                native.learn(topic, schema_id, text, self._serde.schema(schema_id).canonical)

    async def _commit_batch(
        self, outcome: Outcome, offsets: dict[TopicPartition, int], events: int, started: float
    ) -> None:
        await self.commit(outcome, offsets, self.config.group)
        self.broker.ok()
        self.committed_events += events
        metrics.PROCESSING.observe(time.perf_counter() - started)
        metrics.count(metrics.DELIVERIES, outcome.delivered.items())
        metrics.count(metrics.FILTERED, outcome.filtered.items())
        metrics.count(metrics.DEAD_LETTERS, outcome.dead.items())
        metrics.observe_lags(time.time(), outcome.event_times)
        if outcome.dead:
            log.warning("events dead-lettered", extra={"reasons": dict(outcome.dead)})

    async def _settle(self, *also: dict[TopicPartition, list]) -> bool:
        """Wait for the batch in flight to commit. If it could not, read it (and ``also``, the
        batches after it) again and return False; a fenced producer ends the router."""
        inflight, self._inflight = self._inflight, None
        if inflight is None:
            return True
        try:
            await inflight.task
        except Fenced:
            log.critical(
                "another router runs with the same instance name; stopping this one",
                extra={"transactional_id": self._transactional_id},
            )
            raise
        except RETRIED as error:
            await self._retry_later(error, *inflight.batches, *also, began=inflight.began)
            return False
        return True

    async def _retry_later(
        self, error: BaseException, *batches: dict, began: float | None = None
    ) -> None:
        """Read ``batches`` again after a failure; ``began``: when their transaction began
        (``time.monotonic``), so that one an outage broke counts as part of it."""
        metrics.TRANSACTIONS.labels("aborted").inc()
        registry_away = self._registry.watch is not None and not self._registry.watch.reachable
        if registry_away:
            pass  # a schema id the registry could not give: its watch logged the outage
        elif not self.broker.report(error, since=began):  # else counted: logged once
            log.warning("batch not committed, reading it again", extra={"error": repr(error)})
        self._rewind(*batches)
        await asyncio.sleep(self.config.retry_backoff)
        if isinstance(error, KafkaFailure) and error.fatal:
            await self._renew_producer()

    async def _renew_producer(self) -> None:
        """After a fatal error (librdkafka's producer is unusable then): new ones."""
        log.error("the transactional producer failed for good; starting a new one")
        for old in self._producers:
            await old.close()
        await self._start_producer()

    async def _restart_workers(self) -> None:
        """A worker died (killed, out of memory): a fresh pool under the same table."""
        assert self._workers is not None
        log.error("a routing worker died; starting the pool again")
        metrics.WORKER_RESTARTS.inc()
        old = self._workers
        self._workers = RouteWorkers(
            old.count, self._table, self._secret, self._engine.name, self.accounting
        )
        with contextlib.suppress(Exception):
            await old.stop()
        await self._workers.start()

    async def learn_schemas(self, records: list) -> dict[int, str]:
        """The writer schemas of ``records`` by id (for workers), fetching unseen ones without
        blocking the loop. Unknown ids stay unknown (the event is dead-lettered); an unreachable
        registry is transient (the batch is read again)."""
        ids = set()
        for r in records:
            value = r.value
            if value is not None and len(value) >= HEADER_SIZE and value[0] == MAGIC_BYTE:
                ids.add(int.from_bytes(value[1:HEADER_SIZE], "big"))
        await self._learn_ids(ids)
        return {i: self._writers[i] for i in ids if i in self._writers}

    async def _learn_ids(self, ids: set[int]) -> None:
        for schema_id in ids - self._known_ids:
            try:
                text = await self._registry.schema_by_id(schema_id)
            except RegistryError as error:
                if error.status == 0 or error.status >= 500:
                    raise TransientError(f"registry: {error}") from error
                continue  # 404: the serde raises UnknownSchemaError, the event is dead-lettered
            self._serde.add_schema(schema_id, text)
            self._writers[schema_id] = text
            self._known_ids.add(schema_id)

    @property
    def engine(self) -> str:
        """The engine routing events: ``native`` or ``python``."""
        return self._engine.name

    @property
    def serde(self) -> AvroSerde:
        return self._serde

    async def partitions(self, topic: str) -> set[int]:
        """The partitions of ``topic`` (metadata through the producer, which any mode has)."""
        assert self._producer is not None
        return await self._producer.partitions(topic)

    async def _metadata_of(self, group: str) -> Any:
        """What ``send_offsets_to_transaction`` needs to commit ``group``'s offsets."""
        if group == self.config.group and self._consumer is not None:
            return await self._consumer.group_metadata()
        if group not in self._group_metadata:
            cfg = self.config
            self._group_metadata[group] = await asyncio.to_thread(
                group_metadata_of, cfg.bootstrap, cfg.security, group
            )
        return self._group_metadata[group]

    async def commit(
        self, outcome: Outcome, offsets: dict[TopicPartition, int], group: str
    ) -> None:
        """One transaction: deliveries, dead letters, audit records, receipts, quality
        summaries, new agreement versions and ``group``'s offsets."""
        producer = self._producer
        assert producer is not None
        cfg = self.config
        now = datetime.now(UTC)
        metadata = await self._metadata_of(group)
        if outcome.quality and self.quality_stale:
            await self.restore_quality()
            self.quality_stale = False
        dlq, encode, audit_id = cfg.dlq_topic, self._serde.encode, self._audit_schema_id
        tail = [(dlq, k, v, h) for k, v, h in outcome.dead_letters]
        tail += (
            (cfg.audit_topic, r["agreement_id"].encode(), encode(audit_id, r), None)
            for r in outcome.audit
        )
        versions = dict(self._versions)
        for records in self._accounts(outcome, versions):
            tail += ((t, k, v, None) for t, k, v in records)
        staged = self._quality.stage(outcome.quality, now) if outcome.quality else None
        if staged is not None:
            quality_id = self._quality_schema_id
            tail += (
                (cfg.quality_topic, key, encode(quality_id, summary), None)
                for key, summary in staged.records
            )
        # The next transaction is the other producer's, whatever becomes of this one; one
        # transaction at a time, so the group's offsets are committed in order.
        self._turn = (self._turn + 1) % len(self._producers)
        try:
            # librdkafka partitions by key (murmur2, as Kafka's Java client) and batches in C.
            await producer.transact(outcome.deliveries, outcome.batches, tail, offsets, metadata)
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.abort()
            raise
        metrics.TRANSACTIONS.labels("committed").inc()
        self.committed_batches += 1
        for version in versions:
            self._versions.pop(version, None)
        if staged is not None:
            self._quality.apply(staged)
            metrics.count_quality(staged.added)
        metrics.RECEIPTS.inc(sum(p.count for p in outcome.receipts.values()))

    def _accounts(self, outcome: Outcome, versions: dict[str, bytes]) -> list[list]:
        """Agreement versions and receipts of a batch, as (topic, key, value) to send."""
        cfg = self.config
        recorded_at = datetime.now(UTC)
        out = [[(cfg.agreements_topic, h.encode(), body) for h, body in versions.items()]]
        receipts = []
        for part in outcome.receipts.values():
            for body in receipt_bodies(part, self._table, recorded_at):
                value = frame(self._receipts_schema_id, body)
                receipts.append((cfg.receipts_topic, part.agreement_id.encode(), value))
        out.append(receipts)
        return out

    def _rewind(self, *batches: dict[TopicPartition, list]) -> None:
        """After an aborted transaction, read again from the first offsets not committed."""
        assert self._consumer is not None
        assigned = self._consumer.assignment
        first: dict[TopicPartition, int] = {}
        for batch in batches:
            for tp, records in batch.items():
                if records:
                    first[tp] = min(first.get(tp, records[0].offset), records[0].offset)
        for tp, offset in first.items():
            if tp in assigned:
                self._consumer.seek(tp, offset)


@dataclass
class _InFlight:
    """Routed batches whose transaction is being committed."""

    batches: tuple[dict[TopicPartition, list], ...]
    task: asyncio.Task
    began: float  # time.monotonic(), the broker watch's clock


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}-{tp.partition}"
