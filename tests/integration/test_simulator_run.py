"""A simulation publishes every event type through the real broker; what arrives decodes with
Confluent's deserializer to exactly the planned events."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

from committed import read_committed
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from identity import registry_config

from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import RegistryClient
from hub.topics import ensure_topics
from producers.sdk import Publisher
from producers.simulators import plan, run_simulation

CATALOG = load_catalog(default_schemas_dir())
START = dt.datetime(2026, 11, 25, 7, 30, tzinfo=dt.UTC)
REPO = Path(__file__).resolve().parents[2]


def consume_all(bootstrap: str, topics: list[str], expected: int, timeout: float = 90) -> list:
    return read_committed(bootstrap, topics, expected, timeout=timeout)


async def test_simulation_publishes_every_event_type(kafka_bootstrap, registry_url):
    prefix = f"sim{uuid.uuid4().hex[:8]}"
    renamed = {topic: f"{prefix}.{topic}" for topic in CATALOG}
    with RegistryClient(registry_url) as client:
        for topic, target in renamed.items():
            client.register(f"{target}-value", CATALOG[topic].latest.schema)
    await ensure_topics(kafka_bootstrap, list(renamed.values()))

    async with Publisher(
        source="/hamm/simulator/test", bootstrap_servers=kafka_bootstrap, registry_url=registry_url
    ) as publisher:
        stats = await run_simulation(
            publisher, rate=400, duration=1.0, seed=42, start=START, rename=renamed.__getitem__
        )
    assert stats.planned == stats.sent == stats.acknowledged == 400
    assert stats.failed == 0
    assert set(stats.by_topic) == set(CATALOG)
    assert sum(stats.by_department.values()) == 400

    messages = consume_all(kafka_bootstrap, list(renamed.values()), 400)
    assert len(messages) == 400
    registry = SchemaRegistryClient(registry_config(registry_url))
    deserializers = {}
    arrived = Counter()
    expected = {}
    for topic, key, record in plan(400, seed=42, rate=400, start=START):
        expected.setdefault((renamed[topic], key.encode()), []).append(record)
    for msg in messages:
        deserialize = deserializers.setdefault(msg.topic(), AvroDeserializer(registry))
        record = deserialize(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
        assert record in expected[(msg.topic(), msg.key())]
        headers = dict(msg.headers())
        catalog_topic = msg.topic().split(".", 1)[1]
        assert headers["ce_type"] == f"de.hamm.{msg.topic()}".encode()
        assert headers["ce_source"] == b"/hamm/simulator/test"
        arrived[catalog_topic] += 1
    assert arrived == stats.by_topic


def test_cli_refuses_an_unknown_topic_with_its_name():
    done = subprocess.run(
        [sys.executable, "-m", "producers.cli_simulate", "run", "--topic", "x.cat.adopted"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "x.cat.adopted" in done.stderr


def test_cli_runs_a_short_simulation(kafka_bootstrap, registry_url):
    prefix = f"cli{uuid.uuid4().hex[:8]}."
    env = {
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_REGISTRY_URL": registry_url,
        "HUB_SIMULATOR_METRICS_PORT": "0",
        "HUB_SIMULATOR_SOURCE": "/hamm/simulator/cli-test",
        "PATH": "/usr/bin:/bin",
        # the test process's identity: a prefixed topic belongs to no department
        "HUB_KAFKA_USERNAME": os.environ["HUB_KAFKA_USERNAME"],
        "HUB_CREDENTIALS_DIR": os.environ["HUB_CREDENTIALS_DIR"],
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "producers.cli_simulate",
            "run",
            "--rate",
            "20",
            "--duration",
            "0.2",
            "--seed",
            "1",
            "--topic",
            "umweltamt.tree.inspected",
            "--topic-prefix",
            prefix,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["acknowledged"] == summary["planned"] == 4
    assert summary["by_department"] == {"umweltamt": 4}
    messages = consume_all(kafka_bootstrap, [f"{prefix}umweltamt.tree.inspected"], 4)
    assert len(messages) == 4


def test_cli_stops_on_sigterm_without_losing_or_duplicating(kafka_bootstrap, registry_url):
    prefix = f"term{uuid.uuid4().hex[:8]}."
    topics = ["ordnungsamt.noise-complaint.filed", "umweltamt.air-quality.measured"]
    env = {
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_REGISTRY_URL": registry_url,
        "HUB_SIMULATOR_METRICS_PORT": "0",
        "HUB_LOG_LEVEL": "INFO",
        "PATH": "/usr/bin:/bin",
        # the test process's identity: a prefixed topic belongs to no department
        "HUB_KAFKA_USERNAME": os.environ["HUB_KAFKA_USERNAME"],
        "HUB_CREDENTIALS_DIR": os.environ["HUB_CREDENTIALS_DIR"],
    }
    command = [sys.executable, "-m", "producers.cli_simulate", "run", "--rate", "300"]
    command += ["--duration", "120", "--topic-prefix", prefix]
    for topic in topics:
        command += ["--topic", topic]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        # Wait for the first progress line (5 s into the run), then stop it mid-stream.
        for line in process.stderr:
            if "simulation progress" in line:
                break
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert 0 < summary["acknowledged"] == summary["sent"] < summary["planned"]
    assert summary["failed"] == 0

    messages = consume_all(kafka_bootstrap, [prefix + t for t in topics], summary["sent"])
    ids = [dict(m.headers())["ce_id"] for m in messages]
    assert len(ids) == len(set(ids)) == summary["sent"]
