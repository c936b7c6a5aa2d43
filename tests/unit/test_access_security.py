"""Credentials, client security, the broker's security config, and the words and manifests
derived from the ACLs (no broker needed)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
import yaml

from hub.access.catalog import load_access_catalog
from hub.access.strimzi import kafka_users, render
from hub.access.words import describe
from hub.broker.local import BrokerError, LocalBroker
from hub.broker.security import (
    BrokerSecurity,
    TlsFiles,
    read_state,
    scram_bootstrap_args,
    security_properties,
    write_state,
)
from hub.credentials import (
    Credentials,
    CredentialsError,
    CredentialStore,
    check_principal_name,
    parse_properties,
)
from hub.kafka import KafkaSecurity, describe_auth_failure, resolve_credentials
from hub.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 1)


def settings(tmp_path: Path, **values):
    values.setdefault("kafka_username", None)
    return load_settings(_env_file=None, credentials_dir=tmp_path / "creds", **values)


# -- credentials ----------------------------------------------------------------------------


def test_credentials_never_show_the_password():
    c = Credentials("statistikstelle", "s3cret-value")
    assert "s3cret-value" not in repr(c)
    assert "s3cret-value" not in repr(KafkaSecurity(given=c))


def test_store_writes_0600_files_kcat_can_read(tmp_path):
    store = CredentialStore(tmp_path / "creds")
    path = store.write(Credentials("bussgeldstelle", "pw-1"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    values = parse_properties(path.read_text())
    assert values["sasl.username"] == "bussgeldstelle"
    assert values["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert values["security.protocol"] == "SASL_PLAINTEXT"
    assert store.read("bussgeldstelle") == Credentials("bussgeldstelle", "pw-1")
    store.write(Credentials("bussgeldstelle", "pw-2"))  # rotation replaces atomically
    assert store.read("bussgeldstelle").password == "pw-2"
    assert store.principals() == ["bussgeldstelle"]


def test_a_missing_credential_names_principal_and_file(tmp_path):
    with pytest.raises(CredentialsError, match=r"'hub-router'.*hub-router\.properties"):
        CredentialStore(tmp_path).read("hub-router")


def test_a_credential_file_for_someone_else_is_refused(tmp_path):
    store = CredentialStore(tmp_path)
    store.write(Credentials("ordnungsamt", "pw"))
    (tmp_path / "umweltamt.properties").write_text(
        (tmp_path / "ordnungsamt.properties").read_text()
    )
    with pytest.raises(CredentialsError, match="expected 'umweltamt'"):
        store.read("umweltamt")


@pytest.mark.parametrize("name", ["", "Upper", "../etc", "a b", "x" * 64, "-lead"])
def test_principal_names_stay_plain(name):
    with pytest.raises(CredentialsError):
        check_principal_name(name)


# -- resolution -----------------------------------------------------------------------------


def test_the_component_is_its_own_principal(tmp_path):
    s = settings(tmp_path)
    CredentialStore(s.credentials_dir).write(Credentials("hub-router", "pw"))
    security = KafkaSecurity.from_settings(s, principal="hub-router")
    assert security.principal == "hub-router"
    options = security.aiokafka()
    assert options["sasl_plain_username"] == "hub-router"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["security_protocol"] == "SASL_PLAINTEXT"


def test_settings_name_the_principal_over_the_component(tmp_path):
    s = settings(tmp_path, kafka_username="hub-admin", kafka_password="pw")
    security = KafkaSecurity.from_settings(s, principal="hub-router")
    assert security.credentials == Credentials("hub-admin", "pw")
    assert security.confluent()["sasl.username"] == "hub-admin"


def test_a_credentials_file(tmp_path):
    path = CredentialStore(tmp_path / "elsewhere").write(Credentials("umweltamt", "pw"))
    s = settings(tmp_path, kafka_credentials_file=path)
    assert resolve_credentials(s, "ignored") == Credentials("umweltamt", "pw")
    clash = settings(tmp_path, kafka_credentials_file=path, kafka_username="ordnungsamt")
    with pytest.raises(CredentialsError, match="is for 'umweltamt'"):
        resolve_credentials(clash)


def test_resolution_is_deferred_until_a_client_needs_it(tmp_path):
    security = KafkaSecurity.from_settings(settings(tmp_path), principal="hub-features")
    assert security.principal == "hub-features"  # no file read yet
    with pytest.raises(CredentialsError, match="'hub-features'"):
        security.aiokafka()


def test_no_principal_at_all(tmp_path):
    with pytest.raises(CredentialsError, match="HUB_KAFKA_USERNAME"):
        KafkaSecurity.from_settings(settings(tmp_path)).aiokafka()


def test_plaintext_needs_no_credential(tmp_path):
    s = settings(tmp_path, kafka_security_protocol="PLAINTEXT")
    assert KafkaSecurity.from_settings(s).aiokafka() == {"security_protocol": "PLAINTEXT"}


def test_an_auth_failure_line_names_the_principal_not_the_password():
    security = KafkaSecurity(given=Credentials("jugendamt", "very-secret"))
    line = describe_auth_failure(security, RuntimeError("x"))
    assert "'jugendamt'" in line and "very-secret" not in line and "\n" not in line


# -- the broker's configuration ---------------------------------------------------------------


def test_secure_listeners():
    props = security_properties(9092, 9093, BrokerSecurity("sasl", "bpw"))
    lines = dict(
        line.split("=", 1)
        for line in props.splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert lines["listeners"] == "CLIENT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert (
        lines["listener.security.protocol.map"] == "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    )
    assert lines["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert lines["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert lines["authorizer.class.name"].endswith("StandardAuthorizer")
    assert lines["allow.everyone.if.no.acl.found"] == "false"
    assert lines["super.users"] == "User:broker;User:hub-admin"
    assert "ANONYMOUS" not in props


def test_tls_makes_the_client_listener_sasl_ssl(tmp_path):
    tls = TlsFiles(tmp_path / "broker.p12", "kpw")
    props = security_properties(9092, 9093, BrokerSecurity("sasl", "bpw", tls))
    assert "CLIENT:SASL_SSL" in props
    assert f"ssl.keystore.location={tmp_path / 'broker.p12'}" in props


def test_insecure_is_plaintext_without_authorizer():
    props = security_properties(9092, 9093, BrokerSecurity("insecure"))
    assert "PLAINTEXT://127.0.0.1:9092" in props and "authorizer" not in props


def test_scram_bootstrap_for_broker_and_admin():
    args = scram_bootstrap_args(BrokerSecurity("sasl", "bpw"), Credentials("hub-admin", "apw"))
    assert args == [
        "--add-scram",
        "SCRAM-SHA-512=[name=broker,password=bpw]",
        "--add-scram",
        "SCRAM-SHA-512=[name=hub-admin,password=apw]",
    ]


def test_state_round_trip_is_private(tmp_path):
    path = tmp_path / "security.properties"
    write_state(path, BrokerSecurity("sasl", "bpw"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_state(path) == BrokerSecurity("sasl", "bpw")
    assert read_state(tmp_path / "none") is None


def _formatted(tmp_path: Path) -> LocalBroker:
    broker = LocalBroker(home=tmp_path / "kafka", credentials_dir=tmp_path / "creds")
    assert broker.data_dir is not None
    broker.data_dir.mkdir(parents=True)
    (broker.data_dir / "meta.properties").write_text("cluster.id=x\nnode.id=1\n")
    return broker


def test_an_unauthenticated_data_dir_is_one_clear_line(tmp_path):
    broker = _formatted(tmp_path)
    with pytest.raises(BrokerError) as info:
        broker._resolve_security()
    message = str(info.value)
    assert "formatted without authentication" in message and "--insecure" in message
    assert "\n" not in message
    broker.insecure = True
    assert not broker._resolve_security().secure


def test_a_secure_data_dir_does_not_start_insecure(tmp_path):
    broker = _formatted(tmp_path)
    write_state(broker.state_file, BrokerSecurity("sasl", "bpw"))
    CredentialStore(tmp_path / "creds").write(Credentials("hub-admin", "apw"))
    assert broker._resolve_security().secure
    broker.insecure = True
    with pytest.raises(BrokerError, match="formatted with authentication"):
        broker._resolve_security()


def test_a_lost_admin_credential_is_said(tmp_path):
    broker = _formatted(tmp_path)
    write_state(broker.state_file, BrokerSecurity("sasl", "bpw"))
    with pytest.raises(BrokerError, match=r"hub-admin\.properties.*missing"):
        broker._resolve_security()


def test_a_fresh_data_dir_gets_an_admin_credential(tmp_path):
    broker = LocalBroker(home=tmp_path / "kafka", credentials_dir=tmp_path / "creds")
    security = broker._resolve_security()
    assert security.secure and len(security.broker_password) >= 24
    assert broker.admin_credentials().username == "hub-admin"


# -- words and manifests ----------------------------------------------------------------------


def test_show_in_words():
    access = load_access_catalog(REPO / "catalog")
    acls = access.bindings(TODAY)
    text = "\n".join(describe("statistikstelle", acls, access.principals))
    assert "deliver.statistikstelle.buergeramt.resident.moved" in text
    assert "agreement statistikstelle-resident-moved" in text
    assert "Reads no raw (unanonymized) topic" in text
    dept = "\n".join(describe("buergeramt", acls, access.principals))
    assert "Reads raw (unanonymized) data of: buergeramt." in dept
    router = "\n".join(describe("hub-router", acls, access.principals))
    assert "the topic buergeramt.resident.moved" in router


def test_strimzi_kafka_users():
    access = load_access_catalog(REPO / "catalog")
    acls = access.bindings(TODAY)
    users = kafka_users(acls, access.principals, cluster="hamm-hub", namespace="hub")
    by_name = {u["metadata"]["name"]: u for u in users}
    assert "hub-admin" not in by_name  # a super user of the Kafka resource
    statistik = by_name["statistikstelle"]
    assert statistik["kind"] == "KafkaUser"
    assert statistik["metadata"]["labels"]["strimzi.io/cluster"] == "hamm-hub"
    assert statistik["spec"]["authentication"] == {"type": "scram-sha-512"}
    acl = statistik["spec"]["authorization"]["acls"]
    assert {
        "resource": {
            "type": "topic",
            "name": "deliver.statistikstelle.buergeramt.resident.moved",
            "patternType": "literal",
        },
        "operations": ["Describe", "Read"],
        "host": "*",
    } in acl
    docs = list(yaml.safe_load_all(render(users)))
    assert len(docs) == len(users)
    total = sum(len(a["operations"]) for u in users for a in u["spec"]["authorization"]["acls"])
    assert total == len(access.bindings(TODAY))


def test_the_committed_strimzi_manifests_match_the_catalog():
    """deploy/kubernetes/kafka-users.yaml is generated: regenerate with
    `hub access export --format strimzi` after changing the catalog."""
    from hub.access.service import today_in_hamm

    access = load_access_catalog(REPO / "catalog")
    users = kafka_users(
        access.bindings(today_in_hamm()), access.principals, cluster="hamm-hub", namespace=None
    )
    committed = (REPO / "deploy" / "kubernetes" / "kafka-users.yaml").read_text()
    assert committed == render(users), "stale: run `hub access export --format strimzi`"


def test_admin_security_is_none_without_the_admin_credential(tmp_path):
    from hub.access.service import admin_security

    assert admin_security(settings(tmp_path)) is None
    CredentialStore(tmp_path / "creds").write(Credentials("hub-admin", "apw"))
    found = admin_security(settings(tmp_path))
    assert found is not None and found.credentials == Credentials("hub-admin", "apw")
    # a router that is hub-router still finds the admin credential of this machine
    as_router = admin_security(settings(tmp_path, kafka_username="hub-router", kafka_password="x"))
    assert as_router is not None and as_router.principal == "hub-admin"
