"""The core producing its deliveries itself (``hub_core.Sender``): attaching to the router's
producer (and refusing what is not one), a full local queue, the fallback through Python.
That the records reach the broker exactly as Python produces them:
tests/integration/test_native_sender_kafka.py."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from confluent_kafka import Producer
from native_engine import core, kept_batch

from consumers.router import kafka

pytestmark = pytest.mark.skipif(core is None, reason="hub_core is not installed (make install)")
QUIET = {"log_level": 0, "logger": logging.getLogger("test.sender")}


def producer(client_id: str, **extra: object) -> Producer:
    return Producer({"bootstrap.servers": "127.0.0.1:1", "client.id": client_id, **QUIET, **extra})


def test_the_loaded_librdkafka_is_found(tmp_path: Path) -> None:
    found = kafka.loaded_librdkafka()
    assert found is not None and found.is_file() and "librdkafka" in found.name
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 00000000 08:01 42 /usr/lib/libc.so.6\n7f02-7f03 rw-p 0 0 0\n")
    assert kafka.loaded_librdkafka(maps) is None
    assert kafka.loaded_librdkafka(tmp_path / "absent") is None


def test_a_sender_attaches_to_its_producer_only() -> None:
    assert kafka.attach_sender(producer("hub-router-a"), "hub-router-a") is not None
    library = str(kafka.loaded_librdkafka())
    with pytest.raises(core.Refused, match="named"):
        core.Sender(producer("hub-router-a"), library, "hub-router-b")
    with pytest.raises(core.Refused, match="not loaded"):
        core.Sender(producer("x"), "/nonexistent/librdkafka.so.1", "x")


def test_without_a_sender_the_router_says_why_once(monkeypatch, caplog) -> None:
    monkeypatch.setattr(kafka, "loaded_librdkafka", lambda: None)
    with caplog.at_level(logging.WARNING, "hub.router"):
        assert kafka.attach_sender(producer("y"), "y") is None
    (line,) = [r for r in caplog.records if "through Python" in r.getMessage()]
    assert "no librdkafka" in line.reason


def test_a_full_queue_stops_the_batch_where_it_is() -> None:
    batch = kept_batch(5)
    full = producer("hub-router-q", **{"queue.buffering.max.messages": 3})
    sender = kafka.attach_sender(full, "hub-router-q")
    assert sender is not None and len(batch) == 5
    assert batch.produce(sender, 0) == 3  # the queue holds three
    full.purge()
    full.poll(0)
    assert batch.produce(sender, 3) == 5
    assert batch.produce(sender, 5) == 5  # nothing left: nothing produced


def test_a_batch_lists_the_records_python_would_produce() -> None:
    batch = kept_batch(3)
    records = batch.to_list()
    assert [r[0] for r in records] == ["deliver.s.t.t.t"] * 3
    assert [dict(r[3])["ce_hubdelivery"] for r in records] == [
        f"s/t.t.t/0/{offset}".encode() for offset in (100, 101, 102)
    ]
    assert all(dict(r[3])["ce_id"] == b"id-%d" % i for i, r in enumerate(records))
    assert all("secret" not in dict(r[3]) for r in records)  # only the envelope passes
