"""The gateway in-process (httpx over ASGI) against the real broker and registry; what it
publishes is read back with confluent-kafka."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from connect_world import Dept, parking

from producers.gateway.app import create_app
from producers.gateway.departments import hash_token, parse_departments
from producers.gateway.openapi import component_name, operation_id
from producers.gateway.ratelimit import RateLimiter
from producers.sdk import Publisher

TOKEN = "hub_test-token-of-the-department"
OTHER_TOKEN = "hub_test-token-of-another-department"


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world(kafka_bootstrap, registry_url):
    dept = Dept(kafka_bootstrap, registry_url)
    topic = await dept.register()
    departments = parse_departments(
        {
            "departments": {
                dept.name: {
                    "tokens": [hash_token(TOKEN)],
                    "rate_limit": {"events_per_second": 10, "burst": 200},
                },
                "other": {"tokens": [hash_token(OTHER_TOKEN)]},
            }
        }
    )
    clock = FrozenClock()
    publisher = Publisher(
        source="/hamm/hub/gateway-test",
        bootstrap_servers=kafka_bootstrap,
        registry_url=registry_url,
    )
    await publisher.start()
    app = create_app(publisher, departments, limiter=RateLimiter(clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield dept, topic, client, clock
    await publisher.stop()


async def test_one_event_is_published_and_acknowledged(world):
    dept, topic, client, _ = world
    response = await client.post(f"/v1/topics/{topic}/events", json=parking(1))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == 1
    [event] = body["events"]
    assert event["partition"] == 0 and event["offset"] >= 0 and event["event_id"]

    messages = await asyncio.to_thread(dept.read, topic, 1)
    assert len(messages) == 1
    [value] = dept.decode(topic, messages)
    assert value["violation_id"] == "V-1"
    assert value["occurred_at"] == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    assert value["location"] == {"lat": 51.68, "lon": 7.82}
    headers = dict(messages[0].headers())
    assert headers["ce_id"].decode() == event["event_id"]
    assert headers["ce_type"] == f"de.hamm.{topic}".encode()
    assert messages[0].key() == b"V-1"  # the schema's x-key


async def test_batch_is_published_in_order(world):
    dept, topic, client, _ = world
    events = [parking(i, occurred_at=1764059400000 + i) for i in range(50)]
    response = await client.post(f"/v1/topics/{topic}/events", json=events)
    assert response.status_code == 201, response.text
    offsets = [e["offset"] for e in response.json()["events"]]
    assert offsets == sorted(offsets) and len(set(offsets)) == 50
    messages = await asyncio.to_thread(dept.read, topic, 50)
    values = dept.decode(topic, messages)
    assert [v["violation_id"] for v in values] == [f"V-{i}" for i in range(50)]


async def test_missing_or_unknown_token_is_401(world):
    _, topic, client, _ = world
    response = await client.post(
        f"/v1/topics/{topic}/events", json=parking(1), headers={"Authorization": ""}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    response = await client.post(
        f"/v1/topics/{topic}/events",
        json=parking(1),
        headers={"Authorization": "Bearer hub_not-a-token"},
    )
    assert response.status_code == 401


async def test_another_departments_topic_is_403(world):
    _, topic, client, _ = world
    response = await client.post(
        f"/v1/topics/{topic}/events",
        json=parking(1),
        headers={"Authorization": f"Bearer {OTHER_TOKEN}"},
    )
    assert response.status_code == 403
    assert "other.*" in response.json()["detail"]


async def test_unknown_topic_is_404(world):
    dept, _, client, _ = world
    response = await client.post(f"/v1/topics/{dept.name}.no-such.thing/events", json=parking(1))
    assert response.status_code == 404
    assert f"{dept.name}.no-such.thing-value" in response.json()["detail"]


async def test_invalid_events_are_422_with_index_and_field_and_nothing_is_published(world):
    dept, topic, client, _ = world
    events = [
        parking(0),
        parking(1, violation_type="FALSCHPARKEN"),
        parking(2, location={"lat": "51,6", "lon": 7.8}),
        parking(3),
    ]
    del events[3]["licence_plate"]
    response = await client.post(f"/v1/topics/{topic}/events", json=events)
    assert response.status_code == 422
    errors = {(e["index"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(1, "violation_type"), (2, "location.lat"), (3, "licence_plate")}
    # the single-event form names the field without an index
    response = await client.post(f"/v1/topics/{topic}/events", json=parking(9, fine_eur="55"))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "fine_eur", "message": "expected an integer, got a string"}
    ]
    # nothing of either request reached the topic: the next good event is the first one there
    assert (await client.post(f"/v1/topics/{topic}/events", json=parking(7))).status_code == 201
    messages = await asyncio.to_thread(dept.read, topic, 1)
    assert [v["violation_id"] for v in dept.decode(topic, messages)] == ["V-7"]


async def test_bad_json_is_400(world):
    _, topic, client, _ = world
    response = await client.post(
        f"/v1/topics/{topic}/events",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


async def test_rate_limit_is_429_with_retry_after(world):
    _, topic, client, clock = world
    batch = [parking(i) for i in range(150)]
    assert (await client.post(f"/v1/topics/{topic}/events", json=batch)).status_code == 201
    response = await client.post(f"/v1/topics/{topic}/events", json=batch)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) == 10  # 100 tokens missing at 10/s
    too_big = [parking(i) for i in range(201)]
    response = await client.post(f"/v1/topics/{topic}/events", json=too_big)
    assert response.status_code == 429 and "burst" in response.json()["detail"]
    clock.now += 10
    assert (await client.post(f"/v1/topics/{topic}/events", json=batch)).status_code == 201


async def test_metrics_health_and_docs(world):
    dept, topic, client, _ = world
    await client.post(f"/v1/topics/{topic}/events", json=parking(1))
    await client.post(f"/v1/topics/{topic}/events", json=parking(2, fine_eur=None))
    metrics = (await client.get("/metrics")).text
    assert (
        f'hub_gateway_requests_total{{department="{dept.name}",status="201",topic="{topic}"}} 1.0'
        in metrics
    )
    assert (
        f'hub_gateway_events_accepted_total{{department="{dept.name}",topic="{topic}"}} 1.0'
        in metrics
    )
    assert "hub_gateway_request_seconds_bucket" in metrics
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json()["broker"] == "ok"
    assert health.json()["registry"] == "ok"
    # the department's own document: an operation for its topic, with the topic's schema and
    # an example the simulators made, which the gateway accepts
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"][f"/v1/topics/{topic}/events"]["post"]
    assert operation["operationId"] == operation_id(topic)
    assert "/v1/topics/{topic}/events" not in spec["paths"]
    event = spec["components"]["schemas"][component_name(topic)]
    assert event["properties"]["violation_type"]["enum"][0] == "NO_STOPPING_ZONE"
    example = operation["requestBody"]["content"]["application/json"]["examples"]["event"]
    assert (
        await client.post(f"/v1/topics/{topic}/events", json=example["value"])
    ).status_code == 201
    assert (await client.get("/docs")).status_code == 200
