"""``hub demo``: the shortest path to seeing the hub's backbone work on this machine.

Starts (or reuses) the local broker, publishes one sample change event with CloudEvents headers,
reads it back as a subscriber would, and says what happened at each step.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import orjson
import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.broker.local import BrokerError, LocalBroker
from hub.settings import get_settings
from hub.topics import ensure_topics

DEMO_TOPIC = "demo.resident.moved"


def _say(step: str, text: str) -> None:
    typer.echo(f"{typer.style(step, fg='cyan', bold=True)} {text}")


async def _round_trip(bootstrap: str) -> dict:
    event_id = str(uuid.uuid4())
    event = {
        "resident_id": "R-1001",
        "new_address": {"strasse": "Marktplatz", "hausnummer": "1", "postleitzahl": "59065"},
        "occurred_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_source", b"/hamm/buergeramt/demo"),
        ("ce_type", b"de.hamm.buergeramt.resident.moved"),
        ("ce_time", event["occurred_at"].encode()),
        ("content-type", b"application/json"),
    ]
    await ensure_topics(bootstrap, [DEMO_TOPIC])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        meta = await producer.send_and_wait(
            DEMO_TOPIC, orjson.dumps(event), key=b"R-1001", headers=headers
        )
    finally:
        await producer.stop()
    _say("published", f"{DEMO_TOPIC} partition {meta.partition} offset {meta.offset} id {event_id}")

    consumer = AIOKafkaConsumer(
        DEMO_TOPIC,
        bootstrap_servers=bootstrap,
        group_id=f"demo-{event_id[:8]}",
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        for _ in range(30):
            batch = await consumer.getmany(timeout_ms=1000)
            for message in (m for ms in batch.values() for m in ms):
                if dict(message.headers).get("ce_id") == event_id.encode():
                    return {"offset": message.offset, "event": orjson.loads(message.value)}
    finally:
        await consumer.stop()
    raise RuntimeError(f"the event {event_id} did not come back within 30 s")


def run_demo(keep_broker: bool = False) -> int:
    settings = get_settings()
    port = int(settings.bootstrap_servers.split(",")[0].rsplit(":", 1)[1])
    broker = LocalBroker(home=settings.broker_dir, port=port)
    _say("broker", "starting the local Kafka broker (first run fetches it from Maven Central)...")
    try:
        status = broker.start()
    except BrokerError as error:
        typer.secho(f"hub demo: {str(error).splitlines()[0]}", err=True, fg="red")
        return 1
    _say("broker", f"{status.note} on {status.bootstrap}")
    try:
        got = asyncio.run(_round_trip(status.bootstrap))
        _say("read back", f"offset {got['offset']}: {orjson.dumps(got['event']).decode()}")
        _say("done", "the broker works: publish and subscribe round-trip in this machine's Kafka")
    finally:
        if status.note == "started" and not keep_broker:
            broker.stop()
            _say("broker", "stopped (it was started by this demo)")
    return 0
