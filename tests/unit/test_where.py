"""The agreement row filter: structure, operators, combinators, missing values, type checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_agreement_fixtures import record, resident_moved_v1

from hub.agreements.avro_types import index_schema
from hub.agreements.where import (
    WhereCheckError,
    WhereError,
    compile_where,
    parse_where,
    where_paths,
)

FIELDS = index_schema(resident_moved_v1()).fields
UTC = dt.UTC


def matches(where: dict[str, Any], rec: dict[str, Any] | None = None) -> bool:
    return compile_where(where, FIELDS)(record() if rec is None else rec)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"new_address.city": {"eq": "Hamm"}}, True),
        ({"new_address.city": {"eq": "Unna"}}, False),
        ({"new_address.city": {"ne": "Unna"}}, True),
        ({"new_address.city": {"ne": "Hamm"}}, False),
        ({"new_address.city": {"in": ["Unna", "Hamm"]}}, True),
        ({"new_address.city": {"in": ["Unna"]}}, False),
        ({"new_address.city": {"not_in": ["Unna"]}}, True),
        ({"new_address.city": {"not_in": ["Hamm"]}}, False),
        ({"household_size": {"gt": 2}}, True),
        ({"household_size": {"gt": 3}}, False),
        ({"household_size": {"gte": 3}}, True),
        ({"household_size": {"lt": 3}}, False),
        ({"household_size": {"lte": 3}}, True),
        ({"household_size": {"gte": 2, "lt": 4}}, True),  # several operators: all hold
        ({"household_size": {"gte": 2, "lt": 3}}, False),
        ({"rent": {"gt": 800}}, True),  # int operand on a double field
        ({"rent": {"lt": 812.6}}, True),
        ({"new_address.postcode": {"gte": "59000", "lt": "60000"}}, True),
        ({"reason": {"eq": "WORK"}}, True),
        ({"reason": {"in": ["FAMILY", "OTHER"]}}, False),
        ({"birth_date": {"lt": dt.date(1990, 1, 1)}}, True),
        ({"birth_date": {"lt": "1980-01-01"}}, False),  # ISO string operand
        ({"occurred_at": {"gte": "2026-07-15T00:00:00+02:00"}}, True),
        ({"occurred_at": {"lt": dt.datetime(2026, 1, 1, tzinfo=UTC)}}, False),
        ({"income": {"gte": "42000.50"}}, True),
        ({"income": {"gt": 42000.5}}, False),
        ({"new_address.city": {"exists": True}}, True),
        ({"previous_reason": {"exists": True}}, False),
        ({"previous_reason": {"exists": False}}, True),
    ],
)
def test_operators(where: dict[str, Any], expected: bool) -> None:
    assert matches(where) is expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"all": [{"household_size": {"gt": 2}}, {"reason": {"eq": "WORK"}}]}, True),
        ({"all": [{"household_size": {"gt": 2}}, {"reason": {"eq": "OTHER"}}]}, False),
        ({"any": [{"household_size": {"gt": 9}}, {"reason": {"eq": "WORK"}}]}, True),
        ({"any": [{"household_size": {"gt": 9}}, {"reason": {"eq": "OTHER"}}]}, False),
        ({"not": {"reason": {"eq": "WORK"}}}, False),
        (
            {
                "all": [
                    {"household_size": {"gt": 2}},
                    {"not": {"previous_reason": {"exists": True}}},
                ]
            },
            True,
        ),
        ({"not": {"any": [{"not": {"reason": {"eq": "WORK"}}}]}}, True),
        # several entries in one mapping: all hold
        ({"reason": {"eq": "WORK"}, "household_size": {"lt": 3}}, False),
        ({"reason": {"eq": "WORK"}, "any": [{"household_size": {"eq": 3}}]}, True),
    ],
)
def test_combinators(where: dict[str, Any], expected: bool) -> None:
    assert matches(where) is expected


def test_missing_values_semantics() -> None:
    """Absent or None (also via a None parent record): only ne, not_in, exists:false hold."""
    recs = [
        record(old_address=None),
        {k: v for k, v in record().items() if k != "old_address"},
        record(old_address={"city": None}),
    ]
    for rec in recs:
        assert not matches({"old_address.city": {"eq": "Hamm"}}, rec)
        assert not matches({"old_address.city": {"in": ["Hamm"]}}, rec)
        assert not matches({"old_address.city": {"lt": "Z"}}, rec)
        assert not matches({"old_address.city": {"gte": "A"}}, rec)
        assert not matches({"old_address.city": {"exists": True}}, rec)
        assert matches({"old_address.city": {"ne": "Hamm"}}, rec)
        assert matches({"old_address.city": {"not_in": ["Hamm"]}}, rec)
        assert matches({"old_address.city": {"exists": False}}, rec)


def test_no_filter_matches_everything() -> None:
    assert compile_where(None, FIELDS)({}) is True


def test_exists_on_record_field() -> None:
    assert matches({"location": {"exists": True}})
    assert not matches({"location": {"exists": True}}, record(location=None))


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ({}, "where"),
        ([], "where"),
        ({"a": 3}, "where.a"),
        ({"a": {}}, "where.a"),
        ({"a": {"like": "x"}}, "where.a.like"),
        ({"a": {"eq": None}}, "where.a.eq"),
        ({"a": {"eq": [1]}}, "where.a.eq"),
        ({"a": {"in": []}}, "where.a.in"),
        ({"a": {"in": "x"}}, "where.a.in"),
        ({"a": {"in": [{"x": 1}]}}, "where.a.in"),
        ({"a": {"exists": "yes"}}, "where.a.exists"),
        ({"all": []}, "where.all"),
        ({"any": {"a": {"eq": 1}}}, "where.any"),
        ({"all": [{"a": {"eq": 1}}, {"not": {}}]}, "where.all[1].not"),
        ({"bad path!": {"eq": 1}}, "where.bad path!"),
        ({"__import__('os')": {"eq": 1}}, "where.__import__('os')"),
    ],
)
def test_structure_errors_name_their_place(raw: Any, loc: str) -> None:
    with pytest.raises(WhereError) as info:
        parse_where(raw)
    assert info.value.loc == loc


@pytest.mark.parametrize(
    ("where", "loc", "match"),
    [
        ({"nope": {"eq": 1}}, "where.nope.eq", "unknown field"),
        ({"new_address.nope": {"exists": True}}, "where.new_address.nope.exists", "unknown field"),
        ({"household_size": {"eq": "3"}}, "where.household_size.eq", "does not fit"),
        ({"household_size": {"eq": True}}, "where.household_size.eq", "does not fit"),
        ({"household_size": {"in": [1, 2.5]}}, "where.household_size.in", "does not fit"),
        ({"new_address.city": {"eq": 3}}, "where.new_address.city.eq", "does not fit"),
        ({"reason": {"eq": "HOLIDAY"}}, "where.reason.eq", "not a symbol"),
        ({"reason": {"lt": "WORK"}}, "where.reason.lt", "does not apply to an enum"),
        ({"birth_date": {"lt": "yesterday"}}, "where.birth_date.lt", "does not fit"),
        ({"birth_date": {"lt": 19840101}}, "where.birth_date.lt", "does not fit"),
        ({"occurred_at": {"lt": "2026-01-01T00:00:00"}}, "where.occurred_at.lt", "time zone"),
        ({"occurred_at": {"lt": dt.date(2026, 1, 1)}}, "where.occurred_at.lt", "time zone"),
        ({"income": {"gt": "lots"}}, "where.income.gt", "does not fit"),
        ({"new_address": {"eq": "x"}}, "where.new_address.eq", "only exists applies"),
        ({"tags": {"in": ["a"]}}, "where.tags.in", "only exists applies"),
    ],
)
def test_type_errors_against_schema(where: dict[str, Any], loc: str, match: str) -> None:
    with pytest.raises(WhereCheckError) as info:
        compile_where(where, FIELDS)
    (problem,) = info.value.problems
    assert problem.loc == loc
    assert match in problem.message


def test_all_type_errors_are_collected() -> None:
    where = {"all": [{"nope": {"eq": 1}}, {"household_size": {"eq": "x"}}]}
    with pytest.raises(WhereCheckError) as info:
        compile_where(where, FIELDS)
    assert [p.loc for p in info.value.problems] == [
        "where.all[0].nope.eq",
        "where.all[1].household_size.eq",
    ]


def test_boolean_field() -> None:
    schema = {
        "type": "record",
        "name": "B",
        "fields": [{"name": "ok", "type": "boolean", "doc": "", "x-pii": "none"}],
    }
    fields = index_schema(schema).fields
    assert compile_where({"ok": {"eq": True}}, fields)({"ok": True})
    assert not compile_where({"ok": {"ne": True}}, fields)({"ok": True})
    with pytest.raises(WhereCheckError, match="does not apply to a boolean"):
        compile_where({"ok": {"gt": False}}, fields)
    with pytest.raises(WhereCheckError, match="does not fit"):
        compile_where({"ok": {"eq": 1}}, fields)


def test_where_paths() -> None:
    raw = {"all": [{"a": {"eq": 1}}, {"not": {"b.c": {"exists": True}}}], "d": {"lt": 2}}
    assert where_paths(raw) == ["a", "b.c", "d"]
    assert where_paths(None) == []


@given(st.integers(-(2**40), 2**40), st.integers(-(2**40), 2**40))
def test_ne_is_not_eq_and_not_in_is_not_in(value: int, operand: int) -> None:
    rec = record(household_size=value)
    for a, b in (("eq", "ne"), ("lt", "gte"), ("gt", "lte")):
        assert matches({"household_size": {a: operand}}, rec) != matches(
            {"household_size": {b: operand}}, rec
        )
    assert matches({"household_size": {"in": [operand]}}, rec) != matches(
        {"household_size": {"not_in": [operand]}}, rec
    )
    assert matches({"not": {"household_size": {"eq": operand}}}, rec) == matches(
        {"household_size": {"ne": operand}}, rec
    )


def test_decimal_operand_is_exact() -> None:
    assert matches({"income": {"eq": Decimal("42000.50")}})
    assert matches({"income": {"eq": "42000.5"}})
