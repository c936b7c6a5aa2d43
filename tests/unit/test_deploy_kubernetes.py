"""deploy/kubernetes/: rendered from the catalog, committed, and valid against the Kubernetes
and Strimzi schemas (both offline: kubernetes-validate ships Kubernetes' JSON schemas, Strimzi's
CRD schemas are vendored in hub/deploy/ from io.strimzi:api's test jar)."""

from __future__ import annotations

import inspect
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from backends import require
from typer.testing import CliRunner

from hub.cli import app
from hub.deploy import crds
from hub.deploy.kubernetes import DEFAULT_IMAGE, DeployError, Target, manifests, render_all
from hub.deploy.services import hub_services
from hub.deploy.topics import IDEMPOTENCY_RETENTION_MS, KINDS
from hub.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30"  # StatefulSet pods carry apps.kubernetes.io/pod-index since 1.28
STRIMZI_KINDS = {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}
DURABLE_KINDS = {"raw", "delivery", "audit", "receipts", "rights", "agreements", "registry"}


@pytest.fixture(scope="module")
def settings():
    return load_settings(catalog_dir=REPO / "catalog", schemas_dir=REPO / "schemas")


@pytest.fixture(scope="module")
def files(settings):
    return manifests(settings, Target())


@pytest.fixture(scope="module")
def docs(files):
    return [doc for file_docs in files.values() for doc in file_docs]


