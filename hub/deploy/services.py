"""The hub's services on Kubernetes: one Deployment each (the router a StatefulSet), a Service
for those that answer HTTP, the router's PodDisruptionBudget, the shared settings ConfigMap and
Redis for Feast's online store.

Every container runs the same image, configured only by ``HUB_*`` variables; the catalog and
the contracts are baked into the image (``/app/catalog``, ``/app/schemas``), so a pod runs
exactly the catalog its manifests were rendered from. Secrets come from Kubernetes Secrets:
each principal's SCRAM password from the Secret Strimzi's User Operator writes under the
principal's name, the master secret from ``hub-master-secret``; no manifest holds a value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hub.deploy.cluster import metadata

APP_DIR = "/app"
SECRET_DIR = "/var/run/secrets/hub"
MASTER_SECRET = "hub-master-secret"
MASTER_SECRET_KEY = "master-secret"
SETTINGS = "hub-settings"
REDIS = "hub-redis"
REDIS_IMAGE = "redis:7.4"
REDIS_PASSWORD_SECRET = "hub-redis"
UID = 10001  # the image's user (deploy/docker/Dockerfile)


@dataclass(frozen=True)
class Resources:
    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str

    def manifest(self) -> dict:
        return {
            "requests": {"cpu": self.cpu, "memory": self.memory},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class HubService:
    """One hub service as it runs in a pod.

    ``drain_seconds``: the longest a clean stop takes after SIGTERM (what is in flight is
    finished and committed); the pod's grace period is above it, so Kubernetes never kills a
    service that is still draining."""

    name: str
    principal: str
    args: tuple[str, ...]
    port: int
    drain_seconds: int
    resources: Resources
    replicas: int = 1
    http: bool = False  # a Service for clients (else only Prometheus reaches the port)
    master_secret: bool = False
    env: dict[str, str] = field(default_factory=dict)
    stateful: bool = False
    recreate: bool = False  # one writer at a time (its state is a Kafka changelog)

    @property
    def grace_seconds(self) -> int:
        return self.drain_seconds + 15


def hub_services(redis: str) -> list[HubService]:
    """``redis``: host:port of Feast's online store."""
    online_store = {"type": "redis", "connection_string": redis}
    return [
        HubService(
            "hub-registry",
            "hub-registry",
            ("registry", "serve"),
            8081,
            drain_seconds=5,  # uvicorn's timeout_graceful_shutdown in hub/registry/server.py
            resources=Resources("250m", "256Mi", "1", "512Mi"),
            replicas=2,  # the _schemas fold gives both the same ids
            http=True,
            env={
                "HUB_REGISTRY_HOST": "0.0.0.0",
                "HUB_REGISTRY_PORT": "8081",
                "HUB_REGISTRY_REPLICATION_FACTOR": "3",
            },
        ),
        HubService(
            "hub-router",
            "hub-router",
            ("router", "run"),
            9101,
            drain_seconds=30,  # the batch in flight routed and committed as one transaction
            resources=Resources("1", "768Mi", "2", "1536Mi"),
            replicas=2,
            master_secret=True,
            stateful=True,  # a stable HUB_ROUTER_INSTANCE: a restarted pod fences its zombie
            env={
                "HUB_ROUTER_WORKERS": "2",
                # Strimzi's User Operator owns users and ACLs (kafka-users.yaml).
                "HUB_ROUTER_APPLY_ACCESS": "false",
            },
        ),
        HubService(
            "hub-gateway",
            "hub-gateway",
            ("gateway", "serve", "--host", "0.0.0.0", "--port", "8000"),
            8000,
            drain_seconds=30,  # hub.web.serve_app's graceful shutdown
            resources=Resources("250m", "256Mi", "1", "512Mi"),
            replicas=2,
            http=True,
        ),
        HubService(
            "hub-features",
            "hub-features",
            ("features", "run"),
            9104,
            drain_seconds=30,  # the batch in flight committed, its windows pushed to Feast
            resources=Resources("500m", "1Gi", "1", "2Gi"),
            recreate=True,
            env={
                "HUB_FEATURES_FEAST_REPO": "/var/lib/hub/feast",
                "HUB_FEATURES_ONLINE_STORE": json.dumps(online_store, separators=(",", ":")),
            },
        ),
        HubService(
            "hub-webhooks",
            "hub-webhooks",
            ("webhooks", "run"),
            9105,
            drain_seconds=15,  # requests in flight (10 s timeout a request), then the commit
            resources=Resources("250m", "256Mi", "1", "512Mi"),
        ),
        HubService(
            "hub-portal",
            "hub-portal",
            ("portal", "serve"),
            8003,
            drain_seconds=30,  # hub.web.serve_app's graceful shutdown
            resources=Resources("250m", "384Mi", "1", "768Mi"),
            replicas=2,  # sessions are signed cookies: any replica serves any login
            http=True,
            master_secret=True,
            env={"HUB_PORTAL_HOST": "0.0.0.0", "HUB_PORTAL_PORT": "8003"},
        ),
    ]


