"""The outbox connector against the real broker with a SQLite outbox: order, invalid rows
skipped with an error, a crash between the Kafka commit and the database update, no loss and
no duplicates after the restart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections import Counter

import pytest
from connect_world import Dept, parking

from producers.connectors.outbox import OutboxConfig, OutboxConnector, OutboxStore


class Crash(Exception):
    pass


@pytest.fixture
async def world(kafka_bootstrap, registry_url, tmp_path):
    dept = Dept(kafka_bootstrap, registry_url)
    topic = await dept.register()
    db = tmp_path / "fachverfahren.db"
    store = OutboxStore(f"sqlite:///{db}")
    store.create_table()
    store.close()
    config = OutboxConfig(
        dsn=f"sqlite:///{db}",
        bootstrap_servers=kafka_bootstrap,
        registry_url=registry_url,
        name=dept.name,
        source="/hamm/ordnungsamt/owi",
        progress_topic=f"{dept.name}.connect.progress",
        batch_size=10,
    )
    return dept, topic, db, config


def insert(db, rows: list[tuple[str, str | None, str]]) -> None:
    """(topic, key, payload) rows, as the department's system writes them."""
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO outbox (event_id, topic, event_key, payload, occurred_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (str(uuid.uuid4()), topic, key, payload, "2026-11-25T10:00:00+01:00")
                for topic, key, payload in rows
            ],
        )


def table(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT id, event_id, sent_at, error FROM outbox ORDER BY id"
        ).fetchall()


async def test_crash_after_commit_then_restart_has_no_loss_and_no_duplicates(world):
    dept, topic, db, config = world
    rows = [(topic, None, json.dumps(parking(i))) for i in range(30)]
    rows[5] = (topic, None, "{not json")
    rows[17] = (topic, None, json.dumps(parking(17, violation_type="FALSCHPARKEN")))
    rows[22] = (f"{dept.name}.no-such.topic", None, json.dumps(parking(22)))
    insert(db, rows)
    valid = [i for i in range(30) if i not in (5, 17, 22)]

    batches = []

    def crash_after_second_batch(ids):
        batches.append(ids)
        if len(batches) == 2:
            raise Crash("after the Kafka commit, before the database update")

    with pytest.raises(Crash):
        async with OutboxConnector(config, after_commit=crash_after_second_batch) as connector:
            await connector.run_once()
    state = table(db)
    assert all(r[2] for r in state[:10] if r[3] is None)  # first batch marked sent
    assert not any(r[2] for r in state[10:20])  # second batch committed to Kafka, not marked

    async with OutboxConnector(config) as connector:  # restart: recovery marks batch 2
        published = await connector.run_once()
    assert published == 30 - 3 - 18  # 27 valid; 18 of them were out before the crash

    messages = await asyncio.to_thread(dept.read, topic, len(valid))
    keys = [m.key().decode() for m in messages]
    assert keys == [f"V-{i}" for i in valid]  # in id order, each once
    assert max(Counter(keys).values()) == 1
    event_ids = {r[1] for r in table(db)}
    assert {dict(m.headers())["ce_id"].decode() for m in messages} <= event_ids
    assert dict(messages[0].headers())["ce_time"] == b"2026-11-25T09:00:00.000Z"

    state = {r[0]: r for r in table(db)}
    errors = {i: state[i + 1][3] for i in (5, 17, 22)}
    assert "not JSON" in errors[5]
    assert "violation_type" in errors[17] and "FALSCHPARKEN" in errors[17]
    assert "unknown topic" in errors[22]
    assert all(state[i + 1][2] and state[i + 1][3] is None for i in valid)


async def test_new_rows_are_picked_up_by_the_polling_loop_and_keys_used(world):
    dept, topic, db, config = world
    config.poll_interval = 0.1
    async with OutboxConnector(config) as connector:
        task = asyncio.create_task(connector.run())
        insert(db, [(topic, "explicit-key", json.dumps(parking(1)))])
        insert(db, [(topic, None, json.dumps(parking(2)))])
        messages = await asyncio.to_thread(dept.read, topic, 2)
        connector.request_stop()
        await asyncio.wait_for(task, 30)
    assert [m.key() for m in messages] == [b"explicit-key", b"V-2"]
    assert all(r[2] for r in table(db))
