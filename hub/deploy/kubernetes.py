"""``hub deploy kubernetes``: every manifest the hub needs on Kubernetes, rendered from the catalog.

Pure: ``manifests`` returns the files as lists of dicts, ``render`` turns one into YAML; only
the CLI writes. ``kafka-users.yaml`` is the very output of ``hub access export --format
strimzi`` (same function, same bytes), so the two commands never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from hub import __version__
from hub.access.catalog import load_access_catalog
from hub.access.service import hub_topics as access_topics
from hub.access.service import today_in_hamm
from hub.access.strimzi import kafka_users
from hub.access.strimzi import render as render_users
from hub.deploy import cluster, services
from hub.deploy.topics import cluster_topics
from hub.settings import Settings

IMAGE_REPOSITORY = "ghcr.io/stadt-hamm/datendrehscheibe"
DEFAULT_IMAGE = f"{IMAGE_REPOSITORY}:{__version__}"
USERS_FILE = "kafka-users.yaml"
# registry[:port]/path[:tag][@sha256:digest], lower case as registries require
_IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+(?=/))?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")


class _Dumper(yaml.SafeDumper):
    """Writes a value shared by two manifests twice, not as a YAML anchor and alias."""

    def ignore_aliases(self, data: object) -> bool:
        return True


class DeployError(ValueError):
    """A parameter of the rendering is not usable; the message says which and why."""


@dataclass(frozen=True)
class Target:
    """Where and what to deploy: the image every hub container runs, the namespace (None: the
    manifests name none, ``kubectl apply -n`` decides), the Redis of Feast's online store
    (None: the one these manifests run) and the portal's public address."""

    image: str = DEFAULT_IMAGE
    namespace: str | None = None
    redis: str | None = None
    portal_url: str | None = None

    def __post_init__(self) -> None:
        check_image(self.image)
        if self.namespace is not None:
            check_namespace(self.namespace)
        if self.redis is not None and not _HOST_PORT.match(self.redis):
            raise DeployError(
                f"--redis: expected host:port of the city's Redis, got {self.redis!r}"
            )
        if self.portal_url is not None and not re.match(r"^https?://[^/\s]+", self.portal_url):
            raise DeployError(f"--portal-url: expected an http(s) URL, got {self.portal_url!r}")


def check_image(image: str) -> None:
    match = _IMAGE.match(image)
    if not match:
        raise DeployError(
            f"--image: {image!r} is not an image name like {IMAGE_REPOSITORY}:<version>"
        )
    if not match["tag"] and not match["digest"]:
        raise DeployError(f"--image: {image!r} has no tag: name the version, e.g. {DEFAULT_IMAGE}")
    if match["tag"] == "latest" and not match["digest"]:
        # a tag that moves makes a rollout unrepeatable and a rollback impossible
        raise DeployError(f"--image: {image!r}: pin a version instead of latest")


def check_namespace(namespace: str) -> None:
    if not namespace.strip():
        raise DeployError("--namespace is empty: name one, or leave the option out (kubectl -n)")
    if not _NAMESPACE.match(namespace):
        raise DeployError(
            f"--namespace: {namespace!r} is not a Kubernetes namespace (lower-case letters, "
            "digits and '-', at most 63, starting and ending with a letter or digit)"
        )


def _online_store(target: Target) -> str:
    if target.redis is None:
        return f"{services.REDIS}:6379"
    # Kubernetes substitutes $(VAR) from the container's earlier variables: the password
    # stays in the Secret.
    return f"{target.redis},password=$(HUB_REDIS_PASSWORD)"


def workloads(target: Target) -> dict[str, list[dict]]:
    """One file per service: its workload, Service, and what else belongs to it alone."""
    ns = target.namespace
    files: dict[str, list[dict]] = {}
    for service in services.hub_services(_online_store(target)):
        if service.name == "hub-portal" and target.portal_url:
            service = _with_env(service, HUB_PORTAL_BASE_URL=target.portal_url)
        docs = []
        if "HUB_FEATURES_FEAST_REPO" in service.env:
            docs.append(services.feast_claim(service, ns))
        docs.append(
            services.workload(service, target.image, ns, redis_password=target.redis is not None)
        )
        if service.http or service.stateful:
            docs.append(services.service_manifest(service, ns))
        if service.stateful:
            docs.append(services.disruption_budget(service, ns))
        files[f"{service.name}.yaml"] = docs
    if target.redis is None:
        files["hub-redis.yaml"] = services.redis(ns)
    return files


def _with_env(service: services.HubService, **env: str) -> services.HubService:
    return replace(service, env={**service.env, **env})


def manifests(settings: Settings, target: Target) -> dict[str, list[dict]]:
    """Every file of the deployment, by name."""
    catalog_dir, schemas_dir = settings.catalog_dir, settings.schemas_dir
    ns = target.namespace
    access = load_access_catalog(catalog_dir)
    bindings = access.bindings(today_in_hamm(), access_topics(settings))
    return {
        "kafka-cluster.yaml": [
            cluster.kafka(cluster.CLUSTER, ns),
            cluster.node_pool(cluster.CLUSTER, ns),
            cluster.admin_user(cluster.CLUSTER, ns),
        ],
        "kafka-topics.yaml": cluster.kafka_topics(
            cluster_topics(catalog_dir, schemas_dir), cluster.CLUSTER, ns
        ),
        USERS_FILE: kafka_users(bindings, access.principals, cluster=cluster.CLUSTER, namespace=ns),
        "hub-settings.yaml": [services.settings_config_map(cluster.bootstrap(), ns)],
        **workloads(target),
    }


def render(name: str, docs: list[dict]) -> str:
    """One file's YAML; the users file exactly as ``hub access export`` writes it."""
    if name == USERS_FILE:
        return render_users(docs)
    header = (
        "# Generated by `hub deploy kubernetes` from catalog/ and schemas/: do not edit by hand.\n"
    )
    return header + yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def render_all(settings: Settings, target: Target) -> dict[str, str]:
    return {name: render(name, docs) for name, docs in manifests(settings, target).items()}


def write(out: Path, files: dict[str, str]) -> list[Path]:
    """Write the files into ``out`` (created if missing); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(files.items()):
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
