"""Differential tests: the native core's outcome equals the Python engine's, byte for byte, on
random schemas, records, poison and agreements (and when the writer schema differs from the
one the agreements were compiled against)."""

from __future__ import annotations

import copy
import io
import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from native_strategies import TEXT, agreements, shapes

from consumers.router import metrics
from consumers.router.engine import NativeTable, load_core, route_native
from consumers.router.process import Accounting, Outcome, Record, route_events
from consumers.router.routes import Route, RoutingTable, SourceRoutes
from hub.agreements import AgreementCheckError, AgreementError, compile_agreement
from hub.agreements.model import parse_agreement
from hub.receipts import decode_entries, receipts_key
from hub.serde import AvroSerde, parse

core = load_core()
pytestmark = pytest.mark.skipif(core is None, reason="hub_core is not installed (make install)")

SECRET = b"differential-master-secret-0123456789"
TOPIC = "t.gen.event"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def poison(body: bytes) -> st.SearchStrategy[bytes | None]:
    return st.one_of(
        st.none(),
        st.binary(max_size=12),
        st.just(b"\x01" + body[1:]),
        st.integers(0, max(0, len(body) - 1)).map(lambda n: body[:n]),
        st.just(body + b"\x00"),
        st.just(body[:5] + bytes(reversed(body[5:]))),
        st.just(b"\x00\x00\x00\x00\x63" + body[5:]),
    )


def build(data: st.DataObject, shape: Any) -> tuple[SourceRoutes, AvroSerde]:
    serde = AvroSerde()
    serde.add_schema(1, shape.schema)
    routes = []
    for i in range(data.draw(st.integers(1, 3), label="agreements")):
        raw = data.draw(agreements(shape, TOPIC, f"a{i}"), label=f"agreement {i}")
        try:
            compiled = compile_agreement(parse_agreement(raw, f"a{i}.yaml"), shape.schema, SECRET)
        except (AgreementCheckError, AgreementError, OverflowError):
            continue
        serde.add_schema(100 + i, compiled.output_schema)
        routes.append(Route(compiled, 100 + i))
    assume(routes)
    return SourceRoutes(TOPIC, parse(shape.schema), tuple(routes)), serde


def encode(schema: dict[str, Any], value: dict[str, Any]) -> bytes | None:
    buf = io.BytesIO()
    try:
        fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), value)
    except (ValueError, TypeError, OverflowError, KeyError):
        return None
    return buf.getvalue()


def by_topic(deliveries: list) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for topic, key, value, headers in deliveries:
        out[topic].append((key, value, headers))
    return dict(out)


# fastavro names its BytesIO in some messages: the address differs from one decode to the next
ADDRESS = re.compile(rb" at 0x[0-9a-f]+")


def dead_letters(outcome: Outcome) -> list:
    return [
        (key, value, [(k, ADDRESS.sub(b" at 0x", v)) for k, v in headers])
        for key, value, headers in outcome.dead_letters
    ]


def assert_same(py: Outcome, nat: Outcome, exact_order: bool) -> None:
    if exact_order:
        assert nat.deliveries == py.deliveries
        assert dead_letters(nat) == dead_letters(py)
        assert nat.event_times == py.event_times
    else:  # refused agreements ran on the Python engine after the core: per topic in order
        assert by_topic(nat.deliveries) == by_topic(py.deliveries)
        assert sorted(dead_letters(nat), key=repr) == sorted(dead_letters(py), key=repr)
        assert sorted(nat.event_times) == sorted(py.event_times)
    assert nat.delivered == py.delivered
    assert nat.filtered == py.filtered
    assert nat.dead == py.dead
    assert nat.events == py.events
    assert nat.ranges == py.ranges
    key = lambda a: a["agreement_id"]  # noqa: E731
    assert sorted(nat.audit, key=key) == sorted(py.audit, key=key)
    assert receipts(nat) == receipts(py)
    assert quality(nat) == quality(py)


def receipts(outcome: Outcome) -> dict:
    """Each receipt's entries in offset order (what the router writes)."""
    return {
        where: sorted(
            (e for n, items in part.chunks for e in decode_entries(n, items)),
            key=lambda e: e["offset"],
        )
        for where, part in outcome.receipts.items()
    }


def quality(outcome: Outcome) -> dict:
    return {
        where: (m.figures, sorted(m.ids), m.last_timestamp) for where, m in outcome.quality.items()
    }


ACCOUNTING = Accounting(receipts_key(SECRET), True, 3_600_000_000)


