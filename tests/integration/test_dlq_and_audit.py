"""Dead letters are listed and replayed exactly once after a fix; the audit report adds up."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date

import pytest
from router_world import ORDNUNGSAMT, SECRET, STATISTIK, World, resident
from test_router import read, running

from consumers.audit.cli import read_audit
from consumers.audit.report import summarize
from consumers.router.replay import list_dead_letters, replay_dead_letters


@pytest.fixture
def world(kafka_bootstrap, registry_url, tmp_path) -> World:
    return World(kafka_bootstrap, registry_url, tmp_path)


async def test_transform_failure_is_dead_lettered_for_one_agreement_and_replayed_once(world):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", STATISTIK)
    good = [resident(i) for i in range(3)]
    unborn = resident(7, birth_date=date(2090, 1, 1))  # age_band cannot place it
    await asyncio.to_thread(world.produce, [*good, unborn])
    async with running(world):
        assert len(await read(world, world.delivery_topic("ordnungsamt"), 4)) == 4
        assert len(await read(world, world.delivery_topic("statistik"), 3)) == 3
        dead = await read(world, world.dlq, 1)
    assert len(dead) == 1

    entries = await list_dead_letters(world.config())
    assert [(e.reason.error_class, e.reason.agreement_id, e.pending) for e in entries] == [
        ("TransformError", f"{world.dept}-statistik", True)
    ]
    assert "after the event time" in entries[0].reason.message

    dry = await replay_dead_letters(world.config(), SECRET, dry_run=True)
    assert dry.replayed == 1 and dry.dry_run
    assert (await list_dead_letters(world.config()))[0].pending  # a dry run changes nothing

    # The fix: statistik no longer receives birth dates (removing a field stays compatible).
    world.agree("statistik", STATISTIK, **{"  birth_date: {age_band: 10}\n": ""})
    report = await replay_dead_letters(world.config(), SECRET)
    assert report.replayed == 1
    assert report.delivered == Counter({f"{world.dept}-statistik": 1})
    assert not report.dead_again

    again = await replay_dead_letters(world.config(), SECRET)
    assert again.replayed == 0  # each dead letter is replayed once
    statistik = await read(world, world.delivery_topic("statistik"), 4)
    ordnung = await read(world, world.delivery_topic("ordnungsamt"), 4)
    assert len(statistik) == 4 and len(ordnung) == 4  # nothing doubled anywhere
    ids = {dict(m.headers())["ce_hubdelivery"] for m in statistik}
    assert len(ids) == 4
    assert not (await list_dead_letters(world.config()))[0].pending


async def test_undecodable_dead_letter_replays_to_every_agreement_after_the_fix(world):
    world.agree("statistik", STATISTIK)
    async with running(world):
        await asyncio.to_thread(world.produce_raw, b"\x07broken", b"k1")
        await read(world, world.dlq, 1)
    report = await replay_dead_letters(world.config(), SECRET)
    # Still undecodable: dead-lettered again with the reason, replayable later.
    assert report.replayed == 1
    assert report.dead_again == Counter({"MagicByteError": 1})
    entries = await list_dead_letters(world.config())
    assert [e.pending for e in entries] == [False, True]
    assert entries[1].reason.topic == world.source  # the origin survives the round trip


async def test_audit_report_per_subscriber(world):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", STATISTIK)
    await asyncio.to_thread(
        world.produce, [resident(i) for i in range(5)] + [resident(9, city="Unna")]
    )
    async with running(world):
        await read(world, world.delivery_topic("ordnungsamt"), 5)
        await read(world, world.delivery_topic("statistik"), 6)
        await read(world, world.audit, 2)
    records = await read_audit(world.bootstrap, world.registry_url, world.audit)
    by_id = {s.agreement_id: s for s in summarize(records)}
    ordnung = by_id[f"{world.dept}-ordnungsamt"]
    assert (ordnung.delivered, ordnung.filtered) == (5, 1)
    assert ordnung.legal_basis == "§ 34 Abs. 1 BMG"
    assert ordnung.fields["birth_date"] == "generalize: year"
    assert by_id[f"{world.dept}-statistik"].delivered == 6
    only = summarize(records, subscriber="statistik")
    assert [s.subscriber for s in only] == ["statistik"]

    env = {**os.environ, **world.env()}
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub", "audit", "report", "--subscriber", "ordnungsamt", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    (summary,) = json.loads(out.stdout)
    assert summary["delivered"] == 5 and summary["purpose"].startswith("Zustellung")
