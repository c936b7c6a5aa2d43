"""The Publisher's contract without a broker: construction, guards on misuse, clear errors."""

from __future__ import annotations

import random

import pytest

from hub.credentials import Credentials
from hub.kafka import KafkaSecurity
from hub.schemas.catalog import default_schemas_dir, load_catalog
from producers.sdk import (
    NotPreparedError,
    NotStartedError,
    PublishedEvent,
    Publisher,
    PublisherError,
    RecordValidationError,
    TopicSchema,
)
from producers.sdk.metrics import TopicMetrics
from producers.sdk.publisher import _Topic
from producers.simulators import generate

MOVED = "buergeramt.resident.moved"


def publisher(**options) -> Publisher:
    return Publisher(
        source="/hamm/buergeramt/test",
        bootstrap_servers="127.0.0.1:1",
        registry_url="http://127.0.0.1:1/",
        **options,
    )


def prepared(pub: Publisher, topic: str = MOVED) -> Publisher:
    """Make ``topic`` known as if fetched from a registry (the unit tests have none)."""
    schema = load_catalog(default_schemas_dir())[topic].latest.schema
    pub._topics[topic] = _Topic(
        TopicSchema.register(pub._serde, topic, 7, schema), TopicMetrics.of(topic)
    )
    return pub


@pytest.mark.parametrize("source", ["", "hamm/buergeramt", "buergeramt"])
def test_source_must_be_a_path(source):
    with pytest.raises(ValueError, match="source must be a path"):
        Publisher(source=source, bootstrap_servers="h:1", registry_url="http://r")


def test_defaults_come_from_the_hub_settings(monkeypatch):
    from hub.settings import get_settings

    pub = Publisher(source="/hamm/x/y")
    assert pub.bootstrap_servers == get_settings().bootstrap_servers
    assert pub.registry_url == get_settings().registry_url
    assert publisher().registry_url == "http://127.0.0.1:1"


def test_validate_needs_prepare():
    with pytest.raises(NotPreparedError, match=r"prepare\('buergeramt.resident.moved'\)"):
        publisher().validate(MOVED, {})


def test_validate_after_prepare_returns_dict_or_names_the_field():
    pub = prepared(publisher())
    record = generate(MOVED, random.Random(1))[1]
    assert pub.validate(MOVED, record) == record
    record["new_address"] = dict(record["new_address"], postcode=59065)
    with pytest.raises(RecordValidationError) as caught:
        pub.validate(MOVED, record)
    assert (caught.value.topic, caught.value.field) == (MOVED, "new_address.postcode")
    assert "expected string, got int" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_producer_before_start_is_a_clear_error():
    with pytest.raises(NotStartedError, match="not started"):
        _ = publisher().producer


def test_transaction_needs_a_transactional_id():
    with pytest.raises(PublisherError, match="transactional_id"):
        publisher().transaction()


async def test_a_bad_batch_is_refused_before_anything_is_sent():
    pub = prepared(publisher())
    records = [generate(MOVED, random.Random(i))[1] for i in range(5)]
    records[3]["residence_type"] = "ZWEITWOHNSITZ"
    # Not started: had encoding not failed first, sending would raise NotStartedError.
    with pytest.raises(RecordValidationError, match="residence_type"):
        await pub.publish_many(MOVED, records)


async def test_keys_must_match_records():
    pub = prepared(publisher())
    records = [generate(MOVED, random.Random(i))[1] for i in range(2)]
    with pytest.raises(ValueError, match="2 records but 1 keys"):
        await pub.publish_many(MOVED, records, keys=["a"])


async def test_stop_without_start_is_harmless():
    pub = publisher()
    await pub.stop()
    await pub.stop()


def test_published_event_is_a_frozen_value():
    event = PublishedEvent("t", 0, 5, "id")
    assert event == PublishedEvent("t", 0, 5, "id")
    with pytest.raises(AttributeError):
        event.offset = 6  # type: ignore[misc]


async def test_unreachable_broker_is_a_publisher_error_naming_it():
    pub = Publisher(
        source="/hamm/x/y",
        bootstrap_servers="127.0.0.1:1",
        registry_url="http://127.0.0.1:1",
        security=KafkaSecurity(given=Credentials("x", "secret")),
    )
    with pytest.raises(PublisherError, match=r"127\.0\.0\.1:1"):
        await pub.start()
    with pytest.raises(NotStartedError):
        _ = pub.producer


async def test_unreachable_registry_is_a_publisher_error_naming_the_subject():
    pub = publisher()
    with pytest.raises(PublisherError, match=r"buergeramt.resident.moved-value.*unreachable"):
        await pub.prepare(MOVED)
    await pub.stop()


async def test_refused_records_are_counted_by_topic():
    from prometheus_client import REGISTRY

    def rejected() -> float:
        return REGISTRY.get_sample_value("hub_publisher_rejected_total", {"topic": MOVED}) or 0.0

    pub = prepared(publisher())
    before = rejected()
    with pytest.raises(RecordValidationError):
        await pub.publish_many(MOVED, [{"resident_id": 1}])
    with pytest.raises(RecordValidationError):
        await pub.send(MOVED, {"resident_id": 1})
    assert rejected() == before + 2


async def test_a_missing_credential_is_a_publisher_error_naming_the_principal(
    tmp_path, monkeypatch
):
    from hub.settings import load_settings

    settings = load_settings(_env_file=None, kafka_username=None, credentials_dir=tmp_path)
    pub = Publisher(
        source="/hamm/ordnungsamt/owi",
        bootstrap_servers="127.0.0.1:1",
        registry_url="http://127.0.0.1:1",
        security=KafkaSecurity.from_settings(settings, principal="ordnungsamt"),
    )
    with pytest.raises(PublisherError, match="'ordnungsamt'"):
        await pub.start()


def test_the_publisher_is_the_department_its_source_names(monkeypatch):
    monkeypatch.delenv("HUB_KAFKA_USERNAME", raising=False)
    from hub.settings import get_settings

    get_settings.cache_clear()
    try:
        pub = Publisher(
            source="/hamm/ordnungsamt/owi", bootstrap_servers="h:1", registry_url="http://r"
        )
        assert pub.security.principal == "ordnungsamt"
        gateway = Publisher(
            source="/hamm/hub/gateway",
            principal="hub-gateway",
            bootstrap_servers="h:1",
            registry_url="http://r",
        )
        assert gateway.security.principal == "hub-gateway"
    finally:
        get_settings.cache_clear()
