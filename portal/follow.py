"""The portal's only I/O with Kafka: read ``hub.audit``, ``hub.dlq``, ``hub.quality`` and the
feature views' published windows from their beginning once at start, then follow them (no
consumer group, no database: the logs are the state), and ask the broker the topics' retention
and how far ``hub dlq replay`` got. All as ``hub-portal``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from hub.kafka import KafkaSecurity, start_client
from hub.logs import RDKAFKA
from hub.serde import AsyncRegistryClient, AvroSerde, SerdeError

log = logging.getLogger("hub.portal")

Handle = Callable[[ConsumerRecord], Awaitable[None]]


class Follower:
    """One topic, read from the beginning and followed; ``caught_up`` is set once the records
    that existed at start have been handled (at once, if the topic does not exist yet)."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        security: KafkaSecurity,
        handle: Handle,
        *,
        poll_ms: int = 500,
        missing_wait: float = 5.0,
    ) -> None:
        self.bootstrap, self.topic, self.security = bootstrap, topic, security
        self._handle = handle
        self._poll_ms = poll_ms
        self._missing_wait = missing_wait
        self.caught_up = asyncio.Event()
        self.records = 0
        self.error: str | None = None
        self._stopping = False
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        # Subscribed only once the topic exists: a metadata request naming a missing topic asks
        # the broker to create it, which a principal without CREATE is refused (an error line
        # a second), where a request for all topics just leaves it out.
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            metadata_max_age_ms=5000,  # a topic created later is found within seconds
            **self.security.aiokafka(),
        )
        try:
            await start_client(self._consumer, self.security, self.bootstrap)
            await self._subscribe_if_there()
        except Exception:
            with contextlib.suppress(Exception):  # close what it opened before failing
                await self._consumer.stop()
            raise

    async def _subscribe_if_there(self) -> bool:
        """Subscribe when the topic exists (all topics' metadata: nothing is auto-created)."""
        consumer = self._consumer
        assert consumer is not None
        if consumer.subscription():
            return True
        if self.topic not in await consumer.topics():
            return False
        consumer.subscribe([self.topic])
        return True

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        consumer = self._consumer
        assert consumer is not None, "start() first"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._missing_wait
        looked = loop.time()
        ends: dict[Any, int] | None = None
        try:
            while not self._stopping:
                if not consumer.subscription() and loop.time() - looked >= self._missing_wait:
                    looked = loop.time()  # a topic created later (e.g. by the feature pipeline)
                    await self._subscribe_if_there()
                if not consumer.assignment():
                    if loop.time() > deadline and not self.caught_up.is_set():
                        log.info(
                            "topic not there yet: nothing to fold", extra={"topic": self.topic}
                        )
                        self.caught_up.set()
                    await asyncio.sleep(0.2)
                    continue
                if ends is None and not self.caught_up.is_set():
                    assigned = sorted(consumer.assignment())
                    ends = await consumer.end_offsets(assigned)
                batch = await consumer.getmany(timeout_ms=self._poll_ms, max_records=5000)
                for messages in batch.values():
                    for message in messages:
                        await self._handle(message)
                        self.records += 1
                if ends is not None and not self.caught_up.is_set():
                    positions = [await consumer.position(tp) for tp in ends]
                    if all(p >= ends[tp] for p, tp in zip(positions, ends, strict=True)):
                        log.info("caught up", extra={"topic": self.topic, "records": self.records})
                        self.caught_up.set()
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"
            log.exception("following stopped", extra={"topic": self.topic})
            raise
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()


class AuditDecoder:
    """Audit records are Avro in Confluent's framing: decode with the writer's schema, fetched
    from the registry once per schema id."""

    def __init__(self, registry: AsyncRegistryClient) -> None:
        self.registry = registry
        self.serde = AvroSerde()

    async def decode(self, value: bytes) -> dict[str, Any]:
        schema_id = int.from_bytes(value[1:5], "big")
        if schema_id not in self.serde:
            self.serde.add_schema(schema_id, await self.registry.schema_by_id(schema_id))
        return self.serde.decode(value)


def topic_retention(
    bootstrap: str, security: KafkaSecurity, topics: Iterable[str], timeout: float = 10.0
) -> dict[str, int | None]:
    """``retention.ms`` of each topic as the broker has it (None: unknown or not allowed).
    Blocking (confluent-kafka's admin client): run it in a thread."""
    from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

    wanted = sorted(set(topics))
    found: dict[str, int | None] = dict.fromkeys(wanted)
    if not wanted:
        return found
    # librdkafka's reconnect errors through logging (its burst filter), not straight to stderr
    admin = AdminClient({"bootstrap.servers": bootstrap, **security.confluent(), "logger": RDKAFKA})
    futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, t) for t in wanted])
    for resource, future in futures.items():
        try:
            entries = future.result(timeout=timeout)
        except Exception:  # missing topic or not authorized: the record says "unknown"
            continue
        entry = entries.get("retention.ms")
        if entry is not None and entry.value is not None:
            found[resource.name] = int(entry.value)
    return found


def replayed_offsets(
    bootstrap: str, security: KafkaSecurity, group: str, topic: str, timeout: float = 10.0
) -> dict[int, int]:
    """How far ``hub dlq replay`` (its consumer group) got, per DLQ partition. Blocking."""
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, **security.confluent(), "logger": RDKAFKA})
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
    result = futures[group].result(timeout=timeout)
    return {
        tp.partition: tp.offset
        for tp in result.topic_partitions
        if tp.topic == topic and tp.offset >= 0
    }


__all__ = ["AuditDecoder", "Follower", "SerdeError", "replayed_offsets", "topic_retention"]
