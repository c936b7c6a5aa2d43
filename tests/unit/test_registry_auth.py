"""Registry access: who may do what (pure rules), HTTP Basic authentication, the raw-schema
contract, and all of it through the REST API (StaticAuthenticator, in-memory log)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from hub.access.principals import Principals, load_principals, parse_principals
from hub.credentials import Credentials
from hub.registry import records
from hub.registry.access import Action, action_of, authorize, subject_topic, writer_of
from hub.registry.api import create_app
from hub.registry.auth import (
    CachedAuthenticator,
    IdentityProviderUnavailable,
    StaticAuthenticator,
    authenticator_for,
    parse_basic,
)
from hub.registry.contract import RawContract, contract_problems
from hub.registry.errors import ContractViolation
from hub.registry.memory_log import MemoryLog
from hub.registry.publish import PublishError, publish_catalog
from hub.registry.service import Registry
from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import AsyncRegistryClient, RegistryClient, RegistryError

REPO = Path(__file__).resolve().parents[2]
PRINCIPALS = load_principals(REPO / "catalog" / "departments.yaml")

# --- the rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "route", "action"),
    [
        ("GET", "/metrics", Action.OPEN),
        ("GET", "/healthz", Action.OPEN),
        ("POST", "/metrics", Action.CONFIG),  # only reading /metrics is open
        ("GET", "/", Action.READ),
        ("GET", "/subjects", Action.READ),
        ("GET", "/subjects/{subject}/versions", Action.READ),
        ("GET", "/subjects/{subject}/versions/{version}", Action.READ),
        ("GET", "/subjects/{subject}/versions/{version}/schema", Action.READ),
        ("GET", "/schemas/ids/{schema_id}", Action.READ),
        ("GET", "/config", Action.READ),
        ("GET", "/config/{subject}", Action.READ),
        ("GET", "/mode", Action.READ),
        ("head", "/subjects", Action.READ),
        ("POST", "/subjects/{subject}", Action.READ),  # lookup
        ("POST", "/compatibility/subjects/{subject}/versions", Action.READ),
        ("POST", "/compatibility/subjects/{subject}/versions/{version}", Action.READ),
        ("POST", "/subjects/{subject}/versions", Action.REGISTER),
        ("post", "/subjects/{subject}/versions", Action.REGISTER),
        ("DELETE", "/subjects/{subject}", Action.DELETE),
        ("DELETE", "/subjects/{subject}/versions/{version}", Action.DELETE),
        ("PUT", "/config", Action.CONFIG),
        ("DELETE", "/config", Action.CONFIG),
        ("PUT", "/config/{subject}", Action.CONFIG),
        ("DELETE", "/config/{subject}", Action.CONFIG),
        ("PUT", "/mode", Action.CONFIG),
        ("PUT", "/mode/{subject}", Action.CONFIG),
        ("DELETE", "/mode/{subject}", Action.CONFIG),
        ("PATCH", "/subjects/{subject}", Action.CONFIG),  # unknown changes: the admin's
        ("POST", "/exporters", Action.CONFIG),
    ],
)
def test_action_of_route(method: str, route: str, action: Action) -> None:
    assert action_of(method, route) is action


@pytest.mark.parametrize(
    ("subject", "topic"),
    [
        ("buergeramt.resident.moved-value", "buergeramt.resident.moved"),
        ("buergeramt.resident.moved-key", "buergeramt.resident.moved"),
        (
            "deliver.statistikstelle.buergeramt.resident.moved-value",
            "deliver.statistikstelle.buergeramt.resident.moved",
        ),
        ("de.hamm.buergeramt.ResidentMoved", None),  # RecordNameStrategy
        ("-value", None),
        ("value", None),
        ("a-value-key", "a-value"),
    ],
)
def test_subject_topic(subject: str, topic: str | None) -> None:
    assert subject_topic(subject) == topic


ALLOWED, DENIED = True, False
MOVED = "buergeramt.resident.moved-value"
NOISE = "ordnungsamt.noise-complaint.filed-value"
DELIVERY = "deliver.statistikstelle.buergeramt.resident.moved-value"


@pytest.mark.parametrize(
    ("principal", "action", "subject", "allowed"),
    [
        # reads: everyone authenticated, registered or not
        ("buergeramt", Action.READ, NOISE, ALLOWED),
        ("statistikstelle", Action.READ, MOVED, ALLOWED),
        ("somebody-else", Action.READ, None, ALLOWED),
        ("hub-audit", Action.READ, DELIVERY, ALLOWED),
        # a department: its own raw subjects, value and key, register and delete
        ("buergeramt", Action.REGISTER, MOVED, ALLOWED),
        ("buergeramt", Action.REGISTER, "buergeramt.resident.moved-key", ALLOWED),
        ("buergeramt", Action.DELETE, MOVED, ALLOWED),
        ("buergeramt", Action.REGISTER, "buergeramt.anything.new-value", ALLOWED),
        # ... and nothing else
        ("buergeramt", Action.REGISTER, NOISE, DENIED),
        ("buergeramt", Action.DELETE, NOISE, DENIED),
        ("ordnungsamt", Action.REGISTER, MOVED, DENIED),
        ("buergeramt", Action.REGISTER, "buergeramt-value", DENIED),  # no '.' after the prefix
        ("buergeramt", Action.REGISTER, "buergeramtx.resident.moved-value", DENIED),
        ("buergeramt", Action.REGISTER, "buergeramt.resident.moved", DENIED),  # names no topic
        ("buergeramt", Action.REGISTER, DELIVERY, DENIED),
        ("buergeramt", Action.REGISTER, "hub.audit-value", DENIED),
        ("buergeramt", Action.REGISTER, "hub.features.noise_hourly-value", DENIED),
        ("buergeramt", Action.CONFIG, MOVED, DENIED),  # not even its own subject's level
        ("buergeramt", Action.CONFIG, None, DENIED),
        # subscribers write nothing
        ("statistikstelle", Action.REGISTER, DELIVERY, DENIED),
        ("statistikstelle", Action.REGISTER, MOVED, DENIED),
        ("statistikstelle", Action.DELETE, DELIVERY, DENIED),
        # the router: deliveries, dead letters, audit; no raw subjects, no config
        ("hub-router", Action.REGISTER, DELIVERY, ALLOWED),
        ("hub-router", Action.DELETE, DELIVERY, ALLOWED),
        ("hub-router", Action.REGISTER, "deliver.ki-featurestore.x.y.z-key", ALLOWED),
        ("hub-router", Action.REGISTER, "hub.audit-value", ALLOWED),
        ("hub-router", Action.REGISTER, "hub.dlq-value", ALLOWED),
        ("hub-router", Action.REGISTER, MOVED, DENIED),
        ("hub-router", Action.REGISTER, "hub.features.noise_hourly-value", DENIED),
        ("hub-router", Action.CONFIG, DELIVERY, DENIED),
        # the feature store: its own outputs only
        ("hub-features", Action.REGISTER, "hub.features.noise_hourly-value", ALLOWED),
        ("hub-features", Action.REGISTER, DELIVERY, DENIED),
        ("hub-features", Action.REGISTER, "hub.audit-value", DENIED),
        # other services write nothing
        ("hub-registry", Action.REGISTER, MOVED, DENIED),
        ("hub-gateway", Action.REGISTER, MOVED, DENIED),
        ("hub-audit", Action.REGISTER, "hub.audit-value", DENIED),
        # unowned topics and odd names: only the admin
        ("buergeramt", Action.REGISTER, "test.thing.happened-value", DENIED),
        ("hub-admin", Action.REGISTER, "test.thing.happened-value", ALLOWED),
        ("hub-admin", Action.REGISTER, "de.hamm.buergeramt.ResidentMoved", ALLOWED),
        # the admin: everything
        ("hub-admin", Action.REGISTER, MOVED, ALLOWED),
        ("hub-admin", Action.DELETE, DELIVERY, ALLOWED),
        ("hub-admin", Action.CONFIG, MOVED, ALLOWED),
        ("hub-admin", Action.CONFIG, None, ALLOWED),
    ],
)
def test_authorize(principal: str, action: Action, subject: str | None, allowed: bool) -> None:
    decision = authorize(principal, action, subject, PRINCIPALS)
    assert decision.allowed is allowed, decision.reason
    if not allowed:
        assert f"principal {principal}" in decision.reason
        if subject is not None:
            assert f"subject {subject}" in decision.reason


def test_denials_say_why() -> None:
    other = authorize("buergeramt", Action.REGISTER, NOISE, PRINCIPALS).reason
    assert other == (
        f"principal buergeramt may not register under subject {NOISE}: the topic "
        "ordnungsamt.noise-complaint.filed belongs to the department ordnungsamt"
    )
    assert "hub-router only" in authorize("buergeramt", Action.DELETE, DELIVERY, PRINCIPALS).reason
    config = authorize("buergeramt", Action.CONFIG, None, PRINCIPALS).reason
    assert config.startswith("principal buergeramt may not change the compatibility or mode of")
    assert "only hub-admin" in config


def test_a_department_owns_its_prefix_not_its_name() -> None:
    register = parse_principals(
        {"departments": {"stadtwerke": {"topic_prefix": "sw"}}, "subscribers": {}}
    )
    assert authorize("stadtwerke", Action.REGISTER, "sw.meter.read-value", register).allowed
    assert not authorize("stadtwerke", Action.REGISTER, "stadtwerke.x.y-value", register).allowed
    assert writer_of("sw.meter.read-value", register).principal == "stadtwerke"


def test_an_empty_register_leaves_raw_subjects_to_the_admin() -> None:
    empty = Principals({}, {})
    assert writer_of(MOVED, empty).principal is None
    assert not authorize("buergeramt", Action.REGISTER, MOVED, empty).allowed
    assert authorize("hub-router", Action.REGISTER, DELIVERY, empty).allowed


# --- the contract ------------------------------------------------------------------------

ADDRESS = {
    "type": "record",
    "name": "Address",
    "doc": "An address.",
    "fields": [
        {"name": "street", "type": "string", "doc": "Street.", "x-pii": "direct"},
        {"name": "city", "type": "string", "doc": "City."},
    ],
}
MOVED_BAD = {
    "type": "record",
    "name": "ResidentMoved",
    "namespace": "de.hamm.buergeramt",
    "doc": "Moved.",
    "fields": [
        {"name": "resident_id", "type": "string", "doc": "Id.", "x-pii": "direct"},
        {"name": "new_address", "type": ADDRESS, "doc": "New.", "x-pii": "direct"},
        {"name": "old_address", "type": ["null", "Address"], "default": None, "x-pii": "direct"},
        {
            "name": "children",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Child",
                    "fields": [{"name": "age", "type": "int", "doc": "Age.", "x-pii": "secret"}],
                },
            },
            "doc": "Children.",
            "x-pii": "quasi",
        },
    ],
}


def test_contract_names_every_field_path_at_any_depth() -> None:
    assert contract_problems(MOVED_BAD) == [
        "new_address.city: no x-pii",
        "old_address: no doc",
        "old_address.city: no x-pii",
        "children[].age: x-pii is 'secret', expected one of direct, quasi, sensitive, none",
    ]


def test_contract_holds_for_every_schema_of_the_catalog() -> None:
    for subject in load_catalog(default_schemas_dir()).values():
        for schema_file in subject.versions:
            assert contract_problems(schema_file.schema) == [], schema_file.path


def test_contract_applies_to_raw_subjects_only() -> None:
    contract = RawContract(PRINCIPALS)
    contract("test.thing.happened-value", MOVED_BAD)  # no department owns it
    contract(DELIVERY, MOVED_BAD)  # derived by the router from a checked contract
    contract("buergeramt.resident.moved-key", "string")  # a key: no fields
    with pytest.raises(ContractViolation) as caught:
        contract(MOVED, MOVED_BAD)
    assert (caught.value.status, caught.value.error_code) == (422, 42201)
    assert "new_address.city: no x-pii" in str(caught.value)
    assert "buergeramt" in str(caught.value)


# --- credentials -------------------------------------------------------------------------


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic("buergeramt", "pw")["Authorization"], ("buergeramt", "pw")),
        (basic("a", "pass:with:colons")["Authorization"], ("a", "pass:with:colons")),
        (basic("a", "")["Authorization"], ("a", "")),
        ("basic " + base64.b64encode(b"a:b").decode(), ("a", "b")),
        (None, None),
        ("", None),
        ("Bearer abc", None),
        ("Basic", None),
        ("Basic !!!notbase64", None),
        ("Basic " + base64.b64encode(b"no-colon").decode(), None),
        ("Basic " + base64.b64encode(b":password-only").decode(), None),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), None),
    ],
)
def test_parse_basic(header: str | None, expected: tuple[str, str] | None) -> None:
    found = parse_basic(header)
    assert (None if found is None else (found.username, found.password)) == expected


async def test_static_authenticator() -> None:
    auth = StaticAuthenticator({"buergeramt": "right"})
    assert await auth.verify("buergeramt", "right")
    assert not await auth.verify("buergeramt", "wrong")
    assert not await auth.verify("nobody", "right")


class FakeKafka:
    """A check that counts its calls, takes a moment, and can be made to fail."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.calls = 0
        self.down = False

    async def __call__(self, username: str, password: str) -> bool:
        self.calls += 1
        await asyncio.sleep(0.01)
        if self.down:
            raise IdentityProviderUnavailable("no broker answered")
        return self.users.get(username) == password


