"""Helpers (no tests) shared by the gateway and connector integration tests: an isolated
department with its own topic, its schema registered, and a read_committed reader."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from committed import read_committed
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import registry_config
from ports import free_port

from hub.schemas.catalog import standalone_schema
from hub.serde import RegistryClient
from hub.topics import TopicSpec, ensure_topics

REPO = Path(__file__).resolve().parents[2]
PARKING = REPO / "schemas" / "ordnungsamt" / "parking-violation.recorded" / "v1.avsc"
TREE = REPO / "schemas" / "umweltamt" / "tree.inspected" / "v1.avsc"


@dataclass
class Dept:
    """A department of its own (``t<hex>``), so its topics are fresh for every test."""

    bootstrap: str
    registry_url: str
    name: str = field(default_factory=lambda: "t" + uuid.uuid4().hex[:10])

    def topic(self, entity_event: str = "parking-violation.recorded") -> str:
        return f"{self.name}.{entity_event}"

    async def register(
        self,
        entity_event: str = "parking-violation.recorded",
        schema_path: Path = PARKING,
        partitions: int = 1,
    ) -> str:
        topic = self.topic(entity_event)
        with RegistryClient(self.registry_url) as client:
            client.register(f"{topic}-value", standalone_schema(schema_path))
        await ensure_topics(self.bootstrap, [TopicSpec(topic, partitions=partitions)])
        return topic

    def read(self, topic: str, expected: int, timeout: float = 60.0, settle: float = 1.0) -> list:
        """Committed records of ``topic`` (see ``committed.read_committed``)."""
        return read_committed(self.bootstrap, topic, expected, timeout=timeout, settle=settle)

    def decode(self, topic: str, messages: list) -> list[dict[str, Any]]:
        """Values decoded by Confluent's own deserializer."""
        deserializer = AvroDeserializer(SchemaRegistryClient(registry_config(self.registry_url)))
        ctx = SerializationContext(topic, MessageField.VALUE)
        return [deserializer(m.value(), ctx) for m in messages]


def parking(i: int, **extra: Any) -> dict[str, Any]:
    """A parking violation as a department system sends it in JSON."""
    event = {
        "violation_id": f"V-{i}",
        "occurred_at": "2026-11-25T09:30:00+01:00",
        "licence_plate": f"HAM-AB {i}",
        "violation_type": "NO_PARKING_ZONE",
        "location": {"lat": 51.68, "lon": 7.82},
        "street": "Bahnhofstraße",
        "postcode": "59065",
        "fine_eur": 55,
        "officer_id": "OD-7",
        "obstruction": False,
    }
    event.update(extra)
    return event


@asynccontextmanager
async def running_gateway(
    env: dict[str, str], token: str, *, log: Path | None = None, timeout: float = 30.0
) -> AsyncIterator[httpx.AsyncClient]:
    """`hub gateway serve` as a subprocess with ``env``; a client with ``token`` once it is
    healthy; SIGTERM (then kill) afterwards. Its output goes to ``log``, else is discarded."""
    port = free_port()
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "gateway", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        ) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, f"the gateway exited with {process.returncode}"
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the gateway did not become healthy")
            yield client
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 30)
        finally:
            if process.poll() is None:
                process.kill()
            if log is not None:
                out.close()
