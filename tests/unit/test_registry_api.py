"""The REST API over an in-memory log: Confluent's bodies, status and error codes."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from hub.registry.api import create_app
from hub.registry.memory_log import MemoryLog
from hub.registry.service import Registry
from hub.registry.state import fold

CT = "application/vnd.schemaregistry.v1+json"
V1 = {"type": "record", "name": "Tree", "fields": [{"name": "id", "type": "string"}]}
V2 = {
    "type": "record",
    "name": "Tree",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "height", "type": "double", "default": 0.0},
    ],
}
BREAKING = {
    "type": "record",
    "name": "Tree",
    "fields": [{"name": "id", "type": "string"}, {"name": "species", "type": "string"}],
}
OTHER = {"type": "record", "name": "Lamp", "fields": [{"name": "no", "type": "int"}]}


def body(schema: dict, **extra: object) -> dict:
    return {"schema": json.dumps(schema), **extra}


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog()


@pytest.fixture
def client(log: MemoryLog) -> TestClient:
    return TestClient(create_app(Registry(log)))


def error(response, status: int, code: int, text: str = "") -> None:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error_code"] == code
    assert text in payload["message"]


def register(client: TestClient, subject: str, schema: dict) -> int:
    response = client.post(f"/subjects/{subject}/versions", json=body(schema))
    assert response.status_code == 200, response.text
    return response.json()["id"]


# --- registration and lookup ---


def test_register_answers_id_with_confluent_content_type(client: TestClient) -> None:
    response = client.post("/subjects/trees-value/versions", json=body(V1))
    assert response.status_code == 200
    assert response.json() == {"id": 1}
    assert response.headers["content-type"] == CT


def test_vendor_content_type_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/subjects/trees-value/versions",
        content=json.dumps(body(V1)),
        headers={"Content-Type": CT, "Accept": CT},
    )
    assert response.json() == {"id": 1}


def test_reregistering_returns_the_same_id_and_writes_nothing(
    client: TestClient, log: MemoryLog
) -> None:
    assert register(client, "trees-value", V1) == 1
    written = len(log.records)
    pretty = {"schema": json.dumps(V1, indent=4)}
    assert client.post("/subjects/trees-value/versions", json=pretty).json() == {"id": 1}
    assert len(log.records) == written


def test_ids_are_global_and_versions_per_subject(client: TestClient) -> None:
    assert register(client, "a-value", V1) == 1
    assert register(client, "a-value", V2) == 2
    assert register(client, "b-value", V2) == 2
    assert client.get("/subjects/b-value/versions/1").json() == {
        "subject": "b-value",
        "version": 1,
        "id": 2,
        "schema": json.dumps(V2, separators=(",", ":")),
    }
    assert client.get("/schemas/ids/2/versions").json() == [
        {"subject": "a-value", "version": 2},
        {"subject": "b-value", "version": 1},
    ]
    assert client.get("/schemas/ids/2/subjects").json() == ["a-value", "b-value"]
    assert client.get("/subjects").json() == ["a-value", "b-value"]
    assert client.get("/subjects?subjectPrefix=a").json() == ["a-value"]


def test_metadata_and_rule_set_are_accepted_and_ignored(client: TestClient) -> None:
    extra = {"metadata": {"properties": {"owner": "umweltamt"}}, "ruleSet": {"domainRules": []}}
    response = client.post("/subjects/t-value/versions", json=body(V1, **extra))
    assert response.json() == {"id": 1}


def test_schema_type_avro_is_accepted_others_are_not(client: TestClient) -> None:
    assert client.post("/subjects/t/versions", json=body(V1, schemaType="AVRO")).json() == {"id": 1}
    response = client.post("/subjects/t/versions", json={"schema": "{}", "schemaType": "PROTOBUF"})
    error(response, 422, 42201, "AVRO only")
    assert client.get("/schemas/types").json() == ["AVRO"]


@pytest.mark.parametrize(
    "payload, text",
    [
        ({"schema": "{not json"}, "not valid JSON"),
        ({"schema": json.dumps({"type": "record", "name": "R"})}, "Invalid schema"),
        ({"schema": json.dumps({"type": "nope"})}, "Invalid schema"),
        ({"schema": ""}, "empty schema"),
        ({}, "empty schema"),
        (
            {"schema": json.dumps(V1), "references": [{"name": "x", "subject": "y", "version": 1}]},
            "not registered",
        ),
    ],
)
def test_invalid_schema_is_42201_and_writes_nothing(
    client: TestClient, log: MemoryLog, payload: dict, text: str
) -> None:
    error(client.post("/subjects/t/versions", json=payload), 422, 42201, text)
    assert log.records == []


def test_body_that_is_not_json_is_400(client: TestClient) -> None:
    response = client.post("/subjects/t/versions", content=b"{", headers={"Content-Type": CT})
    error(response, 400, 400, "JSON")


def test_incompatible_schema_is_409_and_writes_nothing(client: TestClient, log: MemoryLog) -> None:
    register(client, "t-value", V1)
    written = len(log.records)
    response = client.post("/subjects/t-value/versions", json=body(BREAKING))
    error(response, 409, 409, 'incompatible with an earlier schema for subject "t-value"')
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in response.json()["message"]
    assert len(log.records) == written


def test_lookup(client: TestClient) -> None:
    register(client, "t-value", V1)
    found = client.post("/subjects/t-value", json=body(V1)).json()
    assert (found["subject"], found["version"], found["id"]) == ("t-value", 1, 1)
    error(client.post("/subjects/t-value", json=body(V2)), 404, 40403, "Schema not found")
    error(client.post("/subjects/nope", json=body(V1)), 404, 40401, "Subject 'nope' not found.")


def test_get_versions_and_schema(client: TestClient) -> None:
    register(client, "t-value", V1)
    register(client, "t-value", V2)
    assert client.get("/subjects/t-value/versions").json() == [1, 2]
    assert client.get("/subjects/t-value/versions/latest").json()["version"] == 2
    assert client.get("/subjects/t-value/versions/-1").json()["version"] == 2
    raw = client.get("/subjects/t-value/versions/1/schema")
    assert json.loads(raw.text) == V1
    assert json.loads(client.get("/schemas/ids/2/schema").text) == V2
    assert json.loads(client.get("/schemas/ids/1").json()["schema"]) == V1
    assert client.get("/subjects/t-value/versions/1/referencedby").json() == []


@pytest.mark.parametrize("version", ["0", "-2", "abc", "2147483648", "1.5"])
def test_invalid_version_is_42202(client: TestClient, version: str) -> None:
    register(client, "t-value", V1)
    error(client.get(f"/subjects/t-value/versions/{version}"), 422, 42202, f"'{version}'")


def test_not_found_codes(client: TestClient) -> None:
    register(client, "t-value", V1)
    error(client.get("/subjects/nope/versions"), 404, 40401, "Subject 'nope' not found.")
    error(client.get("/subjects/nope/versions/1"), 404, 40401)
    error(client.get("/subjects/t-value/versions/7"), 404, 40402, "Version 7 not found.")
    error(client.get("/schemas/ids/99"), 404, 40403, "Schema 99 not found")
    error(client.get("/schemas/ids/99/subjects"), 404, 40403)
    error(client.get("/no/such/route"), 404, 404)


# --- compatibility endpoint ---


def test_compatibility_check(client: TestClient) -> None:
    register(client, "t-value", V1)
    url = "/compatibility/subjects/t-value/versions/latest"
    assert client.post(url, json=body(V2)).json() == {"is_compatible": True}
    assert client.post(url, json=body(BREAKING)).json() == {"is_compatible": False}
    verbose = client.post(url + "?verbose=true", json=body(BREAKING)).json()
    assert verbose["is_compatible"] is False
    assert any("READER_FIELD_MISSING_DEFAULT_VALUE" in m for m in verbose["messages"])
    assert client.post(url + "?verbose=true", json=body(V2)).json() == {
        "is_compatible": True,
        "messages": [],
    }
    all_versions = client.post("/compatibility/subjects/t-value/versions", json=body(BREAKING))
    assert all_versions.json() == {"is_compatible": False}


def test_compatibility_errors(client: TestClient) -> None:
    assert client.post("/compatibility/subjects/new/versions/latest", json=body(V1)).json() == {
        "is_compatible": True
    }
    error(client.post("/compatibility/subjects/new/versions/1", json=body(V1)), 404, 40402)
    register(client, "t-value", V1)
    error(client.post("/compatibility/subjects/t-value/versions/5", json=body(V1)), 404, 40402)
    error(client.post("/compatibility/subjects/t-value/versions/0", json=body(V1)), 422, 42202)
    bad = {"schema": "{"}
    error(client.post("/compatibility/subjects/t-value/versions/1", json=bad), 422, 42201)


# --- config and mode ---


def test_global_config(client: TestClient) -> None:
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert client.put("/config", json={"compatibility": "full"}).json() == {"compatibility": "FULL"}
    assert client.get("/config").json() == {"compatibilityLevel": "FULL"}
    assert client.delete("/config").json() == {"compatibilityLevel": "FULL"}
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}


def test_subject_config(client: TestClient) -> None:
    error(client.get("/config/t-value"), 404, 40408, "does not have subject-level compatibility")
    assert client.get("/config/t-value?defaultToGlobal=true").json() == {
        "compatibilityLevel": "BACKWARD"
    }
    assert client.put("/config/t-value", json={"compatibility": "NONE"}).json() == {
        "compatibility": "NONE"
    }
    assert client.get("/config/t-value").json() == {"compatibilityLevel": "NONE"}
    register(client, "t-value", V1)
    register(client, "t-value", BREAKING)  # NONE lets it through
    assert client.delete("/config/t-value").json() == {"compatibilityLevel": "NONE"}
    error(client.get("/config/t-value"), 404, 40408)
    error(client.delete("/config/never-registered"), 404, 40401)


@pytest.mark.parametrize("payload", [{"compatibility": "SIDEWAYS"}, {}, {"compatibility": 3}])
def test_invalid_compatibility_level_is_42203(client: TestClient, payload: dict) -> None:
    error(client.put("/config", json=payload), 422, 42203, "Invalid compatibility level")
    error(client.put("/config/t", json=payload), 422, 42203)


def test_mode(client: TestClient) -> None:
    assert client.get("/mode").json() == {"mode": "READWRITE"}
    error(client.put("/mode", json={"mode": "SOMETIMES"}), 422, 42204, "Invalid mode")
    assert client.put("/mode", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
    error(client.post("/subjects/t/versions", json=body(V1)), 422, 42205, "read-only")
    assert client.put("/mode", json={"mode": "READWRITE"}).json() == {"mode": "READWRITE"}
    assert register(client, "t", V1) == 1
    assert client.put("/mode/t", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
    assert client.get("/mode/t").json() == {"mode": "READONLY"}
    error(client.delete("/subjects/t"), 422, 42205)


# --- deletion ---


def test_soft_then_permanent_subject_delete(client: TestClient) -> None:
    register(client, "t-value", V1)
    register(client, "t-value", V2)
    error(client.delete("/subjects/t-value?permanent=true"), 404, 40405, "was not deleted first")
    assert client.delete("/subjects/t-value").json() == [1, 2]
    error(client.delete("/subjects/t-value"), 404, 40404, "was soft deleted")
    error(client.get("/subjects/t-value/versions"), 404, 40401)
    assert client.get("/subjects/t-value/versions?deleted=true").json() == [1, 2]
    assert client.get("/subjects").json() == []
    assert client.get("/subjects?deleted=true").json() == ["t-value"]
    assert client.get("/subjects/t-value/versions/1?deleted=true").json()["id"] == 1
    assert client.post("/subjects/t-value?deleted=true", json=body(V1)).json()["version"] == 1
    assert client.get("/schemas/ids/1").status_code == 200  # soft-deleted: still by id
    assert client.get("/schemas/ids/1/subjects").json() == []
    assert client.get("/schemas/ids/1/subjects?deleted=true").json() == ["t-value"]
    assert client.delete("/subjects/t-value?permanent=true").json() == [1, 2]
    error(client.get("/subjects/t-value/versions?deleted=true"), 404, 40401)
    error(client.get("/schemas/ids/1"), 404, 40403)
    error(client.delete("/subjects/t-value"), 404, 40401)


def test_register_after_soft_delete_makes_a_new_version_with_the_old_id(
    client: TestClient,
) -> None:
    register(client, "t-value", V1)
    client.delete("/subjects/t-value")
    assert register(client, "t-value", V1) == 1
    assert client.get("/subjects/t-value/versions").json() == [2]


def test_version_delete(client: TestClient) -> None:
    register(client, "t-value", V1)
    register(client, "t-value", V2)
    error(client.delete("/subjects/t-value/versions/1?permanent=true"), 404, 40407)
    assert client.delete("/subjects/t-value/versions/1").json() == 1
    error(client.delete("/subjects/t-value/versions/1"), 404, 40406, "Version 1 was soft deleted")
    error(client.get("/subjects/t-value/versions/1"), 404, 40402)
    assert client.delete("/subjects/t-value/versions/1?permanent=true").json() == 1
    error(client.get("/subjects/t-value/versions/1?deleted=true"), 404, 40402)
    assert client.delete("/subjects/t-value/versions/latest").json() == 2
    error(client.delete("/subjects/t-value/versions/9"), 404, 40402)
    error(client.delete("/subjects/t-value/versions/x"), 422, 42202)
    error(client.delete("/subjects/nope/versions/1"), 404, 40401)


def test_compatibility_ignores_soft_deleted_versions(client: TestClient) -> None:
    register(client, "t-value", V1)
    client.delete("/subjects/t-value/versions/1")
    assert register(client, "t-value", OTHER) == 2  # nothing live to be compatible with


# --- metrics ---


def test_metrics_count_requests_and_schemas(client: TestClient) -> None:
    register(client, "t-value", V1)
    client.get("/subjects/nope/versions")
    text = client.get("/metrics").text
    assert (
        'registry_requests_total{endpoint="/subjects/{subject}/versions",method="POST",'
        'status="200"} 1.0' in text
    )
    assert 'endpoint="/subjects/{subject}/versions",method="GET",status="404"' in text
    assert "registry_schemas 1.0" in text and "registry_subjects 1.0" in text


# --- the log the service writes folds to the same state, compacted or not ---


def compact(records: list[tuple[bytes, bytes | None]]) -> list[tuple[bytes, bytes | None]]:
    """What Kafka's compaction leaves: the last record of each key, at its own position."""
    last = {key: index for index, (key, _) in enumerate(records)}
    return [r for index, r in enumerate(records) if last[r[0]] == index and r[1] is not None]


