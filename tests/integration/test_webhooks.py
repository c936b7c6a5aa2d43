"""Webhook push against real deliveries (the router on the real broker) and a real HTTP
receiver, scripted to fail, time out, rate-limit and go away: nothing lost, order per key,
given-up deliveries in the DLQ and replayable, signatures the reference library accepts,
SIGTERM and SIGKILL of `hub webhooks run`, and the run as hub-webhooks under ACLs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import httpx
import pytest
import standardwebhooks
from aiokafka import AIOKafkaConsumer, TopicPartition
from identity import aiokafka_security
from ports import free_port
from prometheus_client import REGISTRY
from router_world import ORDNUNGSAMT, SECRET, World, resident

from consumers.router.service import Router
from consumers.webhooks.receiver import Receiver, ReceiverThread, Reply, json_reply
from consumers.webhooks.replay import list_given_up, replay_given_up
from consumers.webhooks.service import WebhookConfig, WebhookDispatcher
from consumers.webhooks.signing import generate_secret
from hub.kafka import KafkaSecurity

FAST = {"retry_scale": 0.0001, "max_attempts": 4, "jitter": 0.0}  # 0.5 ms, 30 ms, 180 ms
SECRET_VAR = "HUB_TEST_WEBHOOK_SECRET"


def record(k: int, seq: int) -> dict[str, Any]:
    """Resident ``k``'s ``seq``-th move; the postcode (kept by the agreement) carries both, so
    the receiver can tell which event it holds while the resident id is pseudonymized."""
    r = resident(k)
    r["new_address"]["postcode"] = f"{k:02d}{seq:03d}"
    return r


def seq_of(got: Any) -> tuple[int, int]:
    code = got.record["new_address"]["postcode"]
    return int(code[:2]), int(code[2:])


class Hooked:
    """A world with one webhook subscription to its Ordnungsamt agreement."""

    def __init__(self, world: World, *, dlq: str | None = None) -> None:
        self.world = world
        self.id = f"{world.dept}-hook"
        self.catalog = world.agreements_dir.parent
        self.subscriptions = self.catalog / "subscriptions"
        self.subscriptions.mkdir(exist_ok=True)
        self.dlq = dlq or f"{world.dept}.webhooks.dlq"
        self.secret = generate_secret()
        self.topic = world.delivery_topic("ordnungsamt")

    def subscribe(self, endpoint: str, **extra: Any) -> None:
        lines = [
            f"id: {self.id}",
            "subscriber: ordnungsamt",
            f"agreements: [{self.world.dept}-ordnungsamt]",
            f"endpoint: {endpoint}",
            f"secret: env:{SECRET_VAR}",
            *(f"{k}: {v}" for k, v in extra.items()),
        ]
        (self.subscriptions / f"{self.id}.yaml").write_text("\n".join(lines) + "\n")

    def config(self, **overrides: Any) -> WebhookConfig:
        values: dict[str, Any] = {
            "bootstrap": self.world.bootstrap,
            "registry_url": self.world.registry_url,
            "subscriptions_dir": self.subscriptions,
            "agreements_dir": self.world.agreements_dir,
            "dlq_topic": self.dlq,
            "commit_interval": 0.2,
            "environ": {SECRET_VAR: self.secret},
            "security": KafkaSecurity.from_settings(),
            **FAST,
        }
        values.update(overrides)
        return WebhookConfig(**values)

    def env(self, metrics_port: int = 0) -> dict[str, str]:
        """`hub webhooks run` in a subprocess, on the same world."""
        return {
            **os.environ,
            **self.world.env(),
            SECRET_VAR: self.secret,
            "HUB_WEBHOOKS_DLQ_TOPIC": self.dlq,
            "HUB_WEBHOOKS_RETRY_SCALE": "0.0001",
            "HUB_WEBHOOKS_MAX_ATTEMPTS": "4",
            "HUB_WEBHOOKS_COMMIT_INTERVAL": "0.2",
            "HUB_WEBHOOKS_METRICS_PORT": str(metrics_port),
            "HUB_LOG_FORMAT": "json",
        }


async def deliver(world: World, records: list[dict]) -> list:
    """Produce ``records`` and let the router deliver them; the committed deliveries."""
    await asyncio.to_thread(world.produce, records)
    async with Router(world.config(), SECRET) as router:
        task = asyncio.create_task(router.run())
        try:
            return await asyncio.to_thread(
                world.read, world.delivery_topic("ordnungsamt"), len(records), settle=0.2
            )
        finally:
            router.stop()
            await asyncio.wait_for(task, 30)


def delivery_ids(messages: list) -> list[str]:
    return [dict(m.headers())["ce_hubdelivery"].decode() for m in messages]


async def committed(hooked: Hooked, group: str | None = None) -> int | None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=hooked.world.bootstrap,
        group_id=group or f"hub-webhooks.{hooked.id}",
        **aiokafka_security(),
    )
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(hooked.topic, 0))
    finally:
        await consumer.stop()


async def until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def dispatching(config: WebhookConfig):
    async with WebhookDispatcher(config) as dispatcher:
        task = asyncio.create_task(dispatcher.run())
        try:
            yield dispatcher
        finally:
            dispatcher.stop()
            await asyncio.wait_for(task, 30)


def sample(name: str, sub: str) -> float:
    return REGISTRY.get_sample_value(name, {"subscription": sub}) or 0.0


@pytest.fixture
def world(kafka_bootstrap, registry_url, tmp_path) -> World:
    w = World(kafka_bootstrap, registry_url, tmp_path)
    w.agree("ordnungsamt", ORDNUNGSAMT)
    return w


async def test_nothing_lost_order_per_key_dlq_and_replay(world):
    hooked = Hooked(world)
    keys, per_key = 6, 6
    messages = await deliver(world, [record(k, s) for s in range(per_key) for k in range(keys)])
    ids = delivery_ids(messages)
    assert len(ids) == keys * per_key

    def script(got):
        k, seq = seq_of(got)
        if k == 0 and seq == 2 and got.attempt <= 2:
            return json_reply(500, {"error": "Datenbank gesperrt"})
        if k == 1 and seq == 1 and got.attempt == 1:
            return Reply(204, delay=1.5)  # longer than the subscription's timeout
        if k == 2 and seq == 3 and got.attempt == 1:
            return Reply(429, {"retry-after": "1"})
        if k == 3 and seq in (1, 4):
            return json_reply(503, {"error": "Wartungsfenster bis 06:00"})
        return Reply(200)

    receiver = Receiver(hooked.secret, script)
    with ReceiverThread(receiver, free_port()) as server:
        hooked.subscribe(server.url, timeout="500ms", concurrency=4)
        config = hooked.config()
        async with dispatching(config) as dispatcher:
            await until(
                lambda: receiver.acknowledged + dispatcher.pushers[0].dispatch.given_up == len(ids),
                what="every delivery acknowledged or given up",
            )
            await asyncio.sleep(0.5)  # a commit interval

        # nothing lost: every delivery was acknowledged or given up, nothing twice
        letters = await list_given_up(config, hooked.id)
        by_offset = {m.offset(): i for m, i in zip(messages, ids, strict=True)}
        given_up = {by_offset[e.reason.offset] for e in letters}
        assert len(given_up) == len(letters) == 2
        assert set(receiver.accepted) | given_up == set(ids)
        assert not set(receiver.accepted) & given_up
        # the request that timed out was still answered 204 later: the receiver saw that
        # delivery twice (and dedupes it by webhook-id); at least once, never less
        assert receiver.duplicates == 1
        assert await committed(hooked) == messages[-1].offset() + 1

        # order per key: no attempt of an event before the last attempt of the one before it
        attempts: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        for got in receiver.received:
            k, seq = seq_of(got)
            attempts[k][seq].append(got.at)
        for k, by_seq in attempts.items():
            for seq in range(1, per_key):
                assert min(by_seq[seq]) >= max(by_seq[seq - 1]), (k, seq)
        first_429, after_429 = attempts[2][3]
        assert after_429 - first_429 >= 0.95  # Retry-After: 1, not the schedule's 0.5 ms
        assert len(attempts[0][2]) == 3 and len(attempts[1][1]) == 2

        # the request: CloudEvents binary mode, signed per Standard Webhooks, the record as JSON
        got = receiver.accepted[ids[0]]
        assert got.headers["content-type"] == "application/json"
        assert got.headers["ce-specversion"] == "1.0"
        assert got.headers["ce-source"] == "/hamm/buergeramt/test"
        assert got.headers["ce-type"] == "de.hamm.buergeramt.resident.moved"
        assert got.headers["ce-hubagreement"] == f"{world.dept}-ordnungsamt"
        assert got.headers["webhook-id"] == ids[0] == got.headers["ce-hubdelivery"]
        assert set(got.record) == {"resident_id", "birth_date", "new_address", "moved_at"}
        assert got.record["new_address"] == {"postcode": "00000", "city": "Hamm"}
        assert isinstance(got.record["birth_date"], str | int)
        assert got.record["moved_at"].startswith("2026-11-0") and got.record["moved_at"][-1] == "Z"
        assert "CANARY" not in got.body.decode()
        reference = standardwebhooks.Webhook(hooked.secret)
        for one in receiver.received:
            assert reference.verify(one.body, one.headers) == one.record

        # given up: in the DLQ with the reason (key 3's events 1 and 4; 2 and 3 went between)
        assert {seq_of(g) for g in receiver.received if g.id in given_up} == {(3, 1), (3, 4)}
        for e in letters:
            assert e.reason.status == 503 and e.reason.attempts == 4
            assert e.reason.error == "HTTP 503" and "Wartungsfenster" in e.reason.body
            assert e.pending
        sub = hooked.id
        assert sample("hub_webhooks_given_up_total", sub) == 2
        assert sample("hub_webhooks_acknowledged_total", sub) == len(ids) - 2
        assert (
            REGISTRY.get_sample_value(
                "hub_webhooks_attempts_total", {"subscription": sub, "status": "5xx"}
            )
            == 2 + 2 * 4
        )
        assert (
            REGISTRY.get_sample_value(
                "hub_webhooks_attempts_total", {"subscription": sub, "status": "timeout"}
            )
            == 1
        )
        assert sample("hub_webhooks_latency_seconds_count", sub) == len(ids) - 2
        assert sample("hub_webhooks_retry_backlog", sub) == 0

        # the receiver is fixed; the replay sends the given-up ones again, with their ids
        receiver.script = None
        before = len(receiver.received)
        report = await replay_given_up(config, hooked.id, max_attempts=2)
        assert (report.sent, report.acknowledged, report.given_up) == (2, 2, 0)
        replayed = receiver.received[before:]
        assert sorted(seq_of(g) for g in replayed) == [(3, 1), (3, 4)]
        assert {g.id for g in replayed} <= set(ids)
        assert set(receiver.accepted) == set(ids)  # now every delivery arrived
        assert not any(e.pending for e in await list_given_up(config, hooked.id))
        again = await replay_given_up(config, hooked.id)
        assert again.sent == 0
        since = await replay_given_up(config, hooked.id, since=_hour_ago())
        assert since.sent == 2 and receiver.duplicates == 3  # --since sends them once more


def _hour_ago():
    import datetime as dt

    return dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


async def test_gone_disables_the_subscription_until_restarted_and_loses_nothing(world):
    hooked = Hooked(world)
    messages = await deliver(world, [record(0, s) for s in range(6)])
    ids = delivery_ids(messages)
    gone = True

    def script(got):
        if gone and seq_of(got)[1] == 3:
            return json_reply(410, {"error": "Endpunkt abgeschaltet"})
        return Reply(204)

    receiver = Receiver(hooked.secret, script)
    with ReceiverThread(receiver, free_port()) as server:
        hooked.subscribe(server.url, concurrency=2)
        async with dispatching(hooked.config()) as dispatcher:
            pusher = dispatcher.pushers[0]
            await until(lambda: pusher.state == "disabled", what="the subscription disabled")
            assert dispatcher.health()["subscriptions"][hooked.id]["state"] == "disabled"
        assert sample("hub_webhooks_disabled", hooked.id) == 1
        assert [seq_of(g)[1] for g in receiver.accepted.values()] == [0, 1, 2]
        assert await committed(hooked) == messages[3].offset()  # nothing after the 410
        assert not await list_given_up(hooked.config(), hooked.id)  # 410 is not a give-up

        gone = False  # fixed; the dispatcher is restarted
        async with dispatching(hooked.config()):
            await until(lambda: receiver.acknowledged == len(ids), what="the rest delivered")
    assert set(receiver.accepted) == set(ids) and receiver.duplicates == 0
    assert sample("hub_webhooks_disabled", hooked.id) == 0


async def test_undecodable_records_are_given_up_at_once_and_the_stream_goes_on(world):
    from aiokafka import AIOKafkaProducer

    hooked = Hooked(world)
    messages = await deliver(world, [record(0, 0)])
    producer = AIOKafkaProducer(bootstrap_servers=world.bootstrap, **aiokafka_security())
    await producer.start()
    try:  # something not written by the router lands in the delivery topic
        await producer.send_and_wait(hooked.topic, b"not avro at all", key=b"x")
        await producer.send_and_wait(hooked.topic, b"\x00\x00\x0f\x42\x40", key=b"y")
    finally:
        await producer.stop()
    messages += await deliver(world, [record(0, 1)])
    receiver = Receiver(hooked.secret)
    with ReceiverThread(receiver, free_port()) as server:
        hooked.subscribe(server.url)
        async with dispatching(hooked.config()) as dispatcher:
            await until(lambda: receiver.acknowledged == 2, what="both deliveries")
            await until(lambda: dispatcher.pushers[0].dispatch.given_up == 2, what="DLQ")
    letters = await list_given_up(hooked.config(), hooked.id)
    reasons = sorted(e.reason.error for e in letters)
    assert reasons[0].startswith("undecodable: not in Confluent wire format")
    assert reasons[1].startswith("undecodable: schema id 1000000")  # the registry has none
    assert all(e.reason.attempts == 0 for e in letters)


def start_run(hooked: Hooked, metrics_port: int = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "webhooks", "run"],
        env=hooked.env(metrics_port),
        cwd=hooked.world.root,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return stderr or ""


async def test_sigterm_finishes_requests_in_flight_and_commits_them(world):
    hooked = Hooked(world)
    messages = await deliver(world, [record(k, s) for s in range(2) for k in range(8)])
    ids = delivery_ids(messages)
    slow = True
    receiver = Receiver(hooked.secret, lambda got: Reply(204, delay=1.0 if slow else 0))
    port = free_port()
    with ReceiverThread(receiver, free_port()) as server:
        hooked.subscribe(server.url, concurrency=4)
        process = start_run(hooked, port)
        try:
            await until(lambda: len(receiver.received) >= 4, timeout=30, what="requests")
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert health.status_code == 200
            assert health.json()["subscriptions"][hooked.id]["state"] == "running"
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            assert f'hub_webhooks_buffered{{subscription="{hooked.id}"}}' in metrics
            in_flight = {g.id for g in receiver.received}
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            stderr = await asyncio.to_thread(stop, process)
        finally:
            stop(process, signal.SIGKILL)
        assert process.returncode == 0, stderr
        assert time.monotonic() - started < 10
        assert '"msg":"webhook dispatcher stopped"' in stderr
        # the requests in flight were answered and count: committed, not sent again
        assert in_flight <= set(receiver.accepted)
        done = len(receiver.accepted)
        assert await committed(hooked) == messages[done].offset()

        slow = False
        process = start_run(hooked)
        try:
            await until(lambda: receiver.acknowledged == len(ids), timeout=30, what="the rest")
        finally:
            stop(process)
    assert receiver.duplicates == 0


async def test_sigkill_mid_stream_then_restart_leaves_no_gap(world):
    hooked = Hooked(world)
    keys, per_key = 20, 12
    messages = await deliver(world, [record(k, s) for s in range(per_key) for k in range(keys)])
    ids = delivery_ids(messages)
    receiver = Receiver(hooked.secret, lambda got: Reply(204, delay=0.02))
    with ReceiverThread(receiver, free_port()) as server:
        hooked.subscribe(server.url, concurrency=4)
        process = start_run(hooked)
        try:
            await until(lambda: receiver.acknowledged >= 60, timeout=30, what="the first 60")
            process.send_signal(signal.SIGKILL)
            killed = time.time()
            process.wait(10)
            before = dict(receiver.accepted)
            assert len(before) < len(ids)  # mid-stream
            process = start_run(hooked)
            await until(lambda: receiver.acknowledged == len(ids), timeout=60, what="all")
        finally:
            stop(process)
    assert set(receiver.accepted) == set(ids)  # no gap
    # Only what was not committed came again: acknowledged in the last commit interval (0.2 s)
    # before the kill, or in flight then. Nothing acknowledged earlier was sent twice.
    again = {g.id for g in receiver.received if g.attempt > 1}
    acknowledged_again = again & before.keys()
    assert all(before[i].at > killed - 1.0 for i in acknowledged_again), "committed ones resent"
    assert len(again) < 60
    # order per key held across the restart (first acknowledgements, in arrival order)
    by_key: dict[int, list[int]] = defaultdict(list)
    for got in sorted(receiver.accepted.values(), key=lambda g: g.at):
        k, seq = seq_of(got)
        by_key[k].append(seq)
    assert all(seqs == list(range(per_key)) for seqs in by_key.values())


async def test_runs_as_hub_webhooks_under_the_catalogs_acls(
    kafka_bootstrap, registry_url, tmp_path, kafka_security, router_security, kafka_principal
):
    webhooks = kafka_principal("hub-webhooks")  # before the world applies its ACLs
    world = World(kafka_bootstrap, registry_url, tmp_path)
    hooked = Hooked(world, dlq="hub.webhooks.dlq")  # the DLQ its ACLs name
    receiver = Receiver(hooked.secret)
    with ReceiverThread(receiver, free_port()) as server:
        hooked.subscribe(server.url)  # subscriptions/ first: the ACLs derive from it
        world.govern(kafka_security, router_security)
        world.agree("ordnungsamt", ORDNUNGSAMT)
        messages = await deliver(world, [record(k, 0) for k in range(5)])
        config = hooked.config(security=webhooks)
        async with dispatching(config):
            await until(lambda: receiver.acknowledged == 5, what="pushed as hub-webhooks")
        assert set(receiver.accepted) == set(delivery_ids(messages))
        assert await committed(hooked) == messages[-1].offset() + 1
        # a group outside its prefix is refused: the ACLs, not convention, keep it in its lane
        from aiokafka.errors import GroupAuthorizationFailedError

        consumer = AIOKafkaConsumer(
            hooked.topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=f"{world.dept}-not-webhooks",
            **webhooks.aiokafka(),
        )
        with pytest.raises(GroupAuthorizationFailedError):
            try:
                await consumer.start()
            finally:
                await consumer.stop()
