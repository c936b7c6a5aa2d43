"""Quality rules (x-quality): every operator on every field type, field and now operands, the
rule model, the side files and what lint says about them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from hub.agreements.avro_types import index_schema
from hub.conditions import ConditionError, compile_condition, parse_condition
from hub.quality import RuleBook, compile_rules, evaluate, parse_rules, quality_path
from hub.schemas.catalog import load_catalog
from hub.schemas.lint import lint

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _f(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "doc": name, "x-pii": "none", **extra}


SCHEMA = {
    "type": "record",
    "name": "Everything",
    "namespace": "de.hamm.test",
    "doc": "Jeder Typ.",
    "fields": [
        _f("s", "string"),
        _f("i", "int"),
        _f("l", "long"),
        _f("f", "float"),
        _f("d", "double"),
        _f("b", "boolean"),
        _f("e", {"type": "enum", "name": "E", "symbols": ["A", "B", "C"], "default": "C"}),
        _f("day", {"type": "int", "logicalType": "date"}),
        _f("ts", {"type": "long", "logicalType": "timestamp-millis"}),
        _f("us", {"type": "long", "logicalType": "timestamp-micros"}),
        _f("local", {"type": "long", "logicalType": "local-timestamp-millis"}),
        _f(
            "money",
            {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
        ),
        _f("maybe", ["null", "int"], default=None),
        _f("later", ["null", {"type": "long", "logicalType": "timestamp-millis"}], default=None),
        _f(
            "inner",
            {
                "type": "record",
                "name": "Inner",
                "fields": [_f("x", "double"), _f("y", ["null", "string"], default=None)],
            },
        ),
        _f("tags", {"type": "array", "items": "string"}),
        _f("extra", {"type": "map", "values": "double"}),
    ],
}
FIELDS = index_schema(SCHEMA).fields


def record(**overrides: Any) -> dict[str, Any]:
    base = {
        "s": "59065",
        "i": 5,
        "l": 5_000_000_000,
        "f": 1.5,
        "d": 2.25,
        "b": True,
        "e": "B",
        "day": dt.date(2026, 11, 20),
        "ts": dt.datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        "us": dt.datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC),
        "local": dt.datetime(2026, 11, 25, 11, 0),
        "money": Decimal("12.50"),
        "maybe": None,
        "later": dt.datetime(2026, 11, 25, 11, 0, tzinfo=UTC),
        "inner": {"x": 0.5, "y": None},
        "tags": ["a"],
        "extra": {"O3": 1.0},
    }
    base.update(overrides)
    return base


def holds(condition: dict[str, Any], rec: dict[str, Any] | None = None) -> bool:
    problems: list[ConditionError] = []
    expr = parse_condition(condition, "check", references=True)
    predicate = compile_condition(expr, FIELDS, problems, clock=lambda: NOW)
    assert problems == []
    return predicate(record() if rec is None else rec)


def problem_of(condition: dict[str, Any]) -> ConditionError:
    problems: list[ConditionError] = []
    expr = parse_condition(condition, "check", references=True)
    compile_condition(expr, FIELDS, problems, clock=lambda: NOW)
    assert len(problems) == 1, problems
    return problems[0]


# --- every operator on every comparable type (value operands) -------------------------------

# (field, a smaller value, the record's value, a larger value)
ORDERED = [
    ("s", "59063", "59065", "59077"),
    ("i", 4, 5, 6),
    ("l", 4_999_999_999, 5_000_000_000, 5_000_000_001),
    ("f", 1.25, 1.5, 2),
    ("d", 2, 2.25, 3.5),
    ("day", "2026-11-19", "2026-11-20", dt.date(2026, 11, 21)),
    ("ts", "2026-11-25T10:59:00+02:00", "2026-11-25T10:00:00Z", "2026-11-25T10:00:01Z"),
    ("us", "2026-11-25T10:00:00.123455Z", "2026-11-25T10:00:00.123456Z", "2026-11-25T11:00:00Z"),
    ("local", "2026-11-25T10:59:59", "2026-11-25T11:00:00", dt.datetime(2026, 11, 25, 11, 1)),
    ("money", "12.49", "12.5", 13),
]


@pytest.mark.parametrize(("name", "low", "same", "high"), ORDERED)
def test_every_operator_on_ordered_types(name: str, low: Any, same: Any, high: Any) -> None:
    expected = {
        "eq": (False, True, False),
        "ne": (True, False, True),
        "lt": (False, False, True),
        "lte": (False, True, True),
        "gt": (True, False, False),
        "gte": (True, True, False),
    }
    for op, outcome in expected.items():
        got = tuple(holds({name: {op: operand}}) for operand in (low, same, high))
        assert got == outcome, (name, op)
    assert holds({name: {"in": [low, same]}})
    assert not holds({name: {"in": [low, high]}})
    assert holds({name: {"not_in": [low, high]}})
    assert not holds({name: {"not_in": [same]}})
    assert holds({name: {"exists": True}})
    assert not holds({name: {"exists": False}})


@pytest.mark.parametrize(("name", "same", "other"), [("b", True, False), ("e", "B", "A")])
def test_equality_operators_on_booleans_and_enums(name: str, same: Any, other: Any) -> None:
    assert holds({name: {"eq": same}}) and not holds({name: {"eq": other}})
    assert holds({name: {"ne": other}}) and not holds({name: {"ne": same}})
    assert holds({name: {"in": [other, same]}}) and not holds({name: {"in": [other]}})
    assert holds({name: {"not_in": [other]}}) and not holds({name: {"not_in": [same]}})
    for op in ("lt", "lte", "gt", "gte"):
        assert "does not apply" in problem_of({name: {op: same}}).message


@pytest.mark.parametrize("name", ["inner", "tags", "extra"])
def test_only_exists_on_records_arrays_maps(name: str) -> None:
    assert holds({name: {"exists": True}})
    assert not holds({name: {"exists": True}}, record(**{name: None}))
    for op in ("eq", "lt", "in"):
        operand = ["a"] if op == "in" else "a"
        assert "only exists applies" in problem_of({name: {op: operand}}).message


@pytest.mark.parametrize(
    ("condition", "match"),
    [
        ({"i": {"eq": "5"}}, "does not fit"),
        ({"i": {"eq": 5.5}}, "does not fit"),
        ({"f": {"gt": "1"}}, "does not fit"),
        ({"s": {"eq": 59065}}, "does not fit"),
        ({"day": {"lt": "yesterday"}}, "does not fit"),
        ({"ts": {"lt": "2026-01-01T00:00:00"}}, "time zone"),
        ({"local": {"lt": "2026-01-01T00:00:00Z"}}, "does not fit"),
        ({"money": {"gt": "lots"}}, "does not fit"),
        ({"e": {"eq": "Z"}}, "not a symbol"),
        ({"b": {"eq": 1}}, "does not fit"),
        ({"nope": {"eq": 1}}, "unknown field"),
        ({"inner.nope": {"exists": True}}, "unknown field"),
    ],
)
def test_comparisons_that_do_not_fit_the_type(condition: dict[str, Any], match: str) -> None:
    assert match in problem_of(condition).message


def test_writer_forms_read_as_decoded_values() -> None:
    """What fastavro's writer takes besides the decoded types: epoch millis, days, bytes."""
    millis = int(dt.datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp() * 1000)
    rec = record(
        ts=millis,
        us=millis * 1000,
        day=(dt.date(2026, 11, 20) - dt.date(1970, 1, 1)).days,
        local=int(dt.datetime(2026, 11, 25, 11, 0, tzinfo=UTC).timestamp() * 1000),
        money=(1250).to_bytes(4, "big", signed=True),
    )
    assert holds({"ts": {"eq": "2026-11-25T10:00:00Z"}}, rec)
    assert holds({"us": {"eq": "2026-11-25T10:00:00Z"}}, rec)
    assert holds({"day": {"eq": "2026-11-20"}}, rec)
    assert holds({"local": {"eq": "2026-11-25T11:00:00"}}, rec)
    assert holds({"money": {"eq": "12.50"}}, rec)


