"""The row-filter cases of test_where.py, evaluated by the native core: an agreement with the
filter, one encoded event, delivered (matches) or filtered (does not)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import fastavro
import pytest
import test_where
from hypothesis import given
from hypothesis import strategies as st
from native_engine import Event, core
from test_agreement_fixtures import record, resident_moved_v1

from consumers.router import process
from consumers.router.engine import NativeTable
from consumers.router.routes import Route, RoutingTable, SourceRoutes
from hub.agreements.compile import compile_agreement
from hub.agreements.model import parse_agreement
from hub.serde import parse

pytestmark = pytest.mark.skipif(core is None, reason="hub_core is not installed (make install)")
SCHEMA = resident_moved_v1()
PARSED = fastavro.parse_schema(SCHEMA)
SECRET = b"where-test-master-secret-0123456789"


def native_matches(where: dict[str, Any], rec: dict[str, Any] | None = None) -> bool:
    """Whether the core delivers the event under an agreement filtering with ``where``."""
    raw = {
        "id": "w",
        "subscriber": "w",
        "source": "t.t.t",
        "purpose": "Test",
        "legal_basis": "§ 1",
        "valid_until": dt.date(2099, 12, 31),
        "where": where,
        "fields": {"household_size": "keep"},
        "sensitive_legal_basis": "Art. 9 Abs. 2 lit. h DSGVO",
    }
    compiled = compile_agreement(parse_agreement(raw, "w.yaml"), SCHEMA, SECRET)
    table = RoutingTable({"t.t.t": SourceRoutes("t.t.t", parse(SCHEMA), (Route(compiled, 7),))})
    native = NativeTable(core, table, SECRET).sources.get("t.t.t")
    if native is None:  # refused (a decimal operand): the Python engine filters
        return test_where.matches(where, rec)
    native.learn(1, parse(SCHEMA).canonical, parse(SCHEMA).canonical)
    buf = io.BytesIO()
    try:
        fastavro.schemaless_writer(buf, PARSED, record() if rec is None else rec)
    except (TypeError, ValueError):  # a record no Avro bytes carry is the Python engine's alone
        return test_where.matches(where, rec)
    event = Event(b"k", b"\x00\x00\x00\x00\x01" + buf.getvalue())
    deliveries, _, delivered, filtered, reruns, *_ = native.core.route(
        [event], [True], b"t.t.t/0/", process.MAX_DELIVERY_BYTES
    )
    assert not reruns, reruns
    assert (delivered, filtered) in (([1], [0]), ([0], [1]))
    return bool(deliveries)


def cases(test: Any) -> list[Any]:
    (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
    return mark.args[1]


@pytest.mark.parametrize(("where", "expected"), cases(test_where.test_operators))
def test_operators(where: dict[str, Any], expected: bool) -> None:
    assert native_matches(where) is expected


@pytest.mark.parametrize(("where", "expected"), cases(test_where.test_combinators))
def test_combinators(where: dict[str, Any], expected: bool) -> None:
    assert native_matches(where) is expected


def test_missing_values_semantics() -> None:
    recs = [record(old_address=None), {k: v for k, v in record().items() if k != "old_address"}]
    for rec in recs:
        assert not native_matches({"old_address.city": {"eq": "Hamm"}}, rec)
        assert not native_matches({"old_address.city": {"in": ["Hamm"]}}, rec)
        assert not native_matches({"old_address.city": {"lt": "Z"}}, rec)
        assert not native_matches({"old_address.city": {"gte": "A"}}, rec)
        assert not native_matches({"old_address.city": {"exists": True}}, rec)
        assert native_matches({"old_address.city": {"ne": "Hamm"}}, rec)
        assert native_matches({"old_address.city": {"not_in": ["Hamm"]}}, rec)
        assert native_matches({"old_address.city": {"exists": False}}, rec)


def test_exists_on_record_field() -> None:
    assert native_matches({"location": {"exists": True}})
    assert not native_matches({"location": {"exists": True}}, record(location=None))


@given(st.integers(-(2**31), 2**31 - 1), st.integers(-(2**40), 2**40))
def test_order_and_membership_agree_with_python(value: int, operand: int) -> None:
    rec = record(household_size=value, rent=value / 3)
    for where in (
        {"household_size": {"lt": operand}},
        {"household_size": {"in": [operand, value]}},
        {"rent": {"gte": operand}},
        {"rent": {"eq": value / 3}},
        {"not": {"household_size": {"eq": operand}}},
    ):
        assert native_matches(where, rec) is test_where.matches(where, rec)
