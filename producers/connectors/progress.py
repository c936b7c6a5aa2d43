"""Connector progress in a compacted topic (Kafka is the only state): one a department,
``hub.connect.progress.<department>``, which only that department may read and write.

A connector writes its progress record in the same Kafka transaction as the events it covers,
so after a crash the committed progress says exactly which events are on the topic. On start a
connector reads the topic from the beginning (``read_committed``) up to its end and keeps the
latest value of each key. Keys: ``files/<sha256 of the file>``, ``outbox/<name>``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hub.kafka import KafkaSecurity, start_client
from hub.topics import TopicSpec, ensure_topics
from producers.sdk.publisher import department_of

PROGRESS_TOPIC = "hub.connect.progress"
READ_TIMEOUT = 60.0


def progress_topic(department: str) -> str:
    """The progress topic of a department's connectors."""
    return f"{PROGRESS_TOPIC}.{department}"


def connector_department(source: str) -> str:
    """The department a connector publishes for, from its CloudEvents source."""
    department = department_of(source)
    if not department:
        raise ValueError(f"source {source!r} names no department: use /hamm/<department>/<system>")
    return department


async def ensure_progress_topic(
    bootstrap: str, topic: str, *, security: KafkaSecurity | None = None
) -> None:
    """Create the compacted progress topic when it is missing."""
    await ensure_topics(
        bootstrap,
        [TopicSpec(topic, partitions=1, config={"cleanup.policy": "compact"})],
        security=security,
    )


async def read_progress(
    bootstrap: str, topic: str, prefix: str = "", *, security: KafkaSecurity | None = None
) -> dict[str, dict[str, Any]]:
    """The latest committed progress record of every key starting with ``prefix``.

    Call after the transactional producer has started: its start aborts a transaction left
    open by a crashed predecessor, so the topic's committed end is final.
    """
    security = security or KafkaSecurity.from_settings()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        **security.aiokafka(),
    )
    await start_client(consumer, security, bootstrap)
    latest: dict[str, dict[str, Any]] = {}
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            await consumer._client.force_metadata_update()  # a topic created a moment ago
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
        if not partitions:
            return latest
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + READ_TIMEOUT
        while await _behind(consumer, ends):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end in {READ_TIMEOUT} s")
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                for message in messages:
                    key = message.key.decode() if message.key else ""
                    if not key.startswith(prefix):
                        continue
                    if message.value is None:
                        latest.pop(key, None)  # tombstone
                    else:
                        latest[key] = orjson.loads(message.value)
    finally:
        await consumer.stop()
    return latest


async def send_progress(
    producer: AIOKafkaProducer, key: str, value: dict[str, Any], topic: str
) -> asyncio.Future:
    """Queue a progress record (inside the caller's transaction)."""
    return await producer.send(
        topic, orjson.dumps(value, option=orjson.OPT_SORT_KEYS), key=key.encode()
    )


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """Whether some partition's position is short of its (last stable) end offset."""
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False
