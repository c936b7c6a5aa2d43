"""The schema catalog with its shared types, published to the hub's registry (secured, on Kafka)
and read back: standalone through the hub's clients, with references through Confluent's."""

from __future__ import annotations

import json
import random
import uuid

import httpx
import pytest
from committed import read_committed
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import registry_config

from hub.kafka import KafkaSecurity
from hub.registry.publish import publish_catalog
from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryClient
from hub.topics import TopicSpec, ensure_topics
from producers.sdk import Publisher
from producers.simulators import generate

pytestmark = pytest.mark.integration

CATALOG = load_catalog(default_schemas_dir())
MOVED = "buergeramt.resident.moved"


@pytest.fixture(scope="module")
def published(registry_url: str) -> str:
    lines = publish_catalog(CATALOG, registry_url)
    assert "change(s) published" in lines[-1] or lines[-1].startswith("nothing changed")
    return registry_url


def test_every_source_schema_reads_back_standalone(published: str) -> None:
    with RegistryClient(published) as client:
        for shared in CATALOG.types.values():
            for version in shared.versions:
                found = client.lookup(shared.subject, version.raw)
                assert json.loads(found.schema) == version.schema
        for subject in CATALOG.values():
            for version in subject.versions:
                found = client.lookup(subject.subject, version.raw, references=version.references)
                assert found.references == version.references
                assert json.loads(found.raw_schema) == version.raw
                assert json.loads(found.schema) == version.schema, version.path
        fresh = RegistryClient(published)
        moved = client.latest(f"{MOVED}-value")
        assert json.loads(fresh.schema_by_id(moved.id)) == CATALOG[MOVED].latest.schema
        fresh.close()
    assert publish_catalog(CATALOG, published)[-1].startswith("nothing changed")


def test_the_registry_knows_who_references_a_shared_type(published: str) -> None:
    with RegistryClient(published) as client:
        address = client.version("de.hamm.types.Address", 1)
        users = {
            client.lookup(s.subject, v.raw, references=v.references).id
            for s in CATALOG.values()
            for v in s.versions
            if any(r.name == "de.hamm.types.Address" for r in v.references)
        }
    config = registry_config(published)
    user, _, password = config.get("basic.auth.user.info", ":").partition(":")
    response = httpx.get(
        f"{published}/subjects/de.hamm.types.Address/versions/1/referencedby",
        auth=(user, password) if user else None,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == users and address.id not in users


def test_confluents_deserializer_resolves_the_references_itself(published: str) -> None:
    # Bytes the hub's serde writes with the standalone schema; Confluent's client fetches the
    # schema by id with its references and the referenced versions, and reads them.
    with RegistryClient(published) as client:
        latest = client.latest(f"{MOVED}-value")
        serde = AvroSerde(schema_source=client.schema_by_id)
        record = generate(MOVED, random.Random(11))[1]
        data = serde.encode(latest.id, record)
    confluent = SchemaRegistryClient(registry_config(published))
    registered = confluent.get_latest_version(f"{MOVED}-value")
    assert [r.name for r in registered.schema.references] == ["de.hamm.types.Address"]
    deserialize = AvroDeserializer(confluent)
    assert deserialize(data, SerializationContext(MOVED, MessageField.VALUE)) == record


async def test_the_publisher_uses_a_schema_registered_with_references(
    published: str, kafka_bootstrap: str, kafka_security: KafkaSecurity
) -> None:
    moved = CATALOG[MOVED].latest
    topic = f"t{uuid.uuid4().hex[:10]}.resident.moved"
    async with AsyncRegistryClient(published) as client:
        schema_id = await client.register(f"{topic}-value", moved.raw, references=moved.references)
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic)])
    record = generate(MOVED, random.Random(12))[1]
    async with Publisher(
        source="/hamm/buergeramt/test-refs",
        bootstrap_servers=kafka_bootstrap,
        registry_url=published,
        security=kafka_security,
    ) as publisher:
        await publisher.prepare(topic)
        assert publisher.schema(topic).schema_id == schema_id
        await publisher.publish(topic, record)
    [message] = read_committed(kafka_bootstrap, topic, 1)
    deserialize = AvroDeserializer(SchemaRegistryClient(registry_config(published)))
    assert deserialize(message.value(), SerializationContext(topic, MessageField.VALUE)) == record
