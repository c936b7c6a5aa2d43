"""Webhook push: deliveries per second to a local receiver, and the latency the push adds.

Writes realistic deliveries (simulated parking violations through the Bußgeldstelle's
agreement, in Confluent wire format with the router's headers) into a fresh delivery topic,
then runs the dispatcher in this process against a receiver in a process of its own (it
verifies every signature and answers 204 at once):

* throughput: a backlog of ``--deliveries`` over ``--keys`` keys, pushed with
  ``--concurrency`` requests in flight; measured from the first acknowledgement to the last
  (the consumer group's join is not the dispatcher's speed);
* latency: ``--rate`` deliveries a second for ``--seconds``, each stamped (``ce-time``, µs)
  when it is written to Kafka; the receiver measures stamp → arrival: everything the push
  adds (Kafka fetch, decode, JSON, signature, HTTP), on one clock.

Prints one JSON object. Runs as hub-admin (like the other benchmarks).

    .venv/bin/python bench/subscribers_webhooks.py [--deliveries 20000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Benchmarks run as the local super user (hub-admin, .hub/credentials): authenticated, no ACL setup.
os.environ.setdefault("HUB_KAFKA_USERNAME", "hub-admin")
os.environ["HUB_CREDENTIALS_DIR"] = os.path.abspath(
    os.environ.get("HUB_CREDENTIALS_DIR", ".hub/credentials")
)

import httpx
from _registry import registry
from _topics import removed_afterwards
from aiokafka import AIOKafkaProducer

from consumers.webhooks.service import WebhookConfig, WebhookDispatcher
from consumers.webhooks.signing import generate_secret
from hub.agreements.compile import compile_agreement
from hub.agreements.model import load_agreement
from hub.kafka import KafkaSecurity
from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import AvroSerde, RegistryClient
from hub.settings import get_settings
from hub.topics import TopicSpec, ensure_topics
from producers.simulators import generate

REPO = Path(__file__).resolve().parents[1]
SOURCE = "ordnungsamt.parking-violation.recorded"
AGREEMENT = REPO / "catalog" / "agreements" / "bussgeldstelle-parking-violation.yaml"
SECRET_VAR = "HUB_BENCH_WEBHOOK_SECRET"


# -- the receiver, in a process of its own ------------------------------------------------------
def receiver_app(secret: str) -> Any:
    """The hub's reference receiver, plus ``GET /stats`` with counts and stamp → arrival
    latencies (``?reset=1`` starts them afresh)."""
    from consumers.webhooks.receiver import Receiver

    receiver = Receiver(secret, keep=False)
    latencies: list[float] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            if b"reset=1" in scope.get("query_string", b""):
                latencies.clear()
            ordered = sorted(latencies)

            def pct(p: float) -> float | None:
                return round(ordered[int(p * (len(ordered) - 1))] * 1000, 2) if ordered else None

            body = json.dumps(
                {
                    "requests": receiver.requests,
                    "acknowledged": receiver.acknowledged,
                    "duplicates": receiver.duplicates,
                    "rejected": len(receiver.rejected),
                    "latency_samples": len(ordered),
                    "p50_ms": pct(0.5),
                    "p95_ms": pct(0.95),
                    "p99_ms": pct(0.99),
                    "max_ms": pct(1.0),
                }
            ).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        arrived = time.time()
        for name, value in scope["headers"]:
            if name == b"ce-time":
                stamp = dt.datetime.fromisoformat(value.decode().replace("Z", "+00:00"))
                latencies.append(arrived - stamp.timestamp())
                break
        await receiver(scope, receive, send)

    return app


def serve_receiver(port: int) -> None:
    import uvicorn

    app = receiver_app(os.environ[SECRET_VAR])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextlib.contextmanager
def receiver_process(port: int, secret: str) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-receiver", str(port)],
        env={**os.environ, SECRET_VAR: secret},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/stats", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the bench receiver did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(10)


# -- deliveries ---------------------------------------------------------------------------------


class Deliveries:
    """Deliveries as the router writes them, into a topic of the benchmark's own."""

    def __init__(self, topic: str, agreement_id: str, schema_id: int, compiled: Any) -> None:
        self.topic = topic
        self.agreement_id = agreement_id
        self.schema_id = schema_id
        self.compiled = compiled
        self.serde = AvroSerde()
        self.serde.add_schema(schema_id, compiled.output_schema)
        self.rng = random.Random(42)
        self.count = 0

    def make(self, keys: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        _, record = generate(SOURCE, self.rng)
        plate = f"HAM-BE {self.rng.randrange(keys)}"
        record["licence_plate"] = plate
        key, value = self.compiled.transform(plate.encode(), record)
        self.count += 1
        now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", uuid.uuid4().hex.encode()),
            ("ce_source", b"/hamm/ordnungsamt/bench"),
            ("ce_type", f"de.hamm.{SOURCE}".encode()),
            ("ce_time", now.encode()),
            ("ce_hubagreement", self.agreement_id.encode()),
            ("ce_hubdelivery", f"{self.agreement_id}/{SOURCE}/0/{self.count}".encode()),
        ]
        return (key or plate).encode(), self.serde.encode(self.schema_id, value), headers