def test_missing_values() -> None:
    for rec in (record(maybe=None), {k: v for k, v in record().items() if k != "maybe"}):
        for op in ("eq", "lt", "lte", "gt", "gte"):
            assert not holds({"maybe": {op: 1}}, rec)
        assert holds({"maybe": {"ne": 1}}, rec)
        assert holds({"maybe": {"not_in": [1]}}, rec)
        assert not holds({"maybe": {"in": [1]}}, rec)
        assert holds({"maybe": {"exists": False}}, rec)
    assert not holds({"inner.y": {"eq": "a"}}, record(inner=None))


# --- field and now operands -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"i": {"lt": {"field": "l"}}}, True),  # int and long: numbers
        ({"f": {"lt": {"field": "d"}}}, True),  # float and double
        ({"money": {"gt": {"field": "d"}}}, True),  # decimal and double
        ({"ts": {"lt": {"field": "later"}}}, True),
        ({"later": {"lte": {"field": "ts"}}}, False),
        ({"ts": {"eq": {"field": "ts"}}}, True),
        ({"ts": {"ne": {"field": "later"}}}, True),
        ({"day": {"lt": {"field": "ts"}}}, True),  # a date against a timestamp's day in Hamm
        ({"ts": {"gt": {"field": "day"}}}, True),
        ({"b": {"eq": {"field": "b"}}}, True),
        ({"e": {"ne": {"field": "e"}}}, False),
        ({"s": {"gte": {"field": "s"}}}, True),
        ({"inner.x": {"lt": {"field": "f"}}}, True),
    ],
)
def test_field_operands(condition: dict[str, Any], expected: bool) -> None:
    assert holds(condition) is expected


