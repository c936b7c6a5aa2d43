"""The router's pure core without a broker: routing, dead letters, audit, agreement loading."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.audit.report import render, summarize
from consumers.router.deadletter import DeadLetter, dead_letter_headers, parse_dead_letter
from consumers.router.process import (
    AGREEMENT_HEADER,
    DELIVERY_HEADER,
    Origin,
    route_events,
)
from consumers.router.routes import Route, SourceRoutes, compile_all, load_valid_agreements
from hub.agreements import compile_agreement, load_agreement
from hub.schemas.catalog import load_catalog, standalone_schema
from hub.serde import AvroSerde, parse

REPO = Path(__file__).resolve().parents[2]
SCHEMA = standalone_schema(REPO / "schemas/buergeramt/resident.moved/v1.avsc")
TOPIC = "buergeramt.resident.moved"
SECRET = b"unit-test-master-secret-0123456789"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

AGREEMENT = """\
id: {id}
subscriber: {subscriber}
source: buergeramt.resident.moved
purpose: Test
legal_basis: "§ 34 BMG"
valid_until: {until}
where: {{new_address.city: {{eq: Hamm}}}}
fields:
  resident_id: pseudonymize
  birth_date: {{age_band: 10}}
  new_address.postcode: {{postcode_prefix: 3}}
