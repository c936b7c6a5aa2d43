"""The Kafka cluster as Strimzi resources: ``Kafka``, its ``KafkaNodePool``, the ``KafkaTopic``s
and the super user's ``KafkaUser`` (the other principals' come from ``hub.access.strimzi``).

KRaft with three nodes that are controller and broker at once (a quorum of three survives one
loss), SCRAM-SHA-512 on every listener, ``simple`` authorization (deny by default) with
``hub-admin`` as the only super user: the same shape as ``hub broker start --nodes 3``.
"""

from __future__ import annotations

import re

from hub.access.strimzi import API_VERSION
from hub.deploy.topics import REPLICAS, ClusterTopic

CLUSTER = "hamm-hub"
ADMIN = "hub-admin"
PLAIN_PORT = 9092
TLS_PORT = 9093
PART_OF = {"app.kubernetes.io/part-of": "datendrehscheibe"}


def bootstrap(cluster: str = CLUSTER) -> str:
    """The in-cluster bootstrap address Strimzi gives the plain listener."""
    return f"{cluster}-kafka-bootstrap:{PLAIN_PORT}"


def metadata(name: str, namespace: str | None, **labels: str) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = {**labels, **PART_OF}
    return meta


def kafka(cluster: str = CLUSTER, namespace: str | None = None) -> dict:
    scram = {"type": "scram-sha-512"}
    meta = metadata(cluster, namespace)
    # Node pools and KRaft: implied by Strimzi 0.46 and later, required by older operators.
    meta["annotations"] = {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    return {
        "apiVersion": API_VERSION,
        "kind": "Kafka",
        "metadata": meta,
        "spec": {
            "kafka": {
                "listeners": [
                    # Inside the cluster network the services use SASL_PLAINTEXT on 9092; clients
                    # that cross another network take 9093 with TLS (SASL_SSL).
                    {
                        "name": "plain",
                        "port": PLAIN_PORT,
                        "type": "internal",
                        "tls": False,
                        "authentication": scram,
                    },
                    {
                        "name": "tls",
                        "port": TLS_PORT,
                        "type": "internal",
                        "tls": True,
                        "authentication": scram,
                    },
                ],
                "authorization": {"type": "simple", "superUsers": [ADMIN]},
                "config": {
                    "default.replication.factor": REPLICAS,
                    "offsets.topic.replication.factor": REPLICAS,
                    "transaction.state.log.replication.factor": REPLICAS,
                    "transaction.state.log.min.isr": 2,
                    # Topics are declared (KafkaTopic) or created on purpose by the services.
                    "auto.create.topics.enable": False,
                },
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }


def node_pool(cluster: str = CLUSTER, namespace: str | None = None) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "KafkaNodePool",
        "metadata": metadata("combined", namespace, **{"strimzi.io/cluster": cluster}),
        "spec": {
            "replicas": 3,
            "roles": ["controller", "broker"],
            "storage": {
                "type": "jbod",
                "volumes": [
                    {
                        "id": 0,
                        "type": "persistent-claim",
                        "size": "100Gi",
                        "deleteClaim": False,
                        "kraftMetadata": "shared",
                    }
                ],
            },
            "resources": {
                "requests": {"cpu": "1", "memory": "4Gi"},
                "limits": {"cpu": "2", "memory": "4Gi"},
            },
        },
    }


def admin_user(cluster: str = CLUSTER, namespace: str | None = None) -> dict:
    """The super user needs no ACLs, only a credential (Secret ``hub-admin``), for the work
    only it may do: shared schema types, compatibility, ``hub schemas publish``."""
    meta = metadata(ADMIN, namespace, **{"strimzi.io/cluster": cluster})
    meta["annotations"] = {"hub.stadt.hamm.de/role": "super user"}
    return {
        "apiVersion": API_VERSION,
        "kind": "KafkaUser",
        "metadata": meta,
        "spec": {"authentication": {"type": "scram-sha-512"}},
    }


def resource_name(topic: str) -> str:
    """A Kubernetes name for a topic (``_schemas`` → ``schemas``); the topic's own name stays
    in ``spec.topicName``."""
    name = re.sub(r"[^a-z0-9.-]", "-", topic.lower()).strip("-.")
    if not name:
        raise ValueError(f"topic {topic!r} has no usable Kubernetes name")
    return name


def kafka_topics(
    topics: list[ClusterTopic], cluster: str = CLUSTER, namespace: str | None = None
) -> list[dict]:
    seen: dict[str, str] = {}
    out = []
    for topic in topics:
        spec = topic.spec
        name = resource_name(spec.name)
        if name in seen:
            raise ValueError(f"topics {seen[name]!r} and {spec.name!r} map to one name {name!r}")
        seen[name] = spec.name
        meta = metadata(name, namespace, **{"strimzi.io/cluster": cluster})
        meta["annotations"] = {"hub.stadt.hamm.de/topic-kind": topic.kind}
        out.append(
            {
                "apiVersion": API_VERSION,
                "kind": "KafkaTopic",
                "metadata": meta,
                "spec": {
                    "topicName": spec.name,
                    "partitions": spec.partitions,
                    "replicas": spec.replication,
                    "config": dict(spec.config),
                },
            }
        )
    return out
