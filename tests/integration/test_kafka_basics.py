"""The broker does what the hub relies on: idempotence, transactions, consume-transform-produce,
FastStream, and an independent client (confluent-kafka) reading what aiokafka wrote."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from confluent_kafka import Consumer as ConfluentConsumer
from identity import aiokafka_security, confluent_security


async def create_topics(bootstrap: str, *names: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **aiokafka_security())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


async def read_all(
    bootstrap: str, topic: str, expected: int, isolation: str = "read_committed"
) -> list:
    """Read a topic from the start until `expected` records came, or 10 s of silence."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        **aiokafka_security(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation,
    )
    await consumer.start()
    records: list = []
    try:
        idle = 0
        while len(records) < expected and idle < 10:
            batch = await consumer.getmany(timeout_ms=1000)
            idle = 0 if batch else idle + 1
            for messages in batch.values():
                records.extend(messages)
        # A short extra read: nothing beyond what we expect may be there.
        for messages in (await consumer.getmany(timeout_ms=300)).values():
            records.extend(messages)
    finally:
        await consumer.stop()
    return records


async def test_idempotent_producer_writes_each_record_once(kafka_bootstrap, unique_topic):
    topic = unique_topic("idempotent")
    await create_topics(kafka_bootstrap, topic)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        **aiokafka_security(),
        enable_idempotence=True,
        acks="all",
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, f"{i}".encode(), key=b"k") for i in range(500)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    records = await read_all(kafka_bootstrap, topic, 500)
    assert [r.value.decode() for r in records] == [str(i) for i in range(500)]


async def test_read_committed_sees_committed_and_never_aborted(kafka_bootstrap, unique_topic):
    topic = unique_topic("tx")
    await create_topics(kafka_bootstrap, topic)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        **aiokafka_security(),
        transactional_id=f"tx-{uuid.uuid4().hex}",
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, b"committed-1")
        await producer.begin_transaction()
        await producer.send(topic, b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, b"committed-2")
    finally:
        await producer.stop()

    committed = [r.value for r in await read_all(kafka_bootstrap, topic, 2)]
    assert committed == [b"committed-1", b"committed-2"]
    uncommitted = [
        r.value for r in await read_all(kafka_bootstrap, topic, 3, isolation="read_uncommitted")
    ]
    assert b"aborted" in uncommitted  # it was written, and read_committed hid it


async def test_consume_transform_produce_commits_offsets_in_the_transaction(
    kafka_bootstrap, unique_topic
):
    source, sink = unique_topic("ctp-in"), unique_topic("ctp-out")
    group = f"ctp-{uuid.uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, source, sink)
    seed = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, **aiokafka_security())
    await seed.start()
    for i in range(100):
        await seed.send(source, f"event-{i}".encode())
    await seed.flush()
    await seed.stop()

    async def process(abort: bool) -> int:
        consumer = AIOKafkaConsumer(
            source,
            bootstrap_servers=kafka_bootstrap,
            **aiokafka_security(),
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka_bootstrap,
            **aiokafka_security(),
            transactional_id=f"ctp-{uuid.uuid4().hex}",
        )
        await consumer.start()
        await producer.start()
        seen = 0
        try:
            while seen < 100:
                batch = await consumer.getmany(timeout_ms=2000)
                if not batch:
                    break
                await producer.begin_transaction()
                offsets = {}
                for tp, messages in batch.items():
                    for m in messages:
                        await producer.send(sink, m.value.upper())
                    offsets[tp] = messages[-1].offset + 1
                    seen += len(messages)
                await producer.send_offsets_to_transaction(offsets, group)
                if abort:
                    await producer.abort_transaction()
                    break
                await producer.commit_transaction()
        finally:
            await producer.stop()
            await consumer.stop()
        return seen

    await process(abort=True)  # neither the output nor the offsets of this pass count
    await process(abort=False)

    out = await read_all(kafka_bootstrap, sink, 100)
    assert sorted(r.value for r in out) == sorted(f"EVENT-{i}".encode() for i in range(100))
    check = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, **aiokafka_security(), group_id=group
    )
    await check.start()
    try:
        committed = await check.committed(TopicPartition(source, 0))
    finally:
        await check.stop()
    assert committed == 100


async def test_faststream_round_trip(kafka_bootstrap, kafka_security, unique_topic):
    from faststream.kafka import KafkaBroker

    topic = unique_topic("faststream")
    await create_topics(kafka_bootstrap, topic)
    received: asyncio.Future = asyncio.get_running_loop().create_future()
    broker = KafkaBroker(kafka_bootstrap, security=kafka_security.faststream())

    @broker.subscriber(topic, group_id=f"fs-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest")
    async def handle(body: dict) -> None:
        if not received.done():
            received.set_result(body)

    async with broker:
        await broker.start()
        await broker.publish({"district": "Heessen", "count": 3}, topic=topic)
        body = await asyncio.wait_for(received, timeout=30)
    assert body == {"district": "Heessen", "count": 3}


async def test_confluent_kafka_reads_what_aiokafka_wrote(kafka_bootstrap, unique_topic):
    topic = unique_topic("interop")
    await create_topics(kafka_bootstrap, topic)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, **aiokafka_security(), enable_idempotence=True
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, b"\x00payload", key=b"entity-1", headers=[("ce_type", b"de.hamm.test")]
        )
    finally:
        await producer.stop()

    def consume() -> tuple:
        consumer = ConfluentConsumer(
            {
                "bootstrap.servers": kafka_bootstrap,
                **confluent_security(),
                "group.id": f"cf-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe([topic])
        try:
            for _ in range(30):
                msg = consumer.poll(1.0)
                if msg is not None and msg.error() is None:
                    return msg.key(), msg.value(), msg.headers()
        finally:
            consumer.close()
        pytest.fail("confluent-kafka read nothing in 30 s")

    key, value, headers = await asyncio.to_thread(consume)
    assert (key, value) == (b"entity-1", b"\x00payload")
    assert ("ce_type", b"de.hamm.test") in headers
