"""Conformance of the hub's registry with Confluent Schema Registry's REST API, for Avro.

Black-box, against the live registry of the test session (Kafka-backed, authenticated), the way
Confluent-compatible registries check each other: every endpoint with Confluent's documented
status codes, error codes and content types, once through raw httpx and once through
confluent-kafka's ``SchemaRegistryClient`` (and its Avro serializer, with a schema reference).

Every test works under subjects of its own (``conf-<uid>...``), so nothing here sees or changes
another test's subjects; the global configuration is left alone (see test_registry_api.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from confluent_kafka.schema_registry import (
    Schema,
    SchemaReference,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import registry_config

from hub.kafka import KafkaSecurity

V1 = "application/vnd.schemaregistry.v1+json"
REGISTRY_JSON = "application/vnd.schemaregistry+json"

ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "de.hamm.conformance",
    "fields": [
        {"name": "street", "type": "string"},
        {"name": "postcode", "type": "string"},
    ],
}
ADDRESS_V2 = {
    **ADDRESS,
    "fields": [*ADDRESS["fields"], {"name": "city", "type": "string", "default": "Hamm"}],
}


def moved(extra_fields: list | None = None) -> dict:
    return {
        "type": "record",
        "name": "Moved",
        "namespace": "de.hamm.conformance.events",
        "fields": [
            {"name": "resident_id", "type": "string"},
            {"name": "old_address", "type": "de.hamm.conformance.Address"},
            {"name": "new_address", "type": "de.hamm.conformance.Address"},
            *(extra_fields or []),
        ],
    }


TREE = {"type": "record", "name": "Tree", "fields": [{"name": "id", "type": "string"}]}
TREE_V2 = {
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


@dataclass
class Api:
    """Raw HTTP to the registry; ``s(name)`` is a subject of this test."""

    http: httpx.Client
    uid: str

    def s(self, name: str) -> str:
        return f"conf-{self.uid}-{name}"

    def path(self, *parts: str | int) -> str:
        return "/" + "/".join(quote(str(p), safe="") for p in parts)

    def register(self, subject: str, schema: object, references: list | None = None) -> int:
        response = self.post(self.path("subjects", subject, "versions"), schema, references)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def post(
        self, path: str, schema: object, references: list | None = None, **kw
    ) -> httpx.Response:
        body: dict = {"schema": schema if isinstance(schema, str) else json.dumps(schema)}
        if references is not None:
            body["references"] = references
        return self.http.post(path, json=body, **kw)


@pytest.fixture
def api(registry_url: str, kafka_security: KafkaSecurity) -> Iterator[Api]:
    credentials = kafka_security.credentials
    auth = (credentials.username, credentials.password) if credentials else None
    with httpx.Client(base_url=registry_url, auth=auth, timeout=30) as http:
        yield Api(http, uuid.uuid4().hex[:8])


@pytest.fixture
def confluent(registry_url: str) -> SchemaRegistryClient:
    return SchemaRegistryClient(registry_config(registry_url))


def expect_error(response: httpx.Response, status: int, code: int, text: str = "") -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error_code", "message"}, body
    assert body["error_code"] == code, body
    assert text in body["message"], body
    return body


def essence(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


# --- content negotiation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "answered"),
    [
        (None, V1),
        ("*/*", V1),
        (V1, V1),
        (REGISTRY_JSON, REGISTRY_JSON),
        ("application/json", "application/json"),
        ("application/*", V1),
        ("text/html, application/json;q=0.1", "application/json"),
        ("application/json, application/vnd.schemaregistry.v1+json;q=0.2", "application/json"),
    ],
)
def test_the_response_type_follows_accept(api: Api, accept: str | None, answered: str) -> None:
    headers = {} if accept is None else {"Accept": accept}
    response = api.http.get("/subjects", headers=headers)
    assert response.status_code == 200
    assert essence(response) == answered


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/plain;q=1, */*;q=0"])
def test_an_unacceptable_accept_is_406(api: Api, accept: str) -> None:
    expect_error(api.http.get("/subjects", headers={"Accept": accept}), 406, 406)


@pytest.mark.parametrize(
    "content_type",
    [
        V1,
        REGISTRY_JSON,
        "application/json",
        "application/json; charset=utf-8",
        "application/octet-stream",
    ],
)
def test_bodies_of_confluent_types_are_read(api: Api, content_type: str) -> None:
    subject = api.s(f"ct-{uuid.uuid4().hex[:4]}-value")
    response = api.http.post(
        api.path("subjects", subject, "versions"),
        content=json.dumps({"schema": json.dumps(TREE)}),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("content_type", ["text/html", "application/xml", "text/plain"])
def test_a_body_of_another_type_is_415(api: Api, content_type: str) -> None:
    response = api.http.post(
        api.path("subjects", api.s("ct-value"), "versions"),
        content=json.dumps({"schema": json.dumps(TREE)}),
        headers={"Content-Type": content_type},
    )
    expect_error(response, 415, 415)


def test_errors_are_negotiated_too(api: Api) -> None:
    response = api.http.get(
        api.path("subjects", api.s("never"), "versions"), headers={"Accept": "application/json"}
    )
    expect_error(response, 404, 40401)
    assert essence(response) == "application/json"


# --- subject names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["a/b-value", "x%2Fy-value", "Straße mit Leerzeichen", "a?b#c-value", "..", "a+b"]
)
def test_any_subject_name_but_control_characters(api: Api, name: str) -> None:
    subject = api.s(name)
    schema_id = api.register(subject, TREE)
    assert subject in api.http.get("/subjects").json()
    assert api.http.get(api.path("subjects", subject, "versions")).json() == [1]
    got = api.http.get(api.path("subjects", subject, "versions", 1)).json()
    assert (got["subject"], got["id"]) == (subject, schema_id)
    lookup = api.post(api.path("subjects", subject), TREE)
    assert lookup.json()["subject"] == subject
    assert api.http.get(api.path("config", subject), params={"defaultToGlobal": "true"}).is_success
    assert api.http.delete(api.path("subjects", subject)).json() == [1]


@pytest.mark.parametrize("bad", ["a\nb", "tab\there", "nul\x00", "bell\x07"])
def test_a_subject_with_control_characters_is_42208(api: Api, bad: str) -> None:
    expect_error(api.post(api.path("subjects", api.s(bad), "versions"), TREE), 422, 42208)


# --- GET /schemas -------------------------------------------------------------------------


def test_list_schemas_with_prefix_latest_only_deleted_offset_limit(api: Api) -> None:
    prefix = api.s("list")
    api.register(f"{prefix}-a", TREE)
    api.register(f"{prefix}-a", TREE_V2)
    api.register(f"{prefix}-b", TREE)
    everything = api.http.get("/schemas", params={"subjectPrefix": prefix}).json()
    assert [(s["subject"], s["version"]) for s in everything] == [
        (f"{prefix}-a", 1),
        (f"{prefix}-a", 2),
        (f"{prefix}-b", 1),
    ]
    assert set(everything[0]) >= {"subject", "version", "id", "schema"}
    latest = api.http.get("/schemas", params={"subjectPrefix": prefix, "latestOnly": "true"})
    assert [(s["subject"], s["version"]) for s in latest.json()] == [
        (f"{prefix}-a", 2),
        (f"{prefix}-b", 1),
    ]
    page = api.http.get("/schemas", params={"subjectPrefix": prefix, "offset": 1, "limit": 1})
    assert [(s["subject"], s["version"]) for s in page.json()] == [(f"{prefix}-a", 2)]
    api.http.delete(api.path("subjects", f"{prefix}-b"))
    live = api.http.get("/schemas", params={"subjectPrefix": prefix}).json()
    assert {s["subject"] for s in live} == {f"{prefix}-a"}
    with_deleted = api.http.get("/schemas", params={"subjectPrefix": prefix, "deleted": "true"})
    assert {s["subject"] for s in with_deleted.json()} == {f"{prefix}-a", f"{prefix}-b"}


# --- references ---------------------------------------------------------------------------


def test_references_register_serve_lookup_and_check(api: Api) -> None:
    base, user = api.s("de.hamm.conformance.Address"), api.s("moved-value")
    base_id = api.register(base, ADDRESS)
    refs = [{"name": "de.hamm.conformance.Address", "subject": base, "version": 1}]
    schema_id = api.register(user, moved(), refs)
    assert schema_id != base_id

    by_id = api.http.get(f"/schemas/ids/{schema_id}").json()
    assert by_id["references"] == refs
    assert json.loads(by_id["schema"]) == moved()  # stored as written: the type is named
    version = api.http.get(api.path("subjects", user, "versions", "latest")).json()
    assert version["references"] == refs
    assert api.http.get(f"/schemas/ids/{schema_id}/versions").json() == [
        {"subject": user, "version": 1}
    ]
    assert api.http.get(api.path("subjects", base, "versions", 1, "referencedby")).json() == [
        schema_id
    ]

    found = api.post(api.path("subjects", user), moved(), refs)
    assert found.status_code == 200 and found.json()["id"] == schema_id
    # Without its references the schema names a type nobody defines: invalid, not unknown.
    expect_error(api.post(api.path("subjects", user), moved()), 422, 42201)
    # Registering again is idempotent; -1 means the latest version of the referenced subject.
    latest_ref = [{**refs[0], "version": -1}]
    assert api.register(user, moved(), latest_ref) == schema_id

    optional = moved([{"name": "note", "type": ["null", "string"], "default": None}])
    check = api.post(
        api.path("compatibility", "subjects", user, "versions", "latest"), optional, refs
    )
    assert check.json() == {"is_compatible": True}
    breaking = moved([{"name": "note", "type": "string"}])
    check = api.post(
        api.path("compatibility", "subjects", user, "versions"),
        breaking,
        refs,
        params={"verbose": "true"},
    )
    assert check.json()["is_compatible"] is False and check.json()["messages"]


def test_a_reference_to_nothing_is_42201(api: Api) -> None:
    refs = [{"name": "de.hamm.conformance.Address", "subject": api.s("missing"), "version": 1}]
    expect_error(
        api.post(api.path("subjects", api.s("m-value"), "versions"), moved(), refs),
        422,
        42201,
        "not registered",
    )
    malformed = [{"name": "de.hamm.conformance.Address", "subject": api.s("x")}]
    expect_error(
        api.post(api.path("subjects", api.s("m-value"), "versions"), moved(), malformed),
        422,
        42201,
        "version",
    )


def test_a_referenced_version_cannot_be_deleted_while_used(api: Api) -> None:
    base, user = api.s("Address"), api.s("uses-value")
    api.register(base, ADDRESS)
    refs = [{"name": "de.hamm.conformance.Address", "subject": base, "version": 1}]
    api.register(user, moved(), refs)

    expect_error(
        api.http.delete(api.path("subjects", base, "versions", 1)),
        422,
        42206,
        f"subject={base},version=1",
    )
    expect_error(api.http.delete(api.path("subjects", base)), 422, 42206)

    assert api.http.delete(api.path("subjects", user)).json() == [1]  # soft
    assert api.http.delete(api.path("subjects", base, "versions", 1)).json() == 1  # soft now ok
    # The soft-deleted user can still be read by id, so its reference must stay readable.
    expect_error(
        api.http.delete(api.path("subjects", base, "versions", 1), params={"permanent": "true"}),
        422,
        42206,
    )
    assert api.http.delete(api.path("subjects", user), params={"permanent": "true"}).json() == [1]
    permanent = api.http.delete(
        api.path("subjects", base, "versions", 1), params={"permanent": "true"}
    )
    assert permanent.json() == 1


def test_referencedby_of_unknown_subject_and_version(api: Api) -> None:
    expect_error(
        api.http.get(api.path("subjects", api.s("none"), "versions", 1, "referencedby")), 404, 40401
    )
    api.register(api.s("one"), TREE)
    expect_error(
        api.http.get(api.path("subjects", api.s("one"), "versions", 7, "referencedby")), 404, 40402
    )
    assert (
        api.http.get(api.path("subjects", api.s("one"), "versions", 1, "referencedby")).json() == []
    )


# --- errors as Confluent words them -------------------------------------------------------


def test_lookup_errors(api: Api) -> None:
    subject = api.s("look-value")
    invalid = {"type": "record", "name": "R"}  # JSON, but no fields: not Avro
    expect_error(api.post(api.path("subjects", subject), invalid), 422, 42201)  # unknown subject
    expect_error(api.post(api.path("subjects", subject), TREE), 404, 40401)
    api.register(subject, TREE)
    expect_error(api.post(api.path("subjects", subject), invalid), 422, 42201)
    expect_error(api.post(api.path("subjects", subject), TREE_V2), 404, 40403)
    expect_error(api.post(api.path("subjects", subject), "{not json"), 422, 42201)


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-", "1e3"])
def test_a_schema_id_that_is_no_integer_is_404(api: Api, bad_id: str) -> None:
    response = api.http.get(f"/schemas/ids/{bad_id}")
    body = expect_error(response, 404, 404)
    assert "detail" not in body  # Confluent's body, not FastAPI's
    assert essence(response) == V1


def test_schema_by_id_errors_and_options(api: Api) -> None:
    expect_error(api.http.get("/schemas/ids/2147483000"), 404, 40403)
    schema_id = api.register(api.s("ids-value"), TREE)
    with_max = api.http.get(f"/schemas/ids/{schema_id}", params={"fetchMaxId": "true"}).json()
    assert with_max["maxId"] >= schema_id
    assert api.http.get(f"/schemas/ids/{schema_id}/schema").json() == TREE
    subjects = api.http.get(f"/schemas/ids/{schema_id}/subjects").json()
    assert api.s("ids-value") in subjects


def test_version_and_compatibility_errors(api: Api) -> None:
    subject = api.s("v-value")
    expect_error(api.http.get(api.path("subjects", subject, "versions", 1)), 404, 40401)
    expect_error(api.http.get(api.path("subjects", subject, "versions")), 404, 40401)
    # A version of an unknown subject: 40402 (Confluent); "latest" of it: compatible.
    expect_error(
        api.post(api.path("compatibility", "subjects", subject, "versions", 1), TREE), 404, 40402
    )
    latest = api.post(api.path("compatibility", "subjects", subject, "versions", "latest"), TREE)
    assert latest.json() == {"is_compatible": True}
    api.register(subject, TREE)
    expect_error(api.http.get(api.path("subjects", subject, "versions", 9)), 404, 40402)
    for bad in ("0", "abc", "2147483648"):
        expect_error(api.http.get(api.path("subjects", subject, "versions", bad)), 422, 42202)
    conflict = api.post(api.path("subjects", subject, "versions"), BREAKING)
    expect_error(conflict, 409, 409, "incompatible")


def test_unknown_routes_and_methods(api: Api) -> None:
    expect_error(api.http.get("/no-such-resource"), 404, 404)
    expect_error(api.http.put("/subjects"), 405, 405)


# --- config and mode ----------------------------------------------------------------------


def test_subject_mode_is_40409_unless_default_to_global(api: Api) -> None:
    subject = api.s("mode-value")
    api.register(subject, TREE)
    expect_error(api.http.get(api.path("mode", subject)), 404, 40409)
    fallback = api.http.get(api.path("mode", subject), params={"defaultToGlobal": "true"})
    assert fallback.json() == {"mode": "READWRITE"}
    assert api.http.put(api.path("mode", subject), json={"mode": "READONLY"}).json() == {
        "mode": "READONLY"
    }
    assert api.http.get(api.path("mode", subject)).json() == {"mode": "READONLY"}
    expect_error(api.post(api.path("subjects", subject, "versions"), TREE_V2), 422, 42205)
    assert api.http.delete(api.path("mode", subject)).json() == {"mode": "READONLY"}
    expect_error(api.http.get(api.path("mode", subject)), 404, 40409)
    expect_error(api.http.put(api.path("mode", subject), json={"mode": "SOMETIMES"}), 422, 42204)


def test_subject_config(api: Api) -> None:
    subject = api.s("cfg-value")
    api.register(subject, TREE)
    expect_error(api.http.get(api.path("config", subject)), 404, 40408)
    assert api.http.put(api.path("config", subject), json={"compatibility": "FULL"}).json() == {
        "compatibility": "FULL"
    }
    assert api.http.get(api.path("config", subject)).json() == {"compatibilityLevel": "FULL"}
    expect_error(api.http.put(api.path("config", subject), json={"compatibility": "X"}), 422, 42203)


def test_a_primitive_with_a_name_is_the_primitive(api: Api) -> None:
    subject = api.s("prim-value")
    schema_id = api.register(subject, {"type": "int", "name": "X"})
    found = api.post(api.path("subjects", subject), '"int"')
    assert found.status_code == 200 and found.json()["id"] == schema_id
    assert api.register(subject, '"int"') == schema_id


# --- confluent-kafka's client and serializer ----------------------------------------------


def test_confluent_client_over_every_endpoint_it_has(confluent: SchemaRegistryClient) -> None:
    uid = uuid.uuid4().hex[:8]
    base, user = f"conf-{uid}/Address", f"conf-{uid}-moved-value"  # a slash, as clients encode it
    base_id = confluent.register_schema(base, Schema(json.dumps(ADDRESS), "AVRO"))
    ref = SchemaReference("de.hamm.conformance.Address", base, 1)
    user_schema = Schema(json.dumps(moved()), "AVRO", references=[ref])
    user_id = confluent.register_schema(user, user_schema)
    assert base in confluent.get_subjects() and user in confluent.get_subjects()

    fetched = confluent.get_schema(user_id)
    assert [(r.name, r.subject, r.version) for r in fetched.references] == [
        ("de.hamm.conformance.Address", base, 1)
    ]
    assert confluent.lookup_schema(user, user_schema).schema_id == user_id
    assert confluent.get_latest_version(user).version == 1
    assert confluent.get_version(base, 1).schema_id == base_id
    assert confluent.get_versions(user) == [1]
    assert confluent.get_referenced_by(base, 1) == [user_id]
    assert confluent.get_subjects_by_schema_id(user_id) == [user]
    assert confluent.test_compatibility(base, Schema(json.dumps(ADDRESS_V2), "AVRO")) is True
    assert confluent.set_compatibility(user, "FULL") == {"compatibility": "FULL"}
    assert confluent.get_compatibility(user) == "FULL"
    assert confluent.update_mode(user, "READONLY") == "READONLY"
    assert confluent.get_mode(user) == "READONLY"
    confluent.delete_mode(user)

    with pytest.raises(SchemaRegistryError) as refused:
        confluent.delete_version(base, 1)
    assert (refused.value.http_status_code, refused.value.error_code) == (422, 42206)
    with pytest.raises(SchemaRegistryError) as missing:
        confluent.get_version(user, 5)
    assert missing.value.error_code == 40402
    assert confluent.delete_subject(user) == [1]
    assert confluent.delete_subject(user, permanent=True) == [1]
    assert confluent.delete_version(base, 1) == 1


def test_confluent_serializer_registers_and_reads_a_schema_with_a_reference(
    confluent: SchemaRegistryClient, registry_url: str
) -> None:
    uid = uuid.uuid4().hex[:8]
    base, topic = f"conf-{uid}.Address", f"conf-{uid}.resident.moved"
    confluent.register_schema(base, Schema(json.dumps(ADDRESS), "AVRO"))
    ref = SchemaReference("de.hamm.conformance.Address", base, 1)
    serializer = AvroSerializer(
        confluent,
        Schema(json.dumps(moved()), "AVRO", references=[ref]),
        conf={"auto.register.schemas": True},
    )
    record = {
        "resident_id": "R-1",
        "old_address": {"street": "Weststraße 1", "postcode": "59065"},
        "new_address": {"street": "Oststraße 2", "postcode": "59063"},
    }
    context = SerializationContext(topic, MessageField.VALUE)
    payload = serializer(record, context)
    assert payload[0] == 0  # Confluent's wire format: magic byte, then the schema id
    schema_id = int.from_bytes(payload[1:5], "big")
    registered = confluent.get_latest_version(f"{topic}-value")
    assert registered.schema_id == schema_id
    assert [r.subject for r in registered.schema.references] == [base]

    fresh = SchemaRegistryClient(registry_config(registry_url))  # a reader with empty caches
    assert AvroDeserializer(fresh)(payload, context) == record
