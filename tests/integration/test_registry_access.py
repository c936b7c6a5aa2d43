"""The session's registry, secured as ``hub registry serve`` runs it, on the real broker: HTTP
Basic verified by a SASL/SCRAM login to Kafka, writes authorized by ``catalog/departments.yaml``,
raw schemas held to the contract; Confluent's own client as the independent witness."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx
import pytest

from hub.credentials import Credentials
from hub.kafka import KafkaAuthError, KafkaSecurity
from hub.registry.auth import IdentityProviderUnavailable, KafkaAuthenticator, kafka_login
from hub.registry.server import RegistryServer
from hub.serde import RegistryClient, RegistryError

pytestmark = pytest.mark.integration

Principal = Callable[[str], KafkaSecurity]


def basic(security: KafkaSecurity) -> tuple[str, str]:
    creds = security.credentials
    assert creds is not None
    return creds.username, creds.password


def contract_schema(name: str, *fields: str) -> dict:
    """A raw event as the lint wants it: every field with doc and x-pii."""
    return {
        "type": "record",
        "name": name,
        "namespace": "de.hamm.buergeramt",
        "doc": "Test event.",
        "fields": [
            {"name": f, "type": "string", "doc": f"Field {f}.", "x-pii": "none", "default": ""}
            for f in fields
        ],
    }


@pytest.fixture
def bare_url(registry_url: str) -> str:
    """The session's registry; the tests choose each request's credential themselves."""
    return registry_url


@pytest.fixture
def raw_subject() -> Callable[[str], str]:
    """A fresh subject of a raw topic of ``department`` (owned by it in the catalog)."""

    def make(department: str) -> str:
        return f"{department}.regtest-{uuid.uuid4().hex[:8]}.happened-value"

    return make


def test_no_credentials_is_401(bare_url: str, raw_subject: Callable[[str], str]) -> None:
    for response in (
        httpx.get(f"{bare_url}/subjects"),
        httpx.post(
            f"{bare_url}/subjects/{raw_subject('buergeramt')}/versions",
            json={"schema": json.dumps(contract_schema("A", "x"))},
        ),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["error_code"] == 40101
        assert response.headers["www-authenticate"] == 'Basic realm="hub-registry"'
    client = RegistryClient(bare_url, auth=None)
    with pytest.raises(RegistryError, match="sent no credential") as refused:
        client.subjects()
    assert refused.value.status == 401


def test_wrong_password_and_unknown_principal_are_401(
    bare_url: str, kafka_principal: Principal
) -> None:
    user, _ = basic(kafka_principal("buergeramt"))
    for auth in ((user, "not-the-password"), (f"nobody-{uuid.uuid4().hex[:6]}", "x")):
        response = httpx.get(f"{bare_url}/subjects", auth=auth, timeout=30)
        assert response.status_code == 401, response.text
        assert response.json()["error_code"] == 40101
        assert auth[0] in response.json()["message"]


def test_metrics_and_healthz_are_open(bare_url: str) -> None:
    assert httpx.get(f"{bare_url}/healthz").json()["status"] == "ok"
    metrics = httpx.get(f"{bare_url}/metrics").text
    assert "registry_denials_total" in metrics


def test_a_department_may_not_register_another_departments_subject(
    bare_url: str, kafka_principal: Principal, raw_subject: Callable[[str], str]
) -> None:
    subject = raw_subject("buergeramt")
    response = httpx.post(
        f"{bare_url}/subjects/{subject}/versions",
        json={"schema": json.dumps(contract_schema("A", "x"))},
        auth=basic(kafka_principal("ordnungsamt")),
    )
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error_code"] == 40301
    assert f"principal ordnungsamt may not register under subject {subject}" in body["message"]
    assert "department buergeramt" in body["message"]


def test_a_department_may_not_write_deliveries_or_config(
    bare_url: str, kafka_principal: Principal, raw_subject: Callable[[str], str]
) -> None:
    auth = basic(kafka_principal("buergeramt"))
    own = raw_subject("buergeramt")
    delivery = f"deliver.statistikstelle.{own}"
    schema = json.dumps(contract_schema("A", "x"))
    refused = [
        httpx.post(f"{bare_url}/subjects/{delivery}/versions", json={"schema": schema}, auth=auth),
        httpx.put(f"{bare_url}/config", json={"compatibility": "NONE"}, auth=auth),
        httpx.put(f"{bare_url}/config/{own}", json={"compatibility": "NONE"}, auth=auth),
        httpx.put(f"{bare_url}/mode", json={"mode": "READONLY"}, auth=auth),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.json()["error_code"] == 40301
        assert "principal buergeramt" in response.json()["message"]
    assert "hub-router" in refused[0].json()["message"]
    assert "only hub-admin" in refused[1].json()["message"]


def test_a_raw_schema_without_x_pii_is_422_naming_the_field(
    bare_url: str, kafka_principal: Principal, raw_subject: Callable[[str], str]
) -> None:
    schema = contract_schema("Moved", "resident_id")
    schema["fields"].append(
        {
            "name": "new_address",
            "doc": "New address.",
            "x-pii": "direct",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [{"name": "city", "type": "string", "doc": "City."}],
            },
        }
    )
    response = httpx.post(
        f"{bare_url}/subjects/{raw_subject('buergeramt')}/versions",
        json={"schema": json.dumps(schema)},
        auth=basic(kafka_principal("buergeramt")),
    )
    assert response.status_code == 422, response.text
    assert response.json()["error_code"] == 42201
    assert "new_address.city: no x-pii" in response.json()["message"]


def test_confluents_client_works_unchanged_for_permitted_calls(
    bare_url: str, kafka_principal: Principal, raw_subject: Callable[[str], str]
) -> None:
    sr = pytest.importorskip("confluent_kafka.schema_registry")
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    user, password = basic(kafka_principal("buergeramt"))
    client = sr.SchemaRegistryClient(
        {"url": bare_url, "basic.auth.user.info": f"{user}:{password}"}
    )
    subject = raw_subject("buergeramt")
    v1 = contract_schema("Happened", "a")
    v2 = contract_schema("Happened", "a", "b")
    v1_id = client.register_schema(subject, sr.Schema(json.dumps(v1), "AVRO"))
    v2_id = client.register_schema(subject, sr.Schema(json.dumps(v2), "AVRO"))
    assert json.loads(client.get_schema(v2_id).schema_str) == v2
    latest = client.get_latest_version(subject)
    assert (latest.version, latest.schema_id) == (2, v2_id)
    found = client.lookup_schema(subject, sr.Schema(json.dumps(v1), "AVRO"))
    assert (found.version, found.schema_id) == (1, v1_id)
    assert subject in client.get_subjects()

    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(raw_subject("ordnungsamt"), sr.Schema(json.dumps(v1), "AVRO"))
    assert (refused.value.http_status_code, refused.value.error_code) == (403, 40301)
    with pytest.raises(SchemaRegistryError) as refused:
        client.set_compatibility(subject, "NONE")
    assert refused.value.http_status_code == 403

    wrong = sr.SchemaRegistryClient({"url": bare_url, "basic.auth.user.info": f"{user}:nope"})
    with pytest.raises(SchemaRegistryError) as refused:
        wrong.get_subjects()
    assert (refused.value.http_status_code, refused.value.error_code) == (401, 40101)


def test_the_hubs_client_as_a_department(
    bare_url: str, kafka_principal: Principal, raw_subject: Callable[[str], str]
) -> None:
    user, password = basic(kafka_principal("buergeramt"))
    with RegistryClient(bare_url, auth=Credentials(user, password)) as client:
        subject = raw_subject("buergeramt")
        schema_id = client.register(subject, contract_schema("Happened", "a"))
        assert client.latest(subject).id == schema_id
        with pytest.raises(RegistryError) as refused:
            client.set_compatibility("NONE", subject)
        assert refused.value.status == 403
        assert f"principal {user}" in refused.value.message


async def test_kafka_login_tells_refused_from_unreachable(
    kafka_bootstrap: str, kafka_security: KafkaSecurity
) -> None:
    assert await kafka_login(kafka_bootstrap, kafka_security)
    wrong = kafka_security.for_principal(Credentials("hub-admin", "wrong"))
    assert not await kafka_login(kafka_bootstrap, wrong)
    with pytest.raises(IdentityProviderUnavailable, match=r"127\.0\.0\.1:1"):
        await kafka_login("127.0.0.1:1", kafka_security, timeout=2)
    authenticator = KafkaAuthenticator("127.0.0.1:1", kafka_security, timeout=2)
    with pytest.raises(IdentityProviderUnavailable):
        await authenticator.verify("hub-admin", "whatever")


async def test_the_registry_stops_at_start_when_kafka_refuses_its_own_credential(
    kafka_bootstrap: str, kafka_security: KafkaSecurity, unique_topic: Callable[[str], str]
) -> None:
    wrong = kafka_security.for_principal(Credentials("hub-registry", "wrong"))
    server = RegistryServer(kafka_bootstrap, topic=unique_topic("registry"), security=wrong)
    with pytest.raises(KafkaAuthError, match="'hub-registry'"):
        await server.start()
    await server.stop()
