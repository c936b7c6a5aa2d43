"""The router's consumer asks the group's metadata once a generation, in its own thread (asked
from the event loop while that thread waited in a fetch, librdkafka answered only after it)."""

from __future__ import annotations

import threading

import pytest

from consumers.router.engine import load_core
from consumers.router.kafka import RouterConsumer, TopicPartition, attach_intake
from hub.kafka import KafkaSecurity


class Client:
    """Stands in for confluent-kafka's Consumer: only the call under test."""

    def __init__(self) -> None:
        self.asked_in: list[str] = []

    def consumer_group_metadata(self) -> str:
        self.asked_in.append(threading.current_thread().name)
        return f"generation {len(self.asked_in)}"


def router_consumer() -> tuple[RouterConsumer, Client]:
    consumer = RouterConsumer(
        "127.0.0.1:1",  # never connected: the client is replaced before any call
        KafkaSecurity(protocol="PLAINTEXT"),
        "hub-router",
        instance_id="0",
        fetch_wait_ms=10,
        metadata_refresh_ms=1000,
        on_assign=lambda partitions: None,
        on_revoke=lambda partitions: None,
        on_error=lambda error: None,
    )
    real, client = consumer._consumer, Client()
    real.close()
    consumer._consumer = client
    return consumer, client


async def test_the_metadata_is_asked_once_until_the_next_rebalance() -> None:
    consumer, client = router_consumer()
    assert await consumer.group_metadata() == "generation 1"
    assert await consumer.group_metadata() == "generation 1"
    assert client.asked_in == ["router-consumer_0"]  # the consumer's thread, not the loop's

    consumer._assigned(None, [])  # a new generation of the group
    assert await consumer.group_metadata() == "generation 2"
    consumer._revoked(None, [])
    assert await consumer.group_metadata() == "generation 3"
    assert await consumer.group_metadata() == "generation 3"
    assert len(client.asked_in) == 3


class Message:
    """Stands in for confluent-kafka's Message: not its type, so the intake refuses it."""

    def __init__(self, offset: int) -> None:
        self._offset = offset

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return "t"

    def partition(self) -> int:
        return 1

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v"

    def headers(self) -> list:
        return [("ce_id", b"1")]

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000)


class Fetching(Client):
    def consume(self, n: int, timeout: float) -> list[Message]:
        return [Message(7), Message(8)] if timeout == 0 else []


@pytest.mark.skipif(load_core() is None, reason="hub_core is not installed (make install)")
def test_messages_the_intake_refuses_become_python_records(caplog) -> None:
    consumer, _ = router_consumer()
    consumer._consumer = Fetching()
    consumer.intake = attach_intake()
    assert consumer.intake is not None
    batch = consumer._fetch(10, 0.0)
    ((tp, records),) = batch.items()
    assert tp == TopicPartition("t", 1)
    assert [(r.offset, r.key, r.value, r.headers) for r in records] == [
        (7, b"k", b"v", [("ce_id", b"1")]),
        (8, b"k", b"v", [("ce_id", b"1")]),
    ]
    assert consumer.intake is None  # refused once, then Python builds the records
    assert "consumed records are built in Python" in caplog.text