def test_a_date_against_a_timestamp_uses_the_day_in_hamm() -> None:
    # 23:30 UTC on the 20th is already the 21st in Hamm
    late = record(ts=dt.datetime(2026, 11, 20, 23, 30, tzinfo=UTC), day=dt.date(2026, 11, 21))
    assert holds({"day": {"eq": {"field": "ts"}}}, late)
    assert holds({"day": {"lte": {"field": "ts"}}}, late)


def test_a_field_operand_without_a_value_is_missing() -> None:
    rec = record(later=None)
    assert not holds({"ts": {"lt": {"field": "later"}}}, rec)
    assert not holds({"ts": {"eq": {"field": "later"}}}, rec)
    assert holds({"ts": {"ne": {"field": "later"}}}, rec)


@pytest.mark.parametrize(
    ("condition", "match"),
    [
        ({"ts": {"lt": {"field": "s"}}}, "do not compare"),
        ({"i": {"lt": {"field": "s"}}}, "do not compare"),
        ({"local": {"lt": {"field": "ts"}}}, "do not compare"),
        ({"b": {"lt": {"field": "b"}}}, "does not apply"),
        ({"e": {"gt": {"field": "e"}}}, "does not apply"),
        ({"i": {"lt": {"field": "nope"}}}, "unknown field"),
        ({"i": {"lt": {"field": "tags"}}}, "only exists applies"),
    ],
)
def test_field_operands_that_do_not_fit(condition: dict[str, Any], match: str) -> None:
    assert match in problem_of(condition).message


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"ts": {"lte": {"now": 0}}}, True),
        ({"ts": {"lte": {"now": "-2h"}}}, True),
        ({"ts": {"lte": {"now": "-3h"}}}, False),
        ({"later": {"gte": {"now": "-1h"}}}, True),
        ({"day": {"lt": {"now": "0d"}}}, True),
        ({"day": {"gte": {"now": "-5d"}}}, True),
        ({"day": {"gte": {"now": "-4d"}}}, False),
        ({"local": {"lte": {"now": "+5m"}}}, True),  # 11:00 local = 10:00 UTC < now 12:00 UTC
    ],
)
def test_now_operands(condition: dict[str, Any], expected: bool) -> None:
    assert holds(condition) is expected


@pytest.mark.parametrize(
    ("condition", "match"),
    [
        ({"i": {"lt": {"now": 0}}}, "does not apply"),
        ({"day": {"lt": {"now": "5h"}}}, "whole days"),
    ],
)
def test_now_that_does_not_fit(condition: dict[str, Any], match: str) -> None:
    assert match in problem_of(condition).message


@pytest.mark.parametrize(
    "operand", [{"now": "5x"}, {"now": True}, {"field": "bad path!"}, {"other": 1}, {}]
)
def test_bad_reference_operands(operand: Any) -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition({"ts": {"lt": operand}}, "check", references=True)
    assert info.value.loc == "check.ts.lt"


