"""The feature pipeline against the real broker and registry: delivery records (encoded with
confluent-kafka's AvroSerializer, as the router writes them) → windowed aggregation with the
k gate → output topic → Feast online and point-in-time historical retrieval; restart and crash
recovery from the changelog without double counting.

Each test builds an isolated world: its own ki-featurestore agreement (with a unique delivery
topic), feature view, consumer group, changelog and output topics, and Feast repository.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import aiokafka_security, confluent_security, registry_config
from ports import free_port
from prometheus_client import REGISTRY

from consumers.features.feast_repo import FeastConfig
from consumers.features.pipeline import FeastPusher, FeaturePipeline, PipelineConfig, read_log
from hub.agreements import compile_agreement, load_agreement
from hub.schemas.catalog import load_catalog
from hub.topics import TopicSpec, ensure_topics

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

AGREEMENT = """\
id: {aid}
subscriber: ki-featurestore
source: ordnungsamt.noise-complaint.filed
delivery_topic: {topic}
purpose: Test der Lärm-Merkmale
legal_basis: "§ 3 DSG NRW i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
valid_until: 2099-12-31
key: drop
fields:
  occurred_at: keep
  postcode: keep
  noise_source: keep
  night_time: keep
  complainant_name: pseudonymize
"""

VIEW = """\
name: {view}
agreement: {aid}
entity: {{name: postcode, field: postcode}}
event_time: occurred_at
window: {{type: tumbling, size: 1h}}
allowed_lateness: 15m
k: 5
contributor: complainant_name
aggregations:
  - {{name: complaints, fn: count}}
  - {{name: night_share, fn: mean, field: night_time}}
  - {{name: sources, fn: distinct_count, field: noise_source}}
