"""Schema references in the registry clients: sent on register, lookup and compatibility; every
schema handed out standalone (referenced subject versions fetched recursively, once)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hub.registry.api import create_app
from hub.registry.memory_log import MemoryLog
from hub.registry.service import Registry
from hub.schemas.parsing import parse_schema
from hub.schemas.references import Reference
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryClient, RegistryError

POINT = {
    "type": "record",
    "name": "GeoPoint",
    "namespace": "de.hamm.types",
    "fields": [{"name": "lat", "type": "double"}, {"name": "lon", "type": "double"}],
}
PLACE = {
    "type": "record",
    "name": "Place",
    "namespace": "de.hamm.types",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "point", "type": "de.hamm.types.GeoPoint"},
    ],
}
EVENT = {
    "type": "record",
    "name": "TreeInspected",
    "namespace": "de.hamm.umweltamt",
    "fields": [
        {"name": "tree_id", "type": "string"},
        {"name": "at", "type": "de.hamm.types.Place"},
        {"name": "seen_from", "type": ["null", "de.hamm.types.GeoPoint"], "default": None},
    ],
}
G = Reference("de.hamm.types.GeoPoint", "de.hamm.types.GeoPoint", 1)
P = Reference("de.hamm.types.Place", "de.hamm.types.Place", 1)
PLACE_REFS = [G.to_json()]
EVENT_REFS = [P, {"name": G.name, "subject": G.subject, "version": 1}]  # both forms accepted


class CountingClient(TestClient):
    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        super().__init__(app)
        self.paths: list[str] = []

    def request(self, method, url, **kwargs):  # type: ignore[no-untyped-def, override]
        self.paths.append(f"{method} {url}")
        return super().request(method, url, **kwargs)


@pytest.fixture
def http() -> CountingClient:
    return CountingClient(create_app(Registry(MemoryLog())))


@pytest.fixture
def client(http: CountingClient) -> RegistryClient:
    return RegistryClient("http://testserver", client=http)


def register_all(client: RegistryClient) -> int:
    client.register(G.subject, POINT)
    client.register(P.subject, PLACE, references=PLACE_REFS)
    return client.register("umweltamt.tree.inspected-value", EVENT, references=EVENT_REFS)


def test_every_read_is_standalone_and_keeps_the_stored_form(
    client: RegistryClient, http: CountingClient
) -> None:
    event_id = register_all(client)
    fresh = RegistryClient("http://testserver", client=http)
    standalone = json.loads(fresh.schema_by_id(event_id))
    parse_schema(standalone)
    at = standalone["fields"][1]["type"]
    assert at["name"] == "de.hamm.types.Place"
    assert at["fields"][1]["type"]["name"] == "de.hamm.types.GeoPoint"  # Place's own reference
    assert standalone["fields"][2]["type"] == ["null", "de.hamm.types.GeoPoint"]  # named after
    latest = fresh.latest("umweltamt.tree.inspected-value")
    assert latest.references == (P, G)
    assert json.loads(latest.raw_schema) == EVENT
    assert json.loads(latest.schema) == standalone
    place = fresh.version(P.subject, 1)
    assert place.references == (G,) and json.loads(place.raw_schema) == PLACE
    point = fresh.version(G.subject, 1)
    assert point.references == () and point.raw_schema == point.schema


def test_referenced_versions_are_fetched_once(client: RegistryClient, http: CountingClient) -> None:
    event_id = register_all(client)
    fresh = RegistryClient("http://testserver", client=http)
    http.paths.clear()
    fresh.schema_by_id(event_id)
    fresh.schema_by_id(event_id)
    fresh.latest("umweltamt.tree.inspected-value")
    assert http.paths.count(f"GET /schemas/ids/{event_id}") == 1
    assert http.paths.count("GET /subjects/de.hamm.types.Place/versions/1") == 1
    assert http.paths.count("GET /subjects/de.hamm.types.GeoPoint/versions/1") == 1


def test_register_lookup_and_compatibility_carry_the_references(
    client: RegistryClient, http: CountingClient
) -> None:
    event_id = register_all(client)
    found = client.lookup("umweltamt.tree.inspected-value", EVENT, references=EVENT_REFS)
    assert (found.id, found.version, found.references) == (event_id, 1, (P, G))
    with pytest.raises(RegistryError):  # the same text without its references is another schema
        client.lookup("umweltamt.tree.inspected-value", EVENT)
    # Cached by text and references: registering again asks nothing.
    http.paths.clear()
    assert (
        client.register("umweltamt.tree.inspected-value", EVENT, references=EVENT_REFS) == event_id
    )
    assert http.paths == []
    v2 = {**EVENT, "fields": [*EVENT["fields"], {"name": "n", "type": "int", "default": 0}]}
    result = client.test_compatibility("umweltamt.tree.inspected-value", v2, references=EVENT_REFS)
    assert result.is_compatible


def test_the_serde_decodes_through_referenced_schemas(client: RegistryClient) -> None:
    event_id = register_all(client)
    record = {
        "tree_id": "B-1",
        "at": {"name": "Kurpark", "point": {"lat": 51.68, "lon": 7.82}},
        "seen_from": {"lat": 51.7, "lon": 7.8},
    }
    producer = AvroSerde(schema_source=client.schema_by_id)
    consumer = AvroSerde(
        schema_source=RegistryClient("http://testserver", client=client._http).schema_by_id
    )
    assert consumer.decode(producer.encode(event_id, record)) == record


async def test_the_async_client_resolves_the_same_way() -> None:
    app = create_app(Registry(MemoryLog()))
    transport = httpx.ASGITransport(app=app)
    async with AsyncRegistryClient(
        "http://test", client=httpx.AsyncClient(transport=transport, base_url="http://test")
    ) as client:
        await client.register(G.subject, POINT)
        await client.register(P.subject, PLACE, references=PLACE_REFS)
        event_id = await client.register("t-value", EVENT, references=EVENT_REFS)
        assert client.cached_schema(event_id) is None  # the sent text is not standalone
        standalone = json.loads(await client.schema_by_id(event_id))
        assert standalone["fields"][1]["type"]["name"] == "de.hamm.types.Place"
        assert client.cached_schema(event_id) is not None
        latest = await client.latest("t-value")
        assert latest.references == (P, G) and json.loads(latest.schema) == standalone
        found = await client.lookup("t-value", EVENT, references=EVENT_REFS)
        assert found.id == event_id
        result = await client.test_compatibility("t-value", EVENT, references=EVENT_REFS)
        assert result.is_compatible


# --- against a fake registry: resolution without the hub's server -----------------------------


class FakeRegistry:
    """Canned answers of a Confluent registry; ``seen`` lists the paths asked."""

    def __init__(self, by_id: dict[int, dict], versions: dict[str, dict]) -> None:
        self.by_id, self.versions, self.seen = by_id, versions, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.seen.append(path)
        if path.startswith("/schemas/ids/"):
            return httpx.Response(200, json=self.by_id[int(path.rsplit("/", 1)[1])])
        if path in self.versions:
            return httpx.Response(200, json=self.versions[path])
        return httpx.Response(404, json={"error_code": 40401, "message": "not found"})

    def client(self) -> RegistryClient:
        http = httpx.Client(transport=httpx.MockTransport(self), base_url="http://fake")
        return RegistryClient("http://fake", client=http, auth=None)


def version_body(subject: str, version: int, schema: dict, refs: list | None = None) -> dict:
    body: dict[str, Any] = {"subject": subject, "version": version, "id": 100 + version}
    body["schema"] = json.dumps(schema)
    if refs is not None:
        body["references"] = refs
    return body


def test_nested_references_resolve_dependencies_first() -> None:
    fake = FakeRegistry(
        {1: {"schema": json.dumps(EVENT), "references": [P.to_json(), G.to_json()]}},
        {
            "/subjects/de.hamm.types.Place/versions/1": version_body(
                P.subject, 1, PLACE, PLACE_REFS
            ),
            "/subjects/de.hamm.types.GeoPoint/versions/1": version_body(G.subject, 1, POINT),
        },
    )
    standalone = json.loads(fake.client().schema_by_id(1))
    parse_schema(standalone)
    assert standalone["fields"][1]["type"]["fields"][1]["type"]["name"] == "de.hamm.types.GeoPoint"


def test_a_schema_without_references_is_handed_out_as_stored() -> None:
    text = json.dumps(POINT, indent=3)
    fake = FakeRegistry({7: {"schema": text}}, {})
    assert fake.client().schema_by_id(7) == text
    assert fake.seen == ["/schemas/ids/7"]


def test_latest_references_are_not_cached() -> None:
    latest = Reference(G.name, G.subject, -1)
    fake = FakeRegistry(
        {
            1: {"schema": json.dumps(PLACE), "references": [latest.to_json()]},
            2: {"schema": json.dumps(PLACE), "references": [latest.to_json()]},
        },
        {"/subjects/de.hamm.types.GeoPoint/versions/latest": version_body(G.subject, 3, POINT)},
    )
    client = fake.client()
    client.schema_by_id(1)
    client.schema_by_id(2)
    assert fake.seen.count("/subjects/de.hamm.types.GeoPoint/versions/latest") == 2


@pytest.mark.parametrize(
    ("references", "message"),
    [
        ([P.to_json()], "cycle"),  # GeoPoint v1 (below) names Place v1 back
        ([{"name": "x"}], "malformed references"),
    ],
)
def test_unresolvable_references_are_a_registry_error(references: list, message: str) -> None:
    fake = FakeRegistry(
        {1: {"schema": json.dumps(EVENT), "references": references}},
        {
            "/subjects/de.hamm.types.Place/versions/1": version_body(
                P.subject, 1, PLACE, PLACE_REFS
            ),
            "/subjects/de.hamm.types.GeoPoint/versions/1": version_body(
                G.subject, 1, POINT, [P.to_json()]
            ),
        },
    )
    with pytest.raises(RegistryError, match=message) as caught:
        fake.client().schema_by_id(1)
    assert caught.value.error_code == 42201


def test_references_must_be_well_formed_when_sent() -> None:
    fake = FakeRegistry({}, {})
    with pytest.raises(ValueError, match="version"):
        fake.client().register("s-value", EVENT, references=[{"name": "a", "subject": "b"}])
    assert fake.seen == []