def settings_config_map(bootstrap: str, namespace: str | None) -> dict:
    """The ``HUB_*`` settings every service shares."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(SETTINGS, namespace),
        "data": {
            "HUB_BOOTSTRAP_SERVERS": bootstrap,
            "HUB_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "HUB_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "HUB_REGISTRY_URL": "http://hub-registry:8081",
            "HUB_METRICS_HOST": "0.0.0.0",
            "HUB_CATALOG_DIR": f"{APP_DIR}/catalog",
            "HUB_SCHEMAS_DIR": f"{APP_DIR}/schemas",
            "HUB_LOG_FORMAT": "json",
        },
    }


def _labels(service: HubService) -> dict[str, str]:
    return {"app.kubernetes.io/name": service.name}


def _env(service: HubService, redis_password: bool) -> list[dict]:
    env: list[dict] = [
        {"name": "HUB_KAFKA_USERNAME", "value": service.principal},
        {
            "name": "HUB_KAFKA_PASSWORD",
            # written by Strimzi's User Operator for the KafkaUser of the same name
            "valueFrom": {"secretKeyRef": {"name": service.principal, "key": "password"}},
        },
    ]
    if service.stateful:
        # StatefulSet pods carry their ordinal: hub-router-0 is instance 0, after every restart.
        env.append(
            {
                "name": "HUB_ROUTER_INSTANCE",
                "valueFrom": {
                    "fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}
                },
            }
        )
    if service.master_secret:
        env.append({"name": "HUB_SECRET_FILE", "value": f"{SECRET_DIR}/{MASTER_SECRET_KEY}"})
    if redis_password and "HUB_FEATURES_ONLINE_STORE" in service.env:
        # Defined before the store's JSON, which names it as $(HUB_REDIS_PASSWORD).
        env.append(
            {
                "name": "HUB_REDIS_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": REDIS_PASSWORD_SECRET, "key": "password"}},
            }
        )
    env += [{"name": k, "value": v} for k, v in service.env.items()]
    return env


def _probe(port: int, *, period: int, failures: int) -> dict:
    return {
        "httpGet": {"path": "/healthz", "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _volumes(service: HubService) -> tuple[list[dict], list[dict]]:
    """Writable scratch under a read-only root, the master secret, Feast's repository."""
    volumes: list[dict] = [
        {"name": "tmp", "emptyDir": {}},
        {"name": "work", "emptyDir": {}},
    ]
    mounts: list[dict] = [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "work", "mountPath": f"{APP_DIR}/.hub"},
    ]
    if service.master_secret:
        volumes.append(
            {
                "name": "master-secret",
                "secret": {"secretName": MASTER_SECRET, "defaultMode": 0o440},
            }
        )
        mounts.append({"name": "master-secret", "mountPath": SECRET_DIR, "readOnly": True})
    if "HUB_FEATURES_FEAST_REPO" in service.env:
        volumes.append(
            {"name": "feast", "persistentVolumeClaim": {"claimName": f"{service.name}-feast"}}
        )
        mounts.append({"name": "feast", "mountPath": service.env["HUB_FEATURES_FEAST_REPO"]})
    return volumes, mounts


def pod_template(service: HubService, image: str, *, redis_password: bool = False) -> dict:
    volumes, mounts = _volumes(service)
    container = {
        "name": service.name.removeprefix("hub-"),
        "image": image,
        "args": list(service.args),
        "ports": [{"name": "http", "containerPort": service.port}],
        "envFrom": [{"configMapRef": {"name": SETTINGS}}],
        "env": _env(service, redis_password),
        "resources": service.resources.manifest(),
        # Catching up with a log (the registry's _schemas, the router's agreements) may take a
        # while at start; after that, a service that stops answering is restarted.
        "startupProbe": _probe(service.port, period=5, failures=60),
        "readinessProbe": _probe(service.port, period=10, failures=3),
        "livenessProbe": _probe(service.port, period=20, failures=3),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    return {
        "metadata": {
            "labels": _labels(service),
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(service.port),
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": {
            "terminationGracePeriodSeconds": service.grace_seconds,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": UID,
                "fsGroup": UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": volumes,
        },
    }


def workload(
    service: HubService, image: str, namespace: str | None, *, redis_password: bool = False
) -> dict:
    """The Deployment (or, for the router, the StatefulSet) of one service."""
    spec: dict = {
        "replicas": service.replicas,
        "selector": {"matchLabels": _labels(service)},
    }
    if service.stateful:
        spec |= {"serviceName": service.name, "podManagementPolicy": "Parallel"}
    elif service.recreate:
        spec["strategy"] = {"type": "Recreate"}
    spec["template"] = pod_template(service, image, redis_password=redis_password)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet" if service.stateful else "Deployment",
        "metadata": metadata(service.name, namespace, **_labels(service)),
        "spec": spec,
    }


def service_manifest(service: HubService, namespace: str | None) -> dict:
    """The Service: a ClusterIP for HTTP clients, a headless one for the router's pods."""
    spec: dict = {
        "selector": _labels(service),
        "ports": [{"name": "http", "port": service.port, "targetPort": "http"}],
    }
    if service.stateful:
        spec = {"clusterIP": "None", **spec}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(service.name, namespace, **_labels(service)),
        "spec": spec,
    }


def disruption_budget(service: HubService, namespace: str | None) -> dict:
    """A drain of nodes takes one router at a time: the others keep routing the group."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(service.name, namespace, **_labels(service)),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _labels(service)}},
    }


def feast_claim(service: HubService, namespace: str | None) -> dict:
    """Feast's repository (registry and Parquet offline store): the history the forecasts train
    on outlives a restart of the pipeline."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(f"{service.name}-feast", namespace, **_labels(service)),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "10Gi"}},
        },
    }


def redis(namespace: str | None) -> list[dict]:
    """Feast's online store: the latest published window per entity. No persistence: after a
    restart the next windows the pipeline publishes fill it again."""
    labels = {"app.kubernetes.io/name": REDIS}
    container = {
        "name": "redis",
        "image": REDIS_IMAGE,
        "args": ["--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"],
        "ports": [{"name": "redis", "containerPort": 6379}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "readinessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 10},
        "livenessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 20},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(REDIS, namespace, **labels),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 999,  # the redis user of the official image
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(REDIS, namespace, **labels),
        "spec": {
            "selector": labels,
            "ports": [{"name": "redis", "port": 6379, "targetPort": "redis"}],
        },
    }
    return [deployment, service]
