"""Kafka and the registry for ``hub rights``: read the receipts, the agreement versions, the
trail and the confirmations; read a delivery back; write the trail, the erasure requests and
the confirmations. The I/O edge: every decision is made in the pure modules.

Everything is read ``read_committed``: a receipt the router's transaction did not commit names
no delivery a recipient ever saw.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from aiokafka.structs import ConsumerRecord

from consumers.rights.contract import (
    CONFIRMATION_SCHEMA,
    CONFIRMATION_SUBJECT,
    ERASURE_SCHEMA,
    ERASURE_SUBJECT,
    RIGHTS_SCHEMA,
    subscriber_of_confirmations,
)
from consumers.rights.erasure import Outgoing
from consumers.rights.lookup import Hit
from consumers.rights.report import Delivered, json_form
from consumers.rights.trail import Confirmation
from hub.kafka import KafkaSecurity, registry_auth, start_client
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryError, SerdeError
from hub.serde.wire import HEADER_SIZE, MAGIC_BYTE
from hub.topics import TopicSpec, ensure_topics, read_snapshot

DELIVERY_HEADER = "ce_hubdelivery"
# A delivery's record is appended before its batch commits and the receipt's recorded_at is
# taken while the batch is routed; record timestamps are the producer's clock. The window
# around recorded_at a delivery is looked for in, generous for both.
DELIVERY_WINDOW = timedelta(minutes=10)
DAY_MS = 86_400_000


class RightsError(RuntimeError):
    """A step of a request failed in a way the operator must see (one line)."""


@dataclass
class Broker:
    """Where and as whom: the bootstrap servers, the registry, the principal."""

    bootstrap: str
    registry_url: str
    security: KafkaSecurity

    def __post_init__(self) -> None:
        self._registry: AsyncRegistryClient | None = None
        self._serde = AvroSerde()

    @property
    def registry(self) -> AsyncRegistryClient:
        if self._registry is None:
            self._registry = AsyncRegistryClient(
                self.registry_url, auth=registry_auth(self.security)
            )
        return self._registry

    async def aclose(self) -> None:
        if self._registry is not None:
            await self._registry.aclose()
            self._registry = None

    # -- schemas ------------------------------------------------------------------------------
    async def schema_id(self, subject: str, schema: dict[str, Any], *, register: bool) -> int:
        """The id of ``schema`` under ``subject``: registered when ``register`` and allowed,
        else looked up (a subject an operator registered as hub-admin, or a recipient that
        only confirms)."""
        if register:
            try:
                schema_id = await self.registry.register(subject, schema)
            except RegistryError as error:
                if error.status != 403:
                    raise RightsError(f"registry: cannot register {subject}: {error}") from None
            else:
                self._serde.add_schema(schema_id, schema)
                return schema_id
        try:
            found = await self.registry.lookup(subject, schema)
        except RegistryError as error:
            raise RightsError(
                f"registry: {subject} does not hold the schema {schema['name']} ({error}); "
                "`hub rights erase` registers it"
            ) from None
        self._serde.add_schema(found.id, schema)
        return found.id

    async def decode(self, value: bytes | None) -> Any:
        """A Confluent-framed Avro value, its writer schema fetched from the registry once."""
        if value is None or len(value) < HEADER_SIZE or value[0] != MAGIC_BYTE:
            raise SerdeError("not Confluent-framed Avro")
        schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
        if schema_id not in self._serde:
            try:
                text = await self.registry.schema_by_id(schema_id)
            except RegistryError as error:
                raise RightsError(f"registry: schema id {schema_id}: {error}") from None
            self._serde.add_schema(schema_id, text)
        return self._serde.decode(value)

    def encode(self, schema_id: int, record: Mapping[str, Any]) -> bytes:
        return self._serde.encode(schema_id, record)

    # -- topics -------------------------------------------------------------------------------
    async def visible_topics(self) -> set[str]:
        """The topics this principal may describe (the broker shows it no others)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.security.aiokafka())
        await start_client(admin, self.security, self.bootstrap)
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()

    async def partitions(self, topic: str) -> list[int]:
        """The partitions of a topic this principal may describe (none: unknown or refused)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.security.aiokafka())
        await start_client(admin, self.security, self.bootstrap)
        try:
            (described,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        if described.get("error_code"):
            return []
        return sorted(p["partition"] for p in described.get("partitions", []))

    async def ensure(self, names: Iterable[str], retention_days: int) -> None:
        config = {"retention.ms": str(retention_days * DAY_MS)}
        await ensure_topics(
            self.bootstrap, [TopicSpec(n, config=config) for n in names], security=self.security
        )

    async def snapshot(self, topic: str, visible: set[str] | None = None) -> list[ConsumerRecord]:
        """Every committed record of ``topic`` (none when it does not exist or is not ours)."""
        visible = await self.visible_topics() if visible is None else visible
        if topic not in visible:
            return []
        return await read_snapshot(self.bootstrap, topic, security=self.security)

    async def decoded(self, topic: str, visible: set[str] | None = None) -> list[Any]:
        records = await self.snapshot(topic, visible)
        return [await self.decode(r.value) for r in records if r.value is not None]

    # -- reading ------------------------------------------------------------------------------
    async def receipts(self, topic: str, visible: set[str] | None = None) -> list[dict[str, Any]]:
        return await self.decoded(topic, visible)

    async def versions(
        self, topic: str, visible: set[str] | None = None
    ) -> list[tuple[bytes | None, bytes | None]]:
        return [(r.key, r.value) for r in await self.snapshot(topic, visible)]

    async def trail(self, topic: str, visible: set[str] | None = None) -> list[dict[str, Any]]:
        return await self.decoded(topic, visible)

    async def confirmations(self, prefix: str) -> list[Confirmation]:
        """Every confirmation of every recipient's topic; the topic says whose it is."""
        visible = await self.visible_topics()
        out: list[Confirmation] = []
        for topic in sorted(t for t in visible if t.startswith(prefix)):
            subscriber = subscriber_of_confirmations(topic, prefix)
            if subscriber is None:
                continue
            for record in await self.decoded(topic, visible):
                out.append(
                    Confirmation(
                        subscriber,
                        record["case"],
                        tuple(record["request_ids"]),
                        record["confirmed_at"],
                        record.get("note"),
                    )
                )
        return out

    async def delivered(
        self, hits: Sequence[Hit], visible: set[str] | None = None
    ) -> dict[str, Delivered]:
        """The deliveries of ``hits`` still kept in their delivery topics, by delivery id, as
        the recipient received them: each topic scanned from the earliest receipt's time (by
        ``offsets_for_times``) for records whose ``ce_hubdelivery`` is wanted."""
        visible = await self.visible_topics() if visible is None else visible
        by_topic: dict[str, list[Hit]] = {}
        for hit in hits:
            by_topic.setdefault(hit.delivery_topic, []).append(hit)
        found: dict[str, Delivered] = {}
        for topic, items in sorted(by_topic.items()):
            if topic in visible:
                found.update(await self._scan(topic, items))
        return found

    async def _scan(self, topic: str, hits: list[Hit]) -> dict[str, Delivered]:
        wanted = {h.delivery_id for h in hits}
        start = min(h.recorded_at for h in hits) - DELIVERY_WINDOW
        stop_ms = int((max(h.recorded_at for h in hits) + DELIVERY_WINDOW).timestamp() * 1000)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            isolation_level="read_committed",
            **self.security.aiokafka(),
        )
        tps = [TopicPartition(topic, p) for p in await self.partitions(topic)]
        found: dict[str, Delivered] = {}
        if not tps:
            return found
        await start_client(consumer, self.security, self.bootstrap)
        try:
            consumer.assign(tps)
            starts = await consumer.offsets_for_times(
                {tp: int(start.timestamp() * 1000) for tp in tps}
            )
            ends = await consumer.end_offsets(tps)
            pending = set()
            for tp in tps:
                at = starts.get(tp)
                if at is None:  # nothing at or after the window's start: all of it expired
                    continue
                consumer.seek(tp, at.offset)
                if at.offset < ends[tp]:
                    pending.add(tp)
            while pending and wanted - found.keys():
                batch = await consumer.getmany(*pending, timeout_ms=1000)
                for tp, records in batch.items():
                    for record in records:
                        delivery = _header(record.headers, DELIVERY_HEADER)
                        if delivery in wanted:
                            found[delivery] = Delivered(
                                None
                                if record.key is None
                                else record.key.decode("utf-8", "replace"),
                                json_form(await self.decode(record.value)),
                            )
                        if record.timestamp > stop_ms:
                            pending.discard(tp)
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        finally:
            await consumer.stop()
        return found

    # -- writing ------------------------------------------------------------------------------
    def _producer(self, transactional_id: str | None = None) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            enable_idempotence=True,
            acks="all",
            transactional_id=transactional_id,
            **self.security.aiokafka(),
        )

    async def record(self, topic: str, record: dict[str, Any], retention_days: int) -> None:
        """Append one trail record and wait for the broker's acknowledgement."""
        await self.ensure([topic], retention_days)
        schema_id = await self.schema_id(f"{topic}-value", RIGHTS_SCHEMA, register=True)
        value = self.encode(schema_id, record)
        producer = self._producer()
        await start_client(producer, self.security, self.bootstrap)
        try:
            with self._refused(topic):
                await producer.send_and_wait(topic, value, key=record["case"].encode())
        finally:
            await producer.stop()

    async def send_erasure(
        self,
        requests: Sequence[Outgoing],
        trail_topic: str,
        trail: dict[str, Any],
        *,
        confirmation_topics: Iterable[str],
        retention_days: int,
        transactional_id: str,
    ) -> None:
        """The requests and their trail record in one transaction: no request goes out that the
        trail does not name, and no trail record names one that did not go out."""
        await self.ensure([trail_topic, *confirmation_topics], retention_days)
        trail_id = await self.schema_id(f"{trail_topic}-value", RIGHTS_SCHEMA, register=True)
        request_id = await self.schema_id(ERASURE_SUBJECT, ERASURE_SCHEMA, register=True)
        # Registered now, so a recipient's SDK or `hub rights confirm` only looks it up.
        await self.schema_id(CONFIRMATION_SUBJECT, CONFIRMATION_SCHEMA, register=True)
        producer = self._producer(transactional_id)
        await start_client(producer, self.security, self.bootstrap)
        try:
            with self._refused(trail_topic):
                async with producer.transaction():
                    futures = [
                        await producer.send(
                            r.topic,
                            self.encode(request_id, r.record),
                            key=r.key,
                            headers=r.headers,
                        )
                        for r in requests
                    ]
                    futures.append(
                        await producer.send(
                            trail_topic, self.encode(trail_id, trail), key=trail["case"].encode()
                        )
                    )
                    await asyncio.gather(*futures)
        finally:
            await producer.stop()

    async def confirm(self, topic: str, record: dict[str, Any]) -> None:
        """A recipient's confirmation, on the topic only it may write."""
        schema_id = await self.schema_id(CONFIRMATION_SUBJECT, CONFIRMATION_SCHEMA, register=False)
        producer = self._producer()
        await start_client(producer, self.security, self.bootstrap)
        try:
            with self._refused(topic):
                await producer.send_and_wait(
                    topic, self.encode(schema_id, record), key=record["case"].encode()
                )
        finally:
            await producer.stop()

    @contextlib.contextmanager
    def _refused(self, topic: str) -> Iterator[None]:
        """A broker's refusal as one line naming the principal and the topic."""
        try:
            yield
        except TopicAuthorizationFailedError:
            raise RightsError(
                f"the principal {self.security.principal!r} may not write {topic} (each "
                "recipient writes only its own confirmations topic)"
            ) from None
        except KafkaError as error:
            raise RightsError(f"{topic}: {type(error).__name__}: {error}") from None


def _header(headers: Sequence[tuple[str, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("utf-8", "replace")
    return None
