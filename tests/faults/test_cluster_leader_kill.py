"""A three-node cluster (`hub broker start --nodes 3`, authenticated like the single node):
the leader of the partition SDK events go to is SIGKILLed mid-stream; with acks=all and the
idempotent producer every acknowledged event is on the topic exactly once, none is lost, and the
killed node restarts and rejoins the in-sync replicas."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

from committed import read_committed
from confluent_kafka.admin import AdminClient, NewTopic

from hub.broker.cluster import LocalCluster
from hub.kafka import KafkaSecurity
from producers.sdk import Publisher

REPO = Path(__file__).resolve().parents[2]
TREE = REPO / "schemas" / "umweltamt" / "tree.inspected" / "v1.avsc"


def _partition_leader(admin: AdminClient, topic: str) -> tuple[int, list[int]]:
    meta = admin.list_topics(topic, timeout=20).topics[topic].partitions[0]
    return meta.leader, list(meta.isrs)


def tree(i: int) -> dict:
    import datetime as dt

    return {
        "tree_id": f"B-{i}",
        "occurred_at": dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC),
        "location": {"lat": 51.68, "lon": 7.82},
        "species": "Tilia cordata",
        "trunk_circumference_cm": 120,
        "height_m": 14.5,
        "condition": "HEALTHY",
        "measures": [],
        "inspector_id": "UA-3",
        "next_inspection_due": dt.date(2027, 11, 25),
    }


async def test_the_leader_killed_mid_stream_loses_and_doubles_nothing(
    cluster: LocalCluster, kafka_security: KafkaSecurity
):
    from hub.access.principals import load_principals
    from hub.registry.auth import authenticator_for
    from hub.registry.server import RegistryThread
    from hub.schemas.catalog import standalone_schema
    from hub.serde import RegistryClient

    bootstrap = cluster.bootstrap
    admin = AdminClient({"bootstrap.servers": bootstrap, **kafka_security.confluent()})
    topic = f"umweltamt.tree.inspected-{uuid.uuid4().hex[:6]}"
    for future in admin.create_topics(
        [NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})]
    ).values():
        future.result(30)
    with RegistryThread(
        bootstrap,
        topic=f"_schemas-cluster-{uuid.uuid4().hex[:6]}",
        replication_factor=3,
        security=kafka_security,
        principals=load_principals(REPO / "catalog" / "departments.yaml"),
        authenticator=authenticator_for(bootstrap, kafka_security),
    ) as registry:
        with RegistryClient(registry.url) as client:
            client.register(f"{topic}-value", standalone_schema(TREE))
        leader, isr = _partition_leader(admin, topic)
        assert sorted(isr) == [1, 2, 3]

        acknowledged: list[str] = []
        async with Publisher(
            source="/hamm/umweltamt/baumkataster",
            bootstrap_servers=bootstrap,
            registry_url=registry.url,
            security=kafka_security,
        ) as publisher:
            for batch in range(40):
                if batch == 10:  # mid-stream: the partition's leader dies
                    pid = int(cluster.node(leader).pid_file.read_text().split()[0])
                    os.kill(pid, signal.SIGKILL)
                published = await publisher.publish_many(
                    topic, [tree(batch * 50 + i) for i in range(50)]
                )
                acknowledged += [p.event_id for p in published]
        assert len(acknowledged) == 2000

        messages = await asyncio.to_thread(
            lambda: read_committed(bootstrap, topic, 2000, timeout=60.0, settle=2.0)
        )
        ids = [dict(m.headers())["ce_id"].decode() for m in messages]
        assert len(ids) == len(set(ids)) == 2000  # none doubled
        assert set(ids) == set(acknowledged)  # none lost

        new_leader, _ = _partition_leader(admin, topic)
        assert new_leader != leader
        await asyncio.to_thread(cluster.start_node, leader)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sorted(_partition_leader(admin, topic)[1]) == [1, 2, 3]:
                break
            await asyncio.sleep(1)
        else:
            raise AssertionError("the restarted node did not rejoin the in-sync replicas")
