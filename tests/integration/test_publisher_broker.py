"""The publisher SDK against the real broker and the hub's registry, with confluent-kafka on the
other side as the independent reader (its own AvroDeserializer, read_committed)."""

from __future__ import annotations

import asyncio
import datetime
import random
import uuid

import pytest
from committed import read_committed
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import registry_config

from hub.quality import RuleBook
from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import RegistryClient
from hub.topics import TopicSpec, ensure_topics
from producers.models.buergeramt import ResidentMoved
from producers.sdk import (
    Publisher,
    QualityRuleError,
    RecordValidationError,
    UnknownTopicError,
    envelope,
)
from producers.simulators import generate

CATALOG = load_catalog(default_schemas_dir())
MOVED = "buergeramt.resident.moved"
SOURCE = "/hamm/buergeramt/test-meso"


async def isolated(
    bootstrap: str, registry_url: str, topic: str = MOVED, partitions: int = 1
) -> str:
    """A fresh topic with the catalog schema of ``topic`` registered under ``<fresh>-value``."""
    fresh = f"t{uuid.uuid4().hex[:10]}.{topic.split('.', 1)[1]}"
    with RegistryClient(registry_url) as client:
        client.register(f"{fresh}-value", CATALOG[topic].latest.schema)
    await ensure_topics(bootstrap, [TopicSpec(fresh, partitions)])
    return fresh


def records(count: int, seed: int = 1, topic: str = MOVED) -> list[dict]:
    rng = random.Random(seed)
    return [generate(topic, rng)[1] for _ in range(count)]


def consume(bootstrap: str, topic: str, expected: int, settle: float = 1.0, timeout: float = 60):
    return read_committed(bootstrap, topic, expected, timeout=timeout, settle=settle)


def decoder(registry_url: str, topic: str):
    deserialize = AvroDeserializer(SchemaRegistryClient(registry_config(registry_url)))
    context = SerializationContext(topic, MessageField.VALUE)
    return lambda msg: deserialize(msg.value(), context)


async def test_published_event_reads_back_with_confluents_deserializer(
    kafka_bootstrap, registry_url
):
    topic = await isolated(kafka_bootstrap, registry_url)
    record = records(1)[0]
    async with Publisher(
        source=SOURCE, bootstrap_servers=kafka_bootstrap, registry_url=registry_url
    ) as publisher:
        event = await publisher.publish(topic, record, event_id="e-4711")
    assert (event.topic, event.partition, event.offset, event.event_id) == (topic, 0, 0, "e-4711")

    [msg] = consume(kafka_bootstrap, topic, 1)
    assert msg.key() == record["resident_id"].encode()
    assert decoder(registry_url, topic)(msg) == record
    headers = dict(msg.headers())
    assert headers == {
        "ce_specversion": b"1.0",
        "ce_id": b"e-4711",
        "ce_source": SOURCE.encode(),
        "ce_type": f"de.hamm.{topic}".encode(),
        "ce_time": record["occurred_at"].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3].encode() + b"Z",
        "content-type": b"application/avro",
    }
    assert record["resident_id"].encode() not in b"".join(headers.values())


async def test_publish_many_keys_partitions_and_offsets(kafka_bootstrap, registry_url):
    topic = await isolated(kafka_bootstrap, registry_url, partitions=3)
    batch = records(300, seed=2)
    async with Publisher(
        source=SOURCE, bootstrap_servers=kafka_bootstrap, registry_url=registry_url
    ) as publisher:
        published = await publisher.publish_many(topic, batch)
    assert len(published) == 300 and len({p.event_id for p in published}) == 300
    assert {p.partition for p in published} == {0, 1, 2}

    messages = consume(kafka_bootstrap, topic, 300)
    assert len(messages) == 300
    decode = decoder(registry_url, topic)
    by_id = {dict(m.headers())["ce_id"].decode(): m for m in messages}
    for record, event in zip(batch, published, strict=True):
        msg = by_id[event.event_id]
        assert (msg.partition(), msg.offset()) == (event.partition, event.offset)
        assert msg.key() == record["resident_id"].encode()
        assert decode(msg) == record
    # One entity, one partition: events of the same key keep their order.
    partition_of = {}
    for msg in messages:
        assert partition_of.setdefault(msg.key(), msg.partition()) == msg.partition()


async def test_explicit_keys_and_pydantic_models(kafka_bootstrap, registry_url):
    topic = await isolated(kafka_bootstrap, registry_url)
    batch = [ResidentMoved.model_validate(r) for r in records(3, seed=3)]
    async with Publisher(
        source=SOURCE, bootstrap_servers=kafka_bootstrap, registry_url=registry_url
    ) as publisher:
        await publisher.publish_many(topic, batch, keys=["k1", b"k2", None])
    messages = sorted(consume(kafka_bootstrap, topic, 3), key=lambda m: m.offset())
    assert [m.key() for m in messages] == [b"k1", b"k2", batch[2].resident_id.encode()]
    decode = decoder(registry_url, topic)
    assert [decode(m) for m in messages] == [m.to_avro() for m in batch]


async def test_sent_but_unawaited_events_are_flushed_on_stop(kafka_bootstrap, registry_url):
    topic = await isolated(kafka_bootstrap, registry_url)
    publisher = Publisher(
        source=SOURCE, bootstrap_servers=kafka_bootstrap, registry_url=registry_url, linger_ms=50
    )
    await publisher.start()
    futures = [await publisher.send(topic, r) for r in records(50, seed=4)]
    await publisher.stop()
    assert all(f.done() and f.exception() is None for f in futures)
    assert sorted(f.result().offset for f in futures) == list(range(50))
    assert len(consume(kafka_bootstrap, topic, 50)) == 50


