"""What the router writes beside its deliveries, on the real broker: receipts that name every
delivered event by keyed hashes (and hold no identifier in clear), the agreement versions they
name, and the daily quality summary of a planted stream, exact and not doubled by a restart."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import fastavro
import pytest
from router_world import CANARY, ORDNUNGSAMT, SECRET, STATISTIK, World, resident
from test_router import read, running

from hub.agreements.history import agreement_from_bytes, content_hash
from hub.quality.summary import SUMMARY_SCHEMA, combine, day_of
from hub.receipts import RECEIPT_SCHEMA, delivery_id, identifier_hash, receipts_key

RECEIPT = fastavro.parse_schema(RECEIPT_SCHEMA)
SUMMARY = fastavro.parse_schema(SUMMARY_SCHEMA)


@pytest.fixture
def world(kafka_bootstrap, registry_url, tmp_path, kafka_security, router_security) -> World:
    return World(kafka_bootstrap, registry_url, tmp_path).govern(kafka_security, router_security)


def body(value: bytes, schema) -> dict:
    return fastavro.schemaless_reader(io.BytesIO(value[5:]), schema, None)


@pytest.mark.parametrize("engine", ["native", "python"])
async def test_receipts_name_each_delivered_event_by_keyed_hashes_only(world, engine):
    world.agree("ordnungsamt", ORDNUNGSAMT)  # Hamm only
    world.agree("statistik", STATISTIK)
    records = [resident(i) for i in range(6)] + [resident(7, city="Unna")]
    await asyncio.to_thread(world.produce, records)
    async with running(world, engine=engine) as router:
        await read(world, world.delivery_topic("ordnungsamt"), 6)
        statistik = await read(world, world.delivery_topic("statistik"), 7)
        table = router.table
    raw = await read(world, world.receipts, 2)
    versions = await read(world, world.agreements, 2)

    for message in raw:  # the canary scan: no identifier in clear in any byte
        for planted in CANARY.values():
            assert planted.encode() not in message.value()
            assert planted.encode() not in (message.key() or b"")
    receipts = [body(m.value(), RECEIPT) for m in raw]
    by_agreement = {r["agreement_id"]: r for r in receipts}
    assert set(by_agreement) == {f"{world.dept}-ordnungsamt", f"{world.dept}-statistik"}
    key = receipts_key(SECRET)
    unna = identifier_hash(key, f"{CANARY['resident_id']}-7")
    ordnung = by_agreement[f"{world.dept}-ordnungsamt"]
    assert len(ordnung["entries"]) == 6
    assert all(e["hashes"][0] != unna for e in ordnung["entries"])  # filtered out: no receipt
    stat = by_agreement[f"{world.dept}-statistik"]
    assert [e["hashes"][0] for e in stat["entries"]][-1] == unna
    assert stat["identifiers"] == [
        "resident_id",
        "old_address.street",
        "old_address.house_number",
        "new_address.street",
        "new_address.house_number",
    ]
    street = identifier_hash(key, CANARY["street"])
    assert all(e["hashes"][3] == street for e in stat["entries"])
    # each entry is a delivery the recipient got, by its delivery id
    delivered = {dict(m.headers())["ce_hubdelivery"].decode() for m in statistik}
    assert {delivery_id(stat, e) for e in stat["entries"]} == delivered
    # the versions named are in hub.agreements, readable as the agreements they were
    stored = {m.key().decode(): agreement_from_bytes(m.value()) for m in versions}
    for receipt in receipts:
        agreement = stored[receipt["agreement_hash"]]
        assert agreement.id == receipt["agreement_id"]
        assert content_hash(agreement) == receipt["agreement_hash"]
        assert table.route(agreement.id).compiled.content_hash == receipt["agreement_hash"]
    audit = await read(world, world.audit, 2)
    assert {a["agreement_hash"] for a in (body(m.value(), _audit()) for m in audit)} == set(stored)


def _audit():
    from consumers.router.audit import AUDIT_SCHEMA

    return fastavro.parse_schema(AUDIT_SCHEMA)


async def test_the_daily_quality_summary_is_exact_and_survives_a_restart(world):
    """A planted stream: 2 flagged events (one by two rules), a repeated ce_id, 2 late events,
    a poison pill, an optional field null in all but 3 events."""
    world.add_v2_with_phone()
    world.agree("statistik", STATISTIK)
    now = datetime.now(UTC)
    late = now - timedelta(hours=5)
    records = [resident(i, phone="+49 2381 1" if i < 3 else None) for i in range(8)]
    records[4]["occurred_at"] = records[5]["occurred_at"] = late
    headers = [{} for _ in records]
    headers[1] = {"ce_hubquality": b"plz_hamm"}
    headers[2] = {"ce_hubquality": b"plz_hamm,bewegung_plausibel"}
    headers[6] = {"ce_id": b"same-id"}
    headers[7] = {"ce_id": b"same-id"}
    await asyncio.to_thread(world.produce, records, 2, headers)
    await asyncio.to_thread(world.produce_raw, b"\x01poison", b"poison")
    async with running(world):
        await read(world, world.delivery_topic("statistik"), 8)
        await read(world, world.dlq, 1)
    summaries = await read(world, world.quality, 1, settle=2.0)
    (day,) = combine(body(m.value(), SUMMARY) for m in summaries)
    f = day.figures
    assert day.dataset == world.source
    assert day.day.isoformat() == day_of(int(now.timestamp() * 1000))
    assert f.events == 9
    assert dict(f.flagged) == {"plz_hamm": 2, "bewegung_plausibel": 1}
    assert f.duplicates == 1
    assert f.late == 2
    assert f.dead_letters == 1
    assert dict(f.nulls) == {"phone": 5}

    # a restart: what was committed is restored, three more events are added once
    more = [resident(10 + i) for i in range(3)]
    await asyncio.to_thread(world.produce, more, 2, [{"ce_id": b"same-id"}, {}, {}])
    async with running(world):
        await read(world, world.delivery_topic("statistik"), 11)
    summaries = await read(world, world.quality, 2, settle=2.0)
    (day,) = combine(body(m.value(), SUMMARY) for m in summaries)
    assert day.figures.events == 12
    assert day.figures.nulls["phone"] == 8
    # the window of ce_ids starts empty after a restart: the third "same-id" is not seen
    assert day.figures.duplicates == 1
    assert dict(day.figures.flagged) == {"plz_hamm": 2, "bewegung_plausibel": 1}
