"""The subscriber SDK: one subscriber's deliveries as typed records, acknowledged after handling.

>>> async with Subscription("ordnungsamt", name="bescheide") as subscription:
...     async for delivery in subscription:
...         await handle(delivery.record)  # acknowledged when the loop asks for the next one

The subscription reads the delivery topics of the subscriber (all it may see, or those of the
named agreements) as the consumer group ``<subscriber>.<name>``, ``read_committed`` (only what
the router's transactions committed), with automatic offset commits off: an offset is committed
only past deliveries the application acknowledged, so a crash redelivers what it had not
finished. Delivery is at least once; the delivery id is the idempotency key.

Decoding: each schema id is fetched from the registry once (a new agreement version mid-stream
is a new id, fetched when its first record arrives) and decoded with the native core's decoder
(``hub_core.Decoder``: the objects fastavro returns, about half the cost) where it is installed
and takes the schema, else with fastavro; the record
becomes the generated model of its agreement when one was generated from exactly that schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from consumers.subscriber.acks import AckTracker
from consumers.subscriber.delivery import (
    Delivery,
    DeliverySchema,
    KafkaRecord,
    ModelLookup,
    build_delivery,
    describe_schema,
    parse_headers,
    serde_failure,
    undecodable,
)
from consumers.subscriber.erasure import ErasureHook, ErasureRequest, erasure_request, is_erasure
from consumers.subscriber.errors import (
    NoDeliveryTopicsError,
    SchemaUnavailableError,
    SubscriberError,
    UndecodableDeliveryError,
)
from consumers.subscriber.metrics import COMMITS, DECODE_FAILURES, ERASURES, SKIPPED
from consumers.subscriber.models import model_for
from consumers.subscriber.topics import (
    check_topic_access,
    delivery_prefix,
    own_delivery_topics,
    topics_of_agreements,
)
from hub.credentials import CredentialsError
from hub.kafka import KafkaAuthError, KafkaSecurity, registry_auth, start_client
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryError, SerdeError
from hub.serde.wire import HEADER_SIZE, MAGIC_BYTE
from hub.settings import get_settings

__all__ = ["Subscription"]

log = logging.getLogger(__name__)

SUBJECT_NOT_FOUND = 40401
SCHEMA_NOT_FOUND = 40403


class Subscription:
    """An async context manager over one subscriber's delivery topics; iterate it for
    ``Delivery`` objects, or ``batches()`` for lists of them."""

    def __init__(
        self,
        subscriber: str,
        name: str = "app",
        agreements: Sequence[str] | None = None,
        *,
        topics: Sequence[str] | None = None,
        bootstrap_servers: str | None = None,
        registry_url: str | None = None,
        security: KafkaSecurity | None = None,
        auto_ack: bool = True,
        from_beginning: bool = True,
        commit_interval: float = 1.0,
        fetch_max: int = 500,
        fetch_timeout: float = 1.0,
        models: ModelLookup | None = model_for,
        on_erasure: ErasureHook | None = None,
        native_decode: bool = True,
    ) -> None:
        """``agreements``: read only these agreements' deliveries (default: all the subscriber
        may see); ``topics``: delivery topics by name instead of discovering them (an
        agreement's explicit ``delivery_topic``); ``security``: a resolved identity (default:
        HUB_KAFKA_USERNAME, else the principal named like the subscriber); ``auto_ack``: the
        previous delivery is acknowledged when the loop asks for the next one and on a clean
        exit; ``from_beginning``: a new group starts at the oldest delivery kept, not the
        newest; ``commit_interval``: seconds between commits of acknowledged offsets;
        ``models``: how to find a delivery's generated model (None: records stay dicts);
        ``on_erasure``: awaited with each erasure request (``ErasureRequest``) in its place among
        the deliveries; its offset is committed only after the hook returned (a hook that
        raises gets the request again). Without a hook an erasure request is logged as a
        warning, counted (``hub_subscriber_erasure_requests_total{handled="no"}``) and passed
        over; the data-protection officer's ``hub rights status`` shows it unconfirmed.
        ``native_decode``: decode with ``hub_core`` where installed (False: fastavro only; the
        records are the same either way)."""
        if not subscriber or not name:
            raise ValueError("a subscription needs a subscriber and a name")
        if bootstrap_servers is None or registry_url is None:
            settings = get_settings()
            bootstrap_servers = bootstrap_servers or settings.bootstrap_servers
            registry_url = registry_url or settings.registry_url
        self.subscriber = subscriber
        self.name = name
        self.group = f"{subscriber}.{name}"  # the subscriber's ACLs allow groups "<subscriber>."
        self.agreements = list(agreements) if agreements is not None else None
        self.bootstrap_servers = bootstrap_servers
        self.registry_url = registry_url.rstrip("/")
        if security is None:
            try:
                security = KafkaSecurity.from_settings(principal=subscriber)
            except CredentialsError as exc:
                raise SubscriberError(str(exc)) from None
        self.security = security
        self.auto_ack = auto_ack
        self.from_beginning = from_beginning
        self.commit_interval = commit_interval
        self.fetch_max = fetch_max
        self.fetch_timeout = fetch_timeout
        self._requested_topics = list(topics) if topics is not None else None
        self._models = models or _no_model
        self.topics: list[str] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._registry: AsyncRegistryClient | None = None
        self._serde = AvroSerde(native=native_decode)
        self._schemas: dict[int, DeliverySchema] = {}
        self._pending: deque[tuple[TopicPartition, Any]] = deque()
        self._in_hand: list[Delivery] = []  # auto-ack: handed out, acknowledged on the next ask
        self._tracker = AckTracker()
        self._commit_lock = asyncio.Lock()
        self._last_commit = time.monotonic()
        self._failed_at: tuple[str, int, int] | None = None  # counted once, raised each time
        self._stale_models_warned: set[str] = set()
        self.on_erasure = on_erasure

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Log in, find the delivery topics, join the group. SubscriberError (one line, naming
        the principal or the topic) when any of it is refused."""
        if self._consumer is not None:
            return
        try:
            options = self.security.aiokafka()
        except CredentialsError as exc:
            raise SubscriberError(str(exc)) from None
        self._registry = AsyncRegistryClient(self.registry_url, auth=registry_auth(self.security))
        try:
            self.topics = await self._resolve_topics(options)
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap_servers,
                group_id=self.group,
                client_id=f"hub-subscriber-{self.group}",
                isolation_level="read_committed",
                enable_auto_commit=False,
                auto_offset_reset="earliest" if self.from_beginning else "latest",
                **options,
            )
            await self._start_client(consumer)
        except BaseException:
            await self._registry.aclose()
            self._registry = None
            raise
        consumer.subscribe(self.topics, listener=_Rebalance(self))
        self._consumer = consumer
        log.info(
            "subscription %s reads %s as %s",
            self.group,
            ", ".join(self.topics),
            self.security.principal,
        )

    async def stop(self, *, clean: bool = True) -> None:
        """Commit what was acknowledged, leave the group, close. ``clean``: the deliveries still
        in hand under auto-ack were handled, so acknowledge them first."""
        consumer, self._consumer = self._consumer, None
        try:
            if consumer is not None:
                if clean and self.auto_ack:
                    self._mark_all(self._in_hand)
                self._in_hand = []
                try:
                    await self._commit(consumer)
                except (KafkaError, SubscriberError) as exc:  # e.g. a rebalance took them away
                    log.warning("subscription %s: final commit failed: %s", self.group, exc)
                await consumer.stop()
        finally:
            registry, self._registry = self._registry, None
            if registry is not None:
                await registry.aclose()

    async def __aenter__(self) -> Subscription:
        await self.start()
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        # Only a clean exit means the delivery in hand was handled; after an exception (or a
        # cancellation) it stays unacknowledged and comes again.
        await self.stop(clean=exc_type is None)

    async def _start_client(self, client: Any) -> None:
        try:
            await start_client(client, self.security, self.bootstrap_servers)
        except KafkaAuthError as exc:
            with contextlib.suppress(Exception):
                await _close(client)
            raise SubscriberError(str(exc)) from None
        except KafkaError as exc:
            with contextlib.suppress(Exception):
                await _close(client)
            raise SubscriberError(
                f"{self.group}: cannot reach Kafka at {self.bootstrap_servers}: {exc}"
            ) from None

    # -- topics -------------------------------------------------------------------------------
    async def _resolve_topics(self, options: dict[str, Any]) -> list[str]:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id=f"hub-subscriber-{self.group}",
            **options,
        )
        await self._start_client(admin)
        try:
            if self._requested_topics is not None:
                described = await admin.describe_topics(self._requested_topics)
                errors = {t["topic"]: t["error_code"] for t in described}
                check_topic_access(self._requested_topics, errors, self.security.principal)
                candidates = sorted(set(self._requested_topics))
            else:
                candidates = own_delivery_topics(await admin.list_topics(), self.subscriber)
        finally:
            await admin.close()
        if not candidates:
            who = self.security.principal
            raise NoDeliveryTopicsError(
                f"{self.subscriber}: no delivery topic {delivery_prefix(self.subscriber)}* is "
                f"visible to the principal {who!r}: it has no valid agreement, or nothing was "
                f"delivered yet (see `hub access show {who}`)"
            )
        if self.agreements is None:
            return candidates
        agreement_of = {t: await self._agreement_of(t) for t in candidates}
        return topics_of_agreements(agreement_of, self.agreements, self.subscriber)

    async def _agreement_of(self, topic: str) -> str | None:
        """The agreement of a delivery topic, from its latest registered schema."""
        assert self._registry is not None
        try:
            latest = await self._registry.latest(f"{topic}-value")
        except RegistryError as exc:
            if exc.error_code == SUBJECT_NOT_FOUND:
                return None  # a topic without a delivery schema carries no agreement's records
            raise SubscriberError(
                f"{topic}: asking the registry for the schema of {topic}-value failed: {exc}"
            ) from None
        try:
            return describe_schema(latest.id, latest.schema, models=_no_model).agreement_id
        except SerdeError:
            return None

    # -- iteration ----------------------------------------------------------------------------
    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Delivery:
        in_hand = self._in_hand
        if in_hand:  # the loop asks for the next one: the handler returned
            self._mark_all(in_hand)
            in_hand.clear()
        pending = self._pending
        while True:
            if not pending:
                await self._fetch(self.fetch_max, self.fetch_timeout)
                continue
            tp, record = pending[0]
            if is_erasure(record.headers):  # never a Delivery: the hook, in its place
                await self._erasure(tp, record)
                continue
            delivery = self._decode(record)
            if delivery is None:  # a schema id never seen: ask the registry, then decode
                await self._learn(record)
                continue
            pending.popleft()
            self._tracker.delivered(tp, record.offset)
            metrics = delivery._schema.metrics
            if metrics is not None:
                metrics.received.inc()
            if self.auto_ack:
                in_hand.append(delivery)
            return delivery

    def batches(self, max: int = 500, timeout: float = 1.0) -> _Batches:
        """``async for batch in subscription.batches():`` lists of up to ``max`` deliveries,
        waiting up to ``timeout`` seconds for a fetch (no empty lists). With auto-ack a batch is
        acknowledged as a whole when the loop asks for the next one (and on a clean exit). A
        batch ends before an undecodable record; the next call raises for it."""
        if max < 1:
            raise ValueError("a batch holds at least one delivery")
        return _Batches(self, max, timeout)

    async def _next_batch(self, size: int, timeout: float) -> list[Delivery]:
        in_hand = self._in_hand
        if in_hand:
            self._mark_all(in_hand)
            in_hand.clear()
        pending = self._pending
        while not pending or is_erasure(pending[0][1].headers):
            if pending:  # the deliveries before it were handed out: now the hook
                await self._erasure(*pending[0])
            else:
                await self._fetch(size, timeout)
        batch: list[Delivery] = []
        received: Counter[DeliverySchema] = Counter()
        try:
            while pending and len(batch) < size:
                unknown = self._fill(batch, size, received)
                if unknown is None or is_erasure(unknown.headers):
                    break  # an erasure request waits for the next call, after this batch
                await self._learn(unknown)  # a schema id never seen: ask, then go on filling
        except (UndecodableDeliveryError, SchemaUnavailableError):
            if not batch:
                raise
            # what decoded is handed out; the failing record waits at the head for the next call
        for schema, count in received.items():
            if schema.metrics is not None:
                schema.metrics.received.inc(count)
        if self.auto_ack:
            in_hand.extend(batch)
        return batch

    def _fill(
        self, batch: list[Delivery], size: int, received: Counter[DeliverySchema]
    ) -> KafkaRecord | None:
        """Decode pending records into ``batch`` until it is full or nothing is pending; the
        record whose schema must be fetched first, or an erasure request, if one stops it."""
        pending, tracker, decode = self._pending, self._tracker, self._decode
        while pending and len(batch) < size:
            tp, record = pending[0]
            if is_erasure(record.headers):
                return record
            delivery = decode(record)
            if delivery is None:
                return record
            pending.popleft()
            tracker.delivered(tp, record.offset)
            received[delivery._schema] += 1
            batch.append(delivery)
        return None

    async def _fetch(self, max_records: int, timeout: float) -> None:
        consumer = self._started()
        if time.monotonic() - self._last_commit >= self.commit_interval:
            await self._commit(consumer)
        fetched = await consumer.getmany(timeout_ms=int(timeout * 1000), max_records=max_records)
        pending = self._pending
        for tp, records in fetched.items():
            pending.extend((tp, r) for r in records)

    def _decode(self, record: KafkaRecord) -> Delivery | None:
        """The delivery of ``record`` if its schema is known (None: fetch the schema first)."""
        value = record.value
        if value is None:
            raise self._failed(
                undecodable(record, None, "the record has no value (a tombstone)", "Tombstone")
            )
        if len(value) < HEADER_SIZE or value[0] != MAGIC_BYTE:
            raise self._failed(
                undecodable(
                    record,
                    None,
                    f"not Confluent wire format ({len(value)} bytes, first byte "
                    f"{value[0] if value else None})",
                    "MagicByteError",
                )
            )
        schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
        schema = self._schemas.get(schema_id)
        if schema is None:
            return None
        try:
            data = self._serde.decode(value)
        except SerdeError as exc:
            raise self._failed(serde_failure(record, schema_id, exc)) from None
        try:
            return build_delivery(record, schema, data, self)
        except UndecodableDeliveryError as exc:
            raise self._failed(exc) from None

    async def _learn(self, record: KafkaRecord) -> None:
        """Fetch the writer schema of ``record`` from the registry by id, once."""
        assert self._registry is not None and record.value is not None
        schema_id = int.from_bytes(record.value[1:HEADER_SIZE], "big")
        try:
            text = await self._registry.schema_by_id(schema_id)
        except RegistryError as exc:
            if exc.status == 404 or exc.error_code == SCHEMA_NOT_FOUND:
                raise self._failed(
                    undecodable(
                        record,
                        schema_id,
                        f"schema id {schema_id} is unknown to the registry {self.registry_url}",
                        "UnknownSchemaError",
                    )
                ) from None
            if exc.status in (401, 403):
                raise SubscriberError(
                    f"{record.topic}: the registry refused the schema id {schema_id}: {exc}"
                ) from None
            raise SchemaUnavailableError(
                f"{record.topic}/{record.partition}/{record.offset}: cannot fetch schema id "
                f"{schema_id}: {exc}",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                schema_id=schema_id,
            ) from None
        try:
            schema = describe_schema(
                schema_id, text, subscriber=self.subscriber, models=self._models
            )
        except SerdeError as exc:
            raise self._failed(serde_failure(record, schema_id, exc)) from None
        self._serde.add_schema(schema_id, schema.parsed)
        self._schemas[schema_id] = schema
        self._warn_if_stale(schema)
        log.info(
            "subscription %s: schema id %d of agreement %s (%s)",
            self.group,
            schema_id,
            schema.agreement_id,
            schema.model.__name__ if schema.model else "records as dicts",
        )

    def _warn_if_stale(self, schema: DeliverySchema) -> None:
        agreement = schema.agreement_id
        if schema.model is not None or agreement is None or self._models is _no_model:
            return
        from consumers.subscriber.models import AGREEMENTS

        if agreement in AGREEMENTS and agreement not in self._stale_models_warned:
            self._stale_models_warned.add(agreement)
            log.warning(
                "subscription %s: the generated model of agreement %s is for another version of "
                "its delivery schema; records of schema id %d are dicts until the models are "
                "regenerated (python -m consumers.subscriber.models.generate)",
                self.group,
                agreement,
                schema.schema_id,
            )

    def _failed(self, error: UndecodableDeliveryError) -> UndecodableDeliveryError:
        """Count a decode failure once per record, however often the application retries."""
        where = (error.topic, error.partition, error.offset)
        if where != self._failed_at:
            self._failed_at = where
            DECODE_FAILURES.labels(self.subscriber, error.topic, error.cause).inc()
        return error

    async def skip(self, error: UndecodableDeliveryError) -> None:
        """Acknowledge the undecodable record ``error`` is about without reading it: the
        subscriber's decision (log it, alert); the hub keeps the original for replay."""
        if not self._pending:
            raise ValueError(f"{error}: not the record at the head of the subscription")
        tp, record = self._pending[0]
        if (record.topic, record.partition, record.offset) != (
            error.topic,
            error.partition,
            error.offset,
        ):
            raise ValueError(f"{error}: not the record at the head of the subscription")
        self._pending.popleft()
        self._tracker.skipped(tp, record.offset)
        SKIPPED.labels(self.subscriber, record.topic).inc()
        log.warning("subscription %s skipped %s", self.group, error)

    # -- erasure requests ---------------------------------------------------------------------
    async def _erasure(self, tp: TopicPartition, record: KafkaRecord) -> None:
        """The erasure request at the head of ``pending``: to the hook (or passed over with a
        warning), then acknowledged; a hook that raises leaves it at the head."""
        request = await self._erasure_request(record)
        if self.on_erasure is None:
            log.warning(
                "subscription %s: erasure request %s of case %s (%s/%d/%d) passed over: no "
                "on_erasure hook; erase the data by hand and confirm with `hub rights confirm "
                "--case %s --subscriber %s`",
                self.group,
                request.request_id,
                request.case,
                record.topic,
                record.partition,
                record.offset,
                request.case,
                self.subscriber,
            )
            ERASURES.labels(self.subscriber, "no").inc()
        else:
            await self.on_erasure(request)
            ERASURES.labels(self.subscriber, "yes").inc()
        pending = self._pending
        # A rebalance during the hook may have taken the partition (and this record) away.
        if pending and pending[0][1] is record:
            pending.popleft()
            self._tracker.skipped(tp, record.offset)

    async def _erasure_request(self, record: KafkaRecord) -> ErasureRequest:
        value = record.value
        if value is None or len(value) < HEADER_SIZE or value[0] != MAGIC_BYTE:
            raise self._failed(
                undecodable(
                    record, None, "an erasure request not in Confluent wire format", "Erasure"
                )
            )
        schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
        if schema_id not in self._serde:
            assert self._registry is not None
            try:
                text = await self._registry.schema_by_id(schema_id)
            except RegistryError as exc:
                raise SchemaUnavailableError(
                    f"{record.topic}/{record.partition}/{record.offset}: cannot fetch the "
                    f"erasure request's schema id {schema_id}: {exc}",
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    schema_id=schema_id,
                ) from None
            self._serde.add_schema(schema_id, text)
        try:
            data = self._serde.decode(value)
            return erasure_request(
                record, data, parse_headers(record.headers).cloudevent, self._confirm_erasure
            )
        except (SerdeError, KeyError, TypeError) as exc:
            raise self._failed(
                undecodable(record, schema_id, f"not an erasure request: {exc}", "Erasure")
            ) from None

    async def _confirm_erasure(self, request: ErasureRequest, note: str | None) -> None:
        from consumers.rights.broker import Broker

        broker = Broker(self.bootstrap_servers, self.registry_url, self.security)
        try:
            await broker.confirm(
                request.confirm_topic,
                {
                    "case": request.case,
                    "subscriber": self.subscriber,
                    "request_ids": [request.request_id],
                    "note": note,
                    "confirmed_at": datetime.now(UTC),
                },
            )
        finally:
            await broker.aclose()

    # -- acknowledgements ---------------------------------------------------------------------
    def _mark(self, delivery: Delivery) -> None:
        if delivery._acked:
            return
        delivery._acked = True
        if self._tracker.ack((delivery.topic, delivery.partition), delivery.offset):
            metrics = delivery._schema.metrics
            if metrics is not None:
                metrics.acks.inc()

    def _mark_all(self, deliveries: Iterable[Delivery]) -> None:
        for delivery in deliveries:
            self._mark(delivery)

    async def _ack_one(self, delivery: Delivery) -> None:
        self._mark(delivery)
        if time.monotonic() - self._last_commit >= self.commit_interval:
            await self._commit(self._started())

    async def ack(self, deliveries: Iterable[Delivery]) -> None:
        """Acknowledge several deliveries (a batch) at once."""
        self._mark_all(deliveries)
        if time.monotonic() - self._last_commit >= self.commit_interval:
            await self._commit(self._started())

    async def commit(self) -> None:
        """Commit every acknowledged offset now (otherwise at most ``commit_interval`` apart,
        at the next fetch, and on close)."""
        await self._commit(self._started())

    async def _commit(
        self, consumer: AIOKafkaConsumer, only: Iterable[TopicPartition] | None = None
    ) -> None:
        async with self._commit_lock:
            self._last_commit = time.monotonic()
            assigned = consumer.assignment()
            keep = assigned if only is None else set(only) & assigned
            offsets = {tp: o for tp, o in self._tracker.committable().items() if tp in keep}
            if not offsets:
                return
            await consumer.commit(offsets)
            self._tracker.committed(offsets)
            COMMITS.labels(self.subscriber).inc()

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        """Before another consumer gets these partitions: commit what was acknowledged, drop
        what was fetched but not handed out (the new owner reads it), forget the rest."""
        consumer = self._consumer
        if consumer is not None:
            try:
                await self._commit(consumer, revoked)
            except KafkaError as exc:
                log.warning("subscription %s: commit on revocation failed: %s", self.group, exc)
        if revoked:
            # In place: the iteration holds on to this deque.
            kept = [(tp, r) for tp, r in self._pending if tp not in revoked]
            self._pending.clear()
            self._pending.extend(kept)
        self._tracker.forget(revoked)

    def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise SubscriberError(
                f"{self.group}: the subscription is not started: use `async with Subscription(...)`"
            )
        return self._consumer

    @property
    def outstanding(self) -> int:
        """Deliveries handed out and not yet acknowledged."""
        return self._tracker.outstanding()


class _Batches:
    """The iterator of ``Subscription.batches``."""

    __slots__ = ("_max", "_subscription", "_timeout")

    def __init__(self, subscription: Subscription, size: int, timeout: float) -> None:
        self._subscription = subscription
        self._max = size
        self._timeout = timeout

    def __aiter__(self) -> _Batches:
        return self

    async def __anext__(self) -> list[Delivery]:
        return await self._subscription._next_batch(self._max, self._timeout)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, subscription: Subscription) -> None:
        self._subscription = subscription

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._subscription._revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.debug("subscription %s assigned %s", self._subscription.group, sorted(assigned))


def _no_model(agreement_id: str | None, schema_fingerprint: str) -> None:
    return None


async def _close(client: Any) -> None:
    for name in ("stop", "close"):
        method = getattr(client, name, None)
        if method is not None:
            await method()
            return