def test_the_written_log_refolds_to_the_same_state_also_when_compacted(
    client: TestClient, log: MemoryLog
) -> None:
    register(client, "a", V1)
    register(client, "a", V2)
    register(client, "b", V2)
    register(client, "c", OTHER)
    client.put("/config/a", json={"compatibility": "FULL"})
    client.delete("/subjects/a/versions/1")
    client.delete("/subjects/c")
    client.delete("/subjects/c?permanent=true")
    register(client, "c", V1)
    assert fold(log.records) == log.state
    refolded = fold(compact(log.records))
    assert refolded.subjects == log.state.subjects
    assert refolded.schemas == log.state.schemas
    assert refolded.compatibility == log.state.compatibility


def test_lost_race_is_retried_with_a_fresh_id() -> None:
    """Another instance takes id 1 between this one's read and its write."""
    from hub.registry import records

    class RacingLog(MemoryLog):
        raced = False

        async def append(self, batch):  # type: ignore[no-untyped-def]
            if not self.raced:
                self.raced = True
                other = records.schema_value("x", 1, 1, json.dumps(OTHER))
                await super().append([(records.schema_key("x", 1, "other"), other)])
            await super().append(batch)

    racing = RacingLog()
    registry = Registry(racing)
    assert asyncio.run(registry.register("t", body(V1))) == 2
    assert racing.state.rejected == {}  # the losing proposal was tombstoned
    assert [(v.subject, v.id) for v in racing.state.holders(1)] == [("x", 1)]


# --- IMPORT mode ---


def test_import_mode_keeps_given_ids_and_versions(client: TestClient) -> None:
    imported = body(V1, id=42, version=3)
    error(client.post("/subjects/t-value/versions", json=imported), 422, 42205, "not in import")
    assert client.put("/mode", json={"mode": "IMPORT"}).json() == {"mode": "IMPORT"}
    assert client.post("/subjects/t-value/versions", json=imported).json() == {"id": 42}
    assert client.post("/subjects/t-value/versions", json=imported).json() == {"id": 42}
    assert client.get("/subjects/t-value/versions/3").json()["id"] == 42
    clash = client.post("/subjects/u-value/versions", json=body(OTHER, id=42))
    error(clash, 422, 42205, "id 42 is not permitted")
    overwrite = client.post("/subjects/t-value/versions", json=body(OTHER, id=43, version=3))
    error(overwrite, 422, 42205, "version 3 of t-value")
    client.put("/mode", json={"mode": "READWRITE"})
    assert register(client, "u-value", OTHER) == 43  # new ids continue after the imported ones


def test_placeholder_id_and_version_are_not_an_import(client: TestClient) -> None:
    assert client.post("/subjects/t/versions", json=body(V1, id=-1, version=0)).json() == {"id": 1}