def test_without_references_operand_mappings_and_now_are_refused() -> None:
    with pytest.raises(ConditionError, match="single value"):
        parse_condition({"ts": {"lt": {"field": "later"}}}, "where")
    expr = parse_condition({"ts": {"lt": {"now": 0}}}, "check", references=True)
    problems: list[ConditionError] = []
    compile_condition(expr, FIELDS, problems)  # no clock: a replay must give the same answer
    assert "not allowed" in problems[0].message


# --- properties -------------------------------------------------------------------------------


@given(st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1))
def test_order_operators_are_complements(value: int, operand: int) -> None:
    rec = record(i=value)
    for a, b in (("eq", "ne"), ("lt", "gte"), ("gt", "lte")):
        assert holds({"i": {a: operand}}, rec) != holds({"i": {b: operand}}, rec)


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(-1e6, 1e6))
def test_field_operand_is_the_value_operand(a: float, b: float) -> None:
    rec = record(d=a, inner={"x": b, "y": None})
    for op in ("eq", "ne", "lt", "lte", "gt", "gte"):
        assert holds({"d": {op: {"field": "inner.x"}}}, rec) == holds({"d": {op: b}}, rec)


@given(st.datetimes(timezones=st.just(UTC), min_value=dt.datetime(1971, 1, 1)))
def test_now_splits_time_at_the_clock(moment: dt.datetime) -> None:
    rec = record(ts=moment)
    assert holds({"ts": {"lte": {"now": 0}}}, rec) == (moment <= NOW)
    assert holds({"ts": {"lte": {"now": 0}}}, rec) != holds({"ts": {"gt": {"now": 0}}}, rec)


@given(
    st.datetimes(timezones=st.just(UTC), min_value=dt.datetime(1971, 1, 1)),
    st.dates(min_value=dt.date(1971, 1, 1)),
)
def test_date_against_timestamp_is_the_local_day(moment: dt.datetime, day: dt.date) -> None:
    rec = record(ts=moment, day=day)
    local = moment.astimezone(ZoneInfo("Europe/Berlin")).date()
    assert holds({"day": {"lte": {"field": "ts"}}}, rec) == (day <= local)
    assert holds({"day": {"lt": {"field": "ts"}}}, rec) == (day < local)


# --- rules ------------------------------------------------------------------------------------

RULES = {
    "fields": {
        "s": [
            {
                "name": "plz-in-hamm",
                "description": "Die Postleitzahl liegt in Hamm.",
                "severity": "reject",
                "check": {"in": ["59063", "59065"]},
            }
        ],
        "maybe": [
            {
                "name": "maybe-klein",
                "description": "Höchstens 10.",
                "severity": "flag",
                "check": {"lte": 10},
            },
            {
                "name": "maybe-da",
                "description": "Immer angegeben.",
                "severity": "flag",
                "check": {"exists": True},
            },
        ],
    },
    "record": [
        {
            "name": "ts-vor-later",
            "description": "ts liegt vor later.",
            "severity": "flag",
            "check": {"ts": {"lt": {"field": "later"}}},
        }
    ],
}


def rule_set(raw: dict[str, Any] = RULES):
    rules, problems = parse_rules(raw)
    assert problems == []
    compiled, problems = compile_rules(rules, FIELDS, clock=lambda: NOW)
    assert problems == []
    return compiled


def test_evaluate_lists_broken_rules_with_name_severity_fields() -> None:
    rules = rule_set()
    assert [v.rule for v in evaluate(rules, record(maybe=3))] == []
    broken = evaluate(rules, record(s="10115", maybe=11, later=dt.datetime(2020, 1, 1, tzinfo=UTC)))
    assert [(v.rule, v.severity, v.fields) for v in broken] == [
        ("plz-in-hamm", "reject", ("s",)),
        ("maybe-klein", "flag", ("maybe",)),
        ("ts-vor-later", "flag", ("ts", "later")),
    ]
    assert (
        broken[2].message() == "breaks quality rule ts-vor-later (ts, later): ts liegt vor later."
    )


def test_a_field_rule_passes_a_missing_value_unless_it_asks_for_one() -> None:
    names = [v.rule for v in evaluate(rule_set(), record(maybe=None))]
    assert names == ["maybe-da"]