async def produce(
    producer: AIOKafkaProducer, deliveries: Deliveries, count: int, keys: int
) -> None:
    futures = []
    for _ in range(count):
        key, value, headers = deliveries.make(keys)
        futures.append(await producer.send(deliveries.topic, value, key=key, headers=headers))
    await asyncio.gather(*futures)


async def produce_steadily(
    producer: AIOKafkaProducer, deliveries: Deliveries, rate: int, seconds: float, keys: int
) -> int:
    """``rate`` a second in ticks of 10 ms, each stamped when sent."""
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    ticks = int(seconds / tick)
    started = time.perf_counter()
    sent = 0
    futures = []
    for i in range(ticks):
        for _ in range(per_tick):
            key, value, headers = deliveries.make(keys)
            futures.append(await producer.send(deliveries.topic, value, key=key, headers=headers))
            sent += 1
        delay = started + (i + 1) * tick - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.gather(*futures)
    return sent


# -- the measurement ----------------------------------------------------------------------------
async def _until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def bench_webhooks(
    bootstrap: str | None = None,
    registry_url: str | None = None,
    *,
    deliveries: int = 20_000,
    keys: int = 2_000,
    partitions: int = 3,
    concurrency: int = 64,
    rate: int = 1_000,
    seconds: float = 10.0,
) -> dict[str, Any]:
    """The ``webhooks`` part of the subscriber benchmarks: throughput of a backlog and latency
    at ``rate`` (see the module doc), as one JSON-able dict. Without ``registry_url`` a registry
    runs in a thread for the benchmark (HUB_REGISTRY_URL if set)."""
    bootstrap = bootstrap or get_settings().bootstrap_servers
    if registry_url is None:
        with registry(bootstrap) as url:
            return await bench_webhooks(
                bootstrap,
                url,
                deliveries=deliveries,
                keys=keys,
                partitions=partitions,
                concurrency=concurrency,
                rate=rate,
                seconds=seconds,
            )
    security = KafkaSecurity.from_settings()
    run = uuid.uuid4().hex[:8]
    topic = f"deliver.bench{run}.{SOURCE}"
    agreement = load_agreement(AGREEMENT).model_copy(
        update={"id": f"bench{run}-webhooks", "delivery_topic": topic}
    )
    schemas = {t: s.latest.schema for t, s in load_catalog(default_schemas_dir()).items()}
    compiled = compile_agreement(
        agreement, schemas[SOURCE], b"bench-master-secret-0123456789abcdef"
    )
    with RegistryClient(registry_url) as client:
        schema_id = client.register(f"{topic}-value", compiled.output_schema)
    await ensure_topics(bootstrap, [TopicSpec(topic, partitions)], security=security)
    made = Deliveries(topic, agreement.id, schema_id, compiled)
    secret = generate_secret()
    port = _free_port()
    result: dict[str, Any] = {
        "deliveries": deliveries,
        "keys": keys,
        "partitions": partitions,
        "concurrency": concurrency,
    }
    with tempfile.TemporaryDirectory() as tmp, receiver_process(port, secret) as receiver:
        catalog = Path(tmp)
        (catalog / "agreements").mkdir()
        (catalog / "subscriptions").mkdir()
        text = AGREEMENT.read_text(encoding="utf-8").replace(
            "id: bussgeldstelle-parking-violation",
            f"id: {agreement.id}\ndelivery_topic: {topic}",
        )
        (catalog / "agreements" / "bench.yaml").write_text(text, encoding="utf-8")
        (catalog / "subscriptions" / "bench.yaml").write_text(
            f"id: bench{run}\nsubscriber: bussgeldstelle\nagreements: [{agreement.id}]\n"
            f"endpoint: http://127.0.0.1:{port}/hub/events\nsecret: env:{SECRET_VAR}\n"
            f"concurrency: {concurrency}\ntimeout: 10s\n",
            encoding="utf-8",
        )
        config = WebhookConfig(
            bootstrap=bootstrap,
            registry_url=registry_url,
            subscriptions_dir=catalog / "subscriptions",
            agreements_dir=catalog / "agreements",
            dlq_topic=f"bench{run}.webhooks.dlq",
            environ={SECRET_VAR: secret},
            security=security,
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, **security.aiokafka(), acks="all", linger_ms=5
        )
        # Sent at once (no linger): the stamp is as close to "readable in Kafka" as it gets.
        steady = AIOKafkaProducer(
            bootstrap_servers=bootstrap, **security.aiokafka(), acks="all", linger_ms=0
        )
        await producer.start()
        await steady.start()
        try:
            await produce(producer, made, deliveries, keys)
            async with WebhookDispatcher(config) as dispatcher:
                task = asyncio.create_task(dispatcher.run())
                dispatch = dispatcher.pushers[0].dispatch
                try:
                    await _until(lambda: dispatch.acknowledged > 0, 60, "the first delivery")
                    first, t0, cpu0 = (
                        dispatch.acknowledged,
                        time.perf_counter(),
                        time.process_time(),
                    )
                    await _until(lambda: dispatch.acknowledged >= deliveries, 600, "the backlog")
                    elapsed = time.perf_counter() - t0
                    cpu = time.process_time() - cpu0
                    pushed = dispatch.acknowledged - first
                    result["deliveries_per_s"] = round(pushed / elapsed)
                    result["dispatcher_cpu_us_per_delivery"] = round(cpu / pushed * 1e6, 1)

                    # latency: a steady rate, the backlog gone
                    httpx.get(f"{receiver}/stats?reset=1", timeout=5)
                    before = dispatch.acknowledged
                    sent = await produce_steadily(steady, made, rate, seconds, keys)
                    await _until(
                        lambda: dispatch.acknowledged >= before + sent, 120, "the steady stream"
                    )
                finally:
                    dispatcher.stop()
                    await asyncio.wait_for(task, 60)
            stats = httpx.get(f"{receiver}/stats", timeout=5).json()
        finally:
            await producer.stop()
            await steady.stop()
    result["latency_rate_per_s"] = rate
    result["latency_seconds"] = seconds
    result["latency_p50_ms"] = stats["p50_ms"]
    result["latency_p95_ms"] = stats["p95_ms"]
    result["latency_p99_ms"] = stats["p99_ms"]
    result["latency_max_ms"] = stats["max_ms"]
    result["receiver_acknowledged"] = stats["acknowledged"]
    result["receiver_duplicates"] = stats["duplicates"]
    result["signatures_rejected"] = stats["rejected"]
    result["target_deliveries_per_s"] = 2_000
    result["target_latency_p99_ms"] = 50
    result["cpus"] = os.cpu_count()
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=2_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=int, default=1_000, help="deliveries/s for the latency")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve-receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        serve_receiver(args.serve_receiver)
        return
    with removed_afterwards():
        result = asyncio.run(
            bench_webhooks(
                deliveries=args.deliveries,
                keys=args.keys,
                partitions=args.partitions,
                concurrency=args.concurrency,
                rate=args.rate,
                seconds=args.seconds,
            )
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
