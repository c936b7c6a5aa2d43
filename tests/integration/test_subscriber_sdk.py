"""The subscriber SDK against the real broker, the hub's registry and the real router: typed
records for every sample agreement, acknowledgements across a crash, a new agreement version
mid-stream, and a subscriber principal under its ACLs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from router_world import REPO, SECRET, STATISTIK, World, resident

from consumers.router.service import Router, RouterConfig
from consumers.subscriber import (
    Delivery,
    Subscription,
    TopicAccessError,
    UndecodableDeliveryError,
    parse_delivery_id,
)
from consumers.subscriber.models import model_of
from hub.agreements.model import load_agreements
from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import AsyncRegistryClient
from producers.sdk import Publisher
from producers.simulators import generate

SAMPLE_AGREEMENTS = load_agreements(REPO / "catalog" / "agreements")
PER_SOURCE = 4  # events per sample source topic


@contextlib.asynccontextmanager
async def routing(config: RouterConfig):
    """The router as a task of this loop, stopped cleanly (batch in flight committed)."""
    async with Router(config, SECRET) as router:
        task = asyncio.create_task(router.run())
        try:
            yield router
        finally:
            router.stop()
            await asyncio.wait_for(task, 30)


async def take(subscription: Subscription, count: int, timeout: float = 60.0) -> list[Delivery]:
    """The next ``count`` deliveries (auto-ack acknowledges each when the next is asked for)."""
    got: list[Delivery] = []

    async def collect() -> None:
        async for delivery in subscription:
            got.append(delivery)
            if len(got) == count:
                return

    await asyncio.wait_for(collect(), timeout)
    return got


async def nothing_more(subscription: Subscription, wait: float = 2.0) -> None:
    with contextlib.suppress(TimeoutError):
        extra = await asyncio.wait_for(subscription.__anext__(), wait)
        pytest.fail(f"unexpected delivery {extra!r}")


def subscribe(world: World, subscriber: str = "statistik", **kw) -> Subscription:
    kw.setdefault("topics", [world.delivery_topic(subscriber)])
    kw.setdefault("name", f"t{uuid.uuid4().hex[:8]}")
    return Subscription(
        subscriber, bootstrap_servers=world.bootstrap, registry_url=world.registry_url, **kw
    )


@pytest.fixture
def world(kafka_bootstrap, registry_url, tmp_path) -> World:
    return World(kafka_bootstrap, registry_url, tmp_path)


# -- every sample agreement, typed -----------------------------------------------------------


def sample_catalog(root: Path, prefix: str) -> tuple[Path, Path]:
    """The repository's agreements and their source schemas, on topics of this test's own:
    ``<prefix><department>.<entity>.<event>``. Agreement ids and subscribers stay as they are,
    so the derived schemas have the shape the committed models were generated from."""
    schemas, agreements = root / "schemas", root / "catalog" / "agreements"
    agreements.mkdir(parents=True)
    shutil.copytree(default_schemas_dir() / "_types", schemas / "_types")  # the shared types
    for agreement in SAMPLE_AGREEMENTS:
        department, entity_event = agreement.source.split(".", 1)
        target = schemas / f"{prefix}{department}" / entity_event
        if not target.exists():
            shutil.copytree(default_schemas_dir() / department / entity_event, target)
        text = Path(agreement.origin).read_text(encoding="utf-8")
        text = text.replace(f"source: {agreement.source}", f"source: {prefix}{agreement.source}")
        (agreements / Path(agreement.origin).name).write_text(text, encoding="utf-8")
    return agreements, schemas


async def test_every_sample_agreement_arrives_as_its_generated_model(
    kafka_bootstrap, registry_url, tmp_path
):
    prefix = "t" + uuid.uuid4().hex[:8]
    agreements_dir, schemas_dir = sample_catalog(tmp_path, prefix)
    sources = sorted({a.source for a in SAMPLE_AGREEMENTS})
    rng = random.Random(7)
    catalog = load_catalog(schemas_dir)
    async with AsyncRegistryClient(registry_url) as registry:
        for source in sources:
            await registry.register(
                f"{prefix}{source}-value", catalog[f"{prefix}{source}"].latest.schema
            )
    for source in sources:
        async with Publisher(
            source=f"/hamm/{source.split('.')[0]}/test", bootstrap_servers=kafka_bootstrap,
            registry_url=registry_url,
        ) as publisher:  # fmt: skip
            await publisher.publish_many(
                f"{prefix}{source}", [generate(source, rng)[1] for _ in range(PER_SOURCE)]
            )
    config = RouterConfig(
        bootstrap=kafka_bootstrap,
        registry_url=registry_url,
        agreements_dir=agreements_dir,
        schemas_dir=schemas_dir,
        group=f"{prefix}-router",
        dlq_topic=f"{prefix}.dlq",
        audit_topic=f"{prefix}.audit",
    )
    by_subscriber: dict[str, list] = {}
    for agreement in SAMPLE_AGREEMENTS:
        by_subscriber.setdefault(agreement.subscriber, []).append(agreement)
    async with routing(config) as router:
        assert not router.table.problems, router.table.problems
        for subscriber, agreements in sorted(by_subscriber.items()):
            topics = [f"deliver.{subscriber}.{prefix}{a.source}" for a in agreements]
            async with Subscription(
                subscriber,
                name=f"{prefix}-sdk",
                topics=topics,
                bootstrap_servers=kafka_bootstrap,
                registry_url=registry_url,
            ) as subscription:
                deliveries = await take(subscription, PER_SOURCE * len(agreements))
            for agreement in agreements:
                mine = [d for d in deliveries if d.agreement_id == agreement.id]
                assert len(mine) == PER_SOURCE, agreement.id
                model = model_of(agreement.id)
                for delivery in mine:
                    assert type(delivery.record) is model, (agreement.id, type(delivery.record))
                    assert delivery.purpose == agreement.purpose == model.PURPOSE
                    assert delivery.legal_basis == agreement.legal_basis
                    assert delivery.topic == f"deliver.{subscriber}.{prefix}{agreement.source}"
                    source = parse_delivery_id(delivery.delivery_id)
                    assert source.agreement_id == agreement.id
                    assert source.source_topic == f"{prefix}{agreement.source}"
                    assert delivery.cloudevent["specversion"] == "1.0"
                    assert delivery.cloudevent["type"] == f"de.hamm.{prefix}{agreement.source}"
                    assert delivery.cloudevent["hubdelivery"] == delivery.delivery_id
                    assert delivery.cloudevent["datacontenttype"] == "application/avro"
                    if agreement.key.kind == "drop":
                        assert delivery.key is None
                    else:
                        assert delivery.key
    assert sum(len(a) for a in by_subscriber.values()) == len(SAMPLE_AGREEMENTS)


# -- acknowledgements ------------------------------------------------------------------------


async def test_unacknowledged_deliveries_come_again_acknowledged_ones_do_not(world):
    world.agree("statistik", STATISTIK)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(10)])
    name = f"t{uuid.uuid4().hex[:8]}"
    async with routing(world.config()):
        async with subscribe(world, name=name, auto_ack=False) as subscription:
            first = await take(subscription, 8)
            for delivery in first[:5]:
                await delivery.ack()
            await first[6].ack()  # out of order: not committable while 5 is open
            assert subscription.outstanding == 2
        # closed without acknowledging 5 and 7: they and what follows come again, 0-4 do not
        async with subscribe(world, name=name) as subscription:
            again = await take(subscription, 5)
            await nothing_more(subscription)
    # 5 and 7 (and 6, acknowledged but behind 5) come again, then the two never read; 0-4 not
    assert [d.delivery_id for d in again[:3]] == [d.delivery_id for d in first[5:]]
    assert not {d.delivery_id for d in first[:5]} & {d.delivery_id for d in again}


async def test_a_handler_that_raises_leaves_its_delivery_unacknowledged(world):
    world.agree("statistik", STATISTIK)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(6)])
    name = f"t{uuid.uuid4().hex[:8]}"
    handled: list[str] = []
    async with routing(world.config()):
        with pytest.raises(RuntimeError, match="handler failed"):
            async with subscribe(world, name=name) as subscription:  # auto-ack
                async for delivery in subscription:
                    if len(handled) == 3:
                        raise RuntimeError("handler failed")
                    handled.append(delivery.delivery_id)
        async with subscribe(world, name=name) as subscription:
            rest = await take(subscription, 3)
            await nothing_more(subscription)
    assert not {d.delivery_id for d in rest} & set(handled)  # handled ones were committed


CRASHING_SUBSCRIBER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from consumers.subscriber import Subscription

    async def main(bootstrap, registry, topic, name):
        async with Subscription("statistik", name=name, topics=[topic], auto_ack=False,
                                bootstrap_servers=bootstrap, registry_url=registry) as sub:
            seen = 0
            async for delivery in sub:
                seen += 1
                if seen <= 5:
                    await delivery.ack()
                if seen == 5:
                    await sub.commit()
                print(delivery.delivery_id, flush=True)
                if seen == 8:
                    os.kill(os.getpid(), signal.SIGKILL)  # no close, no commit of anything else

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def test_a_killed_subscriber_gets_what_it_had_not_acknowledged(world):
    world.agree("statistik", STATISTIK)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(12)])
    name = f"t{uuid.uuid4().hex[:8]}"
    topic = world.delivery_topic("statistik")
    async with routing(world.config()):
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", CRASHING_SUBSCRIBER, world.bootstrap, world.registry_url, topic, name],
            cwd=REPO, env=os.environ.copy(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == -signal.SIGKILL, done.stderr
        printed = done.stdout.split()
        assert len(printed) == 8, done.stderr
        async with subscribe(world, name=name) as subscription:
            again = await take(subscription, 7)
            await nothing_more(subscription)
    assert [d.delivery_id for d in again][:3] == printed[5:]  # 6, 7, 8 came again
    assert not {d.delivery_id for d in again} & set(printed[:5])


async def test_batches_are_acknowledged_as_a_whole(world):
    world.agree("statistik", STATISTIK)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(30)])
    name = f"t{uuid.uuid4().hex[:8]}"
    async with routing(world.config()):
        seen: list[Delivery] = []
        async with subscribe(world, name=name) as subscription:
            async for batch in subscription.batches(max=7, timeout=0.5):
                assert 1 <= len(batch) <= 7
                seen += batch
                if len(seen) >= 14:
                    break
        async with subscribe(world, name=name) as subscription:
            rest: list[Delivery] = []
            async for batch in subscription.batches(max=100, timeout=0.5):
                rest += batch
                if len(seen) + len(rest) >= 30:
                    break
    ids = [d.delivery_id for d in seen + rest]
    assert len(ids) == len(set(ids)) == 30


# -- a new agreement version mid-stream ------------------------------------------------------


async def test_a_new_agreement_version_mid_stream_is_fetched_by_schema_id(world):
    world.agree("statistik", STATISTIK)
    agreement_id = f"{world.dept}-statistik"
    async with routing(world.config(watch_interval=0.3)) as router, subscribe(world) as sdk:
        await asyncio.to_thread(world.produce, [resident(i) for i in range(3)])
        before = await take(sdk, 3)
        first_id = router.table.route(agreement_id).schema_id
        # v2 of the agreement: a reworded purpose, and residence_type no longer delivered
        world.agree(
            "statistik",
            STATISTIK,
            **{
                "purpose: Wanderungsstatistik nach Stadtbezirken": "purpose: Wanderungsstatistik "
                "nach Stadtbezirken und Altersgruppen",
                "  residence_type: keep\n": "",
            },
        )
        for _ in range(100):
            route = router.table.route(agreement_id)
            if route is not None and route.schema_id != first_id:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"the router did not load the new agreement: {router.table.problems}")
        await asyncio.to_thread(world.produce, [resident(i) for i in range(3, 6)])
        after = await take(sdk, 3)
    assert {d.schema_id for d in before} == {first_id}
    assert {d.schema_id for d in after} == {route.schema_id}
    assert all(d.purpose == "Wanderungsstatistik nach Stadtbezirken" for d in before)
    assert all(d.purpose.endswith("und Altersgruppen") for d in after)
    assert all("residence_type" in d.record for d in before)  # dicts: no model for test worlds
    assert all("residence_type" not in d.record for d in after)


# -- undecodable records ---------------------------------------------------------------------


async def test_an_undecodable_record_is_raised_not_skipped_until_the_subscriber_skips_it(world):
    world.agree("statistik", STATISTIK)
    topic = world.delivery_topic("statistik")
    async with routing(world.config()):
        await asyncio.to_thread(world.produce, [resident(1)])
        async with subscribe(world) as sdk:
            await take(sdk, 1)
            # someone with write access puts garbage on the topic (only hub-router may, normally)
            from confluent_kafka import Producer
            from identity import confluent_security

            producer = Producer({"bootstrap.servers": world.bootstrap, **confluent_security()})
            producer.produce(topic, b"\x00\x00\x0f\x42\x40garbage", key=b"k")
            producer.produce(topic, b"not avro", key=b"k")
            assert producer.flush(30) == 0
            await asyncio.to_thread(world.produce, [resident(2)])
            for _ in range(2):  # raised again and again: never silently skipped
                with pytest.raises(UndecodableDeliveryError) as caught:
                    await take(sdk, 1)
                assert caught.value.topic == topic and caught.value.schema_id == 1_000_000
                assert f"{topic}/0/{caught.value.offset} (schema id 1000000)" in str(caught.value)
            await sdk.skip(caught.value)  # the subscriber's decision
            with pytest.raises(UndecodableDeliveryError, match="not Confluent wire format") as bad:
                await take(sdk, 1)
            await sdk.skip(bad.value)
            last = await take(sdk, 1)
    assert last[0].record["residence_type"] == "MAIN"


# -- the subscriber as its own principal, under its ACLs -------------------------------------


async def test_the_subscriber_principal_reads_its_deliveries_and_is_refused_others(
    world, kafka_security, router_security, kafka_principal
):
    world.govern(kafka_security, router_security)
    world.agree("statistik", STATISTIK)
    from router_world import ORDNUNGSAMT

    world.agree("ordnungsamt", ORDNUNGSAMT)
    statistik = kafka_principal("statistik")
    await asyncio.to_thread(world.produce, [resident(i) for i in range(4)])
    async with routing(world.config()):
        # Discovery by agreement finds what was delivered under it: once the router has (on a
        # busy machine a subscription started at once could look before the topic is seen).
        await asyncio.to_thread(world.read, world.delivery_topic("statistik"), 4, settle=0)
        async with Subscription(
            "statistik",
            name=f"t{uuid.uuid4().hex[:8]}",
            agreements=[f"{world.dept}-statistik"],  # found through the registry's x-agreement
            bootstrap_servers=world.bootstrap,
            registry_url=world.registry_url,
            security=statistik,
        ) as subscription:
            assert subscription.topics == [world.delivery_topic("statistik")]
            deliveries = await take(subscription, 4)
        assert {d.agreement_id for d in deliveries} == {f"{world.dept}-statistik"}
        # discovery sees what the ACLs show: its own delivery topics, never another's
        async with Subscription(
            "statistik",
            name=f"t{uuid.uuid4().hex[:8]}",
            bootstrap_servers=world.bootstrap,
            registry_url=world.registry_url,
            security=statistik,
        ) as everything:
            assert world.delivery_topic("statistik") in everything.topics
            assert all(t.startswith("deliver.statistik.") for t in everything.topics)
            assert world.delivery_topic("ordnungsamt") not in everything.topics
        # another subscriber's deliveries: refused by the broker, said in one line
        with pytest.raises(TopicAccessError, match="'statistik' may not read") as refused:
            async with Subscription(
                "statistik",
                topics=[world.delivery_topic("ordnungsamt")],
                bootstrap_servers=world.bootstrap,
                registry_url=world.registry_url,
                security=statistik,
            ):
                pass
        assert world.delivery_topic("ordnungsamt") in str(refused.value)
        assert statistik.credentials.password not in str(refused.value)
