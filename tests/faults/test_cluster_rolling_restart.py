"""A rolling restart of the three nodes under load, as an operator upgrades a cluster: one node
at a time is stopped (SIGTERM), started again and waited for until every partition is fully
replicated; meanwhile a department publishes (idempotent, acks=all) and the router routes
(transactions). Every event is delivered exactly once: none lost, none doubled."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path

from committed import read_committed
from confluent_kafka.admin import AdminClient, NewTopic
from router_world import STATISTIK, World, resident
from test_router import running

from hub.broker.cluster import LocalCluster
from hub.kafka import KafkaSecurity

REPO = Path(__file__).resolve().parents[2]
EVENTS = 1500


def _fully_replicated(admin: AdminClient, topics: list[str]) -> bool:
    meta = admin.list_topics(timeout=20).topics
    for topic in topics:
        if topic not in meta:
            return False
        for partition in meta[topic].partitions.values():
            if len(partition.isrs) < 3:
                return False
    return True


def _wait_replicated(admin: AdminClient, topics: list[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not _fully_replicated(admin, topics):
        if time.monotonic() > deadline:
            raise AssertionError(f"not fully replicated after {timeout} s: {topics}")
        time.sleep(0.5)


async def test_a_rolling_restart_loses_and_doubles_no_delivery(
    cluster: LocalCluster, kafka_security: KafkaSecurity, tmp_path
):
    from hub.access.principals import load_principals
    from hub.registry.auth import authenticator_for
    from hub.registry.server import RegistryThread

    bootstrap = cluster.bootstrap
    admin = AdminClient({"bootstrap.servers": bootstrap, **kafka_security.confluent()})
    with RegistryThread(
        bootstrap,
        topic=f"_schemas-rolling-{uuid.uuid4().hex[:6]}",
        replication_factor=3,
        security=kafka_security,
        principals=load_principals(REPO / "catalog" / "departments.yaml"),
        authenticator=authenticator_for(bootstrap, kafka_security),
    ) as registry:
        world = World(bootstrap, registry.url, tmp_path)
        for future in admin.create_topics([NewTopic(world.source, 3, 3)]).values():
            future.result(30)
        world.agree("statistik", STATISTIK)
        delivery = world.delivery_topic("statistik")
        async with running(world) as router:
            await asyncio.to_thread(world.produce, [resident(0)])
            while router.committed_events < 1:
                await asyncio.sleep(0.1)
            topics = [world.source, delivery]
            await asyncio.to_thread(_wait_replicated, admin, topics)

            done = threading.Event()

            def publish() -> None:  # a steady stream through the whole restart
                try:
                    for n in range(1, EVENTS, 50):
                        world.produce([resident(i) for i in range(n, min(n + 50, EVENTS))])
                        time.sleep(0.15)
                finally:
                    done.set()

            publisher = threading.Thread(target=publish, name="publisher")
            publisher.start()
            for node in (1, 2, 3):
                await asyncio.to_thread(cluster.node(node).stop, 30)
                await asyncio.to_thread(cluster.start_node, node)
                await asyncio.to_thread(_wait_replicated, admin, topics)
            await asyncio.to_thread(done.wait, 120)
            publisher.join()
            messages = await asyncio.to_thread(
                lambda: read_committed(bootstrap, delivery, EVENTS, timeout=120.0, settle=3.0)
            )
    ids = [dict(m.headers())["ce_hubdelivery"].decode() for m in messages]
    assert len(ids) == len(set(ids)), "a delivery was doubled"
    assert len(ids) == EVENTS, f"{EVENTS - len(ids)} deliveries lost"