async def test_cached_authenticator_remembers_success_for_its_ttl() -> None:
    now = [0.0]
    kafka = FakeKafka({"buergeramt": "right"})
    auth = CachedAuthenticator(kafka, ttl=60, clock=lambda: now[0])
    assert await auth.verify("buergeramt", "right")
    assert await auth.verify("buergeramt", "right")
    assert kafka.calls == 1
    assert not await auth.verify("buergeramt", "wrong")  # another password: asked, refused
    assert not await auth.verify("buergeramt", "wrong")  # failures are not remembered
    assert kafka.calls == 3
    assert await auth.verify("buergeramt", "right")  # the good one still is
    assert kafka.calls == 3
    now[0] = 61.0
    assert await auth.verify("buergeramt", "right")  # expired: asked again
    assert kafka.calls == 4
    auth.forget("buergeramt")
    assert await auth.verify("buergeramt", "right")
    assert kafka.calls == 5


async def test_cached_authenticator_coalesces_concurrent_checks() -> None:
    kafka = FakeKafka({"buergeramt": "right", "ordnungsamt": "other"})
    auth = CachedAuthenticator(kafka)
    results = await asyncio.gather(
        *(auth.verify("buergeramt", "right") for _ in range(20)),
        *(auth.verify("buergeramt", "wrong") for _ in range(5)),
        auth.verify("ordnungsamt", "other"),
    )
    assert results == [True] * 20 + [False] * 5 + [True]
    assert kafka.calls == 3  # one a distinct pair