def _of(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def _closed(schema):
    """The schema with unknown fields refused (Kubernetes would prune them silently: a typo in
    a manifest would be lost without a word)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def test_the_committed_manifests_are_what_the_catalog_renders(settings):
    """Regenerate with `hub deploy kubernetes --out deploy/kubernetes` after changing the
    catalog or the contracts."""
    for name, text in render_all(settings, Target()).items():
        committed = OUT / name
        assert committed.exists(), f"missing {committed}: run `hub deploy kubernetes`"
        assert committed.read_text() == text, f"stale {name}: run `hub deploy kubernetes`"


def test_every_kubernetes_manifest_matches_the_kubernetes_schema(docs):
    core = [d for d in docs if d["kind"] not in STRIMZI_KINDS]
    assert {d["kind"] for d in core} == {
        "ConfigMap",
        "Deployment",
        "StatefulSet",
        "Service",
        "PodDisruptionBudget",
        "PersistentVolumeClaim",
    }
    for doc in core:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_every_strimzi_manifest_matches_strimzis_crd_schema(docs):
    schemas = {kind: _closed(schema) for kind, schema in crds.vendored().items()}
    strimzi = [d for d in docs if d["kind"] in STRIMZI_KINDS]
    assert {d["kind"] for d in strimzi} == STRIMZI_KINDS
    for doc in strimzi:
        assert doc["apiVersion"] == f"kafka.strimzi.io/{crds.API_VERSION}"
        jsonschema.Draft7Validator(schemas[doc["kind"]]).validate(doc)


def test_the_schema_check_finds_a_typo(docs):
    kafka = dict(_of(docs, "Kafka")[0])
    kafka["spec"] = {**kafka["spec"], "kafka": {**kafka["spec"]["kafka"], "listner": []}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(_closed(crds.vendored()["Kafka"])).validate(kafka)


def test_the_vendored_strimzi_schemas_are_those_of_the_jar():
    """Strimzi's own jar, fetched from Maven Central (as the broker is) when not there yet."""
    try:
        jar = crds.fetch_tests_jar()
    except (FileNotFoundError, subprocess.TimeoutExpired) as error:
        require(False, str(error))  # a skip here, a failure in CI
    assert crds.extract(jar) == crds.vendored()


def test_the_kafka_cluster_is_kraft_with_scram_and_simple_authorization(docs):
    (kafka,) = _of(docs, "Kafka")
    assert kafka["metadata"]["name"] == "hamm-hub"
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    spec = kafka["spec"]["kafka"]
    assert {
        (listener["port"], listener["authentication"]["type"]) for listener in spec["listeners"]
    } == {
        (9092, "scram-sha-512"),
        (9093, "scram-sha-512"),
    }
    assert spec["authorization"] == {"type": "simple", "superUsers": ["hub-admin"]}
    assert spec["config"]["transaction.state.log.min.isr"] == 2
    assert "topicOperator" in kafka["spec"]["entityOperator"]
    assert "userOperator" in kafka["spec"]["entityOperator"]
    (pool,) = _of(docs, "KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "hamm-hub"
    assert pool["spec"]["replicas"] == 3
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]


def test_topics_cover_the_catalog_with_replication_three(docs, settings):
    from hub.access.catalog import load_access_catalog
    from hub.schemas.catalog import load_catalog

    topics = {t["spec"]["topicName"]: t for t in _of(docs, "KafkaTopic")}
    access = load_access_catalog(settings.catalog_dir)
    for name in [*load_catalog(settings.schemas_dir), *(g.delivery_topic for g in access.grants)]:
        assert name in topics, name
    for name in ("_schemas", "hub.audit", "hub.receipts", "hub.dlq", "hub.quality", "hub.rights"):
        assert name in topics, name
    for topic in topics.values():
        spec, kind = topic["spec"], topic["metadata"]["annotations"]["hub.stadt.hamm.de/topic-kind"]
        assert spec["replicas"] == 3
        assert spec["partitions"] == KINDS[kind].partitions
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "hamm-hub"
        durable = spec["config"].get("min.insync.replicas") == "2"
        assert durable == (kind in DURABLE_KINDS), spec["topicName"]
    assert topics["_schemas"]["spec"]["config"]["cleanup.policy"] == "compact"
    assert topics["_schemas"]["spec"]["partitions"] == 1


def test_the_gateways_key_retention_is_the_topics():
    from producers.gateway.idempotency import RETENTION_S

    assert IDEMPOTENCY_RETENTION_MS == RETENTION_S * 1000


def test_kafka_users_are_hub_access_exports(files):
    committed = yaml.safe_load_all((OUT / "kafka-users.yaml").read_text())
    assert files["kafka-users.yaml"] == list(committed)


def test_every_service_probes_healthz_with_resources_and_a_grace_above_its_drain(docs):
    from hub.web import serve_app

    http_grace = inspect.signature(serve_app).parameters["grace"].default
    workloads = {
        d["metadata"]["name"]: d for d in docs if d["kind"] in ("Deployment", "StatefulSet")
    }
    assert set(workloads) >= {
        "hub-router",
        "hub-registry",
        "hub-gateway",
        "hub-features",
        "hub-webhooks",
        "hub-portal",
    }
    for service in hub_services("hub-redis:6379"):
        pod = workloads[service.name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": service.port}
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert pod["terminationGracePeriodSeconds"] > service.drain_seconds
        if service.name in ("hub-gateway", "hub-portal"):
            assert service.drain_seconds >= http_grace
        assert container["image"] == DEFAULT_IMAGE


def test_http_services_have_services_and_the_router_a_disruption_budget(docs):
    names = {d["metadata"]["name"] for d in _of(docs, "Service")}
    assert names >= {"hub-registry", "hub-gateway", "hub-portal", "hub-redis", "hub-router"}
    (budget,) = _of(docs, "PodDisruptionBudget")
    assert budget["metadata"]["name"] == "hub-router"
    assert budget["spec"]["maxUnavailable"] == 1


def test_no_manifest_holds_a_secret_value(docs):
    assert not _of(docs, "Secret")
    for doc in docs:
        if (
            doc["kind"] not in ("Deployment", "StatefulSet")
            or doc["metadata"]["name"] == "hub-redis"
        ):
            continue
        pod = doc["spec"]["template"]["spec"]
        for env in pod["containers"][0]["env"]:
            if "PASSWORD" in env["name"]:
                assert "secretKeyRef" in env["valueFrom"], env
        username = next(
            e["value"] for e in pod["containers"][0]["env"] if e["name"] == "HUB_KAFKA_USERNAME"
        )
        password = next(e for e in pod["containers"][0]["env"] if e["name"] == "HUB_KAFKA_PASSWORD")
        # Strimzi's User Operator writes the password into a Secret named after the KafkaUser
        assert password["valueFrom"]["secretKeyRef"] == {"name": username, "key": "password"}
    router = next(d for d in _of(docs, "StatefulSet") if d["metadata"]["name"] == "hub-router")
    volumes = router["spec"]["template"]["spec"]["volumes"]
    assert {"secretName": "hub-master-secret", "defaultMode": 0o440} in [
        v.get("secret") for v in volumes
    ]


def test_settings_point_at_the_cluster_and_feast_at_redis(files, docs):
    (config,) = files["hub-settings.yaml"]
    assert config["data"]["HUB_BOOTSTRAP_SERVERS"] == "hamm-hub-kafka-bootstrap:9092"
    assert config["data"]["HUB_METRICS_HOST"] == "0.0.0.0"
    features = next(
        d for d in docs if d["metadata"]["name"] == "hub-features" and d["kind"] == "Deployment"
    )
    env = {
        e["name"]: e.get("value")
        for e in features["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert (
        env["HUB_FEATURES_ONLINE_STORE"] == '{"type":"redis","connection_string":"hub-redis:6379"}'
    )


def test_a_managed_redis_replaces_the_one_in_the_namespace(settings):
    files = manifests(settings, Target(redis="redis.stadt.hamm.de:6380"))
    assert "hub-redis.yaml" not in files
    (_claim, features) = files["hub-features.yaml"]
    env = features["spec"]["template"]["spec"]["containers"][0]["env"]
    names = [e["name"] for e in env]
    # Kubernetes substitutes $(HUB_REDIS_PASSWORD) only from a variable defined before
    assert names.index("HUB_REDIS_PASSWORD") < names.index("HUB_FEATURES_ONLINE_STORE")
    store = next(e["value"] for e in env if e["name"] == "HUB_FEATURES_ONLINE_STORE")
    assert "redis.stadt.hamm.de:6380,password=$(HUB_REDIS_PASSWORD)" in store


def test_a_namespace_is_written_into_every_manifest(settings):
    for docs in manifests(settings, Target(namespace="datendrehscheibe")).values():
        for doc in docs:
            assert doc["metadata"]["namespace"] == "datendrehscheibe", doc["kind"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"image": "ghcr.io/stadt-hamm/datendrehscheibe"}, "has no tag"),
        ({"image": "ghcr.io/stadt-hamm/datendrehscheibe:latest"}, "pin a version"),
        ({"image": "GHCR.io/Hub:1"}, "is not an image name"),
        ({"image": ""}, "is not an image name"),
        ({"namespace": ""}, "--namespace is empty"),
        ({"namespace": "Stadt_Hamm"}, "is not a Kubernetes namespace"),
        ({"redis": "redis"}, "--redis"),
        ({"portal_url": "daten.hamm.de"}, "--portal-url"),
    ],
)
def test_bad_parameters_are_refused_with_their_name(target, message):
    with pytest.raises(DeployError, match=message):
        Target(**target)


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/stadt-hamm/datendrehscheibe:0.2.0",
        "registry.hamm.de:5000/hub/datendrehscheibe:2026.11.1",
        "ghcr.io/stadt-hamm/datendrehscheibe@sha256:" + "a" * 64,
    ],
)
def test_image_names_with_a_registry_port_or_a_digest_are_taken(image):
    assert Target(image=image).image == image


def test_the_cli_renders_into_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    out = tmp_path / "k8s"
    image = "registry.hamm.de/hub:1.2.3"
    result = CliRunner().invoke(
        app, ["deploy", "kubernetes", "--out", str(out), "--image", image, "--namespace", "hub"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "kafka-cluster.yaml").exists()
    assert f"image: {image}" in (out / "hub-router.yaml").read_text()
    bad = CliRunner().invoke(app, ["deploy", "kubernetes", "--out", str(out), "--image", "hub"])
    assert bad.exit_code == 2
    assert "--image: 'hub' has no tag" in bad.output
