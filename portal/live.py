"""What the pages read: the catalog's facts, the folds of the hub's logs, the topics' retention,
and the followers that keep the folds current. ``LiveState`` without followers is what the unit
tests and the benchmark use; ``Live`` starts and stops the followers around a running app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiokafka.structs import ConsumerRecord

from hub.kafka import KafkaSecurity
from hub.outage import BrokerWatch
from hub.serde import AsyncRegistryClient, RegistryError, SerdeError
from portal.audit import AuditFold
from portal.deadletters import DeadLetterFold
from portal.facts import Facts
from portal.follow import AuditDecoder, Follower, replayed_offsets, topic_retention
from portal.forecasts import ForecastFiles
from portal.lagebild import WindowFold
from portal.metrics import PortalMetrics
from portal.quality import QualityFold
from portal.staff import Staff

log = logging.getLogger("hub.portal")


@dataclass
class LiveState:
    facts: Facts
    staff: Staff
    audit_topic: str = "hub.audit"
    dlq_topic: str = "hub.dlq"
    receipts_topic: str = "hub.receipts"
    receipts_retention_days: int = 3653  # HUB_RECEIPTS_RETENTION_DAYS, for the Art. 30 record
    quality_topic: str = "hub.quality"
    features_prefix: str = "hub.features."
    audit: AuditFold = field(default_factory=AuditFold)
    dead_letters: DeadLetterFold = field(default_factory=DeadLetterFold)
    quality: QualityFold = field(default_factory=QualityFold)
    windows: WindowFold = field(default_factory=WindowFold)
    """The feature views' published (k-anonymous) windows, for the Lagebild."""
    forecasts: ForecastFiles = field(default_factory=lambda: ForecastFiles(None))
    rule_texts: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per data set, its quality rules' descriptions."""
    retention: dict[str, int | None] = field(default_factory=dict)
    caught_up: dict[str, bool] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Every followed log read to the end it had at start (pages then show whole counts)."""
        return all(self.caught_up.values()) and not self.problems


@dataclass
class KafkaSources:
    bootstrap: str
    security: KafkaSecurity
    registry: AsyncRegistryClient
    replay_group: str
    dlq_refresh: float = 15.0


class Live:
    """Fold ``hub.audit``, ``hub.dlq``, ``hub.quality`` and each feature view's published
    windows into ``state`` and keep following them."""

    def __init__(self, state: LiveState, sources: KafkaSources, metrics: PortalMetrics) -> None:
        self.state, self.sources, self.metrics = state, sources, metrics
        self.unreadable = 0  # records left out as undecodable (the first is logged)
        self._decoder = AuditDecoder(sources.registry)
        self._tasks: list[asyncio.Task] = []
        self._following: dict[str, asyncio.Task] = {}
        # While the broker is away: one line when it goes, one when it is back, counts between.
        self.broker = BrokerWatch("portal", log)
        self.followers = [
            Follower(sources.bootstrap, state.audit_topic, sources.security, self._on_audit),
            Follower(sources.bootstrap, state.dlq_topic, sources.security, self._on_dead_letter),
            Follower(sources.bootstrap, state.quality_topic, sources.security, self._on_quality),
        ]
        for view in sorted(state.facts.features):
            self.followers.append(
                Follower(
                    sources.bootstrap,
                    f"{state.features_prefix}{view}",
                    sources.security,
                    self._on_window(view),
                )
            )
        for f in self.followers:
            state.caught_up[f.topic] = False

    async def _on_audit(self, record: ConsumerRecord) -> None:
        if record.value is None:
            return
        self.state.audit.add(await self._decoder.decode(record.value))
        self.metrics.records.labels(self.state.audit_topic).inc()
        self.metrics.deliveries.set(self.state.audit.delivered)

    async def _on_dead_letter(self, record: ConsumerRecord) -> None:
        self.state.dead_letters.add(record.partition, record.offset, record.headers or ())
        self.metrics.records.labels(self.state.dlq_topic).inc()

    async def _on_quality(self, record: ConsumerRecord) -> None:
        if record.value is None:
            return
        try:
            summary = await self._decoder.decode(record.value)
            self.state.quality.add(summary)
        except (SerdeError, RegistryError, KeyError, TypeError) as error:
            if isinstance(error, RegistryError) and error.status != 404:
                raise  # the registry is away: a gap now would be a wrong count later
            # One unreadable summary must not stop the pages: left out and counted; the first
            # is logged (a topic written under another registry makes thousands of them).
            self.unreadable += 1
            self.metrics.unreadable.labels(self.state.quality_topic).inc()
            if self.unreadable == 1:
                log.warning(
                    "quality summary not readable; further ones are counted in "
                    "hub_portal_records_unreadable_total, not logged",
                    extra={"offset": record.offset, "error": f"{type(error).__name__}: {error}"},
                )
            return
        self.metrics.records.labels(self.state.quality_topic).inc()

    def _on_window(self, view: str) -> Callable[[ConsumerRecord], Awaitable[None]]:
        topic = f"{self.state.features_prefix}{view}"

        async def handle(record: ConsumerRecord) -> None:
            self.state.windows.add(view, record.value)
            self.metrics.records.labels(topic).inc()

        return handle

    async def start(self) -> None:
        for follower in self.followers:
            try:
                await follower.start()
            except Exception as error:  # e.g. not allowed to read it: the rest still serves
                self.state.problems[follower.topic] = f"{type(error).__name__}: {error}"
                log.error("cannot follow", extra={"topic": follower.topic, "error": str(error)})
                continue
            task = asyncio.create_task(self._follow(follower), name=follower.topic)
            self._following[follower.topic] = task
            self._tasks.append(task)
        self._tasks.append(asyncio.create_task(self._refresh_replays(), name="dlq-replays"))
        await self.broker.start(self.sources.bootstrap, self.sources.security)
        facts = self.state.facts
        topics = {*facts.datasets, self.state.audit_topic, self.state.dlq_topic}
        topics |= {a.agreement.topic for a in facts.agreements.values()}
        self.state.retention = await asyncio.to_thread(
            topic_retention, self.sources.bootstrap, self.sources.security, topics
        )

    async def _follow(self, follower: Follower) -> None:
        waiting = asyncio.create_task(follower.caught_up.wait())
        running = asyncio.create_task(follower.run())
        try:
            await asyncio.wait({waiting, running}, return_when=asyncio.FIRST_COMPLETED)
            if follower.caught_up.is_set():
                self.state.caught_up[follower.topic] = True
                self.metrics.caught_up.labels(follower.topic).set(1)
            await running
        except Exception:
            self.state.problems[follower.topic] = follower.error or "stopped"
        finally:
            waiting.cancel()

    async def _refresh_replays(self) -> None:
        while True:
            try:
                offsets = await asyncio.to_thread(
                    replayed_offsets,
                    self.sources.bootstrap,
                    self.sources.security,
                    self.sources.replay_group,
                    self.state.dlq_topic,
                )
                self.state.dead_letters.set_replayed(offsets)
            except Exception as error:  # not allowed or no such group yet: everything pending
                log.debug("replay state unknown", extra={"error": str(error)})
            await asyncio.sleep(self.sources.dlq_refresh)

    async def wait_caught_up(self, timeout: float) -> bool:
        """Until every follower has read what was there, or has stopped (a topic this
        principal may not read: waiting longer would not help, /healthz names it)."""

        async def settled(follower: Follower) -> None:
            task = self._following.get(follower.topic)
            if task is None:
                return  # it could not even start
            caught_up = asyncio.ensure_future(follower.caught_up.wait())
            try:
                await asyncio.wait({caught_up, task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                caught_up.cancel()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(settled(f) for f in self.followers)), timeout)
        return all(f.caught_up.is_set() for f in self.followers)

    async def stop(self) -> None:
        await self.broker.stop()
        for follower in self.followers:
            follower.stop()
        refresher = self._tasks[-1] if self._tasks else None
        if refresher is not None:
            refresher.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        self._tasks.clear()
        self._following.clear()