async def test_a_waiter_going_away_does_not_cancel_the_others_check() -> None:
    kafka = FakeKafka({"buergeramt": "right"})
    auth = CachedAuthenticator(kafka)
    first = asyncio.create_task(auth.verify("buergeramt", "right"))
    second = asyncio.create_task(auth.verify("buergeramt", "right"))
    await asyncio.sleep(0)
    first.cancel()
    assert await second
    assert kafka.calls == 1


async def test_an_unreachable_identity_provider_is_neither_yes_nor_no() -> None:
    kafka = FakeKafka({"buergeramt": "right"})
    kafka.down = True
    auth = CachedAuthenticator(kafka)
    with pytest.raises(IdentityProviderUnavailable):
        await auth.verify("buergeramt", "right")
    kafka.down = False
    assert await auth.verify("buergeramt", "right")  # nothing remembered of the outage


def test_no_authentication_on_an_insecure_broker(caplog: pytest.LogCaptureFixture) -> None:
    from hub.kafka import KafkaSecurity

    assert authenticator_for("127.0.0.1:9092", KafkaSecurity("PLAINTEXT")) is None
    assert "WITHOUT authentication" in caplog.text
    sasl = KafkaSecurity("SASL_PLAINTEXT").for_principal(Credentials("hub-registry", "x"))
    assert authenticator_for("127.0.0.1:9092", sasl) is not None


