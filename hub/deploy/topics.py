"""The cluster's topics, from the catalog: what Strimzi's Topic Operator keeps as ``KafkaTopic``.

Raw topics come from the contracts (``schemas/``), delivery topics from the agreements, feature
outputs from the feature views, progress topics from the departments; the hub's own logs are
fixed. The policy (partitions, replicas, ``min.insync.replicas``, retention) is one table per
kind of topic in ``catalog/topics.yaml``, so a reviewer sees in one place how long what is
kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from hub.access.acls import HubTopics
from hub.access.catalog import load_access_catalog
from hub.schemas.catalog import load_catalog
from hub.topics import TopicSpec

DAY_MS = 24 * 3600 * 1000
POLICY_FILE = Path(__file__).resolve().parents[2] / "catalog" / "topics.yaml"


class TopicPolicyError(ValueError):
    """catalog/topics.yaml is not a valid topic policy; the message names the kind and key."""


@dataclass(frozen=True)
class TopicKind:
    """How every topic of one kind is kept."""

    partitions: int
    config: dict[str, str | int]


def load_policy(path: Path = POLICY_FILE) -> tuple[int, dict[str, TopicKind]]:
    """(replicas, kinds) of ``catalog/topics.yaml``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    replicas = data.get("replicas")
    if not isinstance(replicas, int) or replicas < 1:
        raise TopicPolicyError(f"{path}: replicas: a positive integer, got {replicas!r}")
    kinds: dict[str, TopicKind] = {}
    for kind, raw in (data.get("kinds") or {}).items():
        where = f"{path}: kinds.{kind}"
        unknown = set(raw) - {"partitions", "durable", "retention_days", "compact"}
        if unknown:
            raise TopicPolicyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        partitions = raw.get("partitions")
        if not isinstance(partitions, int) or partitions < 1:
            raise TopicPolicyError(f"{where}.partitions: a positive integer, got {partitions!r}")
        config: dict[str, str | int] = {}
        if raw.get("durable"):
            config["min.insync.replicas"] = 2
        days = raw.get("retention_days")
        if days is not None:
            if not isinstance(days, int) or days < 1:
                raise TopicPolicyError(f"{where}.retention_days: whole days, got {days!r}")
            config["retention.ms"] = days * DAY_MS
        if raw.get("compact"):
            config["cleanup.policy"] = "compact,delete" if days is not None else "compact"
        kinds[kind] = TopicKind(partitions, config)
    return replicas, kinds


REPLICAS, KINDS = load_policy()
IDEMPOTENCY_RETENTION_MS = int(KINDS["idempotency"].config["retention.ms"])


@dataclass(frozen=True)
class ClusterTopic:
    """A topic of the cluster and the kind whose policy it follows."""

    kind: str
    spec: TopicSpec


def _topic(kind: str, name: str) -> ClusterTopic:
    policy = KINDS[kind]
    config = {key: str(value) for key, value in policy.config.items()}
    return ClusterTopic(kind, TopicSpec(name, policy.partitions, REPLICAS, config))


def hub_topics(names: HubTopics | None = None) -> list[ClusterTopic]:
    """The hub's own logs (the ``hub.access`` ledger is left out: on Kubernetes the User
    Operator owns users and ACLs, ``hub access apply`` does not run)."""
    names = names or HubTopics()
    return [
        _topic("registry", names.registry),
        _topic("audit", names.audit),
        _topic("receipts", names.receipts),
        _topic("agreements", names.agreements),
        _topic("rights", names.rights),
        _topic("dead-letters", names.dlq),
        _topic("dead-letters", names.webhooks_dlq),
        _topic("quality", names.quality),
        _topic("state", "hub.features.state"),
        _topic("idempotency", names.gateway_idempotency),
    ]


def feature_views(features_dir: Path) -> list[str]:
    """The names of the feature views (each publishes to ``hub.features.<view>``)."""
    names = []
    for path in sorted(features_dir.glob("*.y*ml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            names.append(data["name"])
    return names


def cluster_topics(catalog_dir: Path, schemas_dir: Path) -> list[ClusterTopic]:
    """Every topic the catalog implies, the hub's first, then by name within each kind."""
    access = load_access_catalog(catalog_dir)
    names = HubTopics()
    raw = sorted(load_catalog(schemas_dir))
    deliveries = sorted({g.delivery_topic for g in access.grants})
    views = feature_views(catalog_dir / "features")
    departments = sorted(access.principals.departments)
    recipients = sorted({g.subscriber for g in access.grants})
    return [
        *hub_topics(names),
        *(_topic("raw", t) for t in raw),
        *(_topic("delivery", t) for t in deliveries),
        *(_topic("rights", names.rights_confirmations + r) for r in recipients),
        *(_topic("features", names.features_prefix + v) for v in views),
        *(_topic("state", names.progress_topic(d)) for d in departments),
    ]
