"""Confluent's own Python client against the hub's registry, and bytes crossing between
Confluent's serializers and the hub's serde, through a real topic."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from identity import confluent_security

# Confluent's registry client needs the extra: confluent-kafka[avro,schemaregistry].
pytest.importorskip(
    "confluent_kafka.schema_registry.avro", reason="confluent-kafka[avro,schemaregistry]"
)

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from hub.registry.server import RegistryThread
from hub.serde import AvroSerde, RegistryClient, parse

pytestmark = pytest.mark.integration

V1 = {
    "type": "record",
    "name": "HydrantInspected",
    "namespace": "de.hamm.feuerwehr",
    "fields": [
        {"name": "hydrant_id", "type": "string"},
        {"name": "pressure_bar", "type": "double"},
        {"name": "inspected_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}
V2 = {
    **V1,
    "fields": [
        *V1["fields"],
        {"name": "defect", "type": ["null", "string"], "default": None},
    ],
}


@pytest.fixture
def registry(kafka_bootstrap: str, unique_topic: Callable[[str], str]) -> Iterator[RegistryThread]:
    with RegistryThread(kafka_bootstrap, topic=unique_topic("registry")) as server:
        yield server


def test_confluent_schema_registry_client_works_unchanged(registry: RegistryThread) -> None:
    client = SchemaRegistryClient({"url": registry.url})
    subject = "feuerwehr.hydrant.inspected-value"
    v1_id = client.register_schema(subject, Schema(json.dumps(V1), "AVRO"))
    v2_id = client.register_schema(subject, Schema(json.dumps(V2), "AVRO"))
    assert (v1_id, v2_id) == (1, 2)
    assert json.loads(client.get_schema(v2_id).schema_str) == V2
    latest = client.get_latest_version(subject)
    assert (latest.version, latest.schema_id) == (2, 2)
    assert client.lookup_schema(subject, Schema(json.dumps(V1), "AVRO")).version == 1
    assert client.get_subjects() == [subject]
    assert client.get_versions(subject) == [1, 2]
    assert client.get_version(subject, 1).schema_id == 1
    assert client.test_compatibility(subject, Schema(json.dumps(V2), "AVRO"))
    assert client.get_compatibility() == "BACKWARD"
    client.set_compatibility(subject, "FULL")
    assert client.get_compatibility(subject) == "FULL"

    breaking = {**V1, "fields": [{"name": "hydrant_id", "type": "int"}]}
    with pytest.raises(SchemaRegistryError) as info:
        client.register_schema(subject, Schema(json.dumps(breaking), "AVRO"))
    assert (info.value.http_status_code, info.value.error_code) == (409, 409)
    with pytest.raises(SchemaRegistryError) as info:
        client.get_latest_version("nope-value")
    assert info.value.error_code == 40401

    assert client.delete_version(subject, 1) == 1
    assert client.delete_subject(subject) == [2]
    assert client.delete_subject(subject, permanent=True) == [1, 2]
    assert client.get_subjects() == []


def test_bytes_cross_between_confluent_serializers_and_the_hub(registry: RegistryThread) -> None:
    client = SchemaRegistryClient({"url": registry.url})
    context = SerializationContext("feuerwehr.hydrant.inspected", MessageField.VALUE)
    serializer = AvroSerializer(client, json.dumps(V1))
    deserializer = AvroDeserializer(client)
    hub = AvroSerde(schema_source=RegistryClient(registry.url).schema_by_id)
    record = {"hydrant_id": "H-0815", "pressure_bar": 6.5, "inspected_at": 1_764_000_000_000}

    from_confluent = serializer(record, context)
    decoded = hub.decode(from_confluent)
    assert decoded["hydrant_id"] == "H-0815" and decoded["pressure_bar"] == 6.5
    assert int(decoded["inspected_at"].timestamp() * 1000) == record["inspected_at"]

    schema_id = RegistryClient(registry.url).lookup("feuerwehr.hydrant.inspected-value", V1).id
    from_hub = hub.encode(schema_id, record)
    assert from_hub == from_confluent  # the same bytes, byte for byte
    assert deserializer(from_hub, context)["hydrant_id"] == "H-0815"


def test_v1_consumer_reads_v2_records_from_a_topic(
    registry: RegistryThread, kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("hydrants")
    subject = f"{topic}-value"
    hub_client = RegistryClient(registry.url)
    hub_client.register(subject, V1)
    v2_id = hub_client.register(subject, V2)

    # A producer already on v2 (Confluent's serializer), and one through the hub's serde.
    client = SchemaRegistryClient({"url": registry.url})
    serializer = AvroSerializer(
        client, json.dumps(V2), conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    hub = AvroSerde(schema_source=hub_client.schema_by_id)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, **confluent_security()})
    context = SerializationContext(topic, MessageField.VALUE)
    sent = [
        {
            "hydrant_id": f"H-{n}",
            "pressure_bar": n / 2,
            "inspected_at": 1_764_000_000_000 + n,
            "defect": None if n % 2 else "Deckel fehlt",
        }
        for n in range(6)
    ]
    for n, record in enumerate(sent):
        payload = serializer(record, context) if n % 2 else hub.encode(v2_id, record)
        producer.produce(topic, value=payload)
    assert producer.flush(10) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            **confluent_security(),
            "group.id": topic,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    reader = AvroSerde(schema_source=hub_client.schema_by_id)
    v1 = parse(V1)
    received = []
    try:
        for _ in range(100):
            message = consumer.poll(0.5)
            if message is None or message.error():
                if len(received) == len(sent):
                    break
                continue
            received.append(reader.decode(message.value(), reader_schema=v1))
            if len(received) == len(sent):
                break
    finally:
        consumer.close()
    assert [r["hydrant_id"] for r in received] == [r["hydrant_id"] for r in sent]
    assert all(set(r) == {"hydrant_id", "pressure_bar", "inspected_at"} for r in received)
