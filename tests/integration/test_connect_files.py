"""The file-drop connector against the real broker: German CSV in, events out, bad rows in the
reject file, a crash mid-file and a restart without loss or duplicates."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import shutil
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from connect_world import REPO, Dept
from identity import aiokafka_security

from producers.connectors.files import FileDropConfig, FileDropConnector, event_id
from producers.connectors.mapping import load_mapping, parse_mapping
from producers.connectors.progress import send_progress

MAPPING = REPO / "catalog" / "mappings" / "ordnungsamt-parking-violations.yaml"
SAMPLE = REPO / "catalog" / "mappings" / "ordnungsamt-parking-violations.sample.csv"
GOOD_IN_SAMPLE = 7  # line 6: unknown Tatbestand; line 7: 31.11.; line 10: 1.234,50 is no int


class Crash(Exception):
    pass


@pytest.fixture
async def world(kafka_bootstrap, registry_url, tmp_path):
    dept = Dept(kafka_bootstrap, registry_url)
    topic = await dept.register()
    mapping = load_mapping(MAPPING)
    data = mapping.model.model_dump()
    data["topic"] = topic
    drop = tmp_path / "drop"
    drop.mkdir()
    config = FileDropConfig(
        directory=drop,
        bootstrap_servers=kafka_bootstrap,
        registry_url=registry_url,
        progress_topic=f"{dept.name}.connect.progress",
        transactional_id=f"{dept.name}-files",
        chunk_size=3,
    )
    return dept, topic, parse_mapping(data, str(MAPPING)), config


def rejects_of(config: FileDropConfig, name: str) -> list[dict[str, str]]:
    path = config.directory / "rejects" / f"{name}.rejects.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


async def test_sample_export_in_windows_1252_is_published_and_bad_rows_rejected(world):
    dept, topic, mapping, config = world
    # the export as a German Windows system writes it
    text = SAMPLE.read_text(encoding="utf-8")
    (config.directory / "owi.csv").write_bytes(text.encode("cp1252"))

    async with FileDropConnector(config, mapping) as connector:
        [result] = await connector.run_once()
    assert (result.published, result.rejected, result.outcome) == (GOOD_IN_SAMPLE, 3, "done")
    assert (config.directory / "done" / "owi.csv").exists()
    assert not (config.directory / "owi.csv").exists()

    messages = await asyncio.to_thread(dept.read, topic, GOOD_IN_SAMPLE)
    values = dept.decode(topic, messages)
    assert len(values) == GOOD_IN_SAMPLE
    first = values[0]
    assert first["violation_id"] == "OWI-2026-000101"
    assert first["occurred_at"] == datetime(2026, 11, 24, 6, 45, tzinfo=UTC)  # 07:45 in Hamm
    assert first["street"] == "Bahnhofstraße"  # decoded from Windows-1252
    assert first["location"] == {"lat": 51.6806, "lon": 7.8162}
    by_id = {v["violation_id"]: v for v in values}
    assert by_id["OWI-2026-000102"]["fine_eur"] == 70 and by_id["OWI-2026-000102"]["obstruction"]
    assert by_id["OWI-2026-000103"]["obstruction"] is False  # empty: the mapping's default
    assert by_id["OWI-2026-000108"]["violation_type"] == "OTHER"
    sha = result.sha256
    ids = [dict(m.headers())["ce_id"].decode() for m in messages]
    assert ids[0] == event_id(sha, 2)  # deterministic: file hash + line

    rejects = rejects_of(config, "owi.csv")
    assert [(r["_line"], r["Aktenzeichen"]) for r in rejects] == [
        ("6", "OWI-2026-000105"),
        ("7", "OWI-2026-000106"),
        ("10", "OWI-2026-000109"),
    ]
    assert "column 'Tatbestand' field violation_type" in rejects[0]["_error"]
    assert "'Falschparken'" in rejects[0]["_error"]
    assert "column 'Tatzeit' field occurred_at" in rejects[1]["_error"]
    assert "column 'Verwarngeld' field fine_eur" in rejects[2]["_error"]


async def test_crash_mid_file_then_restart_publishes_each_row_once(world):
    dept, topic, mapping, config = world
    rows = [
        "Aktenzeichen;Tatzeit;Kennzeichen;Tatbestand;Breitengrad;Längengrad;Straße;PLZ;"
        "Verwarngeld;Dienstnummer;Behinderung"
    ]
    for i in range(20):
        bad = i in (4, 13)
        rows.append(
            f"A-{i};24.11.2026 07:{i:02d};HAM-X {i};{'Quatsch' if bad else 'Gehweg'};51,68;7,82;"
            f"Weg;59065;55;OD-1;nein"
        )
    (config.directory / "big.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    commits = []

    def crash_after_two_chunks(progress):
        commits.append(progress.line)
        if len(commits) == 2:
            raise Crash("simulated crash after 6 rows were committed")

    with pytest.raises(Crash):
        async with FileDropConnector(config, mapping, after_commit=crash_after_two_chunks) as c:
            await c.run_once()
    assert commits == [4, 7]  # chunks of 3 rows: lines 2-4, 5-7
    assert (config.directory / "big.csv").exists()  # not done yet

    # A crash inside a transaction: rows and a progress record claiming the whole file is done
    # were sent, never committed; the restart fences this zombie and must ignore both.
    zombie = AIOKafkaProducer(
        bootstrap_servers=config.bootstrap_servers,
        **aiokafka_security(),
        transactional_id=config.transactional_id,
    )
    await zombie.start()
    await zombie.begin_transaction()
    await zombie.send_and_wait(topic, b"uncommitted", key=b"A-8")
    sha = hashlib.sha256((config.directory / "big.csv").read_bytes()).hexdigest()
    lie = {"line": 21, "done": True, "published": 0, "rejected": 0}
    await send_progress(zombie, f"files/{sha}", lie, config.progress_topic)
    await zombie.client.close()  # gone without commit or abort

    async with FileDropConnector(config, mapping) as restarted:
        [result] = await restarted.run_once()
    assert result.published == 18 and result.rejected == 2

    messages = await asyncio.to_thread(dept.read, topic, 18)
    keys = Counter(m.key().decode() for m in messages)
    assert len(messages) == 18 and max(keys.values()) == 1
    assert set(keys) == {f"A-{i}" for i in range(20) if i not in (4, 13)}
    rejects = rejects_of(config, "big.csv")
    assert [r["Aktenzeichen"] for r in rejects] == ["A-4", "A-13"]  # each once


async def test_same_export_dropped_again_is_not_published_twice(world):
    dept, topic, mapping, config = world
    shutil.copy(SAMPLE, config.directory / "a.csv")
    async with FileDropConnector(config, mapping) as connector:
        await connector.run_once()
    shutil.copy(SAMPLE, config.directory / "a.csv")
    async with FileDropConnector(config, mapping) as connector:  # a new process, too
        [result] = await connector.run_once()
    assert result.outcome == "duplicate"
    assert (config.directory / "done" / "a.csv").exists()
    messages = await asyncio.to_thread(dept.read, topic, GOOD_IN_SAMPLE)
    assert len(messages) == GOOD_IN_SAMPLE


async def test_missing_column_rejects_the_whole_file_with_the_reason(world):
    _, _, mapping, config = world
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    header = lines[0].replace(";Kennzeichen", ";Kennz")
    (config.directory / "x.csv").write_text("\n".join([header, *lines[1:]]), encoding="utf-8")
    async with FileDropConnector(config, mapping) as connector:
        [result] = await connector.run_once()
    assert result.outcome == "rejected"
    assert (config.directory / "rejects" / "x.csv").exists()
    [reject] = rejects_of(config, "x.csv")
    assert "Kennzeichen" in reject["_error"] and str(MAPPING) in reject["_error"]


async def test_json_lines_without_columns_are_records(world, tmp_path: Path):
    dept, topic, _, config = world
    mapping = parse_mapping({"topic": topic, "source": "/hamm/test/jsonl", "format": "jsonl"})
    good = (
        '{"violation_id": "J-1", "occurred_at": "2026-11-24T07:45:00+01:00", '
        '"licence_plate": "HAM-J 1", "violation_type": "SIDEWALK", '
        '"location": {"lat": 51.68, "lon": 7.82}, "street": "Weg", "postcode": "59065", '
        '"fine_eur": 55, "officer_id": "OD-1", "obstruction": false}'
    )
    text = "\n".join([good, "not json", good.replace('"fine_eur": 55', '"fine_eur": "x"')])
    (config.directory / f"{uuid.uuid4().hex}.jsonl").write_text(text + "\n", encoding="utf-8")
    async with FileDropConnector(config, mapping) as connector:
        [result] = await connector.run_once()
    assert (result.published, result.rejected) == (1, 2)
    messages = await asyncio.to_thread(dept.read, topic, 1)
    assert [v["violation_id"] for v in dept.decode(topic, messages)] == ["J-1"]


async def test_a_row_breaking_a_reject_rule_goes_to_the_reject_file_by_name(world, tmp_path):
    from test_publisher_broker import rulebook_for

    _dept, topic, mapping, config = world
    config.quality = rulebook_for(topic, "ordnungsamt.parking-violation.recorded", tmp_path / "s")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    berlin = lines[1].replace(";59065;", ";10115;")  # a Berlin postcode: not a place in Hamm
    (config.directory / "plz.csv").write_text("\n".join([lines[0], berlin, lines[2]]) + "\n")
    async with FileDropConnector(config, mapping) as connector:
        [result] = await connector.run_once()
    assert (result.published, result.rejected) == (1, 1)
    [reject] = rejects_of(config, "plz.csv")
    assert reject["_line"] == "2"
    assert reject["_error"].startswith("field postcode: breaks quality rule plz-in-hamm: ")
