"""Each lint rule on small schema trees, and the data-protection approval gate."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from hub.schemas.approval import ApprovalError, parse_approval
from hub.schemas.lint import LintError, format_report, lint
from hub.schemas.privacy import pii_changes

TS = {"type": "long", "logicalType": "timestamp-millis"}


def event(**overrides):
    schema = {
        "type": "record",
        "name": "ResidentMoved",
        "namespace": "de.hamm.buergeramt",
        "doc": "Eine Person ist umgezogen.",
        "x-key": "resident_id",
        "fields": [
            {"name": "resident_id", "type": "string", "doc": "Ordnungsmerkmal.", "x-pii": "direct"},
            {"name": "occurred_at", "type": TS, "doc": "Ereigniszeit.", "x-pii": "none"},
            {
                "name": "new_address",
                "type": {
                    "type": "record",
                    "name": "Address",
                    "doc": "Anschrift.",
                    "fields": [
                        {"name": "street", "type": "string", "doc": "Straße.", "x-pii": "direct"},
                        {
                            "name": "postcode",
                            "type": "string",
                            "doc": "PLZ, z. B. 59065.",
                            "x-pii": "quasi",
                        },
                    ],
                },
                "doc": "Neue Anschrift.",
                "x-pii": "direct",
            },
        ],
    }
    schema.update(overrides)
    return schema


def add_field(schema, field, into=None):
    schema = copy.deepcopy(schema)
    target = (
        schema["fields"]
        if into is None
        else next(f for f in schema["fields"] if f["name"] == into)["type"]["fields"]
    )
    target.append(field)
    return schema


SUBJECT = "buergeramt/resident.moved"


def write(root: Path, relative: str, content) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def rules(errors: list[LintError]) -> list[tuple[str, str | None]]:
    return [(e.rule, e.field) for e in errors]


def test_a_good_tree_is_clean(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    assert lint(tmp_path) == []


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (event(namespace="de.hamm.ordnungsamt"), [("namespace", None)]),
        (event(name="Moved"), [("record-name", None)]),
        (event(name="de.hamm.buergeramt.ResidentMoved", namespace="x"), []),
        (event(doc=""), [("missing-doc", None)]),
        (event(**{"x-key": "nope"}), [("key-field", "nope")]),
        ({k: v for k, v in event().items() if k != "x-key"}, [("key-field", None)]),
        (
            add_field(event(), {"name": "note", "type": "string", "x-pii": "none"}),
            [("missing-doc", "note")],
        ),
        (
            add_field(event(), {"name": "note", "type": "string", "doc": "  ", "x-pii": "none"}),
            [("missing-doc", "note")],
        ),
        (
            add_field(event(), {"name": "note", "type": "string", "doc": "Notiz."}),
            [("missing-x-pii", "note")],
        ),
        (
            add_field(
                event(), {"name": "note", "type": "string", "doc": "Notiz.", "x-pii": "secret"}
            ),
            [("invalid-x-pii", "note")],
        ),
        (
            add_field(
                event(), {"name": "city", "type": "string", "doc": "Ort."}, into="new_address"
            ),
            [("missing-x-pii", "new_address.city")],
        ),
        (
            add_field(
                event(),
                {
                    "name": "kids",
                    "doc": "Kinder.",
                    "x-pii": "quasi",
                    "type": {
                        "type": "array",
                        "items": {
                            "type": "record",
                            "name": "Kid",
                            "doc": "Kind.",
                            "fields": [{"name": "age", "type": "int", "x-pii": "quasi"}],
                        },
                    },
                },
            ),
            [("missing-doc", "kids[].age")],
        ),
        (
            add_field(
                event(),
                {
                    "name": "extra",
                    "doc": "Zusatz.",
                    "x-pii": "none",
                    "default": None,
                    "type": [
                        "null",
                        {
                            "type": "map",
                            "values": {
                                "type": "record",
                                "name": "Extra",
                                "doc": "Zusatz.",
                                "fields": [{"name": "v", "type": "string", "doc": "Wert."}],
                            },
                        },
                    ],
                },
            ),
            [("missing-x-pii", "extra{}.v")],
        ),
        (
            add_field(
                event(),
                {
                    "name": "when",
                    "type": {"type": "string", "logicalType": "date"},
                    "doc": "x",
                    "x-pii": "none",
                },
            ),
            [("invalid-logical-type", None)],
        ),
    ],
)
def test_file_rules(tmp_path, schema, expected):
    write(tmp_path, f"{SUBJECT}/v1.avsc", schema)
    assert rules(lint(tmp_path)) == expected


def test_enums_need_a_default_symbol(tmp_path):
    kind = {"type": "enum", "name": "Kind", "doc": "Art.", "symbols": ["A", "B"]}
    field = {"name": "kind", "type": kind, "doc": "Art.", "x-pii": "none"}
    write(tmp_path, f"{SUBJECT}/v1.avsc", add_field(event(), field))
    (error,) = lint(tmp_path)
    assert error.rule == "enum-default" and "de.hamm.buergeramt.Kind" in error.message
    kind["default"] = "A"
    write(tmp_path, f"{SUBJECT}/v1.avsc", add_field(event(), field))
    assert lint(tmp_path) == []


@pytest.mark.parametrize(
    "occurred_at",
    [
        None,
        "long",
        {"type": "int", "logicalType": "date"},
        ["null", TS],
        {"type": "long", "logicalType": "timestamp-micros"},
    ],
)
def test_occurred_at_convention(tmp_path, occurred_at):
    schema = event()
    if occurred_at is None:
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "occurred_at"]
    else:
        schema["fields"][1]["type"] = occurred_at
        if isinstance(occurred_at, list):
            schema["fields"][1]["default"] = None
    write(tmp_path, f"{SUBJECT}/v1.avsc", schema)
    assert ("occurred-at", "occurred_at") in rules(lint(tmp_path))


@pytest.mark.parametrize(
    ("relative", "content", "rule"),
    [
        (f"{SUBJECT}/v1.avsc", "{nope", "invalid-json"),
        (
            f"{SUBJECT}/v1.avsc",
            json.dumps(event(fields=[{"name": "a", "type": "Adress"}])),
            "invalid-schema",
        ),
        (f"{SUBJECT}/v1.avsc", json.dumps(["null", "string"]), "top-level-record"),
        ("buergeramt/resident_moved/v1.avsc", json.dumps(event()), "layout"),
        ("buergeramt/resident.moved/v1.json.avsc", json.dumps(event()), "layout"),
        ("resident.moved/v1.avsc", json.dumps(event()), "layout"),
    ],
)
def test_parse_and_layout_rules(tmp_path, relative, content, rule):
    write(tmp_path, relative, content)
    assert rule in [e.rule for e in lint(tmp_path)]


def test_lint_reports_every_problem_not_just_the_first(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", "{nope")
    write(tmp_path, "ordnungsamt/noise-complaint.filed/v1.avsc", event())
    found = rules(lint(tmp_path))
    assert ("invalid-json", None) in found
    assert ("namespace", None) in found and ("record-name", None) in found


def test_versions_must_be_consecutive(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    write(tmp_path, f"{SUBJECT}/v3.avsc", event())
    assert ("version-sequence", None) in rules(lint(tmp_path))


def test_an_incompatible_version_is_reported_against_the_version_it_breaks(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    v2 = add_field(event(), {"name": "moved_at", "type": TS, "doc": "Einzug.", "x-pii": "none"})
    write(tmp_path, f"{SUBJECT}/v2.avsc", v2)
    (error,) = lint(tmp_path)
    assert error.rule == "incompatible" and error.file.name == "v2.avsc"
    assert (
        "READER_FIELD_MISSING_DEFAULT_VALUE against v1.avsc at BACKWARD_TRANSITIVE" in error.message
    )
    assert "moved_at" in error.message


def test_transitive_default_checks_every_earlier_version(tmp_path):
    optional = {"name": "n", "type": "int", "default": 0, "doc": "N.", "x-pii": "none"}
    required = {"name": "n", "type": "int", "doc": "N.", "x-pii": "none"}
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    write(tmp_path, f"{SUBJECT}/v2.avsc", add_field(event(), optional))
    write(tmp_path, f"{SUBJECT}/v3.avsc", add_field(event(), required))
    (error,) = lint(tmp_path)
    assert error.file.name == "v3.avsc" and "against v1.avsc" in error.message
    write(tmp_path, f"{SUBJECT}/subject.yaml", "compatibility: BACKWARD\n")
    assert lint(tmp_path) == []


def test_subject_level_none_allows_breaking_changes(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    write(
        tmp_path,
        f"{SUBJECT}/v2.avsc",
        add_field(event(), {"name": "x", "type": "int", "doc": "X.", "x-pii": "none"}),
    )
    write(tmp_path, f"{SUBJECT}/subject.yaml", "compatibility: NONE\n")
    assert lint(tmp_path) == []


def test_bad_subject_yaml(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    write(tmp_path, f"{SUBJECT}/subject.yaml", "compatibility: MOSTLY\n")
    assert rules(lint(tmp_path)) == [("subject-config", None)]


# --- data-protection gate -----------------------------------------------------------------

PHONE = {
    "name": "phone",
    "type": ["null", "string"],
    "default": None,
    "doc": "Telefon.",
    "x-pii": "direct",
}
APPROVAL = """\
reviewer: Dr. Jana Beispiel
role: Datenschutzbeauftragte
date: 2026-11-20
reason: Rückfragen bei unzustellbaren Bescheiden.
"""


def test_adding_a_personal_field_needs_an_approval(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    write(tmp_path, f"{SUBJECT}/v2.avsc", add_field(event(), PHONE))
    (error,) = lint(tmp_path)
    assert (error.rule, error.field) == ("pii-approval-missing", "phone")
    assert "v2.approval.yaml" in error.message and "direct" in error.message
    assert str(error).endswith(error.message)
    assert "v2.avsc: field phone: pii-approval-missing: " in str(error)
    write(tmp_path, f"{SUBJECT}/v2.approval.yaml", APPROVAL)
    assert lint(tmp_path) == []


@pytest.mark.parametrize("pii", ["direct", "quasi", "sensitive"])
def test_a_nested_personal_field_needs_an_approval(tmp_path, pii):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    city = {"name": "city", "type": "string", "default": "Hamm", "doc": "Ort.", "x-pii": pii}
    write(tmp_path, f"{SUBJECT}/v2.avsc", add_field(event(), city, into="new_address"))
    assert rules(lint(tmp_path)) == [("pii-approval-missing", "new_address.city")]


def test_adding_a_field_classified_none_needs_no_approval(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    count = {
        "name": "household_size",
        "type": ["null", "int"],
        "default": None,
        "doc": "Personen.",
        "x-pii": "none",
    }
    write(tmp_path, f"{SUBJECT}/v2.avsc", add_field(event(), count))
    assert lint(tmp_path) == []


def test_lowering_a_classification_needs_an_approval(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    v2 = event()
    v2["fields"][2]["type"]["fields"][1]["x-pii"] = "none"
    write(tmp_path, f"{SUBJECT}/v2.avsc", v2)
    (error,) = lint(tmp_path)
    assert (error.rule, error.field) == ("pii-approval-missing", "new_address.postcode")
    assert "from quasi to none" in error.message


@pytest.mark.parametrize(
    ("approval", "message"),
    [
        ("reviewer: A\nrole: B\ndate: 2026-11-20\n", "missing reason"),
        ("reviewer: A\nrole: B\nreason: C\n", "missing date"),
        ("reviewer: ''\nrole: B\ndate: 2026-11-20\nreason: C\n", "missing reviewer"),
        ("reviewer: A\nrole: B\ndate: 2026-02-30\nreason: C\n", "not a valid date"),
        ("reviewer: A\nrole: B\ndate: soon\nreason: C\n", "not a valid date"),
        ("reviewer: A\nrole: B\ndate: 2026-11-20\nreason: C\nsigned: yes\n", "unknown keys"),
        ("reviewer: A\nrole: 7\ndate: 2026-11-20\nreason: C\n", "role must be"),
        ("- a list\n", "expected a mapping"),
        ("reviewer: [\n", "cannot read"),
        (APPROVAL + "fields: [email]\n", "do not name it"),
        (APPROVAL + "fields: phone\n", "fields must be a list"),
    ],
)
def test_a_malformed_approval_is_its_own_error(tmp_path, approval, message):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    write(tmp_path, f"{SUBJECT}/v2.avsc", add_field(event(), PHONE))
    write(tmp_path, f"{SUBJECT}/v2.approval.yaml", approval)
    errors = lint(tmp_path)
    assert [e.rule for e in errors] == ["pii-approval-invalid"]
    assert errors[0].file.name == "v2.approval.yaml" and message in errors[0].message


def test_an_approval_naming_the_fields_passes(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    write(tmp_path, f"{SUBJECT}/v2.avsc", add_field(event(), PHONE))
    write(tmp_path, f"{SUBJECT}/v2.approval.yaml", APPROVAL + "fields: [phone]\n")
    assert lint(tmp_path) == []


def test_an_approval_without_its_version_is_reported(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event())
    write(tmp_path, f"{SUBJECT}/v3.approval.yaml", APPROVAL)
    assert rules(lint(tmp_path)) == [("pii-approval-invalid", None)]


def test_parse_approval_accepts_quoted_dates():
    approval = parse_approval({"reviewer": "A", "role": "B", "date": "2026-11-20", "reason": "C"})
    assert approval.date.isoformat() == "2026-11-20" and approval.fields is None
    with pytest.raises(ApprovalError):
        parse_approval({"reviewer": "A", "role": "B", "date": 20261120, "reason": "C"})


def test_pii_changes_compares_by_dotted_path():
    v2 = add_field(event(), PHONE)
    v2["fields"][0]["x-pii"] = "quasi"  # direct → quasi: lowered
    changes = {(c.path, c.change) for c in pii_changes(event(), v2)}
    assert changes == {("phone", "added"), ("resident_id", "downgraded")}
    assert pii_changes(v2, event()) == []  # removing fields or raising a class is free


def test_format_report_summarises(tmp_path):
    write(tmp_path, f"{SUBJECT}/v1.avsc", event(doc=""))
    lines = format_report(lint(tmp_path))
    assert lines[-1] == "1 problem(s) in 1 file(s)"
    assert format_report([]) == ["schemas: no problems found"]


def test_missing_root(tmp_path):
    assert rules(lint(tmp_path / "absent")) == [("unreadable", None)]
