"""Reading a delivery topic from a given position, without consumer groups (Kafka I/O).

The pull API keeps no state between requests, so it reads with ``assign()`` and ``seek()``:
no group, no commits (``hub-deliveries`` has no group ACL at all), ``read_committed`` so only
what the router committed is handed out. Starting a Kafka consumer costs connections and round
trips, so a small pool of consumers stays up; a request borrows one, preferably one that is
already assigned to the same topic at the same positions, since that one has the next
deliveries prefetched and needs no seek (a client paging through a topic keeps hitting it).

The position handed back is the consumer's own position after the read: past the last record
returned, and also past transaction markers and aborted records, so the next pull does not
look at them again. A partition the cursor does not name starts at its beginning (a first
pull, or a partition added since).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from aiokafka.protocol.metadata import MetadataRequest

from hub.kafka import KafkaSecurity, start_client
from hub.outage import BrokerWatch

log = logging.getLogger(__name__)

UNKNOWN_TOPIC = 3
LEADER_NOT_AVAILABLE = 5
TOPIC_AUTHORIZATION_FAILED = 29
PRINCIPAL = "hub-deliveries"


class DeliveriesUnavailable(RuntimeError):
    """The broker cannot serve this read now (503: the client retries)."""


class NotAuthorized(DeliveriesUnavailable):
    """The broker refuses this service the topic: the ACLs lag the catalog (``hub access
    apply``) or were changed by hand. Kafka, not this service, has the last word."""

    def __init__(self, topic: str, principal: str | None) -> None:
        who = principal or PRINCIPAL
        super().__init__(
            f"the broker does not let {who} read {topic}: the access plan is not applied "
            "(run `hub access apply`)"
        )
        self.topic = topic


@dataclass(frozen=True)
class Batch:
    """What one read found: records in offset order per partition, and the position after them
    for every partition of the topic."""

    records: list[ConsumerRecord]
    positions: dict[int, int]


@dataclass
class _Slot:
    consumer: AIOKafkaConsumer
    tps: tuple[TopicPartition, ...] = ()
    after: dict[int, int] = field(default_factory=dict)  # positions at the end of the last read
    used: float = 0.0

    @property
    def topic(self) -> str | None:
        return self.tps[0].topic if self.tps else None


class DeliveryReader:
    """A pool of ``consumers`` group-less consumers; ``read`` waits at most ``wait`` seconds."""

    def __init__(
        self,
        bootstrap: str,
        security: KafkaSecurity,
        *,
        consumers: int = 4,
        wait: float = 0.5,
        metadata_ttl: float = 10.0,
        fetch_max_wait_ms: int = 100,
    ) -> None:
        if consumers < 1:
            raise ValueError("the pull API needs at least one consumer")
        self.bootstrap = bootstrap
        self.security = security
        self.wait = wait
        self.metadata_ttl = metadata_ttl
        self._size = consumers
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._idle: list[_Slot] = []
        self._free = asyncio.Semaphore(consumers)
        self._admin: AIOKafkaAdminClient | None = None
        self._partitions: dict[str, tuple[float, tuple[int, ...]]] = {}
        # While the broker is away: one line when it goes, one when it is back, counts between.
        self.broker = BrokerWatch("deliveries", log)

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            # a cursor behind the log start (retention deleted it) or past a recreated topic's end
            auto_offset_reset="earliest",
            # A seek waits for a long poll in flight to the same broker: keep that one short.
            fetch_max_wait_ms=self._fetch_max_wait_ms,
            **self.security.aiokafka(),
        )

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.security.aiokafka())
        await start_client(admin, self.security, self.bootstrap)
        self._admin = admin
        for _ in range(self._size):
            consumer = self._consumer()
            await start_client(consumer, self.security, self.bootstrap)
            self._idle.append(_Slot(consumer))
        await self.broker.start(self.bootstrap, self.security)

    async def stop(self) -> None:
        await self.broker.stop()
        slots, self._idle = self._idle, []
        for slot in slots:
            with contextlib.suppress(Exception):
                await slot.consumer.stop()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()
            self._admin = None

    async def __aenter__(self) -> DeliveryReader:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- metadata -------------------------------------------------------------------------
    async def check(self) -> None:
        """Raises unless a broker answers (for /healthz)."""
        assert self._admin is not None, "start() the reader first"
        await self._admin.describe_cluster()

    async def partitions(self, topic: str) -> tuple[int, ...] | None:
        """The partitions of ``topic``, None while it does not exist (no delivery yet);
        NotAuthorized when the broker refuses this service the topic."""
        cached = self._partitions.get(topic)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.metadata_ttl:
            return cached[1]
        assert self._admin is not None, "start() the reader first"
        # Metadata of this one topic, never creating it: the broker's auto-create would make a
        # delivery topic with default settings before the router made it with the hub's.
        request = MetadataRequest([topic], allow_auto_topic_creation=False)
        try:
            client = self._admin._client  # aiokafka offers no public per-topic lookup without it
            response = await client.send(client.get_random_node(), request)
        except KafkaError as exc:
            raise DeliveriesUnavailable(f"Kafka metadata of {topic}: {exc!r}") from exc
        (described,) = [t for t in response.to_object()["topics"] if t["topic"] == topic]
        code = described["error_code"]
        if code == TOPIC_AUTHORIZATION_FAILED:
            raise NotAuthorized(topic, self.security.principal)
        if code in (UNKNOWN_TOPIC, LEADER_NOT_AVAILABLE) or not described["partitions"]:
            self._partitions.pop(topic, None)
            return None
        if code:
            raise DeliveriesUnavailable(f"Kafka metadata of {topic}: error code {code}")
        found = tuple(sorted(p["partition"] for p in described["partitions"]))
        self._partitions[topic] = (now, found)
        return found

    # -- reading --------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _lease(self, topic: str, positions: Mapping[int, int]) -> AsyncIterator[_Slot]:
        async with self._free:
            slot = min(self._idle, key=lambda s: _preference(s, topic, positions))
            self._idle.remove(slot)
            try:
                yield slot
            except BaseException:
                slot.tps, slot.after = (), {}  # its state is unknown: assign afresh next time
                raise
            finally:
                slot.used = time.monotonic()
                self._idle.append(slot)

    async def read(self, topic: str, positions: Mapping[int, int] | None, limit: int) -> Batch:
        """Up to ``limit`` committed records of ``topic`` from ``positions`` (partition → next
        offset; a partition left out starts at its beginning)."""
        positions = dict(positions or {})
        partitions = await self.partitions(topic)
        if partitions is None:
            return Batch([], positions)
        tps = tuple(TopicPartition(topic, p) for p in partitions)
        async with self._lease(topic, positions) as slot:
            try:
                await self._seek(slot, tps, positions)
                records = await self._fetch(slot.consumer, tps, limit)
                after = {tp.partition: await slot.consumer.position(tp) for tp in tps}
            except TopicAuthorizationFailedError:
                self._partitions.pop(topic, None)
                raise NotAuthorized(topic, self.security.principal) from None
            except KafkaError as exc:
                raise DeliveriesUnavailable(f"reading {topic}: {exc!r}") from exc
            slot.after = after
        return Batch(records, after)

    async def _seek(
        self, slot: _Slot, tps: tuple[TopicPartition, ...], positions: Mapping[int, int]
    ) -> None:
        consumer = slot.consumer
        fresh = slot.tps != tps
        if fresh:
            consumer.assign(list(tps))
            slot.tps, slot.after = tps, {}
        from_start = []
        for tp in tps:
            wanted = positions.get(tp.partition)
            if wanted is None:
                from_start.append(tp)
            # Where the consumer already stands, a seek would only drop what it prefetched.
            elif fresh or slot.after.get(tp.partition) != wanted:
                consumer.seek(tp, wanted)
        if from_start:
            await consumer.seek_to_beginning(*from_start)

    async def _fetch(
        self, consumer: AIOKafkaConsumer, tps: tuple[TopicPartition, ...], limit: int
    ) -> list[ConsumerRecord]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        found = await consumer.getmany(*tps, timeout_ms=int(self.wait * 1000), max_records=limit)
        records = [r for batch in found.values() for r in batch]
        # One fetch holds what fitted its bytes; while more is committed, fill the batch up.
        while len(records) < limit and loop.time() < deadline and await _behind(consumer, tps):
            remaining = max(1, int((deadline - loop.time()) * 1000))
            found = await consumer.getmany(
                *tps, timeout_ms=remaining, max_records=limit - len(records)
            )
            if not found:
                break
            records += [r for batch in found.values() for r in batch]
        return records


async def _behind(consumer: AIOKafkaConsumer, tps: tuple[TopicPartition, ...]) -> bool:
    """Whether a partition is known to hold committed records past the consumer's position."""
    for tp in tps:
        stable = consumer.last_stable_offset(tp)
        if stable is not None and stable >= 0 and await consumer.position(tp) < stable:
            return True
    return False


def _preference(slot: _Slot, topic: str, positions: Mapping[int, int]) -> tuple[Any, ...]:
    """Lower is better: a consumer standing where the request starts, then one on the topic,
    then a never used one, then the one idle longest (another topic's prefetch is lost)."""
    if slot.topic == topic:
        at = all(slot.after.get(p) == o for p, o in positions.items()) and bool(positions)
        return (0 if at else 1, -slot.used)
    return (2 if slot.topic is None else 3, slot.used)
