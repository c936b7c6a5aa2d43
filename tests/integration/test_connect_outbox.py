"""The outbox connector against the real broker: order, invalid rows skipped with an error, a
crash between the Kafka commit and the database update, no loss and no duplicates after the
restart. With SQLite always; with PostgreSQL too when HUB_TEST_POSTGRES_DSN names a database
(e.g. postgresql://hub:hub@127.0.0.1/outbox; CI machines have no PostgreSQL server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from backends import require
from connect_world import Dept, parking

from producers.connectors.outbox import OutboxConfig, OutboxConnector, OutboxStore


class Crash(Exception):
    pass


POSTGRES_DSN = os.environ.get("HUB_TEST_POSTGRES_DSN")


@dataclass
class Outbox:
    """The department's database, as its own system writes and reads it (DB-API)."""

    dsn: str
    table: str

    def connect(self):
        if self.dsn.startswith("sqlite:///"):
            return contextlib.closing(sqlite3.connect(self.dsn.removeprefix("sqlite:///")))
        import psycopg

        return psycopg.connect(self.dsn)

    def _sql(self, text: str) -> str:
        return text.replace("?", "?" if self.dsn.startswith("sqlite") else "%s")


@pytest.fixture(
    params=[
        "sqlite",
        "postgresql",
    ]
)
async def world(request, kafka_bootstrap, registry_url, tmp_path):
    dept = Dept(kafka_bootstrap, registry_url)
    topic = await dept.register()
    if request.param == "sqlite":
        dsn = f"sqlite:///{tmp_path / 'fachverfahren.db'}"
    else:
        require(
            bool(POSTGRES_DSN),
            "HUB_TEST_POSTGRES_DSN not set (a PostgreSQL database the test may create tables "
            "in; `.ci/run` installs and starts Debian's PostgreSQL)",
        )
        dsn = POSTGRES_DSN
    db = Outbox(dsn, f"outbox_{uuid.uuid4().hex[:8]}")
    store = OutboxStore(dsn, db.table)
    store.create_table()
    store.close()
    config = OutboxConfig(
        dsn=dsn,
        table=db.table,
        bootstrap_servers=kafka_bootstrap,
        registry_url=registry_url,
        name=dept.name,
        source="/hamm/ordnungsamt/owi",
        progress_topic=f"{dept.name}.connect.progress",
        batch_size=10,
    )
    return dept, topic, db, config


def insert(db: Outbox, rows: list[tuple[str, str | None, str]]) -> None:
    """(topic, key, payload) rows, as the department's system writes them."""
    with db.connect() as conn:
        conn.cursor().executemany(
            db._sql(
                f"INSERT INTO {db.table} (event_id, topic, event_key, payload, occurred_at) "
                "VALUES (?, ?, ?, ?, ?)"
            ),
            [
                (str(uuid.uuid4()), topic, key, payload, "2026-11-25T10:00:00+01:00")
                for topic, key, payload in rows
            ],
        )
        conn.commit()


def table(db: Outbox) -> list[tuple]:
    with db.connect() as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT id, event_id, sent_at, error FROM {db.table} ORDER BY id")
        return cur.fetchall()


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
