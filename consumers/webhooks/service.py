"""The webhook dispatcher: every subscription's delivery topics, pushed to its endpoint.

One consumer group per subscription (``hub-webhooks.<id>``, read_committed), so each
subscription has its own progress and a slow or gone endpoint holds up nobody else. The
consumer commits only commit points (``ordering``): past deliveries acknowledged or given up.
On a rebalance (aiokafka's is eager: every partition is revoked) and on stop, requests in
flight finish, the commit points are committed, and the rest is read again from there.

Runs as the service principal ``hub-webhooks``: it may read the delivery topics of the
agreements its subscriptions name (``hub access`` grants them while the agreements are in
force), its groups ``hub-webhooks*``, and read, write and create ``hub.webhooks.dlq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from consumers.webhooks import metrics
from consumers.webhooks.deadletter import GivenUp, given_up_headers
from consumers.webhooks.delivery import Delivery
from consumers.webhooks.dispatch import Attempt, Dispatch, Policy, Schemas, Sender
from consumers.webhooks.http import Endpoint, ssl_context
from consumers.webhooks.retry import MAX_ATTEMPTS
from consumers.webhooks.settings import WebhookSettings
from consumers.webhooks.subscriptions import (
    Route,
    Subscription,
    SubscriptionError,
    load_agreements_for,
    load_subscriptions,
    resolve_topics,
)
from hub.kafka import KafkaSecurity, registry_auth, start_client
from hub.outage import BrokerWatch, RegistryWatch
from hub.serde import AsyncRegistryClient
from hub.settings import Settings
from hub.topics import ensure_topics

log = logging.getLogger("hub.webhooks")
PRINCIPAL = "hub-webhooks"


@dataclass
class WebhookConfig:
    bootstrap: str
    registry_url: str
    subscriptions_dir: Path
    agreements_dir: Path
    dlq_topic: str = "hub.webhooks.dlq"
    retry_scale: float = 1.0
    max_attempts: int = MAX_ATTEMPTS
    max_buffered: int = 10_000
    commit_interval: float = 1.0
    ca_file: Path | None = None
    poll_ms: int = 100
    jitter: float = 0.1
    only: tuple[str, ...] = ()  # subscription ids to run; empty: all
    environ: Mapping[str, str] | None = None  # where env: secrets are; default os.environ
    security: KafkaSecurity = field(
        default_factory=lambda: KafkaSecurity.from_settings(principal=PRINCIPAL)
    )

    @classmethod
    def from_settings(
        cls, settings: Settings, webhooks: WebhookSettings, **overrides: Any
    ) -> WebhookConfig:
        values: dict[str, Any] = {
            "bootstrap": settings.bootstrap_servers,
            "registry_url": settings.registry_url,
            "subscriptions_dir": webhooks.webhooks_subscriptions_dir
            or settings.catalog_dir / "subscriptions",
            "agreements_dir": settings.catalog_dir / "agreements",
            "dlq_topic": webhooks.webhooks_dlq_topic,
            "retry_scale": webhooks.webhooks_retry_scale,
            "max_attempts": webhooks.webhooks_max_attempts,
            "max_buffered": webhooks.webhooks_max_buffered,
            "commit_interval": webhooks.webhooks_commit_interval,
            "ca_file": webhooks.webhooks_ca_file,
            "security": KafkaSecurity.from_settings(settings, principal=PRINCIPAL),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def policy(self, **overrides: Any) -> Policy:
        values = {
            "max_attempts": self.max_attempts,
            "scale": self.retry_scale,
            "jitter": self.jitter,
        }
        values.update(overrides)
        return Policy(**values)


@dataclass(frozen=True)
class Prepared:
    """A subscription ready to run: its topics and signing keys."""

    subscription: Subscription
    routes: tuple[Route, ...]
    keys: tuple[bytes, ...] = field(repr=False)

    @property
    def topics(self) -> list[str]:
        return sorted({r.topic for r in self.routes})


def prepare_subscriptions(config: WebhookConfig, today: dt.date | None = None) -> list[Prepared]:
    """Load, check and resolve every subscription; one SubscriptionError with all problems
    (a subscription that cannot run is a configuration error, not something to skip)."""
    subscriptions = load_subscriptions(config.subscriptions_dir)
    if config.only:
        unknown = set(config.only) - {s.id for s in subscriptions}
        if unknown:
            raise SubscriptionError(
                [f"{config.subscriptions_dir}: no subscription {u!r}" for u in sorted(unknown)]
            )
        subscriptions = [s for s in subscriptions if s.id in config.only]
    agreements = load_agreements_for(config.agreements_dir)
    day = today or dt.date.today()
    problems: list[str] = []
    prepared: list[Prepared] = []
    env = os.environ if config.environ is None else config.environ
    for s in subscriptions:
        routes, found = resolve_topics(s, agreements, day)
        problems.extend(found)
        try:
            keys = s.signing_keys(env)
        except SubscriptionError as error:
            problems.extend(error.problems)
            continue
        prepared.append(Prepared(s, tuple(routes), tuple(keys)))
    if problems:
        raise SubscriptionError(problems)
    return prepared


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, pusher: Pusher) -> None:
        self._pusher = pusher

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._pusher.settle()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info(
            "partitions assigned",
            extra={"subscription": self._pusher.id, "partitions": sorted(map(str, assigned))},
        )


class Pusher:
    """One subscription: its consumer, its dispatch and its commits."""

    def __init__(
        self,
        prepared: Prepared,
        config: WebhookConfig,
        schemas: Schemas,
        dlq: AIOKafkaProducer,
        broker: BrokerWatch | None = None,
    ) -> None:
        self.prepared = prepared
        self.subscription = prepared.subscription
        self.id = self.subscription.id
        self._config = config
        self._dlq = dlq
        self._broker = broker or BrokerWatch("webhooks", log)
        tls = ssl_context(config.ca_file)
        sender = Sender(
            Endpoint(self.subscription.endpoint, tls=tls),
            list(prepared.keys),
            self.subscription.timeout,
        )
        self.dispatch = Dispatch(
            self.id,
            sender,
            schemas,
            self._give_up,
            concurrency=self.subscription.concurrency,
            policy=config.policy(),
            on_gone=self._on_gone,
            agreements={r.topic: r.agreement for r in prepared.routes},
        )
        self._sender = sender
        self._consumer: AIOKafkaConsumer | None = None
        self._stop = asyncio.Event()
        self._last_commit = 0.0
        self.state = "starting"

    async def start(self) -> None:
        cfg = self._config
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=cfg.bootstrap,
            **cfg.security.aiokafka(),
            group_id=self.subscription.group,
            enable_auto_commit=False,
            # A new subscription receives what its delivery topics still hold (retention).
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_wait_ms=50,
        )
        await start_client(self._consumer, cfg.security, cfg.bootstrap)
        metrics.DISABLED.labels(self.id).set(0)
        if self.prepared.topics:
            self._consumer.subscribe(self.prepared.topics, listener=_Rebalance(self))
        self.state = "running"
        log.info(
            "webhook subscription started",
            extra={
                "subscription": self.id,
                "endpoint": self.subscription.endpoint_for_logs,
                "topics": self.prepared.topics,
                "signing_keys": len(self.prepared.keys),
            },
        )

    def stop(self) -> None:
        self._stop.set()
        self.dispatch.halt()

    async def run(self) -> None:
        """Fetch, dispatch and commit until stopped (or the endpoint answered 410)."""
        consumer = self._consumer
        assert consumer is not None
        loop = asyncio.get_running_loop()
        try:
            while not self._stop.is_set() and self.dispatch.gone is None:
                if not consumer.subscription():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), 1.0)
                    continue
                # Full: fetch nothing but keep polling (a consumer that stops polling for
                # max.poll.interval leaves its group).
                room = self._config.max_buffered - self.dispatch.buffered
                paused = room <= 0
                if paused:
                    consumer.pause(*consumer.assignment())
                elif consumer.paused():
                    consumer.resume(*consumer.paused())
                batch = await consumer.getmany(
                    timeout_ms=self._config.poll_ms, max_records=max(1, min(room, 1000))
                )
                # aiokafka returns nothing of partitions revoked meanwhile, and a partition
                # assigned again starts at its committed offset: what the settle forgot.
                assigned = consumer.assignment()
                if self.dispatch.halted:  # stopping: what came is not taken, and not skipped
                    for tp, records in batch.items():
                        if records and tp in assigned:
                            consumer.seek(tp, records[0].offset)
                else:
                    for tp, records in batch.items():
                        if tp in assigned:
                            for r in records:
                                self.dispatch.submit(
                                    Delivery(
                                        r.topic,
                                        r.partition,
                                        r.offset,
                                        r.key,
                                        r.value,
                                        list(r.headers),
                                        r.timestamp,
                                    )
                                )
                if paused:
                    await self.dispatch.wait_for_progress(self._config.poll_ms / 1000)
                if loop.time() - self._last_commit >= self._config.commit_interval:
                    await self._commit()
        finally:
            await self.settle()
            if self.dispatch.gone is not None:
                self.state = "disabled"
            elif self.state == "running":
                self.state = "stopped"

    async def settle(self) -> None:
        """Let requests in flight finish, commit, and start afresh from the commit points."""
        await self.dispatch.drain()
        await self._commit(everything=True)
        if self.dispatch.gone is None and not self._stop.is_set():
            self.dispatch.reset()

    async def _commit(self, everything: bool = False) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        self._last_commit = asyncio.get_running_loop().time()
        points = self.dispatch.ordering.commit_points(all_=everything)
        assigned = consumer.assignment()
        offsets = {
            TopicPartition(topic, partition): offset
            for (topic, partition), offset in points.items()
            if TopicPartition(topic, partition) in assigned
        }
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as error:  # a rebalance meanwhile: the new owner reads them again
            if not self._broker.report(error):  # else counted: the outage is logged once
                log.warning(
                    "offsets not committed", extra={"subscription": self.id, "error": repr(error)}
                )

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        await self._sender.aclose()
        log.info(
            "webhook subscription stopped", extra={"subscription": self.id, "state": self.state}
        )

    async def _give_up(self, delivery: Delivery, reason: GivenUp) -> None:
        await self._dlq.send_and_wait(
            self._config.dlq_topic,
            value=delivery.value,
            key=delivery.key,
            headers=given_up_headers(delivery.headers, reason),
        )

    def _on_gone(self, attempt: Attempt) -> None:
        metrics.DISABLED.labels(self.id).set(1)
        log.error(
            "the endpoint answered 410 Gone: subscription disabled until it is fixed and the "
            "dispatcher restarted (nothing after the last acknowledged delivery is committed)",
            extra={
                "subscription": self.id,
                "endpoint": self.subscription.endpoint_for_logs,
                "body": attempt.excerpt()[:200],
            },
        )


class WebhookDispatcher:
    """``async with WebhookDispatcher(config) as d: await d.run()``; ``stop()`` ends it."""

    def __init__(self, config: WebhookConfig, prepared: list[Prepared] | None = None) -> None:
        self.config = config
        self._prepared = prepared
        self._registry = AsyncRegistryClient(
            config.registry_url,
            auth=registry_auth(config.security),
            watch=RegistryWatch("webhooks", log),  # its lines, once an outage
        )
        self.schemas = Schemas(self._registry)
        self._dlq: AIOKafkaProducer | None = None
        self.pushers: list[Pusher] = []
        self.state = "starting"
        # While the broker is away: one line when it goes, one when it is back, counts between.
        self.broker = BrokerWatch("webhooks", log)

    async def __aenter__(self) -> WebhookDispatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        cfg = self.config
        prepared = self._prepared if self._prepared is not None else prepare_subscriptions(cfg)
        await ensure_topics(cfg.bootstrap, [cfg.dlq_topic], security=cfg.security)
        self._dlq = AIOKafkaProducer(
            bootstrap_servers=cfg.bootstrap,
            **cfg.security.aiokafka(),
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
        )
        await start_client(self._dlq, cfg.security, cfg.bootstrap)
        try:
            for p in prepared:
                pusher = Pusher(p, cfg, self.schemas, self._dlq, self.broker)
                await pusher.start()
                self.pushers.append(pusher)
        except BaseException:
            await self.close()
            raise
        await self.broker.start(cfg.bootstrap, cfg.security)
        self.state = "running"
        log.info(
            "webhook dispatcher started",
            extra={
                "subscriptions": [p.id for p in self.pushers],
                "principal": cfg.security.principal,
            },
        )

    async def run(self) -> None:
        """Until ``stop()`` (a subscription also ends on its own after a 410, the others go
        on). A subscription that fails (e.g. its topic no longer readable) stops them all,
        each committing what it finished, and the error is raised: a supervisor restarts the
        process, which then says what is wrong at start."""
        tasks = [asyncio.create_task(p.run(), name=f"webhooks-{p.id}") for p in self.pushers]
        if not tasks:
            return
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            self.stop()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                self.state = "failed"
                raise result

    def stop(self) -> None:
        """Finish the requests in flight, commit, leave ``run`` (SIGTERM does this)."""
        for p in self.pushers:
            p.stop()

    async def close(self) -> None:
        await self.broker.stop()
        for p in self.pushers:
            with contextlib.suppress(Exception):
                await p.close()
        if self._dlq is not None:
            await self._dlq.stop()
            self._dlq = None
        await self._registry.aclose()
        self.state = "stopped"
        log.info("webhook dispatcher stopped")

    def health(self) -> dict[str, Any]:
        return {
            "status": self.state,
            "subscriptions": {
                p.id: {
                    "state": p.state,
                    "buffered": p.dispatch.buffered,
                    "acknowledged": p.dispatch.acknowledged,
                    "given_up": p.dispatch.given_up,
                }
                for p in self.pushers
            },
        }