async def test_a_bad_record_sends_none_of_its_batch(kafka_bootstrap, registry_url):
    topic = await isolated(kafka_bootstrap, registry_url)
    batch = records(20, seed=5)
    batch[13]["new_address"]["postcode"] = 59065
    async with Publisher(
        source=SOURCE, bootstrap_servers=kafka_bootstrap, registry_url=registry_url
    ) as publisher:
        with pytest.raises(RecordValidationError) as caught:
            await publisher.publish_many(topic, batch)
        assert caught.value.field == "new_address.postcode"
        assert caught.value.topic == topic
        marker = await publisher.publish(topic, records(1, seed=6)[0])
    assert marker.offset == 0  # nothing of the refused batch reached the log
    assert len(consume(kafka_bootstrap, topic, 1)) == 1


async def test_aborted_transaction_is_invisible_to_read_committed(kafka_bootstrap, registry_url):
    topic = await isolated(kafka_bootstrap, registry_url)
    progress = f"{topic}.progress"
    await ensure_topics(kafka_bootstrap, [progress])
    aborted, committed = records(5, seed=7), records(3, seed=8)
    async with Publisher(
        source=SOURCE,
        bootstrap_servers=kafka_bootstrap,
        registry_url=registry_url,
        transactional_id=f"test-{uuid.uuid4().hex[:8]}",
    ) as publisher:
        with pytest.raises(RuntimeError, match="connector crashed"):
            async with publisher.transaction():
                await publisher.publish_many(topic, aborted)
                await publisher.producer.send_and_wait(progress, b"offset=5")
                raise RuntimeError("connector crashed")
        async with publisher.transaction():
            await publisher.publish_many(topic, committed)
            await publisher.producer.send_and_wait(progress, b"offset=3")

    decode = decoder(registry_url, topic)
    visible = consume(kafka_bootstrap, topic, 3)
    assert [decode(m) for m in sorted(visible, key=lambda m: m.offset())] == committed
    assert [m.value() for m in consume(kafka_bootstrap, progress, 1)] == [b"offset=3"]


async def test_unregistered_topic_is_a_clear_error(kafka_bootstrap, registry_url):
    async with Publisher(
        source=SOURCE, bootstrap_servers=kafka_bootstrap, registry_url=registry_url
    ) as publisher:
        with pytest.raises(UnknownTopicError, match=r"no schema registered under subject .*-value"):
            await publisher.publish("nobody.nothing.happened", {"x": 1})


async def test_concurrent_sends_from_many_tasks(kafka_bootstrap, registry_url):
    topic = await isolated(kafka_bootstrap, registry_url)
    async with Publisher(
        source=SOURCE, bootstrap_servers=kafka_bootstrap, registry_url=registry_url
    ) as publisher:
        await publisher.prepare(topic)

        async def worker(seed: int):
            return [await publisher.publish(topic, r) for r in records(10, seed=seed)]

        results = await asyncio.gather(*(worker(s) for s in range(5)))
    offsets = sorted(e.offset for batch in results for e in batch)
    assert offsets == list(range(50))


def rulebook_for(fresh: str, topic: str, root) -> RuleBook:
    """The catalog's rules of ``topic`` under the isolated name ``fresh``: a schema tree of one
    subject (and the shared types) whose folder is the fresh topic's."""
    import shutil

    source = default_schemas_dir()
    department, entity_event = fresh.split(".", 1)
    shutil.copytree(source / "_types", root / "_types")
    shutil.copytree(
        source / topic.split(".", 1)[0] / entity_event, root / department / entity_event
    )
    return RuleBook(root)


async def test_a_flag_is_delivered_with_its_rules_and_counted(
    kafka_bootstrap, registry_url, tmp_path
):
    from prometheus_client import REGISTRY

    noise = "ordnungsamt.noise-complaint.filed"
    topic = await isolated(kafka_bootstrap, registry_url, noise)
    good, late = records(2, seed=4, topic=noise)
    late["noise_observed_at"] = late["occurred_at"] + datetime.timedelta(minutes=30)
    async with Publisher(
        source="/hamm/ordnungsamt/test",
        bootstrap_servers=kafka_bootstrap,
        registry_url=registry_url,
        quality=rulebook_for(topic, noise, tmp_path),
    ) as publisher:
        await publisher.publish(topic, good)
        await publisher.publish_many(topic, [late])
        with pytest.raises(QualityRuleError) as refused:
            await publisher.publish(topic, {**good, "postcode": "10115"})
    assert (refused.value.rule, refused.value.field) == ("plz-in-hamm", "postcode")
    first, second = consume(kafka_bootstrap, topic, 2)
    assert envelope.QUALITY_HEADER not in dict(first.headers())
    assert dict(second.headers())[envelope.QUALITY_HEADER] == b"laerm-vor-eingang"
    value = REGISTRY.get_sample_value
    assert (
        value("hub_publisher_quality_flagged_total", {"topic": topic, "rule": "laerm-vor-eingang"})
        == 1
    )
    assert (
        value("hub_publisher_quality_rejected_total", {"topic": topic, "rule": "plz-in-hamm"}) == 1
    )
    assert value("hub_publisher_events_total", {"topic": topic}) == 2