"""


@dataclass
class FakeEvent:
    value: bytes | None
    key: bytes | None = b"R-1"
    headers: list = field(default_factory=list)
    topic: str = TOPIC
    partition: int = 0
    offset: int = 0
    timestamp: int = 0


def write_agreement(tmp_path: Path, name: str, **values: str) -> Path:
    values = {"id": name, "subscriber": name, "until": "2099-12-31", **values}
    path = tmp_path / f"{name}.yaml"
    path.write_text(AGREEMENT.format(**values))
    return path


def make_source(tmp_path: Path, *names: str, until: str = "2099-12-31") -> tuple:
    serde = AvroSerde()
    serde.add_schema(1, SCHEMA)
    routes = []
    for i, name in enumerate(names, start=10):
        agreement = load_agreement(write_agreement(tmp_path, name, until=until))
        compiled = compile_agreement(agreement, SCHEMA, SECRET)
        serde.add_schema(i, compiled.output_schema)
        routes.append(Route(compiled, i))
    return SourceRoutes(TOPIC, parse(SCHEMA), tuple(routes)), serde


def resident(city: str = "Hamm", birth: date = date(1985, 3, 1)) -> dict:
    address = {"street": "Weststraße", "house_number": "1", "postcode": "59065", "city": city}
    return {
        "resident_id": "R-1",
        "occurred_at": NOW - timedelta(seconds=2),
        "moved_at": NOW,
        "birth_date": birth,
        "old_address": address,
        "new_address": address,
        "residence_type": "MAIN",
    }


def events(serde: AvroSerde, *records: dict | bytes | None) -> list:
    out = []
    for offset, record in enumerate(records):
        value = record if not isinstance(record, dict) else serde.encode(1, record)
        event = FakeEvent(
            value,
            offset=offset,
            headers=[("ce_id", b"e-1"), ("ce_subject", b"R-1"), ("x-user", b"u7")],
        )
        out.append((event, Origin(TOPIC, 0, offset)))
    return out


def test_each_agreement_delivers_with_envelope_headers_only(tmp_path):
    source, serde = make_source(tmp_path, "a", "b")
    out = route_events(source, events(serde, resident()), serde, NOW, "router-0")
    assert [d[0] for d in out.deliveries] == ["deliver.a." + TOPIC, "deliver.b." + TOPIC]
    _topic, key, value, headers = out.deliveries[0]
    assert key is not None and b"R-1" not in key
    assert dict(headers) == {
        "ce_id": b"e-1",
        AGREEMENT_HEADER: b"a",
        DELIVERY_HEADER: f"a/{TOPIC}/0/0".encode(),
    }
    assert serde.decode(value) == {
        "resident_id": serde.decode(value)["resident_id"],
        "birth_date": "40-49",
        "new_address": {"postcode": "590"},
    }
    assert out.delivered == {"a": 1, "b": 1}
    assert out.event_times == [(NOW - timedelta(seconds=2)).timestamp()]  # one per event


def test_filter_counts_and_audit_ranges(tmp_path):
    source, serde = make_source(tmp_path, "a")
    out = route_events(
        source, events(serde, resident(), resident("Unna"), resident()), serde, NOW, "r"
    )
    assert out.delivered == {"a": 2} and out.filtered == {"a": 1}
    (audit,) = out.audit
    assert (audit["first_offset"], audit["last_offset"]) == (0, 2)
    assert (audit["delivered"], audit["filtered"], audit["router"]) == (2, 1, "r")
    assert audit["fields"][0] == {"path": "resident_id", "transform": "pseudonymize"}


@pytest.mark.parametrize(
    "value, error_class",
    [
        (b"\x01abcdef", "MagicByteError"),
        (b"\x00\x00", "MagicByteError"),
        (b"\x00\x00\x00\x00\x63abc", "UnknownSchemaError"),
        (b"\x00\x00\x00\x00\x01\x02", "DecodeError"),
        (None, "EmptyValueError"),
    ],
)
def test_undecodable_events_are_dead_lettered_with_reason(tmp_path, value, error_class):
    source, serde = make_source(tmp_path, "a")
    out = route_events(source, events(serde, resident(), value), serde, NOW, "r")
    assert out.delivered == {"a": 1}
    (dead,) = out.dead_letters
    reason, original = parse_dead_letter(dead[2])
    assert reason.error_class == error_class
    assert (reason.topic, reason.offset, reason.agreement_id) == (TOPIC, 1, None)
    assert dead[1] == value and dead[0] == b"R-1"
    assert ("x-user", b"u7") in original  # the DLQ keeps everything, to replay it


def test_transform_failure_dead_letters_only_that_agreement(tmp_path):
    source, serde = make_source(tmp_path, "a", "b")
    unborn = resident(birth=date(2090, 1, 1))
    out = route_events(source, events(serde, unborn), serde, NOW, "r")
    assert out.deliveries == []  # both use age_band here
    assert sorted(parse_dead_letter(d[2])[0].agreement_id for d in out.dead_letters) == ["a", "b"]
    assert out.dead == {"TransformError": 2}


def test_expired_and_only_agreement(tmp_path):
    source, serde = make_source(tmp_path, "a", until="2026-11-24")
    assert route_events(source, events(serde, resident()), serde, NOW, "r").deliveries == []
    source, serde = make_source(tmp_path, "a", "b")
    out = route_events(source, events(serde, resident()), serde, NOW, "r", only_agreement="b")
    assert [d[0] for d in out.deliveries] == ["deliver.b." + TOPIC]


def test_replayed_flag_reaches_the_audit(tmp_path):
    source, serde = make_source(tmp_path, "a")
    out = route_events(source, events(serde, resident()), serde, NOW, "r", replayed=True)
    assert out.audit[0]["replayed"] is True


header_text = st.text(min_size=0, max_size=40)


@given(
    error=st.text(min_size=1, max_size=30),
    message=header_text,
    topic=st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}\.[a-z]{1,8}", fullmatch=True),
    partition=st.integers(0, 1000),
    offset=st.integers(0, 2**40),
    agreement=st.none() | st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    original=st.lists(st.tuples(st.from_regex(r"[a-z_-]{1,12}", fullmatch=True), st.binary())),
)
def test_dead_letter_headers_round_trip(
    error, message, topic, partition, offset, agreement, original
):
    original = [(k, v) for k, v in original if not k.startswith("hub_dlq_")]
    reason = DeadLetter(error, message, topic, partition, offset, agreement, "r", "2026-11-25")
    parsed, kept = parse_dead_letter(dead_letter_headers(original, reason))
    assert parsed == reason
    assert kept == original


def test_dead_letter_of_a_dead_letter_keeps_only_the_latest_reason():
    first = dead_letter_headers([("ce_id", b"1")], DeadLetter("A", "m", "t.e.x", 0, 5))
    second = dead_letter_headers(first, DeadLetter("B", "n", "t.e.x", 0, 5))
    reason, kept = parse_dead_letter(second)
    assert reason.error_class == "B" and kept == [("ce_id", b"1")]


def test_parse_rejects_headers_without_origin():
    with pytest.raises(ValueError, match="not a hub dead letter"):
        parse_dead_letter([("ce_id", b"1")])


def test_loading_skips_broken_and_duplicate_agreements(tmp_path):
    write_agreement(tmp_path, "a")
    (tmp_path / "b.yaml").write_text("id: [unclosed")
    dup = write_agreement(tmp_path, "c")
    dup.write_text(
        dup.read_text().replace("id: c", "id: a").replace("subscriber: c", "subscriber: x")
    )
    agreements, problems = load_valid_agreements(tmp_path)
    assert [a.id for a in agreements] == ["a"]
    assert any("b.yaml" in p and "YAML" in p for p in problems)
    assert any("c.yaml: id: 'a' already used" in p for p in problems)


def test_missing_agreements_dir_is_a_problem_not_a_crash(tmp_path):
    agreements, problems = load_valid_agreements(tmp_path / "nope")
    assert agreements == [] and "no such directory" in problems[0]


def test_unknown_source_topic_and_bad_transform_are_refused(tmp_path):
    good = load_agreement(write_agreement(tmp_path, "a"))
    other = write_agreement(tmp_path, "b")
    other.write_text(other.read_text().replace("buergeramt.resident.moved", "x.y.z"))
    bad = write_agreement(tmp_path, "c")
    bad.write_text(bad.read_text().replace("{postcode_prefix: 3}", "{h3: 7}"))
    catalog = load_catalog(REPO / "schemas")
    compiled, problems = compile_all(
        [good, load_agreement(other), load_agreement(bad)], catalog, SECRET
    )
    assert [c.agreement.id for c in compiled] == ["a"]
    assert any("b.yaml: source: no schema for topic 'x.y.z'" in p for p in problems)
    assert any("c.yaml" in p and "new_address.postcode" in p for p in problems)


def audit(agreement: str, subscriber: str, delivered: int, at: datetime, **extra) -> dict:
    return {
        "agreement_id": agreement,
        "subscriber": subscriber,
        "purpose": extra.get("purpose", "P"),
        "legal_basis": "L",
        "sensitive_legal_basis": None,
        "source_topic": TOPIC,
        "delivery_topic": f"deliver.{subscriber}.{TOPIC}",
        "delivered": delivered,
        "filtered": 1,
        "fields": [{"path": "a", "transform": extra.get("transform", "keep")}],
        "key_transform": "pseudonymize",
        "replayed": extra.get("replayed", False),
        "recorded_at": at,
    }


def test_audit_summary_adds_up_and_filters():
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    records = [
        audit("a", "ordnungsamt", 3, t0),
        audit("a", "ordnungsamt", 2, t0 + timedelta(days=2), purpose="P2", transform="drop"),
        audit("b", "statistik", 7, t0 + timedelta(days=1), replayed=True),
    ]
    a, b = summarize(records)
    assert (a.delivered, a.filtered, a.batches) == (5, 2, 2)
    assert a.purpose == "P2" and a.fields == {"a": "drop"}  # the latest terms win
    assert (a.first_at, a.last_at) == (t0, t0 + timedelta(days=2))
    assert b.replayed == 7
    assert [s.agreement_id for s in summarize(records, subscriber="statistik")] == ["b"]
    later = summarize(records, since=t0 + timedelta(days=1))
    assert [(s.agreement_id, s.delivered) for s in later] == [("a", 2), ("b", 7)]
    text = render([a, b])
    assert "a  →  ordnungsamt" in text and "delivered 5 event(s)" in text
    assert render([]) == "no deliveries recorded"


async def test_incompatible_output_schema_leaves_only_that_agreement_out(tmp_path):
    from consumers.router.routes import build_routing_table
    from hub.serde import RegistryError

    write_agreement(tmp_path, "a")
    write_agreement(tmp_path, "b")
    catalog = load_catalog(REPO / "schemas")

    async def register(subject: str, schema: dict) -> int:
        if subject.startswith("deliver.b."):
            raise RegistryError(409, 409, "Schema being registered is incompatible")
        return 7

    table = await build_routing_table(tmp_path, catalog, SECRET, register)
    assert [r.agreement_id for r in table.routes] == ["a"]
    assert any("b.yaml" in p and "incompatible" in p for p in table.problems)

    async def unreachable(subject: str, schema: dict) -> int:
        raise RegistryError(0, 0, "registry unreachable")

    with pytest.raises(RegistryError):  # not the agreement's fault: the caller retries
        await build_routing_table(tmp_path, catalog, SECRET, unreachable)


def test_a_delivery_too_large_for_a_batch_is_dead_lettered(tmp_path, monkeypatch):
    from consumers.router import process

    source, serde = make_source(tmp_path, "a")
    monkeypatch.setattr(process, "MAX_DELIVERY_BYTES", 10)
    out = route_events(source, events(serde, resident()), serde, NOW, "r")
    assert out.deliveries == []
    (dead,) = out.dead_letters
    assert parse_dead_letter(dead[2])[0].error_class == "DeliveryTooLargeError"
