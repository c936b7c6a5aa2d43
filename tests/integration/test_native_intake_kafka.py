"""The core's intake on the real broker: messages consumed by confluent-kafka and gathered by
``hub_core.Intake`` (their fields read where confluent-kafka keeps them, their headers through
librdkafka) route to the very outcome of the Python records built from the same messages:
keys and values absent or empty, headers absent, repeated, without a value, not ASCII,
poison among the events, three partitions and a second topic in one consume call."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, date, datetime

import fastavro
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as Partition
from identity import confluent_security

from consumers.router.engine import NativeTable, load_core, route_native
from consumers.router.kafka import Record, attach_intake
from consumers.router.process import Accounting
from consumers.router.routes import Route, RoutingTable, SourceRoutes
from hub.agreements.compile import compile_agreement
from hub.agreements.model import parse_agreement
from hub.kafka import KafkaSecurity
from hub.receipts import receipts_key
from hub.serde import AvroSerde, parse
from hub.topics import TopicSpec, ensure_topics

core = load_core()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(core is None, reason="hub_core is not installed (make install)"),
]
SECRET = b"intake-test-master-secret-0123456789"
PARTITIONS = 3
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SCHEMA = {
    "type": "record",
    "name": "T",
    "namespace": "t",
    "fields": [
        {
            "name": "occurred_at",
            "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
            "default": None,
            "doc": "t",
            "x-pii": "none",
        },
        {"name": "f", "type": "string", "doc": "f", "x-pii": "identifying"},
    ],
}
HEADERS = [
    None,
    [],
    [("ce_id", b"1"), ("ce_type", b"t.moved"), ("content-type", b"application/avro")],
    [("ce_id", b"2"), ("ce_id", b"3"), ("ce_hubquality", b"r1,r2"), ("ce_time", None)],
    [("Straße", "Ümlaut".encode()), ("ce_source", b""), ("ce_hubquality", b"")],
    [("ce_specversion", b"1.0"), ("x-binary", bytes(range(256)))],
]


def value(i: int) -> bytes | None:
    if i % 11 == 5:
        return None
    if i % 13 == 7:
        return b""
    if i % 17 == 3:
        return b"\x00\x00\x00\x00\x01\xff"  # poison: a truncated record
    buf = io.BytesIO()
    at = 1_764_000_000_000 + i if i % 2 else None
    fastavro.schemaless_writer(
        buf, fastavro.parse_schema(SCHEMA), {"occurred_at": at, "f": f"v{i}"}
    )
    return b"\x00\x00\x00\x00\x01" + buf.getvalue()


def native_source(topic: str):
    raw = {
        "id": "intake-test",
        "subscriber": "s",
        "source": topic,
        "purpose": "Test",
        "legal_basis": "§ 1",
        "valid_until": date(2099, 12, 31),
        "fields": {"f": "pseudonymize"},
        "key": "pseudonymize",
        "allows_identifying": True,
    }
    compiled = compile_agreement(parse_agreement(raw, "t.yaml"), SCHEMA, SECRET)
    table = RoutingTable({topic: SourceRoutes(topic, parse(SCHEMA), (Route(compiled, 7),))})
    accounting = Accounting(receipts_key(SECRET), True, 3_600_000_000)
    native = NativeTable(core, table, SECRET, accounting)
    assert not native.refused, native.refused
    source = native.sources[topic]
    source.learn(1, json.dumps(SCHEMA), parse(SCHEMA).canonical)
    return source


async def test_gathered_messages_route_as_records(
    kafka_bootstrap: str, kafka_security: KafkaSecurity
) -> None:
    topics = [f"intake.{uuid.uuid4().hex[:8]}.{n}" for n in ("a", "b")]
    await ensure_topics(
        kafka_bootstrap, [TopicSpec(t, PARTITIONS) for t in topics], security=kafka_security
    )
    config = {"bootstrap.servers": kafka_bootstrap, **confluent_security()}
    producer = Producer(config)
    count = 120
    for i in range(count):
        key = [None, b"", b"R-%d" % i][i % 3]
        producer.produce(
            topics[i % 7 == 0],
            value(i),
            key,
            partition=i % PARTITIONS,
            headers=HEADERS[i % len(HEADERS)],
            timestamp=1_764_000_000_000 + i,
        )
    producer.flush(30)

    consumer = Consumer({**config, "group.id": f"intake-{uuid.uuid4().hex[:8]}"})
    consumer.assign([Partition(t, p, 0) for t in topics for p in range(PARTITIONS)])
    messages: list = []
    deadline = time.monotonic() + 30
    while len(messages) < count and time.monotonic() < deadline:
        messages += [m for m in consumer.consume(500, 0.5) if m.error() is None]
    consumer.close()
    assert len(messages) == count

    intake = attach_intake()
    assert intake is not None, "the core could not read confluent-kafka's messages"
    serde = AvroSerde()
    serde.add_schema(1, SCHEMA)
    parts, errors = intake.gather(messages)
    assert errors == []
    # What Python would have built, from the same messages (converting their headers now).
    python: dict[tuple[str, int], list[Record]] = {}
    for m in messages:
        python.setdefault((m.topic(), m.partition()), []).append(Record(m))
    assert sorted((t, p) for t, p, _ in parts) == sorted(python)
    for topic, partition, arrived in parts:
        records = python[(topic, partition)]
        assert (arrived.topic, arrived.partition, len(arrived)) == (topic, partition, len(records))

        def seen(r: Record) -> tuple:
            return (r.topic, r.partition, r.offset, r.key, r.value, r.headers, r.timestamp)

        assert [seen(r) for r in arrived] == [seen(r) for r in records]
        assert seen(arrived[-1]) == seen(records[-1])
        assert [seen(r) for r in arrived[1:3]] == [seen(r) for r in records[1:3]]
        source = native_source(topic)
        assert source.core.unknown_ids(arrived) == source.core.unknown_ids(records)
        for lazy in (False, True):
            by_intake = route_native(source, arrived, serde, NOW, "router-0", lazy=lazy)
            by_python = route_native(source, records, serde, NOW, "router-0", lazy=lazy)
            delivered = by_python.all_deliveries()
            assert by_intake.all_deliveries() == delivered
            by_intake.batches = by_python.batches = []
            assert by_intake == by_python
            assert delivered and by_python.dead_letters  # both kinds were compared


def test_the_intake_refuses_what_is_no_message() -> None:
    intake = attach_intake()
    assert intake is not None
    with pytest.raises(core.Refused, match="among the messages"):
        intake.gather([object()])
