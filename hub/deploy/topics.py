"""The cluster's topics, from the catalog: what Strimzi's Topic Operator keeps as ``KafkaTopic``.

Raw topics come from the contracts (``schemas/``), delivery topics from the agreements, feature
outputs from the feature views, progress topics from the departments; the hub's own logs are
fixed. The policy (partitions, replicas, ``min.insync.replicas``, retention) is one table per
kind of topic, so a reviewer sees in one place how long what is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from hub.access.acls import HubTopics
from hub.access.catalog import load_access_catalog
from hub.schemas.catalog import load_catalog
from hub.topics import TopicSpec

REPLICAS = 3
DAY_MS = 24 * 3600 * 1000
# Audit and receipts answer Art. 15 and Art. 30 questions: kept three years (the regular
# limitation period, § 195 BGB), longer than any delivery they describe.
AUDIT_RETENTION_MS = 3 * 365 * DAY_MS
RECEIPTS_TOPIC = "hub.receipts"
QUALITY_TOPIC = "hub.quality"
# producers/gateway/idempotency.py keeps an Idempotency-Key 24 h (a test checks they agree).
IDEMPOTENCY_RETENTION_MS = DAY_MS


@dataclass(frozen=True)
class TopicKind:
    """How every topic of one kind is kept."""

    partitions: int
    config: dict[str, str | int]


DURABLE = {"min.insync.replicas": 2}  # with acks=all a write survives the loss of one node
COMPACT = {"cleanup.policy": "compact"}

KINDS: dict[str, TopicKind] = {
    # Six partitions: up to six routers (and subscribers) share the load of one data set.
    "raw": TopicKind(6, {**DURABLE, "retention.ms": 7 * DAY_MS}),
    "delivery": TopicKind(6, {**DURABLE, "retention.ms": 7 * DAY_MS}),
    "audit": TopicKind(1, {**DURABLE, "retention.ms": AUDIT_RETENTION_MS}),
    "receipts": TopicKind(6, {**DURABLE, "retention.ms": AUDIT_RETENTION_MS}),
    "registry": TopicKind(1, {**DURABLE, **COMPACT}),  # one partition: the log is the sequencer
    "dead-letters": TopicKind(1, {"retention.ms": 30 * DAY_MS}),  # a month to fix and replay
    "quality": TopicKind(1, COMPACT),
    "state": TopicKind(1, COMPACT),
    "features": TopicKind(1, {"retention.ms": 30 * DAY_MS}),
    "idempotency": TopicKind(
        1, {"cleanup.policy": "compact,delete", "retention.ms": IDEMPOTENCY_RETENTION_MS}
    ),
}


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
        _topic("receipts", RECEIPTS_TOPIC),
        _topic("dead-letters", names.dlq),
        _topic("dead-letters", names.webhooks_dlq),
        _topic("quality", QUALITY_TOPIC),
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
    return [
        *hub_topics(names),
        *(_topic("raw", t) for t in raw),
        *(_topic("delivery", t) for t in deliveries),
        *(_topic("features", names.features_prefix + v) for v in views),
        *(_topic("state", names.progress_topic(d)) for d in departments),
    ]
