"""The router against the real broker and the hub's registry, with confluent-kafka as the
independent producer and consumer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import registry_config
from ports import free_port
from router_world import CANARY, ORDNUNGSAMT, SECRET, STATISTIK, World, resident

from consumers.router.deadletter import parse_dead_letter
from consumers.router.service import Router
from hub.topics import TopicSpec, ensure_topics


@pytest.fixture
def world(kafka_bootstrap, registry_url, tmp_path, kafka_security, router_security) -> World:
    """Every router test runs the router as hub-router under the ACLs of its world's catalog."""
    return World(kafka_bootstrap, registry_url, tmp_path).govern(kafka_security, router_security)


@contextlib.asynccontextmanager
async def running(world: World, **overrides):
    """The router as a task of this loop, stopped cleanly (batch in flight committed)."""
    async with Router(world.config(**overrides), SECRET) as router:
        task = asyncio.create_task(router.run())
        try:
            yield router
        finally:
            router.stop()
            await asyncio.wait_for(task, 30)


def decode_all(world: World, topic: str, messages: list) -> list[dict]:
    deserializer = AvroDeserializer(SchemaRegistryClient(registry_config(world.registry_url)))
    ctx = SerializationContext(topic, MessageField.VALUE)
    return [deserializer(m.value(), ctx) for m in messages]


async def read(world: World, topic: str, expected: int, **kw) -> list:
    return await asyncio.to_thread(world.read, topic, expected, **kw)


@pytest.mark.parametrize("workers", [0, 2])
async def test_delivers_only_what_agreements_allow_and_no_canary_leaks(world, workers):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", STATISTIK)
    records = [resident(i) for i in range(20)] + [resident(99, city="Dortmund")]
    await asyncio.to_thread(world.produce, records)
    async with running(world, workers=workers):
        ordnung = await read(world, world.delivery_topic("ordnungsamt"), 20)
        statistik = await read(world, world.delivery_topic("statistik"), 21)
    assert len(ordnung) == 20  # the Dortmund move is filtered out by `where`
    assert len(statistik) == 21

    # Nothing planted appears anywhere in any delivered byte: keys, values or headers.
    for message in ordnung + statistik:
        blob = (message.key() or b"") + message.value() + b"".join(v for _, v in message.headers())
        for planted in CANARY.values():
            assert planted.encode() not in blob, planted

    values = decode_all(world, world.delivery_topic("ordnungsamt"), ordnung)
    assert set(values[0]) == {"resident_id", "birth_date", "new_address", "moved_at"}
    assert values[0]["new_address"] == {"postcode": "59077", "city": "Hamm"}
    # truncated to the day, as the city counts days (Europe/Berlin)
    assert values[0]["moved_at"].astimezone(ZoneInfo("Europe/Berlin")).hour == 0
    stats = decode_all(world, world.delivery_topic("statistik"), statistik)
    assert {v["new_address"]["postcode"] for v in stats} == {"590"}
    headers = dict(ordnung[0].headers())
    assert headers["ce_type"] == b"de.hamm.buergeramt.resident.moved"
    assert headers["ce_hubagreement"] == f"{world.dept}-ordnungsamt".encode()
    assert "ce_subject" not in headers and "x-internal-user" not in headers


async def test_pseudonyms_are_unlinkable_across_subscribers(world):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", STATISTIK)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(5)])
    async with running(world):
        a = await read(world, world.delivery_topic("ordnungsamt"), 5)
        b = await read(world, world.delivery_topic("statistik"), 5)
    keys_a, keys_b = {m.key() for m in a}, {m.key() for m in b}
    assert len(keys_a) == len(keys_b) == 5
    assert not keys_a & keys_b  # the same residents, no shared pseudonym
    ids_a = {v["resident_id"] for v in decode_all(world, world.delivery_topic("ordnungsamt"), a)}
    ids_b = {v["resident_id"] for v in decode_all(world, world.delivery_topic("statistik"), b)}
    assert not ids_a & ids_b