def test_a_value_the_schema_does_not_allow_breaks_the_rule() -> None:
    assert [v.rule for v in evaluate(rule_set(), record(s=59065, maybe=3))] == ["plz-in-hamm"]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (
            {"fields": {"s": [{"name": "x", "severity": "reject", "check": {"eq": "a"}}]}},
            "quality-description",
        ),
        (
            {
                "fields": {
                    "s": [
                        {
                            "name": "x",
                            "description": " ",
                            "severity": "reject",
                            "check": {"eq": "a"},
                        }
                    ]
                }
            },
            "quality-description",
        ),
        (
            {
                "fields": {
                    "s": [
                        {"name": "x", "description": "d", "severity": "warn", "check": {"eq": "a"}}
                    ]
                }
            },
            "quality-severity",
        ),
        (
            {
                "fields": {
                    "s": [
                        {
                            "name": "X_1",
                            "description": "d",
                            "severity": "flag",
                            "check": {"eq": "a"},
                        }
                    ]
                }
            },
            "quality-rule",
        ),
        (
            {
                "fields": {
                    "s": [
                        {
                            "name": "x",
                            "description": "d",
                            "severity": "flag",
                            "check": {"eq": "a"},
                            "when": 1,
                        }
                    ]
                }
            },
            "quality-rule",
        ),
        (
            {
                "fields": {
                    "s": [
                        {
                            "name": "x",
                            "description": "d",
                            "severity": "flag",
                            "check": {"like": "a"},
                        }
                    ]
                }
            },
            "quality-condition",
        ),
        (
            {"fields": {"s": [{"name": "x", "description": "d", "severity": "flag"}]}},
            "quality-condition",
        ),
        ({"fields": {"s": "x"}}, "quality-file"),
        ({"rules": []}, "quality-file"),
        (
            {
                "record": [
                    {
                        "name": "x",
                        "description": "d",
                        "severity": "flag",
                        "check": {"s": {"eq": "a"}},
                    }
                ]
                * 2
            },
            "quality-rule",
        ),
    ],
)
def test_structure_problems(raw: dict[str, Any], kind: str) -> None:
    _, problems = parse_rules(raw)
    assert [p.kind for p in problems] == [kind]


def test_schema_problems_name_rule_and_field() -> None:
    rules, _ = parse_rules(
        {
            "fields": {
                "nope": [{"name": "a", "description": "d", "severity": "flag", "check": {"eq": 1}}]
            },
            "record": [
                {"name": "b", "description": "d", "severity": "flag", "check": {"b": {"gt": True}}},
                {
                    "name": "c",
                    "description": "d",
                    "severity": "flag",
                    "check": {"i": {"lt": {"field": "zz"}}},
                },
            ],
        }
    )
    compiled, problems = compile_rules(rules, FIELDS)
    assert len(compiled) == 0
    assert [(p.kind, p.rule, p.field) for p in problems] == [
        ("quality-field", "a", "nope"),
        ("quality-condition", "b", "b"),
        ("quality-field", "c", "zz"),
    ]


# --- the sample contracts ---------------------------------------------------------------------


def test_every_sample_version_has_rules_that_fit_it() -> None:
    catalog = load_catalog(REPO_SCHEMAS)
    book = RuleBook(REPO_SCHEMAS)
    for topic, subject in catalog.items():
        for version in subject.versions:
            assert quality_path(version.path).exists(), version.path
            assert book.rules_for(topic, version.schema), version.path


def test_the_simulated_city_breaks_no_reject_rule() -> None:
    import random

    from producers.simulators.events import generate

    catalog = load_catalog(REPO_SCHEMAS)
    book = RuleBook(REPO_SCHEMAS, clock=lambda: NOW + dt.timedelta(days=400))
    rng = random.Random(7)
    for topic, subject in catalog.items():
        rules = book.rules_for(topic, subject.latest.schema)
        for i in range(300):
            _, rec = generate(topic, rng, NOW - dt.timedelta(minutes=7 * i))
            assert [v.rule for v in evaluate(rules, rec) if v.severity == "reject"] == [], topic


