"""The publisher SDK: department code hands over records, the hub gets Avro in Confluent wire
format with CloudEvents headers on ``<department>.<entity>.<event>``.

>>> async with Publisher(source="/hamm/buergeramt/meso") as publisher:
...     await publisher.publish(ResidentMoved.TOPIC, ResidentMoved(...))

Each topic's schema is the *registered* latest version of ``<topic>-value``, fetched once. The
fast path is encode (fastavro) → ``producer.send`` without waiting for the acknowledgement;
``publish`` waits, ``send`` returns the future, ``publish_many`` encodes a whole batch before
sending any of it, so a bad record never leaves half a batch on the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from pydantic import BaseModel

from hub.credentials import CredentialsError
from hub.kafka import KafkaAuthError, KafkaSecurity, registry_auth, start_client
from hub.quality import QualityFileError, RuleBook, Violation, default_rulebook
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryError, SerdeError
from hub.settings import get_settings
from producers.sdk import encoding
from producers.sdk.encoding import OutgoingEvent, TopicSchema
from producers.sdk.errors import (
    NotPreparedError,
    NotStartedError,
    PublisherError,
    QualityRuleError,
    RecordValidationError,
    UnknownTopicError,
)
from producers.sdk.metrics import TopicMetrics

__all__ = ["PublishedEvent", "Publisher", "RecordValidationError"]

log = logging.getLogger(__name__)

SUBJECT_NOT_FOUND = 40401
MAX_BATCH_BYTES = 256 * 1024  # fewer, larger produce requests: the broker's limit is 1 MiB

Record = Mapping[str, Any] | BaseModel
_PARTITIONER = DefaultPartitioner()


def department_of(source: str) -> str | None:
    """The department a CloudEvents source names: ``/hamm/<department>/<system>``."""
    parts = [p for p in source.split("/") if p]
    return parts[1] if len(parts) >= 2 else None


@dataclass(frozen=True)
class PublishedEvent:
    """Where the broker stored an event."""

    topic: str
    partition: int
    offset: int
    event_id: str


@dataclass(frozen=True, eq=False)
class _Topic:
    schema: TopicSchema
    metrics: TopicMetrics


class Publisher:
    """Publishes validated, encoded events with an idempotent producer (acks=all)."""

    def __init__(
        self,
        *,
        source: str,
        bootstrap_servers: str | None = None,
        registry_url: str | None = None,
        transactional_id: str | None = None,
        linger_ms: int = 5,
        principal: str | None = None,
        security: KafkaSecurity | None = None,
        request_timeout_ms: int = 40_000,
        quality: RuleBook | None = None,
    ) -> None:
        """``principal``: who publishes (default HUB_KAFKA_USERNAME, else the department named
        in ``source``); ``security``: a resolved identity instead (tests, the gateway).
        ``request_timeout_ms``: how long an event may wait for the broker (also for metadata)
        before its publish fails; a failed event is dropped, never sent later.
        ``quality``: where the contracts' quality rules come from (default: the schema tree of
        HUB_SCHEMAS_DIR, matched to the registered schema by content)."""
        if not source or not source.startswith("/"):
            raise ValueError(
                f"source must be a path like /hamm/<department>/<system>, got {source!r}"
            )
        if bootstrap_servers is None or registry_url is None:
            settings = get_settings()
            bootstrap_servers = bootstrap_servers or settings.bootstrap_servers
            registry_url = registry_url or settings.registry_url
        if security is None:
            try:
                security = KafkaSecurity.from_settings(principal=principal or department_of(source))
            except CredentialsError as exc:
                raise PublisherError(str(exc)) from None
        self.security = security
        self.source = source
        self.bootstrap_servers = bootstrap_servers
        self.registry_url = registry_url.rstrip("/")
        self.transactional_id = transactional_id
        self.linger_ms = linger_ms
        self.request_timeout_ms = request_timeout_ms
        self._source_header = source.encode()
        self._serde = AvroSerde()
        self._topics: dict[str, _Topic] = {}
        self._quality = quality
        self._registry: AsyncRegistryClient | None = None
        self._producer: AIOKafkaProducer | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._producer is not None:
            return
        try:
            security = self.security.aiokafka()
        except CredentialsError as exc:
            raise PublisherError(str(exc)) from None
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            **security,
            client_id=f"hub-publisher{self.source.replace('/', '-')}",
            acks="all",
            enable_idempotence=True,
            transactional_id=self.transactional_id,
            linger_ms=self.linger_ms,
            max_batch_size=MAX_BATCH_BYTES,
            request_timeout_ms=self.request_timeout_ms,
        )
        try:
            await start_client(producer, self.security, self.bootstrap_servers)
        except KafkaAuthError as exc:
            await producer.stop()
            raise PublisherError(str(exc)) from None
        except Exception as exc:
            await producer.stop()
            raise PublisherError(
                f"cannot start the Kafka producer for {self.bootstrap_servers}: {exc}"
            ) from exc
        self._producer = producer

    async def stop(self) -> None:
        """Flush what was sent (waiting for the acknowledgements), then close."""
        producer, self._producer = self._producer, None
        try:
            if producer is not None:
                await producer.stop()
        finally:
            registry, self._registry = self._registry, None
            if registry is not None:
                await registry.aclose()

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def producer(self) -> AIOKafkaProducer:
        """The underlying producer, e.g. to add records to the same transaction."""
        if self._producer is None:
            raise NotStartedError("the publisher is not started: await start() or use `async with`")
        return self._producer

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """``async with publisher.transaction():`` commits on exit, aborts on an exception."""
        if self.transactional_id is None:
            raise PublisherError("transaction() needs a Publisher(transactional_id=...)")
        return self.producer.transaction()

    # -- schemas ------------------------------------------------------------------------------
    async def prepare(self, topic: str) -> None:
        """Fetch and parse the latest registered schema of ``<topic>-value`` (once).

        Cached for the publisher's lifetime: a department adopting a new schema version
        restarts its publisher (the registry's compatibility rules keep old readers working).
        """
        if topic not in self._topics:
            await self._fetch(topic)

    async def _fetch(self, topic: str) -> _Topic:
        subject = f"{topic}-value"
        if self._registry is None:
            self._registry = AsyncRegistryClient(
                self.registry_url, auth=registry_auth(self.security)
            )
        try:
            registered = await self._registry.latest(subject)
        except RegistryError as exc:
            if exc.error_code == SUBJECT_NOT_FOUND:
                raise UnknownTopicError(
                    f"{topic}: no schema registered under subject {subject} at "
                    f"{self.registry_url}; publish the schema catalog first"
                ) from None
            raise PublisherError(
                f"{topic}: fetching the schema of {subject} failed: {exc}"
            ) from exc
        if registered.schema_type != "AVRO":
            raise PublisherError(
                f"{topic}: {subject} holds a {registered.schema_type} schema; the hub speaks Avro"
            )
        if self._quality is None:
            self._quality = default_rulebook()
        try:
            rules = self._quality.rules_for(topic, registered.schema)
        except QualityFileError as exc:
            raise PublisherError(f"{topic}: its quality rules are unusable: {exc}") from exc
        try:
            schema = TopicSchema.register(
                self._serde, topic, registered.id, registered.schema, rules
            )
        except SerdeError as exc:
            raise PublisherError(f"{topic}: the schema of {subject} is unusable: {exc}") from exc
        state = _Topic(schema, TopicMetrics.of(topic))
        self._topics[topic] = state
        return state

    def _known(self, topic: str) -> _Topic:
        state = self._topics.get(topic)
        if state is None:
            raise NotPreparedError(
                f"{topic}: schema not fetched yet; await publisher.prepare({topic!r})"
            )
        return state

    def schema(self, topic: str) -> TopicSchema:
        """The prepared schema of ``topic`` (after ``prepare``)."""
        return self._known(topic).schema

    def validate(self, topic: str, record: Record) -> dict[str, Any]:
        """The record as a dict, strictly checked against the topic's schema and its reject
        quality rules (prepare first)."""
        state = self._known(topic)
        try:
            return encoding.validate(state.schema, record)
        except QualityRuleError as exc:
            state.metrics.quality("reject", exc.rule).inc()
            raise

    def refusals(self, topic: str, record: Mapping[str, Any]) -> list[Violation]:
        """Every reject quality rule a record (that fits the schema) breaks, each counted."""
        state = self._known(topic)
        found = encoding.refusals(state.schema, record)
        for violation in found:
            state.metrics.quality("reject", violation.rule).inc()
        return found

    # -- publishing ---------------------------------------------------------------------------
    def _encode(
        self,
        state: _Topic,
        record: Record,
        key: str | bytes | None,
        event_id: str | None,
        time: dt.datetime | None,
    ) -> OutgoingEvent:
        try:
            return encoding.encode_event(
                self._serde,
                state.schema,
                record,
                source=self._source_header,
                key=key,
                event_id=event_id,
                time=time,
            )
        except RecordValidationError as exc:
            state.metrics.rejected.inc()
            if isinstance(exc, QualityRuleError):
                state.metrics.quality("reject", exc.rule).inc()
            raise

    async def send(
        self,
        topic: str,
        record: Record,
        *,
        key: str | bytes | None = None,
        event_id: str | None = None,
        time: dt.datetime | None = None,
    ) -> asyncio.Future[PublishedEvent]:
        """Validate, encode and queue one event; the future resolves on the broker's ack."""
        state = self._topics.get(topic) or await self._fetch(topic)
        event = self._encode(state, record, key, event_id, time)
        producer = self.producer
        raw = await producer.send(
            topic,
            event.value,
            key=event.key,
            headers=event.headers,
            partition=_only_partition(producer, topic),
        )
        future: asyncio.Future[PublishedEvent] = asyncio.get_running_loop().create_future()
        raw.add_done_callback(
            partial(_settle, future, state.metrics, topic, event.event_id, event.flagged)
        )
        return future

    async def publish(
        self,
        topic: str,
        record: Record,
        *,
        key: str | bytes | None = None,
        event_id: str | None = None,
        time: dt.datetime | None = None,
    ) -> PublishedEvent:
        """Publish one event and wait for the broker's acknowledgement."""
        return await (await self.send(topic, record, key=key, event_id=event_id, time=time))

    async def publish_many(
        self,
        topic: str,
        records: Iterable[Record],
        *,
        keys: Iterable[str | bytes | None] | None = None,
    ) -> list[PublishedEvent]:
        """Encode every record first (all or nothing), send them all, then await all acks."""
        state = self._topics.get(topic) or await self._fetch(topic)
        records = list(records)
        key_list = [None] * len(records) if keys is None else list(keys)
        if len(key_list) != len(records):
            raise ValueError(f"{topic}: {len(records)} records but {len(key_list)} keys")
        serde, schema, source = self._serde, state.schema, self._source_header
        try:
            with _no_cyclic_gc():
                events = [
                    encoding.encode_event(serde, schema, record, source=source, key=key)
                    for record, key in zip(records, key_list, strict=True)
                ]
        except RecordValidationError as exc:
            state.metrics.rejected.inc()
            if isinstance(exc, QualityRuleError):
                state.metrics.quality("reject", exc.rule).inc()
            raise
        try:
            batches = await self._send_batches(topic, events)
            results = await asyncio.gather(*(future for future, _ in batches))
        except Exception:
            state.metrics.failed.inc(len(events))
            raise
        state.metrics.events.inc(len(events))
        for event in events:
            if event.flagged:
                state.metrics.count_flags(event.flagged)
        published: list[PublishedEvent | None] = [None] * len(events)
        for meta, (_, indices) in zip(results, batches, strict=True):
            for relative, index in enumerate(indices):
                published[index] = PublishedEvent(
                    topic, meta.partition, meta.offset + relative, events[index].event_id
                )
        return published  # type: ignore[return-value]

    async def _send_batches(
        self, topic: str, events: list[OutgoingEvent]
    ) -> list[tuple[asyncio.Future[Any], list[int]]]:
        """Queue ``events`` as whole record batches, one partition at a time.

        aiokafka's batch interface costs a C-level append per record instead of a coroutine and
        a future per ``send``. Partitions are chosen exactly as ``send`` would (the default
        partitioner: murmur2 of the key). Returns each batch's future with the indices of the
        events in it, in offset order.
        """
        producer = self.producer
        partitions = sorted(await producer.partitions_for(topic))
        by_partition: dict[int, list[int]] = {}
        if len(partitions) == 1:
            by_partition[partitions[0]] = list(range(len(events)))
        else:
            for index, event in enumerate(events):
                partition = _PARTITIONER(event.key, partitions, partitions)
                by_partition.setdefault(partition, []).append(index)
        sent: list[tuple[asyncio.Future[Any], list[int]]] = []
        for partition, indices in by_partition.items():
            batch, members = producer.create_batch(), []
            for index in indices:
                if not _append(batch, events[index]):
                    sent.append((await _submit(producer, batch, topic, partition), members))
                    batch, members = producer.create_batch(), []
                    if not _append(batch, events[index]):
                        raise PublisherError(
                            f"{topic}: event {events[index].event_id} is larger than a record "
                            f"batch ({len(events[index].value)} > {MAX_BATCH_BYTES} bytes)"
                        )
                members.append(index)
            sent.append((await _submit(producer, batch, topic, partition), members))
        return sent


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is encoded.

    Encoding allocates several containers per event and none of them form cycles; with tens of
    thousands of records alive, the collector's repeated full passes cost more than the
    encoding itself. Reference counting still frees everything as usual.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _append(batch: Any, event: OutgoingEvent) -> bool:
    """Add ``event`` to an aiokafka ``BatchBuilder``; False when the batch is full."""
    added = batch.append(key=event.key, value=event.value, timestamp=None, headers=event.headers)
    return added is not None


async def _submit(
    producer: AIOKafkaProducer, batch: Any, topic: str, partition: int
) -> asyncio.Future[Any]:
    batch.close()  # so no ``send`` of another task slips records in behind ours
    return await producer.send_batch(batch, topic, partition=partition)


def _only_partition(producer: AIOKafkaProducer, topic: str) -> int | None:
    """0 for a topic known to have one partition, else None (aiokafka's partitioner decides).

    Same result as the default partitioner, without its pure-Python murmur2 on every key.
    """
    partitions = producer.client.cluster.partitions_for_topic(topic)
    return 0 if partitions is not None and len(partitions) == 1 else None


def _settle(
    future: asyncio.Future[PublishedEvent],
    metrics: TopicMetrics,
    topic: str,
    event_id: str,
    flagged: tuple[str, ...],
    raw: asyncio.Future[Any],
) -> None:
    """Resolve the caller's future from aiokafka's; count and log failures even if unawaited."""
    if future.done():
        return
    if raw.cancelled():
        metrics.failed.inc()
        future.cancel()
        return
    error = raw.exception()
    if error is not None:
        metrics.failed.inc()
        log.error(
            "event not acknowledged",
            extra={"topic": topic, "event_id": event_id, "error": str(error)},
        )
        future.set_exception(error)
        return
    meta = raw.result()
    metrics.events.inc()
    if flagged:
        metrics.count_flags(flagged)
    future.set_result(PublishedEvent(topic, meta.partition, meta.offset, event_id))
