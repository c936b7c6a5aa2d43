"""The gateway app with a fake Publisher (no broker): status codes and what reaches the
publisher. The real broker is in tests/integration/test_gateway.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastavro import parse_schema

from hub.schemas.catalog import standalone_schema
from producers.gateway.app import create_app
from producers.gateway.departments import hash_token, parse_departments
from producers.sdk import PublishedEvent
from producers.sdk.errors import PublisherError, RecordValidationError, UnknownTopicError

REPO = Path(__file__).resolve().parents[2]
TREE = standalone_schema(REPO / "schemas/umweltamt/tree.inspected/v1.avsc")
TOPIC = "umweltamt.tree.inspected"
TOKEN = "hub_unit-test-token"


@dataclass
class Prepared:
    schema_id: int
    schema: Any


@dataclass
class FakePublisher:
    """The Publisher's surface the gateway uses."""

    fail_with: Exception | None = None
    registry_down: bool = False
    sent: list[tuple[str, dict]] = field(default_factory=list)
    registry_url: str = "http://127.0.0.1:1"

    async def prepare(self, topic: str) -> None:
        if self.registry_down:
            raise PublisherError("registry unreachable")
        if topic != TOPIC:
            raise UnknownTopicError(topic)

    def schema(self, topic: str) -> Prepared:
        return Prepared(1, parse_schema(TREE))

    async def publish_many(self, topic: str, records: list[dict]) -> list[PublishedEvent]:
        if self.fail_with is not None:
            raise self.fail_with
        published = []
        for record in records:
            self.sent.append((topic, record))
            published.append(PublishedEvent(topic, 0, len(self.sent) - 1, f"id-{len(self.sent)}"))
        return published


def tree(i: int, **extra: Any) -> dict[str, Any]:
    event = {
        "tree_id": f"B-{i}",
        "occurred_at": "2026-11-25T09:30:00+01:00",
        "location": {"lat": 51.68, "lon": 7.82},
        "species": "Tilia cordata",
        "trunk_circumference_cm": 120,
        "height_m": 14.5,
        "condition": "HEALTHY",
        "measures": [],
        "inspector_id": "UA-3",
        "next_inspection_due": "2027-11-25",
    }
    event.update(extra)
    return event


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
async def client(publisher):
    departments = parse_departments({"departments": {"umweltamt": {"tokens": [hash_token(TOKEN)]}}})
    app = create_app(publisher, departments, registry=object())  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gw",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        yield c


async def test_valid_event_reaches_the_publisher_converted(client, publisher):
    response = await client.post(f"/v1/topics/{TOPIC}/events", json=tree(1))
    assert response.status_code == 201
    assert response.json() == {
        "topic": TOPIC,
        "count": 1,
        "events": [{"event_id": "id-1", "partition": 0, "offset": 0}],
    }
    [(_, record)] = publisher.sent
    assert record["next_inspection_due"].isoformat() == "2027-11-25"


async def test_scheme_must_be_bearer(client):
    response = await client.post(
        f"/v1/topics/{TOPIC}/events", json=tree(1), headers={"Authorization": f"Basic {TOKEN}"}
    )
    assert response.status_code == 401


async def test_body_must_be_object_or_array(client, publisher):
    for body in (b'"text"', b"[]", b"42"):
        response = await client.post(f"/v1/topics/{TOPIC}/events", content=body)
        assert response.status_code == 400, body
    assert publisher.sent == []


async def test_a_batch_beyond_the_set_bound_is_400_and_nothing_is_published(publisher):
    departments = parse_departments({"departments": {"umweltamt": {"tokens": [hash_token(TOKEN)]}}})
    app = create_app(publisher, departments, registry=object(), max_batch=2)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gw",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        response = await c.post(f"/v1/topics/{TOPIC}/events", json=[tree(1), tree(2), tree(3)])
        assert response.status_code == 400
        assert "at most 2 events, got 3" in response.json()["detail"]
        assert publisher.sent == []
        assert (
            await c.post(f"/v1/topics/{TOPIC}/events", json=[tree(1), tree(2)])
        ).status_code == 201


async def test_unknown_topic_of_own_department_is_404(client):
    response = await client.post("/v1/topics/umweltamt.tree.felled/events", json=tree(1))
    assert response.status_code == 404


async def test_broker_failure_is_503_with_retry_after(client, publisher):
    publisher.fail_with = RuntimeError("broker gone")
    response = await client.post(f"/v1/topics/{TOPIC}/events", json=[tree(1), tree(2)])
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


async def test_registry_failure_is_503(client, publisher):
    publisher.registry_down = True
    response = await client.post(f"/v1/topics/{TOPIC}/events", json=tree(1))
    assert response.status_code == 503


async def test_422_lists_index_and_field_and_counts_rejects(client, publisher):
    response = await client.post(
        f"/v1/topics/{TOPIC}/events",
        json=[tree(1), tree(2, measures=["FELLING", "ABHOLZEN"], height_m="14,5")],
    )
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("1 of 2 events")
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "height_m"),
        (1, "measures[1]"),
    ]
    assert publisher.sent == []
    metrics = (await client.get("/metrics")).text
    assert (
        'hub_gateway_events_rejected_total{department="umweltamt",topic="umweltamt.tree.inspected"} 2.0'
        in metrics
    )


async def test_a_record_the_sdk_refuses_is_422_naming_the_field(client, publisher):
    publisher.fail_with = RecordValidationError(TOPIC, "height_m", "expected double, got string")
    response = await client.post(f"/v1/topics/{TOPIC}/events", json=tree(1))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "height_m", "message": "expected double, got string"}
    ]
