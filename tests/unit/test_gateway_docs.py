"""The gateway's own OpenAPI document and body limit, with a fake Publisher and registry (no
broker): which topics it lists, for whom, how it refreshes, that its examples are accepted,
and 413 for bodies over the limit. The live check against the real gateway is
tests/integration/test_gateway_schemathesis.py (schemathesis)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
import pytest
from fastavro import parse_schema

from producers.gateway.app import create_app
from producers.gateway.departments import hash_token, parse_departments
from producers.sdk import PublishedEvent
from producers.sdk.errors import UnknownTopicError

TOKEN = "hub_docs-test-token"
OTHER_TOKEN = "hub_docs-other-token"
QUIET_TOKEN = "hub_docs-quiet-token"
TREE = {
    "type": "record",
    "name": "TreeInspected",
    "namespace": "de.hamm.umweltamt",
    "doc": "Ein Stadtbaum wurde kontrolliert.",
    "x-key": "tree_id",
    "fields": [
        {"name": "tree_id", "type": "string", "doc": "Baumnummer."},
        {
            "name": "occurred_at",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "Zeitpunkt der Kontrolle.",
        },
        {
            "name": "condition",
            "type": {"type": "enum", "name": "Condition", "symbols": ["HEALTHY", "DAMAGED"]},
        },
        {"name": "height_m", "type": ["null", "double"], "default": None},
    ],
}
SUBJECTS = [
    "umweltamt.tree.inspected-value",
    "umweltamt.tree.inspected-key",
    "umweltamt.tree.felled-value",  # listed, but its schema is gone: left out
    "ordnungsamt.tree.inspected-value",
    "stillesamt.tree.inspected-value",  # gateway: false
    "nobody.tree.inspected-value",  # no such department
    "deliver.statistikstelle.umweltamt.tree.inspected-value",
]


@dataclass
class Prepared:
    schema_id: int
    schema: Any


@dataclass
class FakePublisher:
    known: tuple[str, ...] = (
        "umweltamt.tree.inspected",
        "ordnungsamt.tree.inspected",
        "stillesamt.tree.inspected",
    )
    sent: list[tuple[str, dict]] = field(default_factory=list)
    registry_url: str = "http://127.0.0.1:1"

    async def prepare(self, topic: str) -> None:
        if topic not in self.known:
            raise UnknownTopicError(topic)

    def schema(self, topic: str) -> Prepared:
        return Prepared(7, parse_schema(copy.deepcopy(TREE)))

    async def publish_many(self, topic: str, records: list[dict]) -> list[PublishedEvent]:
        out = []
        for record in records:
            self.sent.append((topic, record))
            out.append(PublishedEvent(topic, 0, len(self.sent) - 1, f"id-{len(self.sent)}"))
        return out


@dataclass
class FakeRegistry:
    subject_list: list[str] = field(default_factory=lambda: list(SUBJECTS))
    down: bool = False
    calls: int = 0

    async def subjects(self) -> list[str]:
        self.calls += 1
        if self.down:
            raise ConnectionError("registry unreachable")
        return list(self.subject_list)


DEPARTMENTS = parse_departments(
    {
        "departments": {
            "umweltamt": {"tokens": [hash_token(TOKEN)], "description": "Umweltamt"},
            "ordnungsamt": {"tokens": [hash_token(OTHER_TOKEN)]},
            "stillesamt": {"tokens": [hash_token(QUIET_TOKEN)], "gateway": False},
        }
    }
)


def make_client(
    publisher: FakePublisher, registry: FakeRegistry, **options: Any
) -> httpx.AsyncClient:
    app = create_app(publisher, DEPARTMENTS, registry=registry, **options)  # type: ignore[arg-type]
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
    client.app = app  # type: ignore[attr-defined]
    return client


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
async def client(publisher, registry):
    async with make_client(publisher, registry) as c:
        yield c


def topics_of(spec: dict[str, Any]) -> list[str]:
    return [
        p.removeprefix("/v1/topics/").removesuffix("/events")
        for p in spec["paths"]
        if p.startswith("/v1/topics/")
    ]


async def test_one_operation_per_topic_of_the_gateways_departments(client):
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert topics_of(spec) == ["ordnungsamt.tree.inspected", "umweltamt.tree.inspected"]
    assert "/v1/topics/{topic}/events" not in spec["paths"]
    operation = spec["paths"]["/v1/topics/umweltamt.tree.inspected/events"]["post"]
    assert operation["operationId"] == "publish_umweltamt_tree_inspected"
    assert operation["security"] == [{"bearerAuth": []}]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    event = spec["components"]["schemas"]["UmweltamtTreeInspected"]
    assert event["required"] == ["tree_id", "occurred_at", "condition"]
    assert event["properties"]["condition"]["enum"] == ["HEALTHY", "DAMAGED"]
    for name in ("ProblemOut", "FieldErrorOut", "PublishedOut", "PublishedEventOut"):
        assert name in spec["components"]["schemas"]
    assert {t["name"]: t.get("description") for t in spec["tags"]} == {
        "ordnungsamt": None,
        "umweltamt": "Umweltamt",
    }


async def test_operational_endpoints_have_their_real_content_types(client):
    spec = (await client.get("/openapi.json")).json()
    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    health = spec["paths"]["/healthz"]["get"]["responses"]
    assert set(health) >= {"200", "503"}
    assert list(health["200"]["content"]) == ["application/json"]


async def test_a_token_narrows_the_document_to_its_department(client):
    mine = (await client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})).json()
    assert topics_of(mine) == ["umweltamt.tree.inspected"]
    response = await client.get("/openapi.json", headers={"Authorization": "Bearer hub_nope"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    quiet = await client.get("/openapi.json", headers={"Authorization": f"Bearer {QUIET_TOKEN}"})
    assert quiet.status_code == 200 and topics_of(quiet.json()) == []


async def test_examples_validate_and_are_accepted(client, publisher):
    spec = (await client.get("/openapi.json")).json()
    path = "/v1/topics/umweltamt.tree.inspected/events"
    media = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    # the body schema with the components its $refs point into
    checker = jsonschema.Draft202012Validator(
        {**media["schema"], "components": spec["components"]},
        format_checker=jsonschema.FormatChecker(),
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for example in media["examples"].values():
        checker.validate(example["value"])
        response = await client.post(path, json=example["value"], headers=headers)
        assert response.status_code == 201, response.text
    assert len(publisher.sent) == 1 + len(media["examples"]["batch"]["value"])
    assert not checker.is_valid({**media["examples"]["event"]["value"], "surplus": 1})


async def test_new_topics_show_after_the_ttl(publisher, registry):
    async with make_client(publisher, registry, document_ttl=0) as client:
        assert "umweltamt.tree.new" not in topics_of((await client.get("/openapi.json")).json())
        registry.subject_list.append("umweltamt.tree.new-value")
        publisher.known += ("umweltamt.tree.new",)
        assert "umweltamt.tree.new" in topics_of((await client.get("/openapi.json")).json())


async def test_the_document_is_reused_within_the_ttl(client, registry):
    for _ in range(5):
        assert (await client.get("/openapi.json")).status_code == 200
    assert registry.calls == 1


async def test_an_outage_costs_one_registry_call_a_ttl(publisher, registry):
    async with make_client(publisher, registry, document_ttl=60) as client:
        good = (await client.get("/openapi.json")).json()
        registry.down = True
        document = client.app.state.api_document  # type: ignore[attr-defined]
        document._built[None] = (document._built[None][0] - 61, good)  # let it expire
        document._listed_at -= 61
        calls = registry.calls
        for _ in range(3):
            assert (await client.get("/openapi.json")).json() == good
        assert registry.calls == calls + 1


async def test_registry_down_first_is_503_later_the_last_document(publisher, registry):
    registry.down = True
    async with make_client(publisher, registry, document_ttl=0) as client:
        response = await client.get("/openapi.json")
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        registry.down = False
        good = (await client.get("/openapi.json")).json()
        registry.down = True
        assert (await client.get("/openapi.json")).json() == good
        assert client.app.openapi() == good  # type: ignore[attr-defined]


async def test_docs_pages_point_at_the_document(client):
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200 and "/openapi.json" in response.text


async def test_a_department_without_the_gateway_is_403(client, publisher):
    response = await client.post(
        "/v1/topics/stillesamt.tree.inspected/events",
        json={},
        headers={"Authorization": f"Bearer {QUIET_TOKEN}"},
    )
    assert response.status_code == 403 and "gateway: false" in response.json()["detail"]
    assert publisher.sent == []


def _event(i: int) -> dict[str, Any]:
    return {"tree_id": f"B-{i}", "occurred_at": 0, "condition": "HEALTHY"}


async def test_a_body_over_the_limit_is_413_by_its_length(publisher, registry):
    async with make_client(publisher, registry, max_body_bytes=200) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        path = "/v1/topics/umweltamt.tree.inspected/events"
        assert (await client.post(path, json=[_event(1)], headers=headers)).status_code == 201
        response = await client.post(path, json=[_event(i) for i in range(10)], headers=headers)
        assert response.status_code == 413
        assert "larger than 200 bytes" in response.json()["detail"]
        assert len(publisher.sent) == 1


async def test_a_streamed_body_over_the_limit_is_413_before_it_is_read_whole(publisher, registry):
    read: list[int] = []

    async def chunks():
        for i in range(1000):
            read.append(i)
            yield b" " * 100

    async with make_client(publisher, registry, max_body_bytes=1000) as client:
        response = await client.post(
            "/v1/topics/umweltamt.tree.inspected/events",
            content=chunks(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert len(read) < 1000