def test_samples_name_the_rules_the_issue_asks_for() -> None:
    def names(folder: str, version: str = "v1") -> set[str]:
        raw = yaml.safe_load((REPO_SCHEMAS / folder / f"{version}.quality.yaml").read_text())
        rules, _ = parse_rules(raw)
        return {r.name for r in rules}

    assert "plz-in-hamm" in names("ordnungsamt/noise-complaint.filed")
    assert {"pm10-plausibel", "no2-plausibel"} <= names("umweltamt/air-quality.measured")
    assert "entscheidung-nach-antrag" in names("bauordnungsamt/building-permit.decided", "v2")
    assert "meldung-nicht-in-zukunft" in names("buergeramt/resident.moved", "v2")


def test_rulebook_matches_by_content_and_skips_unknown_topics(tmp_path: Path) -> None:
    catalog = load_catalog(REPO_SCHEMAS)
    book = RuleBook(REPO_SCHEMAS)
    subject = catalog["buergeramt.resident.moved"]
    v1 = book.rules_for(subject.topic, subject.versions[0].schema)
    v2 = book.rules_for(subject.topic, subject.versions[1].schema)
    assert v1.names and v2.names
    assert not book.rules_for("nobody.nothing.happened", subject.latest.schema)
    assert not book.rules_for(subject.topic, {"type": "record", "name": "X", "fields": []})
    assert not RuleBook(None).rules_for(subject.topic, subject.latest.schema)


# --- lint ---------------------------------------------------------------------------------------


def _tree(tmp_path: Path, rules: Any) -> Path:
    folder = tmp_path / "ordnungsamt" / "noise-complaint.filed"
    folder.mkdir(parents=True)
    source = REPO_SCHEMAS / "ordnungsamt" / "noise-complaint.filed" / "v1.avsc"
    (folder / "v1.avsc").write_text(source.read_text())
    (tmp_path / "_types").mkdir()
    for shared in (REPO_SCHEMAS / "_types").rglob("*.avsc"):
        target = tmp_path / shared.relative_to(REPO_SCHEMAS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(shared.read_text())
    text = rules if isinstance(rules, str) else yaml.safe_dump(rules, allow_unicode=True)
    (folder / "v1.quality.yaml").write_text(text)
    return tmp_path


def test_lint_names_file_rule_and_field(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "fields": {
                "postcode": [
                    {"name": "a", "description": "d", "severity": "reject", "check": {"gt": 5}}
                ],
                "postcodes": [
                    {"name": "b", "description": "d", "severity": "flag", "check": {"eq": "1"}}
                ],
                "night_time": [
                    {"name": "c", "description": "", "severity": "sometimes", "check": {"eq": True}}
                ],
            }
        },
    )
    errors = lint(root)
    found = {(e.file.name, e.rule, e.field) for e in errors}
    assert found == {
        ("v1.quality.yaml", "quality-condition", "postcode"),
        ("v1.quality.yaml", "quality-field", "postcodes"),
        ("v1.quality.yaml", "quality-description", "night_time"),
        ("v1.quality.yaml", "quality-severity", "night_time"),
    }
    by_rule = {e.rule: str(e) for e in errors}
    assert (
        "rule a" in by_rule["quality-condition"] and "does not fit" in by_rule["quality-condition"]
    )
    assert "rule b" in by_rule["quality-field"] and "postcodes" in by_rule["quality-field"]


def test_lint_reports_unreadable_and_stray_quality_files(tmp_path: Path) -> None:
    root = _tree(tmp_path, "fields: [unclosed\n")
    (root / "ordnungsamt" / "noise-complaint.filed" / "v7.quality.yaml").write_text("{}\n")
    rules = sorted((e.file.name, e.rule) for e in lint(root))
    assert rules == [("v1.quality.yaml", "quality-file"), ("v7.quality.yaml", "quality-file")]


def test_the_repository_tree_lints_clean() -> None:
    assert [str(e) for e in lint(REPO_SCHEMAS)] == []


def test_rule_names_fit_a_header_list() -> None:
    for path in REPO_SCHEMAS.rglob("*.quality.yaml"):
        rules, problems = parse_rules(yaml.safe_load(path.read_text()))
        assert problems == [], path
        assert all("," not in r.name for r in rules)
        assert json.dumps([r.description for r in rules], ensure_ascii=False)


def test_rulebook_takes_the_registry_text_too() -> None:
    subject = load_catalog(REPO_SCHEMAS)["ordnungsamt.noise-complaint.filed"]
    text = json.dumps(subject.latest.schema)
    assert RuleBook(REPO_SCHEMAS).rules_for(subject.topic, text).names