def run_both(
    source: SourceRoutes, serde: AvroSerde, records: list[Record], writers: dict[int, dict]
) -> tuple[Outcome, Outcome, NativeTable]:
    py = route_events(
        source, ((r, r) for r in records), serde, NOW, "router-0", accounting=ACCOUNTING
    )
    table = NativeTable(core, RoutingTable({TOPIC: source}), SECRET, ACCOUNTING)
    for why in table.refused.values():
        event(f"refused: {why}")
    mismatches = metrics.ENGINE_MISMATCHES._value.get()
    native = table.sources.get(TOPIC)
    if native is None:
        return py, py, table
    for schema_id, schema in writers.items():
        native.learn(schema_id, serde.schema(schema_id).canonical, parse(schema).canonical)
    reruns = {r: metrics.ENGINE_RERUNS.labels(r)._value.get() for r in ("error", "defer")}
    nat = route_native(native, records, serde, NOW, "router-0")
    # The batch the core keeps for its own producing holds the same records, in order.
    # (Refused agreements' deliveries come first then; another topic, so no order between.)
    kept = route_native(native, records, serde, NOW, "router-0", lazy=True)
    if table.refused:
        assert sorted(kept.all_deliveries(), key=repr) == sorted(nat.deliveries, key=repr)
    else:
        assert kept.all_deliveries() == nat.deliveries
    for r, before in reruns.items():
        if metrics.ENGINE_RERUNS.labels(r)._value.get() > before:
            event(f"events handed to Python ({r})")
    event("delivered natively" if nat.deliveries else "nothing delivered")
    if py.receipts:
        event("receipts written")
    assert metrics.ENGINE_MISMATCHES._value.get() == mismatches, "core and Python disagreed"
    return py, nat, table


@SETTINGS
@given(data=st.data())
def test_native_outcome_equals_python(data: st.DataObject) -> None:
    shape = data.draw(shapes(), label="schema")
    source, serde = build(data, shape)
    values = data.draw(st.lists(shape.values, min_size=1, max_size=6), label="records")
    records = []
    for offset, value in enumerate(values):
        body = encode(shape.schema, value)
        if body is None:
            continue
        payload = serde.encode(1, value)
        if data.draw(st.integers(0, 5), label="poison?") == 0:
            payload = data.draw(poison(payload), label="poison")
        key = data.draw(st.none() | st.binary(max_size=6) | TEXT.map(str.encode), label="key")
        ce_id = data.draw(st.sampled_from([b"1", b"2", b"3"]), label="ce_id")
        headers = [("ce_id", ce_id), ("ce_subject", b"x"), ("content-type", b"avro")]
        flags = data.draw(st.sampled_from([None, b"", b"r1", b"r1,r2"]), label="flags")
        if flags is not None:
            headers.append(("ce_hubquality", flags))
        arrival = data.draw(st.sampled_from([1_700_000_000_000, 4_102_444_800_000]), label="ts")
        records.append(Record(TOPIC, 3, 10 + offset, key, payload, headers, arrival))
    assume(records)
    py, nat, table = run_both(source, serde, records, {1: shape.schema})
    assert_same(py, nat, exact_order=not table.refused)


def evolve(schema: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """A later writer version: a field added, perhaps a nullable one gone (its reader default
    is null), perhaps an int widened to long (the reader reads long or double then)."""
    writer = copy.deepcopy(schema)
    fields = writer["fields"]
    at = data.draw(st.integers(0, len(fields)), label="new field at")
    fields.insert(
        at,
        {
            "name": "zz_added",
            "type": ["null", "string"],
            "default": None,
            "doc": "",
            "x-pii": "none",
        },
    )
    return writer


@SETTINGS
@given(data=st.data())
def test_native_outcome_equals_python_across_schema_versions(data: st.DataObject) -> None:
    shape = data.draw(shapes(), label="schema")
    reader = copy.deepcopy(shape.schema)
    # reader fields the writer may leave out: nullable ones, with a null default
    for f in reader["fields"]:
        if isinstance(f["type"], list):
            f["default"] = None
    shape.schema = reader
    source, serde = build(data, shape)
    writer = evolve(reader, data)
    dropped = [
        f["name"]
        for f in writer["fields"]
        if isinstance(f["type"], list) and f["name"] != "zz_added"
    ]
    if dropped and data.draw(st.booleans(), label="drop one"):
        gone = data.draw(st.sampled_from(dropped), label="dropped")
        writer["fields"] = [f for f in writer["fields"] if f["name"] != gone]
    serde.add_schema(2, writer)
    values = data.draw(st.lists(shape.values, min_size=1, max_size=5), label="records")
    records = []
    for offset, value in enumerate(values):
        value = {**value, "zz_added": data.draw(st.none() | TEXT, label="added")}
        value = {f["name"]: value.get(f["name"]) for f in writer["fields"]}
        if encode(writer, value) is None:
            continue
        records.append(
            Record(TOPIC, 0, offset, b"k", serde.encode(2, value), [], 1_700_000_000_000)
        )
    assume(records)
    py, nat, table = run_both(source, serde, records, {2: writer})
    assert_same(py, nat, exact_order=not table.refused)
