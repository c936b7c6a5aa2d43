"""The core's own producing, on the real broker: a batch produced by ``hub_core.Sender`` in a
transaction arrives as the same records (topic, partition, key, value, headers) as the same
batch produced record by record through Python."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as Partition
from identity import confluent_security

from consumers.router.kafka import TopicPartition, TransactionalProducer, group_metadata_of
from hub.kafka import KafkaSecurity
from hub.topics import TopicSpec, ensure_topics

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from native_engine import core, kept_batch

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(core is None, reason="hub_core is not installed (make install)"),
]
PARTITIONS = 3


async def test_the_core_produces_what_python_produces(
    kafka_bootstrap: str, kafka_security: KafkaSecurity
) -> None:
    batch = kept_batch(40, topic_id=f"s{uuid.uuid4().hex[:8]}")
    topic = batch.to_list()[0][0]
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, PARTITIONS)], security=kafka_security)
    reader = consumer(kafka_bootstrap)
    ends = [reader.get_watermark_offsets(Partition(topic, p), 10)[1] for p in range(PARTITIONS)]
    producer = TransactionalProducer(
        kafka_bootstrap,
        kafka_security,
        f"test-sender-{uuid.uuid4().hex[:8]}",
        linger_ms=5,
        batch_bytes=1 << 20,
        on_error=lambda error: None,
    )
    assert producer.sender is not None, "the core could not borrow the producer"
    await producer.start()
    group = f"test-sender-{uuid.uuid4().hex[:8]}"
    metadata = group_metadata_of(kafka_bootstrap, kafka_security, group)
    offsets = {TopicPartition(topic, 0): 0}
    # the core's records first, then Python's
    await producer.transact([], [batch], [], offsets, metadata)
    await producer.transact(batch.to_list(), [], [], offsets, metadata)
    await producer.close()

    records = read_all(reader, topic, ends, 2 * len(batch))
    by_core, by_python = records[: len(batch)], records[len(batch) :]
    assert sorted(by_core) == sorted(by_python)
    expected = sorted((t, k, v, h) for t, k, v, h in batch.to_list())
    assert sorted((t, k, v, h) for t, _, k, v, h in by_core) == expected


def consumer(bootstrap: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            **confluent_security(),
            "group.id": f"test-sender-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )


def read_all(consumer: Consumer, topic: str, ends: list[int], count: int) -> list[tuple]:
    """``count`` committed records of ``topic`` after ``ends`` (per partition), the first
    transaction's first (a partition's records come in the order they were written)."""
    consumer.assign([Partition(topic, p, ends[p]) for p in range(PARTITIONS)])
    got: list[tuple[int, int, tuple]] = []
    try:
        for _ in range(100):
            for m in consumer.consume(count, 0.5):
                if m.error() is None:
                    item = (m.topic(), m.partition(), m.key(), m.value(), m.headers())
                    got.append((m.partition(), m.offset(), item))
            if len(got) >= count:
                break
    finally:
        consumer.close()
    assert len(got) == count, f"{len(got)} of {count} records arrived"
    # per partition the first transaction's records come first; split the halves by that
    firsts: list[tuple] = []
    seconds: list[tuple] = []
    for p in range(PARTITIONS):
        mine = [item for part, _, item in sorted(got) if part == p]
        firsts += mine[: len(mine) // 2]
        seconds += mine[len(mine) // 2 :]
    return firsts + seconds
