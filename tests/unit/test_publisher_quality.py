"""Quality rules at the door (no broker): the SDK refuses a reject rule's violation like a
schema error and carries flagged rules in ``ce_hubquality``; the gateway answers 422 naming
the rule and the field. The broker and the file drop: tests/integration."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hub.quality import RuleBook
from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import AvroSerde
from producers.gateway.app import create_app
from producers.gateway.departments import hash_token, parse_departments
from producers.sdk import (
    PublishedEvent,
    QualityRuleError,
    RecordValidationError,
    encoding,
    envelope,
)
from producers.sdk.encoding import TopicSchema, encode_event
from producers.sdk.metrics import TopicMetrics
from producers.simulators import generate

ROOT = default_schemas_dir()
CATALOG = load_catalog(ROOT)
BOOK = RuleBook(ROOT, clock=lambda: dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
NOISE = "ordnungsamt.noise-complaint.filed"
SERDE = AvroSerde()
SCHEMA = TopicSchema.register(
    SERDE,
    NOISE,
    7001,
    CATALOG[NOISE].latest.schema,
    BOOK.rules_for(NOISE, CATALOG[NOISE].latest.schema),
)
SOURCE = b"/hamm/ordnungsamt/test"


def complaint(**overrides: Any) -> dict[str, Any]:
    record = generate(NOISE, random.Random(5))[1]
    record.update(overrides)
    return record


def test_a_good_event_has_no_quality_header() -> None:
    event = encode_event(SERDE, SCHEMA, complaint(), source=SOURCE)
    assert event.flagged == ()
    assert envelope.QUALITY_HEADER not in dict(event.headers)


def test_a_reject_rule_refuses_the_event_like_a_schema_error() -> None:
    with pytest.raises(QualityRuleError) as info:
        encode_event(SERDE, SCHEMA, complaint(postcode="10115"), source=SOURCE)
    error = info.value
    assert isinstance(error, RecordValidationError)
    assert (error.rule, error.field) == ("plz-in-hamm", "postcode")
    assert str(error).startswith(f"{NOISE}: postcode: breaks quality rule plz-in-hamm: ")
    with pytest.raises(QualityRuleError):
        encoding.validate(SCHEMA, complaint(postcode="10115"))


def test_a_flag_rule_is_carried_in_the_header() -> None:
    record = complaint()
    record["noise_observed_at"] = record["occurred_at"] + dt.timedelta(hours=1)
    record["location"] = {"lat": 52.52, "lon": 13.40}  # Berlin
    event = encode_event(SERDE, SCHEMA, record, source=SOURCE)
    assert event.flagged == ("breitengrad-in-hamm", "laengengrad-in-hamm", "laerm-vor-eingang")
    headers = dict(event.headers)
    assert (
        headers[envelope.QUALITY_HEADER]
        == b"breitengrad-in-hamm,laengengrad-in-hamm,laerm-vor-eingang"
    )
    assert envelope.flagged_rules(event.headers) == event.flagged
    assert encoding.validate(SCHEMA, record)  # flags never refuse


def test_epoch_millis_are_checked_like_datetimes() -> None:
    record = complaint()
    millis = int(record["occurred_at"].timestamp() * 1000)
    record["occurred_at"], record["noise_observed_at"] = millis, millis + 1
    assert encode_event(SERDE, SCHEMA, record, source=SOURCE).flagged == ("laerm-vor-eingang",)


def test_schema_problems_come_before_rules() -> None:
    with pytest.raises(RecordValidationError) as info:
        encode_event(SERDE, SCHEMA, complaint(postcode=59065), source=SOURCE)
    assert not isinstance(info.value, QualityRuleError)


def test_counters_by_topic_and_rule() -> None:
    from prometheus_client import REGISTRY

    metrics = TopicMetrics.of("test.quality.counters")
    metrics.quality("reject", "plz-in-hamm").inc()
    metrics.count_flags(("a-b", "c"), 2)
    value = REGISTRY.get_sample_value
    labels = {"topic": "test.quality.counters"}
    assert value("hub_publisher_quality_rejected_total", {**labels, "rule": "plz-in-hamm"}) == 1
    assert value("hub_publisher_quality_flagged_total", {**labels, "rule": "a-b"}) == 2


# --- the gateway ------------------------------------------------------------------------------

TOKEN = "hub_quality-test-token"


@dataclass
class RulesPublisher:
    """The Publisher's surface the gateway uses, with the real contract and its rules."""

    sent: list[dict] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    registry_url: str = "http://127.0.0.1:1"

    async def prepare(self, topic: str) -> None:
        return None

    def schema(self, topic: str) -> TopicSchema:
        return SCHEMA

    def refusals(self, topic: str, record: dict) -> list:
        found = encoding.refusals(SCHEMA, record)
        self.refused += [v.rule for v in found]
        return found

    async def publish_many(self, topic: str, records: list[dict]) -> list[PublishedEvent]:
        self.sent += records
        return [PublishedEvent(topic, 0, i, f"id-{i}") for i, _ in enumerate(records)]


def as_json(record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for name in ("occurred_at", "noise_observed_at"):
        out[name] = record[name].isoformat()
    return out


async def test_gateway_422_names_the_rule_and_the_field() -> None:
    publisher = RulesPublisher()
    departments = parse_departments(
        {"departments": {"ordnungsamt": {"tokens": [hash_token(TOKEN)]}}}
    )
    app = create_app(publisher, departments, registry=object())  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gw",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        good, bad = as_json(complaint()), as_json(complaint(postcode="44135"))
        response = await client.post(f"/v1/topics/{NOISE}/events", json=[good, bad])
        assert response.status_code == 422
        (error,) = response.json()["errors"]
        assert error["index"] == 1
        assert error["field"] == "postcode"
        assert error["rule"] == "plz-in-hamm"
        assert "plz-in-hamm" in error["message"]
        assert publisher.sent == [] and publisher.refused == ["plz-in-hamm"]
        assert (await client.post(f"/v1/topics/{NOISE}/events", json=good)).status_code == 201