"""


@dataclass
class FeatureWorld:
    bootstrap: str
    registry_url: str
    root: Path

    def __post_init__(self) -> None:
        uid = uuid.uuid4().hex[:8]
        self.view = f"noise_{uid}"
        self.aid = f"ki-featurestore-test-{uid}"
        self.topic = f"deliver.ki-featurestore.test-{uid}"
        self.agreements_dir = self.root / "catalog" / "agreements"
        self.features_dir = self.root / "catalog" / "features"
        self.agreements_dir.mkdir(parents=True)
        self.features_dir.mkdir(parents=True)
        path = self.agreements_dir / f"{self.aid}.yaml"
        path.write_text(AGREEMENT.format(aid=self.aid, topic=self.topic))
        (self.features_dir / f"{self.view}.yaml").write_text(
            VIEW.format(view=self.view, aid=self.aid)
        )
        schemas = {t: s.latest.schema for t, s in load_catalog(REPO / "schemas").items()}
        compiled = compile_agreement(
            load_agreement(path), schemas["ordnungsamt.noise-complaint.filed"], b"x" * 32
        )
        self.delivery_schema = compiled.output_schema
        self.group = f"features-{uid}"
        self.changelog = f"test.features.state.{uid}"
        self.prefix = f"test.features.{uid}."
        self._producer = Producer(
            {
                "bootstrap.servers": self.bootstrap,
                **confluent_security(),
                "enable.idempotence": True,
            }
        )
        self._serializer = AvroSerializer(
            SchemaRegistryClient(registry_config(self.registry_url)),
            json.dumps(self.delivery_schema),
        )

    def config(self, feast: bool = False) -> PipelineConfig:
        return PipelineConfig(
            bootstrap=self.bootstrap,
            registry_url=self.registry_url,
            agreements_dir=self.agreements_dir,
            schemas_dir=REPO / "schemas",
            features_dir=self.features_dir,
            group=self.group,
            changelog_topic=self.changelog,
            output_prefix=self.prefix,
            feast=FeastConfig(self.root / "feast") if feast else None,
        )

    @property
    def output(self) -> str:
        return f"{self.prefix}{self.view}"

    async def produce(self, events: list[tuple[timedelta, str, str | None]]) -> None:
        """Deliveries as the router writes them: (offset from T0, postcode, complainant)."""
        await ensure_topics(self.bootstrap, [TopicSpec(self.topic)])
        ctx = SerializationContext(self.topic, MessageField.VALUE)

        def send() -> None:
            for i, (offset, postcode, who) in enumerate(events):
                record = {
                    "occurred_at": T0 + offset,
                    "postcode": postcode,
                    "noise_source": ["TRAFFIC", "EVENT"][i % 2],
                    "night_time": i % 4 == 0,
                    "complainant_name": who,
                }
                self._producer.produce(
                    self.topic,
                    self._serializer(record, ctx),
                    headers=[
                        ("ce_specversion", b"1.0"),
                        ("ce_id", uuid.uuid4().hex.encode()),
                        ("ce_type", b"de.hamm.ordnungsamt.noise-complaint.filed"),
                        ("ce_hubagreement", self.aid.encode()),
                        ("ce_hubdelivery", f"{self.aid}/x/0/{i}".encode()),
                    ],
                )
            assert self._producer.flush(30) == 0

        await asyncio.to_thread(send)
        self.produced = getattr(self, "produced", 0) + len(events)

    async def results(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.value) for r in await read_log(self.bootstrap, self.output)]


@pytest.fixture
def world(kafka_bootstrap, registry_url, tmp_path) -> FeatureWorld:
    return FeatureWorld(kafka_bootstrap, registry_url, tmp_path)


@contextlib.asynccontextmanager
async def running(pipeline: FeaturePipeline):
    task = asyncio.create_task(pipeline.run())
    try:
        yield pipeline
    finally:
        pipeline.stop()
        await asyncio.wait_for(task, 30)


async def consumed(pipeline: FeaturePipeline, topic: str, n: int, timeout: float = 60) -> None:
    """Wait until the pipeline has committed (offsets in its transactions) ``n`` records."""
    tp = TopicPartition(topic, 0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert pipeline._consumer is not None
        if (await pipeline._consumer.committed(tp) or 0) >= n:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the pipeline did not commit {n} records of {topic}")


def metric(name: str, view: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"{name}_total", {"view": view, **labels}) or 0.0


def m(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)


# 59063 in [T0, T0+1h): six people (one twice), then a late one; 59065: three people only.
FIRST_HOUR = [
    *[(m(5 + i), "59063", f"ps-c{i}") for i in range(6)],
    (m(31), "59063", "ps-c0"),
    *[(m(10 + i), "59065", f"ps-c{i}") for i in range(3)],
]
CLOSE_FIRST_HOUR = [
    (m(65), "59063", "ps-c7"),  # watermark past the window end, still within lateness
    (m(40), "59063", "ps-c8"),  # late: counts
    (m(80), "59063", "ps-c9"),  # watermark past end + 15 min: [T0, T0+1h) closes
    (m(50), "59063", "ps-c10"),  # too late: dropped and counted
    (m(185), "59067", "ps-c11"),  # closes [T0+1h, T0+2h) (two people: withheld)
]


async def test_windows_k_gate_lateness_and_feast(world, monkeypatch):
    await world.produce(FIRST_HOUR + CLOSE_FIRST_HOUR)
    async with FeaturePipeline(world.config()) as pipeline, running(pipeline):
        assert pipeline.topics == [world.topic]  # only its ki-featurestore delivery
        await consumed(pipeline, world.topic, world.produced)
    results = await world.results()
    assert [(r["entity"], r["window_start_ms"]) for r in results] == [
        ("59063", int(T0.timestamp() * 1000))
    ]
    (r,) = results
    assert r["features"]["complaints"] == 8  # 7 on time + 1 late; the too-late one is not in
    assert r["features"]["sources"] == 2
    assert r["window_end_ms"] - r["window_start_ms"] == 3_600_000
    assert "ps-c" not in json.dumps(r)  # contributors are never published
    # late: behind the view's watermark but in an open window (59065's three and ps-c8)
    assert metric("hub_features_late_events", world.view) == 4
    assert metric("hub_features_too_late_events", world.view) == 1
    assert metric("hub_features_windows_suppressed", world.view) == 2  # 59065 and 59063 @ T0+1h
    assert metric("hub_features_windows_published", world.view) == 1

    # Feast: push what was published; online and point-in-time historical retrieval.
    import pandas as pd

    config = world.config(feast=True)
    pusher = FeastPusher(config, FeaturePipeline(config).catalog)
    await pusher.start()
    try:
        while pusher.pushed < 1:
            batch = await pusher._consumer.getmany(timeout_ms=1000)
            if batch:
                await pusher.push(batch)
    finally:
        await pusher.close()
    store = pusher._store
    online = store.get_online_features(
        features=[f"{world.view}:complaints", f"{world.view}:night_share"],
        entity_rows=[{"postcode": "59063"}, {"postcode": "59065"}],
    ).to_dict()
    assert online["complaints"] == [8, None]  # 59065 was withheld by the k gate
    entity_df = pd.DataFrame(
        {
            "postcode": ["59063", "59063"],
            "event_timestamp": [T0 + m(59), T0 + m(61)],  # before / after the window closed
        }
    )
    hist = store.get_historical_features(
        entity_df=entity_df, features=[f"{world.view}:complaints"]
    ).to_df()
    by_time = {row.event_timestamp: row.complaints for row in hist.itertuples()}
    assert by_time[T0 + m(61)] == 8
    assert pd.isna(by_time.get(T0 + m(59)))  # not known before the window closed: no leakage

    # The HTTP API over the same store.
    from fastapi.testclient import TestClient

    from consumers.features.api import create_app

    client = TestClient(create_app(pusher.catalog, store))
    body = client.get(f"/v1/features/{world.view}", params={"postcode": "59063"}).json()
    assert body["found"] and body["features"]["complaints"] == 8
    assert client.get(f"/v1/features/{world.view}").status_code == 400
    assert client.get("/v1/features/nope?postcode=1").status_code == 404
    assert client.get("/healthz").json()["views"] == [world.view]
    assert "hub_features_windows_published" in client.get("/metrics/").text

    # `hub features get` reads the same online store.
    from typer.testing import CliRunner

    from consumers.features import cli, settings

    monkeypatch.setenv("HUB_FEATURES_FEAST_REPO", str(world.root / "feast"))
    settings.get_feature_settings.cache_clear()
    try:
        args = [
            "get",
            "postcode=59063",
            "--view",
            world.view,
            "--features",
            str(world.features_dir),
        ]
        result = CliRunner().invoke(cli.app, [*args, "--catalog", str(world.agreements_dir.parent)])
    finally:
        settings.get_feature_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[world.view]["complaints"] == 8


async def test_restart_and_crash_restore_state_without_double_counting(world):
    people = [(m(5 + i), "59063", f"ps-p{i}") for i in range(10)]
    await world.produce(people[:4])
    async with FeaturePipeline(world.config()) as first, running(first):
        await consumed(first, world.topic, 4)
    assert await world.results() == []  # nothing closed yet

    # A crashed instance (its consumer gone with it): an open transaction with made-up state
    # and a made-up result under the pipeline's transactional id, never committed.
    zombie = AIOKafkaProducer(
        bootstrap_servers=world.bootstrap,
        **aiokafka_security(),
        transactional_id=world.config().transactional_id,
    )
    await zombie.start()
    await zombie.begin_transaction()
    bogus = orjson.dumps(["w", world.view, "59063", int(T0.timestamp() * 1000)])
    await zombie.send_and_wait(world.changelog, b'{"f": "x", "n": 999}', key=bogus)
    await zombie.send_and_wait(world.output, b'{"bogus": true}', key=b"59063")

    await world.produce([*people[4:], (m(90), "59069", "ps-x")])
    second = FeaturePipeline(world.config())
    await second.start()  # fences the zombie, aborts its transaction, restores committed state
    try:
        assert second.restored_windows == 1
        async with running(second):
            await consumed(second, world.topic, world.produced)
    finally:
        await second.close()
        with contextlib.suppress(Exception):
            await zombie.stop()
    results = await world.results()
    assert len(results) == 1
    assert results[0]["features"]["complaints"] == 10  # 4 before the restart + 6 after, once each


async def test_cli_run_serves_metrics_and_stops_cleanly_on_sigterm(world):
    port = free_port()
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": world.bootstrap,
        "HUB_REGISTRY_URL": world.registry_url,
        "HUB_SCHEMAS_DIR": str(REPO / "schemas"),
        "HUB_FEATURES_GROUP": world.group,
        "HUB_FEATURES_CHANGELOG_TOPIC": world.changelog,
        "HUB_FEATURES_OUTPUT_PREFIX": world.prefix,
    }
    cmd = [
        sys.executable,
        "-c",
        "from consumers.features.cli import app; app()",
        "run",
        "--no-feast",
        "--metrics-port",
        str(port),
        "--features",
        str(world.features_dir),
        "--catalog",
        str(world.agreements_dir.parent),
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        await world.produce([*FIRST_HOUR, *CLOSE_FIRST_HOUR])
        deadline = time.monotonic() + 60
        while not await world.results():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no window published"
            await asyncio.sleep(0.3)
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        assert f'hub_features_windows_published_total{{view="{world.view}"}} 1.0' in text
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(await world.results()) == 1
