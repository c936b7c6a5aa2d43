"""The outbox table through SQLite (no broker): pending order, marking, errors, DSNs."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from producers.connectors.outbox import OutboxConfig, OutboxStore, _time


@pytest.fixture
def store(tmp_path):
    store = OutboxStore(f"sqlite:///{tmp_path / 'o.db'}")
    store.create_table()
    with sqlite3.connect(tmp_path / "o.db") as conn:
        conn.executemany(
            "INSERT INTO outbox (event_id, topic, payload, occurred_at) VALUES (?, ?, ?, ?)",
            [(f"e{i}", "a.b.c", "{}", "2026-11-25T10:00:00Z") for i in range(1, 8)],
        )
    yield store
    store.close()


def test_pending_rows_in_id_order_up_to_the_limit(store):
    assert [r.id for r in store.pending(5)] == [1, 2, 3, 4, 5]
    assert store.pending(1)[0].event_id == "e1"


def test_sent_and_errored_rows_are_no_longer_pending(store):
    assert store.mark_sent([1, 3]) == 2
    assert store.mark_sent([1]) == 0  # already sent: untouched
    store.mark_error(2, "payload is not JSON")
    assert [r.id for r in store.pending(10)] == [4, 5, 6, 7]
    assert store.mark_sent_up_to(5) == 2
    assert [r.id for r in store.pending(10)] == [6, 7]


def test_a_late_row_with_a_lower_id_is_still_pending(store):
    store.mark_sent([1, 2, 4, 5])  # 3 committed late by a concurrent writer
    assert [r.id for r in store.pending(10)] == [3, 6, 7]


def test_dsn_forms(tmp_path):
    for dsn in (
        str(tmp_path / "a.db"),
        f"sqlite:{tmp_path / 'b.db'}",
        f"sqlite:///{tmp_path / 'c.db'}",
    ):
        OutboxStore(dsn).close()
    with pytest.raises(ValueError, match="table name"):
        OutboxStore(str(tmp_path / "a.db"), table="outbox; DROP TABLE x")


def test_postgres_without_psycopg_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_psycopg(name, *args, **kwargs):
        if name == "psycopg":
            raise ModuleNotFoundError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(ValueError, match=r"psycopg") as info:
        OutboxStore("postgresql://hub:geheim@db.hamm.local/owi")
    assert "geheim" not in str(info.value)


def test_default_name_hides_the_password_and_depends_on_table():
    a = OutboxConfig("postgresql://hub:geheim@db/owi", "b", "http://r").resolved_name()
    b = OutboxConfig("postgresql://hub:anders@db/owi", "b", "http://r").resolved_name()
    c = OutboxConfig("postgresql://hub:geheim@db/owi", "b", "http://r", table="o2").resolved_name()
    assert a == b != c and len(a) == 12
    assert OutboxConfig("x", "b", "http://r", name="owi").resolved_name() == "owi"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25T10:00:00Z", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        ("2026-11-25T11:00:00+01:00", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        ("2026-11-25 10:00:00", datetime(2026, 11, 25, 10, tzinfo=UTC)),  # naive: UTC
        (datetime(2026, 11, 25, 10), datetime(2026, 11, 25, 10, tzinfo=UTC)),
        ("gestern", None),
        (None, None),
    ],
)
def test_occurred_at(value, expected):
    assert _time(value) == expected


def test_a_table_that_is_not_an_outbox_is_named(tmp_path):
    db = tmp_path / "x.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, payload TEXT)")
    store = OutboxStore(str(db))
    with pytest.raises(ValueError, match="table outbox is not an outbox table: no such column"):
        store.check()
    with pytest.raises(ValueError, match="table nope is not an outbox table: no such table"):
        OutboxStore(str(db), table="nope").check()
    store.close()


def test_the_created_table_passes_the_check(store):
    store.check()
