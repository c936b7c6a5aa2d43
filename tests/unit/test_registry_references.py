"""The registry's references, stored schemas and normalization over an in-memory log: what
the fold keeps, what is served, what is refused."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from hub.registry import records
from hub.registry.api import create_app
from hub.registry.canonical import identity
from hub.registry.memory_log import MemoryLog
from hub.registry.service import Registry
from hub.registry.state import fold

ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "de.hamm.types",
    "fields": [{"name": "street", "type": "string"}],
}
MOVED = {
    "type": "record",
    "name": "Moved",
    "namespace": "de.hamm.buergeramt",
    "fields": [{"name": "to", "type": "de.hamm.types.Address"}],
}
REFS = [{"name": "de.hamm.types.Address", "subject": "de.hamm.types.Address", "version": 1}]


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog()


@pytest.fixture
def client(log: MemoryLog) -> TestClient:
    return TestClient(create_app(Registry(log)))


def post(client: TestClient, path: str, schema: object, refs: list | None = None):
    body: dict = {"schema": json.dumps(schema)}
    if refs is not None:
        body["references"] = refs
    return client.post(path, json=body)


def with_refs(client: TestClient) -> int:
    assert post(client, "/subjects/de.hamm.types.Address/versions", ADDRESS).status_code == 200
    response = post(client, "/subjects/moved-value/versions", MOVED, REFS)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_references_survive_the_fold(client: TestClient, log: MemoryLog) -> None:
    schema_id = with_refs(client)
    again = fold(log.records)
    assert [r.to_json() for r in again.schemas[schema_id].references] == REFS
    assert (
        again.versions("moved-value")[0].references
        == log.state.versions("moved-value")[0].references
    )


def test_a_soft_delete_keeps_the_references(client: TestClient, log: MemoryLog) -> None:
    with_refs(client)
    assert client.delete("/subjects/moved-value").json() == [1]
    held = log.state.versions("moved-value", deleted=True)[0]
    assert held.deleted and [r.to_json() for r in held.references] == REFS
    assert client.get("/subjects/moved-value/versions/1?deleted=true").json()["references"] == REFS


def test_the_same_text_with_other_references_is_another_schema(client: TestClient) -> None:
    first = with_refs(client)
    v2 = {
        **ADDRESS,
        "fields": [*ADDRESS["fields"], {"name": "no", "type": "string", "default": ""}],
    }
    assert post(client, "/subjects/de.hamm.types.Address/versions", v2).status_code == 200
    other = post(client, "/subjects/other-value/versions", MOVED, [{**REFS[0], "version": 2}])
    assert other.json()["id"] != first
    same = post(client, "/subjects/third-value/versions", MOVED, REFS)
    assert same.json()["id"] == first


def test_the_standalone_form_is_what_is_checked(log: MemoryLog, client: TestClient) -> None:
    with_refs(client)
    registry = Registry(log)
    whole = registry.standalone(log.state.versions("moved-value")[0])
    assert whole["fields"][0]["type"]["name"] == "de.hamm.types.Address"
    breaking = {**MOVED, "fields": [*MOVED["fields"], {"name": "x", "type": "string"}]}
    response = post(client, "/subjects/moved-value/versions", breaking, REFS)
    assert response.status_code == 409


def test_a_schema_from_another_registry_is_served_and_judged_as_stored(log: MemoryLog) -> None:
    # A record name today's name rules refuse ("-"), written to _schemas by someone else.
    legacy = {"type": "record", "name": "legacy-tree", "fields": [{"name": "id", "type": "string"}]}
    log.records.append(
        (
            records.schema_key("trees-value", 1),
            records.schema_value("trees-value", 1, 7, json.dumps(legacy)),
        )
    )
    log._state = fold(log.records)
    client = TestClient(create_app(Registry(log)))
    assert client.get("/schemas/ids/7").json() == {"schema": json.dumps(legacy)}
    found = post(client, "/subjects/trees-value", legacy)
    assert found.status_code == 200 and found.json()["id"] == 7
    assert post(client, "/subjects/trees-value/versions", legacy).json() == {"id": 7}
    # A new, valid version is checked against the stored one without re-judging its name.
    v2 = {
        "type": "record",
        "name": "legacy_tree",
        "aliases": ["legacy-tree"],
        "fields": [{"name": "id", "type": "string"}],
    }
    response = post(client, "/subjects/trees-value/versions", v2)
    assert response.status_code in (200, 409), response.text
    assert response.json().get("error_code") != 42201


@pytest.mark.parametrize(
    ("stored", "looked_up"),
    [
        ({"type": "int", "name": "X"}, "int"),
        ({"type": "string", "namespace": "a.b", "doc": "d"}, "string"),
        ({"type": "long", "aliases": ["t"]}, {"type": "long"}),
        (
            {
                "type": "record",
                "name": "R",
                "fields": [{"name": "a", "type": {"type": "int", "name": "N"}}],
            },
            {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]},
        ),
    ],
)
def test_primitives_drop_reserved_attributes(stored: object, looked_up: object) -> None:
    assert identity(stored) == identity(looked_up)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"type": "long", "logicalType": "timestamp-millis"}, "long"),
        ({"type": "string", "connect.name": "x"}, "string"),
        (
            {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "doc": "d"}]},
            {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]},
        ),
    ],
)
def test_meaningful_attributes_stay(one: object, other: object) -> None:
    assert identity(one) != identity(other)


def test_a_fresh_registry_defaults_to_confluents_backward(client: TestClient) -> None:
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