@pytest.mark.parametrize("workers", [0, 2])
async def test_poison_messages_go_to_the_dlq_and_the_stream_goes_on(world, workers):
    world.agree("statistik", STATISTIK)
    await asyncio.to_thread(world.produce, [resident(1)])
    await asyncio.to_thread(world.produce_raw, b"\x01not avro at all", b"bad-magic")
    await asyncio.to_thread(world.produce_raw, b"\x00\x00\x0f\x42\x40garbage", b"unknown-id")
    good = await asyncio.to_thread(world.read, world.source, 1)
    truncated = good[0].value()[:8]
    await asyncio.to_thread(world.produce_raw, truncated, b"truncated")
    await asyncio.to_thread(world.produce_raw, None, b"tombstone")
    await asyncio.to_thread(world.produce, [resident(2)])
    async with running(world, workers=workers) as router:
        delivered = await read(world, world.delivery_topic("statistik"), 2)
        dead = await read(world, world.dlq, 4)
    assert len(delivered) == 2  # the good events on both sides of the poison
    reasons = {}
    for message in dead:
        reason, _original = parse_dead_letter(message.headers() or [])
        reasons[message.key()] = reason.error_class
        assert reason.topic == world.source and reason.offset >= 0
    assert reasons == {
        b"bad-magic": "MagicByteError",
        b"unknown-id": "UnknownSchemaError",
        b"truncated": "DecodeError",
        b"tombstone": "EmptyValueError",
    }
    assert router.committed_batches >= 1


async def test_expired_agreement_delivers_nothing(world):
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    world.agree("statistik", STATISTIK, **{"valid_until: 2099-12-31": f"valid_until: {yesterday}"})
    world.agree("ordnungsamt", ORDNUNGSAMT)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(3)])
    async with running(world):
        await read(world, world.delivery_topic("ordnungsamt"), 3)
        expired = await read(world, world.delivery_topic("statistik"), 1, timeout=3)
    assert expired == []


@pytest.mark.parametrize("workers", [0, 2])
async def test_reload_picks_up_a_new_agreement_without_loss(world, workers):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    async with running(world, workers=workers) as router:
        await asyncio.to_thread(world.produce, [resident(i) for i in range(3)])
        await read(world, world.delivery_topic("ordnungsamt"), 3)
        world.agree("statistik", STATISTIK)  # the file watcher notices
        for _ in range(100):
            if len(router.table.routes) == 2:
                break
            await asyncio.sleep(0.1)
        assert len(router.table.routes) == 2
        await asyncio.to_thread(world.produce, [resident(i) for i in range(3, 6)])
        ordnung = await read(world, world.delivery_topic("ordnungsamt"), 6)
        statistik = await read(world, world.delivery_topic("statistik"), 3)
    assert len(ordnung) == 6  # nothing lost or doubled across the reload
    assert len(statistik) == 3  # the new agreement delivers from when it came into force


async def test_new_personal_field_in_v2_never_leaks(world):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", STATISTIK)
    world.add_v2_with_phone()
    await asyncio.to_thread(world.produce, [resident(1)], 1)
    await asyncio.to_thread(world.produce, [resident(2, phone=CANARY["phone"])], 2)
    async with running(world):
        delivered = await read(world, world.delivery_topic("ordnungsamt"), 2)
        delivered += await read(world, world.delivery_topic("statistik"), 2)
    assert len(delivered) == 4
    for message in delivered:
        assert CANARY["phone"].encode() not in message.value()
    for value in decode_all(world, world.delivery_topic("statistik"), delivered[2:]):
        assert "phone" not in value


async def test_audit_records_every_delivery(world):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(7)])
    await asyncio.to_thread(world.produce, [resident(8, city="Unna")])
    async with running(world):
        await read(world, world.delivery_topic("ordnungsamt"), 7)
        audit = await read(world, world.audit, 1)
    records = decode_all(world, world.audit, audit)
    assert sum(r["delivered"] for r in records) == 7
    assert sum(r["filtered"] for r in records) == 1
    first = records[0]
    assert first["agreement_id"] == f"{world.dept}-ordnungsamt"
    assert first["legal_basis"] == "§ 34 Abs. 1 BMG"
    assert first["source_topic"] == world.source
    assert {f["path"] for f in first["fields"]} >= {"resident_id", "new_address.postcode"}


