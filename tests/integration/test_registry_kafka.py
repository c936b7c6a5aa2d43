"""The registry on the real broker: state rebuilt from ``_schemas``, concurrent instances, clean
stop, and the catalog published through HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from identity import aiokafka_security
from ports import free_port

from hub.kafka import KafkaSecurity
from hub.registry import records
from hub.registry.kafka_log import KafkaSchemaLog
from hub.registry.publish import publish_catalog
from hub.registry.server import RegistryServer, RegistryThread
from hub.schemas.catalog import default_schemas_dir, load_catalog

pytestmark = pytest.mark.integration

CATALOG_DIR = Path(__file__).resolve().parents[2] / "catalog"


def schema(name: str, *fields: str) -> str:
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "namespace": "de.hamm.test",
            "fields": [{"name": f, "type": "string", "default": ""} for f in fields],
        }
    )


async def register(client: httpx.AsyncClient, subject: str, text: str) -> int:
    response = await client.post(f"/subjects/{subject}/versions", json={"schema": text})
    assert response.status_code == 200, response.text
    return response.json()["id"]


async def end_offset(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **aiokafka_security())
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        return (await consumer.end_offsets([partition]))[partition]
    finally:
        await consumer.stop()


async def snapshot(url: str) -> dict:
    """Everything a client can see, by HTTP."""
    async with httpx.AsyncClient(base_url=url) as client:
        subjects = (await client.get("/subjects", params={"deleted": "true"})).json()
        seen: dict = {"subjects": subjects, "config": (await client.get("/config")).json()}
        for subject in subjects:
            versions = (await client.get(f"/subjects/{subject}/versions?deleted=true")).json()
            seen[subject] = [
                (await client.get(f"/subjects/{subject}/versions/{v}?deleted=true")).json()
                for v in versions
            ]
        return seen


async def test_restart_rebuilds_the_same_state_and_ids(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("registry")
    async with RegistryServer(kafka_bootstrap, topic=topic) as first:
        async with httpx.AsyncClient(base_url=first.url) as client:
            a1 = await register(client, "a-value", schema("A", "x"))
            a2 = await register(client, "a-value", schema("A", "x", "y"))
            b1 = await register(client, "b-value", schema("A", "x", "y"))
            c1 = await register(client, "c-value", schema("C", "z"))
            await client.put("/config/b-value", json={"compatibility": "FULL"})
            assert (await client.delete("/subjects/a-value/versions/1")).status_code == 200
            assert (await client.delete("/subjects/c-value")).json() == [1]
            assert (await client.delete("/subjects/c-value?permanent=true")).json() == [1]
        before = await snapshot(first.url)
        state_before = first.registry.state
    assert (a1, a2, b1, c1) == (1, 2, 2, 3)

    async with RegistryServer(kafka_bootstrap, topic=topic) as second:
        assert await snapshot(second.url) == before
        assert second.registry.state.subjects == state_before.subjects
        assert second.registry.state.compatibility == {"b-value": "FULL"}
        async with httpx.AsyncClient(base_url=second.url) as client:
            assert await register(client, "a-value", schema("A", "x", "y")) == 2  # no write
            assert await register(client, "d-value", schema("D", "w")) == 4
            assert (await client.get("/schemas/ids/3")).status_code == 404


async def test_rejected_registrations_write_nothing(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("registry")
    async with (
        RegistryServer(kafka_bootstrap, topic=topic) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        await register(client, "t-value", schema("T", "x"))
        written = await end_offset(kafka_bootstrap, topic)
        breaking = json.dumps(
            {
                "type": "record",
                "name": "T",
                "namespace": "de.hamm.test",
                "fields": [{"name": "other", "type": "int"}],
            }
        )
        refused = await client.post("/subjects/t-value/versions", json={"schema": breaking})
        assert refused.status_code == 409
        invalid = await client.post("/subjects/t-value/versions", json={"schema": "{"})
        assert invalid.json()["error_code"] == 42201
        await register(client, "t-value", schema("T", "x"))  # already there
        assert await end_offset(kafka_bootstrap, topic) == written


async def test_two_instances_register_concurrently_with_distinct_ids(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("registry")
    async with (
        RegistryServer(kafka_bootstrap, topic=topic) as left,
        RegistryServer(kafka_bootstrap, topic=topic) as right,
        httpx.AsyncClient(base_url=left.url, timeout=30) as to_left,
        httpx.AsyncClient(base_url=right.url, timeout=30) as to_right,
    ):
        # Different schemas, some in the same subject, half through each instance, all at once.
        jobs = []
        for n in range(12):
            client = to_left if n % 2 else to_right
            subject = "shared-value" if n % 3 == 0 else f"s{n}-value"
            fields = [f"f{i}" for i in range(n + 1)]
            jobs.append((subject, schema("R", *fields), client))
        ids = await asyncio.gather(*(register(c, s, t) for s, t, c in jobs))
        assert len(set(ids)) == len(ids), ids  # 12 different schemas, 12 different ids

        # The same schema through both instances at once: one id.
        same = schema("Same", "a")
        pair = await asyncio.gather(
            register(to_left, "x-value", same), register(to_right, "y-value", same)
        )
        assert pair[0] == pair[1]

        end = await end_offset(kafka_bootstrap, topic)
        await left.schema_log.wait_for(end)
        await right.schema_log.wait_for(end)
        assert left.registry.state.subjects == right.registry.state.subjects
        assert left.registry.state.schemas == right.registry.state.schemas
        shared = left.registry.state.versions("shared-value")
        assert [v.version for v in shared] == [1, 2, 3, 4]
        # Every answer matches what the log holds.
        for (subject, text, _), schema_id in zip(jobs, ids, strict=True):
            assert any(
                v.id == schema_id and json.loads(v.schema) == json.loads(text)
                for v in left.registry.state.versions(subject)
            )
    # ...and a third instance folding the log from scratch agrees.
    async with RegistryServer(kafka_bootstrap, topic=topic) as third:
        assert third.registry.state.subjects == left.registry.state.subjects
        assert third.registry.state.rejected == {}  # losing proposals were tombstoned


async def test_schemas_topic_is_compacted_with_one_partition(
    kafka_bootstrap: str, kafka_security: KafkaSecurity, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("registry")
    async with RegistryServer(kafka_bootstrap, topic=topic):
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, **aiokafka_security())
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
            assert len(described["partitions"]) == 1
            configs = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic)]
            )
            entries = {e[0]: e[1] for e in configs[0].resources[0][4]}
            assert entries["cleanup.policy"] == "compact"
        finally:
            await admin.close()


def test_cli_serve_stops_cleanly_on_sigterm(
    kafka_bootstrap: str, kafka_security: KafkaSecurity, unique_topic: Callable[[str], str]
) -> None:
    """Served as in production: authenticated against Kafka (this process is hub-admin)."""
    port = free_port()
    credentials = kafka_security.credentials
    auth = (credentials.username, credentials.password) if credentials else None
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.registry.cli",
            "serve",
            "--port",
            str(port),
            "--bootstrap-servers",
            kafka_bootstrap,
            "--topic",
            unique_topic("registry"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HUB_LOG_FORMAT": "json", "HUB_CATALOG_DIR": str(CATALOG_DIR)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "registry did not come up"
            time.sleep(0.1)
        if auth is not None:  # a SASL broker: the registry asks for credentials
            assert httpx.get(f"{url}/subjects", timeout=10).status_code == 401
        assert httpx.get(f"{url}/subjects", auth=auth, timeout=10).status_code == 200
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "registry listening" in messages and "registry stopped" in messages


def test_publish_catalog_to_the_registry_is_idempotent(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    catalog = load_catalog(default_schemas_dir())
    with RegistryThread(kafka_bootstrap, topic=unique_topic("registry")) as server:
        first = publish_catalog(catalog, server.url)
        assert "change(s) published" in first[-1]
        second = publish_catalog(catalog, server.url)
        assert second[-1].startswith("nothing changed")
        subjects = httpx.get(f"{server.url}/subjects").json()
        expected = [
            *(t.subject for t in catalog.types.values()),
            *(s.subject for s in catalog.values()),
        ]
        assert subjects == sorted(expected)  # the shared types' subjects too


async def test_a_restarted_instance_tombstones_proposals_left_by_a_dead_writer(
    kafka_bootstrap: str, unique_topic: Callable[[str], str]
) -> None:
    topic = unique_topic("registry")
    async with KafkaSchemaLog(kafka_bootstrap, topic) as schema_log:
        winner = records.schema_key("s-value", 1, "winner")
        loser = records.schema_key("s-value", 1, "loser")  # its writer "died" before cleaning up
        await schema_log.append(
            [
                (winner, records.schema_value("s-value", 1, 1, schema("W", "a"))),
                (loser, records.schema_value("s-value", 1, 2, schema("L", "b"))),
            ]
        )
        assert len(schema_log.state.rejected) == 1
    async with KafkaSchemaLog(kafka_bootstrap, topic) as schema_log:
        assert schema_log.state.rejected == {}
        assert [v.id for v in schema_log.state.versions("s-value")] == [1]
        assert await end_offset(kafka_bootstrap, topic) == 3  # winner, loser, loser's tombstone
