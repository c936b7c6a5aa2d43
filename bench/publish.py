"""Events per second of the publisher SDK into the real broker, with realistic simulator records.

Starts the hub's registry in a thread on a fresh ``_schemas`` topic (or uses HUB_REGISTRY_URL if
set), publishes the schema catalog, then publishes pre-generated simulator records of one topic
to a fresh topic registered with the same schema (so the bench never writes into the city's
real topics). Measures ``publish_many`` (all sent, then all acks awaited), ``send`` in a loop
(futures awaited at the end), ``publish`` one by one (each ack awaited), and the CPU cost of
validating and encoding one event. Prints one JSON object.

    .venv/bin/python bench/publish.py [--events 50000] [--one-by-one 2000] [--topic T]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
import uuid

# Benchmarks run as the local super user (hub-admin, .hub/credentials): authenticated, no ACL setup.
os.environ.setdefault("HUB_KAFKA_USERNAME", "hub-admin")
os.environ.setdefault("HUB_ROUTER_APPLY_ACCESS", "false")
os.environ["HUB_CREDENTIALS_DIR"] = os.path.abspath(
    os.environ.get("HUB_CREDENTIALS_DIR", ".hub/credentials")
)

from _registry import registry
from _topics import removed_afterwards

from hub.registry.publish import publish_catalog
from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import AvroSerde, RegistryClient
from hub.settings import get_settings
from hub.topics import ensure_topics
from producers.sdk import Publisher
from producers.sdk.encoding import TopicSchema, encode_event
from producers.simulators import generate

DEFAULT_TOPIC = "ordnungsamt.noise-complaint.filed"


def records(topic: str, count: int, seed: int = 42) -> list[dict]:
    rng = random.Random(seed)
    return [generate(topic, rng)[1] for _ in range(count)]


def encode_cost_us(topic: str, schema: dict, batch: list[dict]) -> float:
    serde = AvroSerde()
    prepared = TopicSchema.register(serde, topic, 1, schema)
    started = time.perf_counter()
    for record in batch:
        encode_event(serde, prepared, record, source=b"/hamm/bench/publish")
    return (time.perf_counter() - started) / len(batch) * 1e6


async def measure(bootstrap: str, url: str, topic: str, events: int, one_by_one: int) -> dict:
    catalog = load_catalog(default_schemas_dir())
    publish_catalog(catalog, url)
    target = f"bench{uuid.uuid4().hex[:8]}.{topic}"
    with RegistryClient(url) as client:
        client.register(f"{target}-value", catalog[topic].latest.schema)
    await ensure_topics(bootstrap, [target])
    batch = records(topic, events)
    result: dict = {
        "topic": topic,
        "events": events,
        "encode_us_per_event": round(encode_cost_us(topic, catalog[topic].latest.schema, batch), 2),
    }
    async with Publisher(
        source="/hamm/bench/publish", bootstrap_servers=bootstrap, registry_url=url
    ) as publisher:
        await publisher.publish_many(target, batch[:500])  # warm up: metadata, connections

        started = time.perf_counter()
        published = await publisher.publish_many(target, batch)
        elapsed = time.perf_counter() - started
        assert len(published) == events
        result["publish_many_events_per_s"] = round(events / elapsed)
        result["publish_many_seconds"] = round(elapsed, 3)

        started = time.perf_counter()
        futures = [await publisher.send(target, record) for record in batch]
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - started
        result["send_events_per_s"] = round(events / elapsed)

        started = time.perf_counter()
        for record in batch[:one_by_one]:
            await publisher.publish(target, record)
        elapsed = time.perf_counter() - started
        result["publish_one_by_one_events"] = one_by_one
        result["publish_one_by_one_events_per_s"] = round(one_by_one / elapsed)
    result["target_events_per_s"] = 20_000
    result["cpus"] = os.cpu_count()
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--one-by-one", type=int, default=2_000)
    parser.add_argument("--topic", default=DEFAULT_TOPIC)
    args = parser.parse_args()
    bootstrap = get_settings().bootstrap_servers
    with registry(bootstrap) as url:
        result = asyncio.run(measure(bootstrap, url, args.topic, args.events, args.one_by_one))
    print(json.dumps(result))


if __name__ == "__main__":
    with removed_afterwards():
        main()
