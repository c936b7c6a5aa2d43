"""Idempotency-Key at the gateway: the key's grammar, the store, and the app's answers (with
the fake publisher of test_gateway_app; the Kafka-backed store is in the integration tests)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_gateway_app import TOKEN, TOPIC, FakePublisher, tree

from producers.gateway.app import create_app
from producers.gateway.departments import hash_token, parse_departments
from producers.gateway.idempotency import (
    MAX_KEY_LENGTH,
    IdempotencyKeyError,
    IdempotencyStore,
    InProgress,
    Remembered,
    fingerprint,
    parse_key,
)

URL = f"/v1/topics/{TOPIC}/events"


# --- the header ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ('"with space"', "with space"),
        (r'"quote \" and \\ backslash"', 'quote " and \\ backslash'),
        ("  padded  ", "padded"),
        ("order:4711/2026", "order:4711/2026"),
        ("base64==", "base64=="),
    ],
)
def test_keys_parse(header: str, key: str) -> None:
    assert parse_key(header) == key


@pytest.mark.parametrize(
    "header",
    [
        '""',
        "",
        "two words",
        '"quoted" and more',
        "umlaut-ä",
        '"tab\there"',
        "a" * (MAX_KEY_LENGTH + 1),
    ],
)
def test_malformed_keys_are_refused(header: str) -> None:
    with pytest.raises(IdempotencyKeyError):
        parse_key(header)


@given(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=80)
)
def test_any_quoted_visible_ascii_round_trips(key: str) -> None:
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    assert parse_key(f'"{escaped}"') == key


def test_the_fingerprint_is_topic_and_exact_body() -> None:
    assert fingerprint("a.b.c", b"{}") == fingerprint("a.b.c", b"{}")
    assert fingerprint("a.b.c", b"{}") != fingerprint("a.b.d", b"{}")
    assert fingerprint("a.b.c", b"{}") != fingerprint("a.b.c", b"{ }")
    assert fingerprint("a.b", b"c{}") != fingerprint("a.bc", b"{}")  # the separator counts


# --- the store ----------------------------------------------------------------------------


def remembered(key: str = "k", at: float = 1000.0, fp: str = "f") -> Remembered:
    return Remembered("umweltamt", key, fp, 201, {"count": 1}, at)


async def test_a_key_is_remembered_for_24_hours_only() -> None:
    now = [1000.0]
    store = IdempotencyStore(clock=lambda: now[0])
    await store.remember(remembered())
    assert store.get("umweltamt", "k") is not None
    assert store.get("ordnungsamt", "k") is None  # per department
    now[0] += 24 * 3600 - 1
    assert store.get("umweltamt", "k") is not None
    now[0] += 2
    assert store.get("umweltamt", "k") is None


def test_the_first_answer_wins_when_learning_from_the_topic() -> None:
    store = IdempotencyStore(clock=lambda: 1000.0)
    store.learn(remembered(fp="first"))
    store.learn(remembered(fp="second"))
    assert store.get("umweltamt", "k").fingerprint == "first"


def test_expired_records_are_not_learned() -> None:
    store = IdempotencyStore(clock=lambda: 10 * 24 * 3600.0)
    store.learn(remembered(at=0.0))
    assert len(store) == 0


def test_a_key_in_progress_cannot_be_claimed_twice() -> None:
    store = IdempotencyStore()
    with store.claim("umweltamt", "k"):
        with pytest.raises(InProgress), store.claim("umweltamt", "k"):
            pass
        with store.claim("umweltamt", "other"):
            pass
    with store.claim("umweltamt", "k"):  # released again
        pass


async def test_a_failing_writer_loses_only_the_memory() -> None:
    async def broken(_: Remembered) -> None:
        raise RuntimeError("broker gone")

    store = IdempotencyStore(writer=broken, clock=lambda: 1000.0)
    await store.remember(remembered())
    assert store.get("umweltamt", "k") is not None


def test_records_round_trip() -> None:
    item = remembered()
    assert Remembered.from_json(item.to_json()) == item


# --- the app ------------------------------------------------------------------------------


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def store() -> IdempotencyStore:
    return IdempotencyStore()


@pytest.fixture
async def client(publisher, store):
    departments = parse_departments({"departments": {"umweltamt": {"tokens": [hash_token(TOKEN)]}}})
    app = create_app(publisher, departments, registry=object(), idempotency=store)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gw",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as c:
        yield c


async def test_a_retry_gets_the_first_answer_and_publishes_nothing(client, publisher) -> None:
    headers = {"Idempotency-Key": '"retry-1"'}
    first = await client.post(URL, json=[tree(1), tree(2)], headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await client.post(URL, json=[tree(1), tree(2)], headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(publisher.sent) == 2


async def test_the_same_key_for_another_request_is_422(client, publisher) -> None:
    headers = {"Idempotency-Key": "retry-2"}
    assert (await client.post(URL, json=tree(1), headers=headers)).status_code == 201
    other = await client.post(URL, json=tree(2), headers=headers)
    assert other.status_code == 422
    assert "another request" in other.json()["detail"]
    assert len(publisher.sent) == 1


async def test_without_a_key_every_request_publishes(client, publisher) -> None:
    for _ in range(2):
        assert (await client.post(URL, json=tree(1))).status_code == 201
    assert len(publisher.sent) == 2


async def test_a_failed_request_is_not_remembered(client, publisher) -> None:
    headers = {"Idempotency-Key": "retry-3"}
    publisher.fail_with = RuntimeError("broker gone")
    assert (await client.post(URL, json=tree(1), headers=headers)).status_code == 503
    publisher.fail_with = None
    assert (await client.post(URL, json=tree(1), headers=headers)).status_code == 201
    assert len(publisher.sent) == 1
    invalid = await client.post(URL, json={"tree_id": 5}, headers={"Idempotency-Key": "bad"})
    assert invalid.status_code == 422
    assert (
        await client.post(URL, json=tree(1), headers={"Idempotency-Key": "bad"})
    ).status_code == 201


async def test_a_malformed_key_is_400(client, publisher) -> None:
    response = await client.post(URL, json=tree(1), headers={"Idempotency-Key": "two words"})
    assert response.status_code == 400
    assert publisher.sent == []


async def test_a_concurrent_retry_is_409(client, publisher, store) -> None:
    release = asyncio.Event()
    original = publisher.publish_many

    async def slow(topic, records):
        await release.wait()
        return await original(topic, records)

    publisher.publish_many = slow
    headers = {"Idempotency-Key": "slow"}
    first = asyncio.create_task(client.post(URL, json=tree(1), headers=headers))
    await asyncio.sleep(0.05)
    second = await client.post(URL, json=tree(1), headers=headers)
    assert second.status_code == 409
    release.set()
    assert (await first).status_code == 201
    assert len(publisher.sent) == 1


class _Consumer:
    """An aiokafka consumer as KafkaIdempotency uses it, at the end of an empty topic."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def assign(self, partitions) -> None: ...

    async def seek_to_beginning(self, partition) -> None: ...

    async def end_offsets(self, partitions):
        self.log.append(f"end_offsets on {self.name}")
        return dict.fromkeys(partitions, 0)

    async def position(self, partition) -> int:
        return 0

    async def getmany(self, timeout_ms: int = 0):
        await asyncio.sleep(timeout_ms / 1000)
        return {}


async def test_catching_up_asks_the_end_on_a_connection_of_its_own():
    """The follower's connection holds a fetch at the broker for up to 500 ms, and the broker
    answers a connection's requests in order: asked there, every keyed request waited."""
    from producers.gateway.idempotency import IdempotencyStore, KafkaIdempotency

    log: list[str] = []
    names = iter(["follower", "probe"])
    kafka = KafkaIdempotency(
        IdempotencyStore(), lambda: None, lambda: _Consumer(log, next(names)), topic="t"
    )
    await kafka.start()
    log.clear()
    await kafka.catch_up()
    await kafka.stop()
    assert log == ["end_offsets on probe"]
