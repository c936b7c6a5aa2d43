"""The dispatch engine against a real HTTP receiver on loopback (no broker): order per key,
retries, Retry-After, give-up, 410, timeouts, connection errors, halting."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict

import pytest
from ports import free_port

from consumers.webhooks.deadletter import GivenUp
from consumers.webhooks.delivery import Delivery
from consumers.webhooks.dispatch import Dispatch, Policy, Schemas, Sender
from consumers.webhooks.http import Endpoint
from consumers.webhooks.receiver import Receiver, ReceiverThread, Reply, json_reply
from consumers.webhooks.signing import generate_secret, signing_key
from hub.serde import AvroSerde

SECRET = generate_secret()
SCHEMA = {
    "type": "record",
    "name": "Move",
    "fields": [{"name": "key", "type": "string"}, {"name": "seq", "type": "int"}],
}
FAST = Policy(max_attempts=4, scale=0.0001, jitter=0)  # 0.5 ms, 30 ms, 180 ms


class NoRegistry:
    async def schema_by_id(self, schema_id: int) -> str:
        raise AssertionError("the schema is known")


def schemas() -> Schemas:
    serde = AvroSerde()
    serde.add_schema(1, SCHEMA)
    return Schemas(NoRegistry(), serde)  # type: ignore[arg-type]


def deliveries(keys: list[str], per_key: int) -> list[Delivery]:
    serde = schemas().serde
    out = []
    offset = 0
    for seq in range(per_key):
        for key in keys:
            value = serde.encode(1, {"key": key, "seq": seq})
            headers = [
                ("ce_id", f"{key}-{seq}".encode()),
                ("ce_hubdelivery", f"agr/src/0/{offset}".encode()),
                ("ce_hubagreement", b"agr"),
            ]
            out.append(Delivery("deliver.t", 0, offset, key.encode(), value, headers, 0))
            offset += 1
    return out


class DLQ:
    def __init__(self) -> None:
        self.letters: list[tuple[Delivery, GivenUp]] = []

    async def __call__(self, delivery: Delivery, reason: GivenUp) -> None:
        self.letters.append((delivery, reason))


def dispatch(url: str, dlq: DLQ, *, timeout: float = 2.0, concurrency: int = 8, policy=FAST, **kw):
    sender = Sender(Endpoint(url), [signing_key(SECRET)], timeout)
    return Dispatch("sub", sender, schemas(), dlq, concurrency=concurrency, policy=policy, **kw)


async def run_all(d: Dispatch, items: list[Delivery], timeout: float = 30) -> None:
    for item in items:
        d.submit(item)
    await asyncio.wait_for(d.idle(), timeout)


def serve(script=None):
    receiver = Receiver(SECRET, script)
    return receiver, ReceiverThread(receiver, free_port())


async def test_order_per_key_with_concurrency_across_keys():
    rng = random.Random(3)
    in_flight = 0
    peak = 0

    async def jittery(got):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(rng.uniform(0, 0.01))
        in_flight -= 1
        return Reply(500) if got.attempt == 1 and rng.random() < 0.2 else Reply(204)

    receiver, server = serve(jittery)
    items = deliveries(["a", "b", "c", "d", "e", "f"], 15)
    dlq = DLQ()
    with server:
        d = dispatch(server.url, dlq, concurrency=4)
        await run_all(d, items)
    assert receiver.acknowledged == len(items) and not dlq.letters
    by_key = defaultdict(list)
    for got in sorted(receiver.accepted.values(), key=lambda g: g.at):
        by_key[got.record["key"]].append(got.record["seq"])
    assert all(seqs == list(range(15)) for seqs in by_key.values())
    assert 1 < peak <= 4  # keys go side by side, never beyond the bound
    assert d.ordering.commit_points(all_=True) == {("deliver.t", 0): len(items)}


async def test_a_failing_key_does_not_hold_up_the_others_and_is_given_up_in_order():
    def script(got):
        if got.record["key"] == "bad":
            return json_reply(500, {"error": "Fachverfahren nicht erreichbar"})
        return Reply(200)

    receiver, server = serve(script)
    items = deliveries(["bad", "ok"], 3)
    dlq = DLQ()
    with server:
        d = dispatch(server.url, dlq)
        await run_all(d, items)
    ok_done = max(g.at for g in receiver.accepted.values())
    assert ok_done < max(g.at for g in receiver.received)  # "ok" did not wait for "bad"
    assert [r.record["seq"] for r in receiver.accepted.values()] == [0, 1, 2]
    assert [(x.key, reason.attempts, reason.status) for x, reason in dlq.letters] == [
        (b"bad", 4, 500)
    ] * 3
    reason = dlq.letters[0][1]
    assert reason.error == "HTTP 500" and "nicht erreichbar" in reason.body
    # the bad key's events were tried one after another, never two at once
    tries = [(g.record["seq"], g.at) for g in receiver.received if g.record["key"] == "bad"]
    assert [s for s, _ in tries] == [0] * 4 + [1] * 4 + [2] * 4
    assert d.given_up == 3 and d.acknowledged == 3
    assert d.ordering.commit_points(all_=True) == {("deliver.t", 0): 6}


async def test_retry_after_is_honoured():
    def script(got):
        if got.attempt == 1:
            return Reply(429, {"retry-after": "1"})
        return Reply(204)

    receiver, server = serve(script)
    dlq = DLQ()
    with server:
        await run_all(dispatch(server.url, dlq), deliveries(["a"], 1))
    first, second = receiver.received
    assert second.at - first.at >= 0.95  # not the schedule's 0.5 ms
    assert receiver.acknowledged == 1


async def test_timeouts_and_refused_connections_are_retried():
    receiver, server = serve(lambda got: Reply(204, delay=1.0 if got.attempt == 1 else 0))
    dlq = DLQ()
    with server:
        d = dispatch(server.url, dlq, timeout=0.3)
        await run_all(d, deliveries(["a"], 1))
    assert [g.attempt for g in receiver.received] == [1, 2] and receiver.acknowledged == 1

    nobody = f"http://127.0.0.1:{free_port()}/hook"
    d = dispatch(nobody, dlq, timeout=0.5)
    await run_all(d, deliveries(["a"], 1))
    [(_, reason)] = dlq.letters
    assert reason.status is None and reason.error == "connection: connection refused"
    assert reason.attempts == 4


async def test_gone_stops_the_subscription_and_commits_nothing_after_it():
    gone = []

    def script(got):
        return Reply(410) if got.record["seq"] == 1 else Reply(204)

    receiver, server = serve(script)
    dlq = DLQ()
    with server:
        d = dispatch(server.url, dlq, concurrency=1, on_gone=gone.append)
        for item in deliveries(["a"], 4):
            d.submit(item)
        await asyncio.wait_for(d.idle(), 10)  # the 410 ends the lane: nothing else runs
    assert d.gone is not None and d.gone.status == 410 and len(gone) == 1
    assert d.halted and not dlq.letters
    assert [g.record["seq"] for g in receiver.accepted.values()] == [0]
    assert d.ordering.commit_points(all_=True) == {("deliver.t", 0): 1}
    d.submit(deliveries(["z"], 1)[0])  # ignored once halted
    assert d.buffered == 3


async def test_halt_finishes_requests_in_flight_and_stops_waiting_retries():
    def script(got):
        if got.record["key"] == "slow":
            return Reply(204, delay=0.5)
        return Reply(503)  # retried, the next attempt 2.5 s later

    receiver, server = serve(script)
    dlq = DLQ()
    policy = Policy(max_attempts=8, scale=0.5, jitter=0)  # 2.5 s before the 2nd attempt
    with server:
        d = dispatch(server.url, dlq, policy=policy)
        items = deliveries(["slow", "failing"], 1)
        for item in items:
            d.submit(item)
        await asyncio.sleep(0.2)  # both sent; the slow one is in flight
        started = time.monotonic()
        await d.drain()
        assert time.monotonic() - started < 1.5  # the retry's 2.5 s wait was cut short
    assert [g.record["key"] for g in receiver.accepted.values()] == ["slow"]
    assert d.acknowledged == 1 and not dlq.letters
    assert d.ordering.commit_points(all_=True) == {("deliver.t", 0): 1}  # "failing" comes again


async def test_undecodable_deliveries_are_given_up_at_once():
    dlq = DLQ()
    d = dispatch("http://127.0.0.1:9/never", dlq)
    bad = [
        Delivery("deliver.t", 0, 0, b"k", b"not avro", [], 0),
        Delivery("deliver.t", 0, 1, b"k", None, [], 0),
    ]
    await run_all(d, bad)
    assert [r.error.split(":")[0] for _, r in dlq.letters] == ["undecodable"] * 2
    assert [r.attempts for _, r in dlq.letters] == [0, 0]


async def test_a_connection_the_receiver_closed_while_idle_is_replaced():
    import uvicorn

    receiver = Receiver(SECRET)
    port = free_port()
    config = uvicorn.Config(receiver, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", timeout_keep_alive=1)  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        dlq = DLQ()
        d = dispatch(f"http://127.0.0.1:{port}/x", dlq)
        items = deliveries(["a"], 2)
        await run_all(d, items[:1])
        await asyncio.sleep(1.5)  # the receiver closes the idle keep-alive connection
        await run_all(d, items[1:])
        assert receiver.acknowledged == 2 and [g.attempt for g in receiver.received] == [1, 1]
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("status", [301, 400, 404])
async def test_other_statuses_are_failures(status):
    receiver, server = serve(lambda got: Reply(status) if got.attempt < 3 else Reply(202))
    dlq = DLQ()
    with server:
        await run_all(dispatch(server.url, dlq), deliveries(["a"], 1))
    assert [g.attempt for g in receiver.received] == [1, 2, 3] and receiver.acknowledged == 1


async def test_https_verifies_the_receivers_certificate(tmp_path):
    import uvicorn
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        pkcs12,
    )

    from consumers.webhooks.http import RequestFailed, ssl_context
    from consumers.webhooks.signing import signed_headers
    from hub.broker.tls import make_certificates

    files = make_certificates(tmp_path, ["127.0.0.1", "localhost"])
    key, cert, _ = pkcs12.load_key_and_certificates(
        files.keystore.read_bytes(), files.key_password_file.read_text().strip().encode()
    )
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    receiver = Receiver(SECRET)
    port = free_port()
    config = uvicorn.Config(
        receiver, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
        ssl_keyfile=str(tmp_path / "key.pem"), ssl_certfile=str(tmp_path / "cert.pem"),
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        body = b'{"a": 1}'
        headers = signed_headers("id-1", body, [signing_key(SECRET)])
        trusting = Endpoint(f"https://127.0.0.1:{port}/x", tls=ssl_context(files.ca))
        answer = await trusting.post(headers, body, 5)
        assert answer.status == 204 and receiver.acknowledged == 1
        await trusting.aclose()
        stranger = Endpoint(f"https://127.0.0.1:{port}/x")  # the system's CAs only
        with pytest.raises(RequestFailed, match="TLS certificate not trusted") as info:
            await stranger.post(headers, body, 5)
        assert info.value.kind == "connection"
    finally:
        server.should_exit = True
        await task