# --- through the REST API ----------------------------------------------------------------

USERS = {
    "hub-admin": "admin-pw",
    "buergeramt": "b-pw",
    "ordnungsamt": "o-pw",
    "statistikstelle": "s-pw",
    "hub-router": "r-pw",
}
MOVED_SCHEMA = load_catalog(default_schemas_dir())["buergeramt.resident.moved"].versions[0].schema
TREE = {"type": "record", "name": "Tree", "fields": [{"name": "id", "type": "string"}]}


def as_(principal: str) -> dict[str, str]:
    return basic(principal, USERS[principal])


def body(schema: object) -> dict:
    return {"schema": json.dumps(schema)}


class Down:
    async def verify(self, username: str, password: str) -> bool:
        raise IdentityProviderUnavailable("no Kafka broker of 127.0.0.1:1 answered")


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog()


@pytest.fixture
def http(log: MemoryLog) -> TestClient:
    registry = Registry(log, contract=RawContract(PRINCIPALS))
    return TestClient(
        create_app(registry, authenticator=StaticAuthenticator(USERS), principals=PRINCIPALS)
    )


def error(response, status: int, code: int, *texts: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error_code"] == code
    for text in texts:
        assert text in payload["message"]
    return payload


def test_no_credentials_is_401_with_a_basic_challenge(http: TestClient) -> None:
    for method, path in [
        ("GET", "/subjects"),
        ("GET", "/schemas/ids/1"),
        ("POST", f"/subjects/{MOVED}/versions"),
        ("PUT", "/config"),
    ]:
        response = http.request(method, path, json=body(MOVED_SCHEMA))
        error(response, 401, 40101, "basic.auth.user.info")
        assert response.headers["www-authenticate"] == 'Basic realm="hub-registry"'


def test_wrong_password_unknown_principal_and_other_schemes_are_401(http: TestClient) -> None:
    error(http.get("/subjects", headers=basic("buergeramt", "o-pw")), 401, 40101, "buergeramt")
    error(http.get("/subjects", headers=basic("nobody", "x")), 401, 40101, "nobody")
    bearer = http.get("/subjects", headers={"Authorization": "Bearer abc"})
    error(bearer, 401, 40101, "not HTTP Basic")


def test_metrics_and_healthz_need_no_credentials(http: TestClient) -> None:
    assert http.get("/healthz").json() == {"status": "ok", "schemas": 0}
    assert http.get("/metrics").status_code == 200


def test_every_principal_reads(http: TestClient) -> None:
    assert http.post(
        f"/subjects/{MOVED}/versions", json=body(MOVED_SCHEMA), headers=as_("buergeramt")
    ).json() == {"id": 1}
    for principal in USERS:
        headers = as_(principal)
        assert http.get("/subjects", headers=headers).json() == [MOVED]
        assert http.get("/schemas/ids/1", headers=headers).status_code == 200
        assert http.get(f"/subjects/{MOVED}/versions/latest", headers=headers).status_code == 200
        lookup = http.post(f"/subjects/{MOVED}", json=body(MOVED_SCHEMA), headers=headers)
        assert lookup.json()["id"] == 1
        check = http.post(
            f"/compatibility/subjects/{MOVED}/versions/latest",
            json=body(MOVED_SCHEMA),
            headers=headers,
        )
        assert check.json() == {"is_compatible": True}
        assert http.get("/config", headers=headers).status_code == 200


def test_a_department_registers_and_deletes_its_own_subjects_only(http: TestClient) -> None:
    own = http.post(
        f"/subjects/{MOVED}/versions", json=body(MOVED_SCHEMA), headers=as_("buergeramt")
    )
    assert own.json() == {"id": 1}
    other = http.post(
        f"/subjects/{MOVED}/versions", json=body(MOVED_SCHEMA), headers=as_("ordnungsamt")
    )
    error(other, 403, 40301, "principal ordnungsamt", f"subject {MOVED}", "buergeramt")
    error(http.delete(f"/subjects/{MOVED}", headers=as_("ordnungsamt")), 403, 40301)
    error(http.delete(f"/subjects/{MOVED}/versions/1", headers=as_("statistikstelle")), 403, 40301)
    assert http.delete(f"/subjects/{MOVED}/versions/1", headers=as_("buergeramt")).json() == 1
    assert http.delete(f"/subjects/{MOVED}", headers=as_("hub-admin")).status_code == 404


def test_deliveries_are_the_routers(http: TestClient) -> None:
    for principal in ("buergeramt", "statistikstelle"):
        response = http.post(
            f"/subjects/{DELIVERY}/versions", json=body(TREE), headers=as_(principal)
        )
        error(response, 403, 40301, f"principal {principal}", f"subject {DELIVERY}", "hub-router")
    routed = http.post(f"/subjects/{DELIVERY}/versions", json=body(TREE), headers=as_("hub-router"))
    assert routed.json() == {"id": 1}


def test_config_and_mode_are_the_admins(http: TestClient) -> None:
    level = {"compatibility": "NONE"}
    for principal in ("buergeramt", "hub-router", "statistikstelle"):
        headers = as_(principal)
        error(
            http.put("/config", json=level, headers=headers), 403, 40301, f"principal {principal}"
        )
        error(
            http.put(f"/config/{MOVED}", json=level, headers=headers),
            403,
            40301,
            f"subject {MOVED}",
        )
        error(http.delete("/config", headers=headers), 403, 40301)
        error(http.put("/mode", json={"mode": "READONLY"}, headers=headers), 403, 40301)
    admin = as_("hub-admin")
    assert http.put(f"/config/{MOVED}", json=level, headers=admin).json() == {
        "compatibility": "NONE"
    }
    assert http.put("/mode", json={"mode": "READWRITE"}, headers=admin).json() == {
        "mode": "READWRITE"
    }


def test_denials_are_counted(http: TestClient) -> None:
    http.get("/subjects")
    http.get("/subjects", headers=basic("buergeramt", "wrong"))
    http.put("/config", json={"compatibility": "NONE"}, headers=as_("buergeramt"))
    http.put("/config", json={"compatibility": "NONE"}, headers=as_("ordnungsamt"))
    text = http.get("/metrics").text
    assert 'registry_denials_total{action="read",reason="no-credentials"} 1.0' in text
    assert 'registry_denials_total{action="read",reason="bad-credentials"} 1.0' in text
    assert 'registry_denials_total{action="config",reason="forbidden"} 2.0' in text


def test_an_unreachable_kafka_is_503_not_401(log: MemoryLog) -> None:
    http = TestClient(create_app(Registry(log), authenticator=Down(), principals=PRINCIPALS))
    error(http.get("/subjects", headers=as_("buergeramt")), 503, 50301, "no Kafka broker")


def test_a_raw_schema_without_x_pii_is_422_naming_the_field(http: TestClient) -> None:
    response = http.post(
        f"/subjects/{MOVED}/versions", json=body(MOVED_BAD), headers=as_("hub-admin")
    )
    error(response, 422, 42201, "new_address.city: no x-pii", "old_address: no doc", MOVED)
    assert "registry_contract_rejections_total 1.0" in http.get("/metrics").text
    # the same schema under a subject of no department's topic: not a raw event
    other = http.post(
        "/subjects/test.thing-value/versions", json=body(MOVED_BAD), headers=as_("hub-admin")
    )
    assert other.json() == {"id": 1}


def test_schemas_already_in_the_log_stay_readable_and_registrable() -> None:
    # A raw schema without x-pii, written before the contract was enforced.
    legacy = json.dumps(TREE, separators=(",", ":"))
    log = MemoryLog([(records.schema_key(MOVED, 1), records.schema_value(MOVED, 1, 1, legacy))])
    registry = Registry(log, contract=RawContract(PRINCIPALS))
    http = TestClient(
        create_app(registry, authenticator=StaticAuthenticator(USERS), principals=PRINCIPALS)
    )
    headers = as_("buergeramt")
    assert http.get(f"/subjects/{MOVED}/versions/1", headers=headers).json()["schema"] == legacy
    again = http.post(f"/subjects/{MOVED}/versions", json=body(TREE), headers=headers)
    assert again.json() == {"id": 1}  # registered already: an id, nothing judged or written
    assert len(log.records) == 1


def test_an_open_registry_still_holds_raw_schemas_to_the_contract(log: MemoryLog) -> None:
    http = TestClient(create_app(Registry(log, contract=RawContract(PRINCIPALS))))
    error(http.post(f"/subjects/{MOVED}/versions", json=body(MOVED_BAD)), 422, 42201)
    assert http.post(f"/subjects/{MOVED}/versions", json=body(MOVED_SCHEMA)).json() == {"id": 1}


# --- the hub's client and publish --------------------------------------------------------


def test_client_sends_its_credential_and_surfaces_denials(http: TestClient) -> None:
    client = RegistryClient(
        "http://testserver", client=http, auth=Credentials("ordnungsamt", "o-pw")
    )
    assert client.principal == "ordnungsamt"
    assert client.subjects() == []
    with pytest.raises(RegistryError) as refused:
        client.register(MOVED, MOVED_SCHEMA)
    assert (refused.value.status, refused.value.error_code) == (403, 40301)
    assert "principal ordnungsamt may not register under subject" in refused.value.message


def test_client_without_credential_says_why_on_401(http: TestClient) -> None:
    client = RegistryClient("http://testserver", client=http, auth=None)
    with pytest.raises(RegistryError) as refused:
        client.subjects()
    assert refused.value.status == 401
    assert "this client sent no credential" in refused.value.message


def test_client_takes_the_credential_from_the_url(http: TestClient) -> None:
    client = RegistryClient("http://buergeramt:b-pw@testserver/", client=http)
    assert client.url == "http://testserver"  # never shown with the password
    assert client.principal == "buergeramt"
    assert client.register(MOVED, MOVED_SCHEMA) == 1


def test_client_default_never_fails_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.kafka
    from hub.credentials import CredentialsError

    def missing(*_: object, **__: object) -> None:
        raise CredentialsError("no credential for the Kafka principal 'x'")

    monkeypatch.setattr(hub.kafka, "registry_credentials", missing)
    assert RegistryClient("http://testserver").principal is None

    def found(settings: object = None, principal: str | None = None) -> Credentials:
        return Credentials(principal or "from-settings", "pw")

    monkeypatch.setattr(hub.kafka, "registry_credentials", found)
    assert RegistryClient("http://testserver").principal == "from-settings"
    assert RegistryClient("http://testserver", principal="hub-router").principal == "hub-router"
    assert RegistryClient("http://testserver", auth=None).principal is None


def test_publishing_the_catalog_is_the_admins(http: TestClient) -> None:
    catalog = load_catalog(default_schemas_dir())
    department = RegistryClient(
        "http://testserver", client=http, auth=Credentials("buergeramt", "b-pw")
    )
    with pytest.raises(PublishError, match="principal buergeramt may not change"):
        publish_catalog(catalog, "http://testserver", client=department)
    admin = RegistryClient(
        "http://testserver", client=http, auth=Credentials("hub-admin", "admin-pw")
    )
    lines = publish_catalog(catalog, "http://testserver", client=admin)
    assert "change(s) published" in lines[-1]


async def test_async_client_authenticates_the_same_way(log: MemoryLog) -> None:
    app = create_app(
        Registry(log, contract=RawContract(PRINCIPALS)),
        authenticator=StaticAuthenticator(USERS),
        principals=PRINCIPALS,
    )

    def client(auth: Credentials | None) -> AsyncRegistryClient:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        return AsyncRegistryClient("http://test", client=http, auth=auth)

    async with client(Credentials("hub-router", "r-pw")) as router:
        assert await router.register(DELIVERY, TREE) == 1
        with pytest.raises(RegistryError) as refused:
            await router.set_compatibility("NONE", DELIVERY)
        assert refused.value.status == 403
        assert "principal hub-router may not change" in refused.value.message
    async with client(None) as anonymous:
        with pytest.raises(RegistryError) as refused:
            await anonymous.subjects()
        assert (refused.value.status, refused.value.error_code) == (401, 40101)