@pytest.mark.parametrize("workers", ["0", "2"])
def test_sigkill_mid_stream_then_restart_delivers_each_event_exactly_once(world, workers):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    total = 3000
    env = {**os.environ, **world.env(), "HUB_LOG_FORMAT": "text", "HUB_ROUTER_WORKERS": workers}
    secret = world.root / "secret"
    secret.write_bytes(SECRET)
    env["HUB_SECRET_FILE"] = str(secret)
    command = [sys.executable, "-m", "hub", "router", "run"]

    def start() -> subprocess.Popen:
        return subprocess.Popen(command, env=env, cwd=world.root, stderr=subprocess.PIPE)

    world.produce([resident(i) for i in range(total // 2)])
    router = start()
    try:
        # Kill it while it works: as soon as the first deliveries are committed.
        first = world.read(world.delivery_topic("ordnungsamt"), 1, timeout=60, settle=0)
        assert first, router.stderr and router.stderr.read1().decode()
        world.produce([resident(i) for i in range(total // 2, total)])
        router.send_signal(signal.SIGKILL)
        router.wait(10)
        router = start()
        delivered = world.read(world.delivery_topic("ordnungsamt"), total, timeout=120, settle=3)
    finally:
        router.send_signal(signal.SIGTERM)
        try:
            router.wait(30)
        except subprocess.TimeoutExpired:
            router.kill()
    ids = Counter(dict(m.headers())["ce_hubdelivery"] for m in delivered)
    assert len(ids) == total, f"{total - len(ids)} events lost"
    assert max(ids.values()) == 1, "duplicates delivered"


def test_metrics_and_sigterm_stop_cleanly(world):
    world.agree("statistik", STATISTIK)
    port = free_port()
    env = {
        **os.environ,
        **world.env(),
        "HUB_LOG_FORMAT": "json",
        "HUB_ROUTER_METRICS_PORT": str(port),
        "HUB_ROUTER_WORKERS": "2",  # SIGTERM also ends the routing processes
    }
    secret = world.root / "secret"
    secret.write_bytes(SECRET)
    env["HUB_SECRET_FILE"] = str(secret)
    router = subprocess.Popen(
        [sys.executable, "-m", "hub", "router", "run"],
        env=env,
        cwd=world.root,
        stderr=subprocess.PIPE,
        text=True,
    )
    world.produce([resident(i) for i in range(50)])
    assert len(world.read(world.delivery_topic("statistik"), 50, timeout=60)) == 50
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    agreement = f'agreement="{world.dept}-statistik"'
    assert f"hub_router_deliveries_total{{{agreement}}} 50.0" in metrics
    assert f'hub_router_events_total{{topic="{world.source}"}} 50.0' in metrics
    assert "hub_router_delivery_lag_seconds_bucket" in metrics
    assert 'hub_router_agreements{state="loaded"} 1.0' in metrics
    assert "hub_router_workers 2.0" in metrics
    started = time.monotonic()
    router.send_signal(signal.SIGTERM)
    _, stderr = router.communicate(timeout=30)
    assert router.returncode == 0, stderr
    assert time.monotonic() - started < 30
    assert '"msg":"router stopped"' in stderr
    assert not _children(router.pid), "routing processes left behind"


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the router's workers)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
            if fields.get("PPid", "").strip() == str(pid):
                found.append(int(status.parent.name))
    return found


def test_two_router_instances_share_the_topic_and_deliver_each_event_once(world):
    """Scaling out: two instances in one group, each with its own transactional id."""
    asyncio.run(ensure_topics(world.bootstrap, [TopicSpec(world.source, partitions=2)]))
    world.agree("statistik", STATISTIK)
    secret = world.root / "secret"
    secret.write_bytes(SECRET)
    routers = []
    try:
        for instance in ("0", "1"):
            env = {**os.environ, **world.env(), "HUB_SECRET_FILE": str(secret)}
            env["HUB_ROUTER_INSTANCE"] = instance
            routers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "hub", "router", "run"], env=env, cwd=world.root
                )
            )
        world.produce([resident(i) for i in range(400)])
        delivered = world.read(world.delivery_topic("statistik"), 400, timeout=120, settle=3)
    finally:
        for router in routers:
            router.send_signal(signal.SIGTERM)
        for router in routers:
            assert router.wait(30) == 0
    ids = Counter(dict(m.headers())["ce_hubdelivery"].decode() for m in delivered)
    assert len(ids) == 400 and max(ids.values()) == 1
    assert {i.rsplit("/", 2)[-2] for i in ids} == {"0", "1"}  # both source partitions routed


@pytest.mark.parametrize("workers", [0, 2])
async def test_a_failed_commit_reads_both_batches_in_flight_again(world, workers):
    """While batch n commits, batch n+1 is fetched (and, with workers, routed); when n's
    transaction fails, both are read again from n's first offset: nothing lost or twice."""
    world.agree("statistik", STATISTIK)
    total = 600
    calls = 0
    await asyncio.to_thread(world.produce, [resident(i) for i in range(total)])
    async with running(world, max_batch=100, workers=workers) as router:
        # patched before the router's task first runs: no batch has been committed yet
        commit = router.commit

        async def fail_the_second(outcome, offsets, group):
            nonlocal calls
            calls += 1
            if calls == 2:
                from consumers.router.kafka import BrokerUnreachable

                raise BrokerUnreachable("injected: the broker went away")
            await commit(outcome, offsets, group)

        router.commit = fail_the_second
        router.config.retry_backoff = 0.1
        rewind = router._rewind
        rewound = []

        def record_rewind(*batches):
            rewound.append([sum(len(r) for r in b.values()) for b in batches])
            rewind(*batches)

        router._rewind = record_rewind
        delivered = await read(world, world.delivery_topic("statistik"), total, settle=2)
    assert calls > 2
    assert rewound[0] == [100, 100], rewound  # the failed batch and the one routed meanwhile
    ids = Counter(dict(m.headers())["ce_hubdelivery"] for m in delivered)
    assert len(ids) == total and max(ids.values()) == 1


def slow_first_commit(router: Router, seconds: float) -> asyncio.Event:
    """Hold the router's first commit for ``seconds`` (what arrives meanwhile is fetched and
    routed while it is in flight); the event is set when that commit began."""
    began, commit = asyncio.Event(), router.commit

    async def slow_first(outcome, offsets, group):
        if not began.is_set():
            began.set()
            await asyncio.sleep(seconds)
        await commit(outcome, offsets, group)

    router.commit = slow_first
    return began


async def test_what_arrives_while_a_commit_is_in_flight_joins_the_next_transaction(world):
    """Group commit: events produced while one transaction commits are fetched and routed
    meanwhile, and all go out in the one transaction after it (not one per fetch)."""
    world.agree("statistik", STATISTIK)
    arrivals = 300
    async with running(world) as router:
        first_commit = slow_first_commit(router, 2)
        await asyncio.to_thread(world.produce, [resident(0)])
        await asyncio.wait_for(first_commit.wait(), 60)
        for start in range(1, arrivals + 1, 100):  # three produce calls, three fetches at least
            await asyncio.to_thread(world.produce, [resident(i) for i in range(start, start + 100)])
        delivered = await read(world, world.delivery_topic("statistik"), arrivals + 1, settle=1)
        assert (router.committed_batches, router.committed_events) == (2, arrivals + 1)
    ids = Counter(dict(m.headers())["ce_hubdelivery"] for m in delivered)
    assert len(ids) == arrivals + 1 and max(ids.values()) == 1


async def test_a_new_writer_schema_arriving_during_a_commit_is_learned_and_delivered(world):
    """The arrivals of a commit in flight are routed by the core as they come; a record of a
    writer schema it has not met yet (v2) goes back to the loop, which learns the schema and
    routes it: all delivered once, in the source's order, none with the new personal field."""
    world.agree("statistik", STATISTIK)
    world.add_v2_with_phone()
    phone = CANARY["phone"]
    async with running(world) as router:
        first_commit = slow_first_commit(router, 3)
        await asyncio.to_thread(world.produce, [resident(0)], 1)
        await asyncio.wait_for(first_commit.wait(), 60)
        # each fetched apart: the loop routes the first, the core the next as it arrives
        for first, version in ((1, 1), (51, 1), (101, 2), (151, 1)):
            extra = {"phone": phone} if version == 2 else {}
            batch = [resident(i, **extra) for i in range(first, first + 50)]
            await asyncio.to_thread(world.produce, batch, version)
            await asyncio.sleep(0.3)
        delivered = await read(world, world.delivery_topic("statistik"), 201, settle=1)
        assert router.committed_events == 201
    assert all(phone.encode() not in m.value() for m in delivered)
    ids = [dict(m.headers())["ce_hubdelivery"] for m in delivered]
    positions = [int(i.rsplit(b"/", 1)[-1]) for i in ids]
    assert len(set(ids)) == 201 and positions == sorted(positions)


async def test_transactions_take_turns_on_the_instances_producers(world):
    """Each transaction goes to the next of the instance's producers (``<name>``,
    ``<name>.1``): one begun at once after the one before need not wait on the broker for
    that one's completion. Still one at a time, so the offsets are committed in order."""
    world.agree("statistik", STATISTIK)
    total = 500
    await asyncio.to_thread(world.produce, [resident(i) for i in range(total)])
    async with running(world, max_batch=50, producers=2) as router:
        delivered = await read(world, world.delivery_topic("statistik"), total, settle=1)
        producers = router._producers
        name = router.config.transactional_id
        assert [p.transactional_id for p in producers] == [name, f"{name}.1"]
        counts = [p.committed for p in producers]
        assert sum(counts) == router.committed_batches >= total // 50
        assert abs(counts[0] - counts[1]) <= 1, counts  # strictly in turn
    ids = Counter(dict(m.headers())["ce_hubdelivery"] for m in delivered)
    assert len(ids) == total and max(ids.values()) == 1
    positions = [int(i.rsplit(b"/", 1)[-1]) for i in ids]
    assert positions == sorted(positions)  # in the source's order, across the producers


def test_a_second_process_with_the_same_instance_name_takes_over(world):
    """A second `hub router run` with the same instance name fences the first (every one of
    its transactional ids and its static membership): the first stops, logged as critical,
    the second goes on; each event delivered once."""
    world.agree("statistik", STATISTIK)
    secret = world.root / "secret"
    secret.write_bytes(SECRET)
    env = {**os.environ, **world.env(), "HUB_SECRET_FILE": str(secret), "HUB_LOG_FORMAT": "json"}
    logs = [world.root / "first.log", world.root / "second.log"]
    cmd = [sys.executable, "-m", "hub", "router", "run"]
    first = subprocess.Popen(cmd, env=env, cwd=world.root, stdout=logs[0].open("wb"), stderr=-2)
    second = None
    topic = world.delivery_topic("statistik")
    try:
        world.produce([resident(i) for i in range(100)])
        assert len(world.read(topic, 100, timeout=60, settle=0)) == 100, logs[0].read_text()
        second = subprocess.Popen(
            cmd, env=env, cwd=world.root, stdout=logs[1].open("wb"), stderr=-2
        )
        world.produce([resident(i) for i in range(100, 200)])
        try:
            first.wait(90)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the first did not stop:\n{logs[0].read_text()}\n--\n{logs[1].read_text()}"
            ) from None
        world.produce([resident(i) for i in range(200, 300)])
        delivered = world.read(topic, 300, timeout=90, settle=2)
        assert second.poll() is None, logs[1].read_text()
    finally:
        for router in (first, second):
            if router is not None and router.poll() is None:
                router.send_signal(signal.SIGTERM)
                router.wait(30)
    said = logs[0].read_text()
    assert "another router runs with the same instance name" in said, said
    ids = Counter(dict(m.headers())["ce_hubdelivery"] for m in delivered)
    assert len(ids) == 300 and max(ids.values()) == 1


async def test_a_killed_routing_process_is_replaced_and_nothing_is_lost(world):
    world.agree("statistik", STATISTIK)
    total = 2000
    async with running(world, workers=2) as router:
        await asyncio.to_thread(world.produce, [resident(i) for i in range(total // 2)])
        assert await read(world, world.delivery_topic("statistik"), 1, settle=0)
        pool = router._workers
        os.kill(pool.pids[0], signal.SIGKILL)
        await asyncio.to_thread(world.produce, [resident(i) for i in range(total // 2, total)])
        delivered = await read(world, world.delivery_topic("statistik"), total, settle=2)
        assert router._workers is not pool  # a new pool took over
    ids = Counter(dict(m.headers())["ce_hubdelivery"] for m in delivered)
    assert len(ids) == total and max(ids.values()) == 1


def test_the_router_applies_access_at_start_and_before_a_reload(
    kafka_bootstrap, registry_url, tmp_path, kafka_security, router_security
):
    """`hub router run` with the admin credential on its machine opens its own way: at start
    for the agreements there, before a reload for a new one (no operator in between)."""
    world = World(kafka_bootstrap, registry_url, tmp_path).govern(
        kafka_security, router_security, apply=False
    )
    world.agree("statistik", STATISTIK)
    secret = world.root / "secret"
    secret.write_bytes(SECRET)
    env = {
        **os.environ,
        **world.env(),
        "HUB_ROUTER_APPLY_ACCESS": "true",
        "HUB_ACCESS_TOPIC": world.access_topic,
        "HUB_SECRET_FILE": str(secret),
    }
    router = subprocess.Popen(
        [sys.executable, "-m", "hub", "router", "run"], env=env, cwd=world.root
    )
    try:
        world.produce([resident(i) for i in range(10)])
        assert len(world.read(world.delivery_topic("statistik"), 10, timeout=90)) == 10
        world.agree("ordnungsamt", ORDNUNGSAMT)  # picked up by the router's watcher
        time.sleep(5)
        world.produce([resident(i) for i in range(10, 15)])
        assert len(world.read(world.delivery_topic("ordnungsamt"), 5, timeout=90)) == 5
    finally:
        router.send_signal(signal.SIGTERM)
        assert router.wait(30) == 0
