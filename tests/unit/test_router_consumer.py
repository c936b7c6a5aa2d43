"""The router's consumer asks the group's metadata once a generation, in its own thread (asked
from the event loop while that thread waited in a fetch, librdkafka answered only after it)."""

from __future__ import annotations

import threading

from consumers.router.kafka import RouterConsumer
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
