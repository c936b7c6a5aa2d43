"""Avro schema-resolution rules as compatibility checks, each in both directions.

Each row: old schema, new schema, the error types of BACKWARD (new reads old data) and of
FORWARD (old reads new data). FULL must report exactly both.
"""

from __future__ import annotations

import json

import pytest

from hub.schemas.compatibility import (
    Incompatibility,
    InvalidSchemaError,
    Level,
    check_compatibility,
)

RFMDV = "READER_FIELD_MISSING_DEFAULT_VALUE"
TM = "TYPE_MISMATCH"
NM = "NAME_MISMATCH"
MES = "MISSING_ENUM_SYMBOLS"
FSM = "FIXED_SIZE_MISMATCH"
MUB = "MISSING_UNION_BRANCH"


def rec(*fields, name="Event", namespace="de.hamm.test", **extra):
    schema = {"type": "record", "name": name, "fields": list(fields), **extra}
    if namespace is not None:
        schema["namespace"] = namespace
    return schema


def fld(name, type_, **extra):
    return {"name": name, "type": type_, **extra}


def one(type_, **extra):
    """A record with the single field ``x`` of ``type_``."""
    return rec(fld("x", type_, **extra))


def enum(symbols, name="Kind", **extra):
    return {"type": "enum", "name": name, "symbols": symbols, **extra}


def fixed(size, name="Hash", **extra):
    return {"type": "fixed", "name": name, "size": size, **extra}


ADDRESS = rec(fld("street", "string"), fld("postcode", "string"), name="Address", namespace=None)
ADDRESS_PLUS = rec(
    fld("street", "string"),
    fld("postcode", "string"),
    fld("city", "string"),
    name="Address",
    namespace=None,
)
LIST = rec(fld("value", "long"), fld("next", ["null", "LongList"], default=None), name="LongList")
LIST_PLUS = rec(
    fld("value", "long"),
    fld("next", ["null", "LongList"], default=None),
    fld("label", "string", default=""),
    name="LongList",
)
DATE = {"type": "int", "logicalType": "date"}
TS = {"type": "long", "logicalType": "timestamp-millis"}


def dec(precision, scale):
    return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}


CASES = [
    # id, old, new, backward error types, forward error types
    ("identical", one("string"), one("string"), set(), set()),
    (
        "add field with default",
        one("int"),
        rec(fld("x", "int"), fld("y", "int", default=0)),
        set(),
        set(),
    ),
    (
        "add field without default",
        one("int"),
        rec(fld("x", "int"), fld("y", "int")),
        {RFMDV},
        set(),
    ),
    (
        "add optional field",
        one("int"),
        rec(fld("x", "int"), fld("y", ["null", "string"], default=None)),
        set(),
        set(),
    ),
    (
        "remove field without default",
        rec(fld("x", "int"), fld("y", "int")),
        one("int"),
        set(),
        {RFMDV},
    ),
    (
        "remove field with default",
        rec(fld("x", "int"), fld("y", "int", default=1)),
        one("int"),
        set(),
        set(),
    ),
    ("int to long", one("int"), one("long"), set(), {TM}),
    ("int to float", one("int"), one("float"), set(), {TM}),
    ("int to double", one("int"), one("double"), set(), {TM}),
    ("long to float", one("long"), one("float"), set(), {TM}),
    ("long to double", one("long"), one("double"), set(), {TM}),
    ("float to double", one("float"), one("double"), set(), {TM}),
    ("long to int", one("long"), one("int"), {TM}, set()),
    ("double to float", one("double"), one("float"), {TM}, set()),
    ("string to bytes", one("string"), one("bytes"), set(), set()),
    ("bytes to string", one("bytes"), one("string"), set(), set()),
    ("int to string", one("int"), one("string"), {TM}, {TM}),
    ("boolean to int", one("boolean"), one("int"), {TM}, {TM}),
    ("string to enum", one("string"), one(enum(["A"])), {TM}, {TM}),
    (
        "enum add symbol, no default",
        one(enum(["A", "B"])),
        one(enum(["A", "B", "C"])),
        set(),
        {MES},
    ),
    (
        "enum add symbol, with default",
        one(enum(["A", "Z"], default="Z")),
        one(enum(["A", "B", "Z"], default="Z")),
        set(),
        set(),
    ),
    ("enum remove symbol, no default", one(enum(["A", "B"])), one(enum(["A"])), {MES}, set()),
    (
        "enum remove symbol, new has default",
        one(enum(["A", "B"])),
        one(enum(["A"], default="A")),
        set(),
        set(),
    ),
    ("enum reorder", one(enum(["A", "B"])), one(enum(["B", "A"])), set(), set()),
    ("enum renamed", one(enum(["A"], name="Kind")), one(enum(["A"], name="Sort")), {NM}, {NM}),
    (
        "enum renamed with alias",
        one(enum(["A"], name="Kind")),
        one(enum(["A"], name="Sort", aliases=["Kind"])),
        set(),
        {NM},
    ),
    ("fixed size", one(fixed(16)), one(fixed(32)), {FSM}, {FSM}),
    ("fixed renamed", one(fixed(16, name="Md5")), one(fixed(16, name="Hash")), {NM}, {NM}),
    ("fixed vs bytes", one(fixed(16)), one("bytes"), {TM}, {TM}),
    ("record renamed", one("int"), rec(fld("x", "int"), name="Other"), {NM}, {NM}),
    (
        "record renamed, qualified alias",
        one("int"),
        rec(fld("x", "int"), name="Other", aliases=["de.hamm.test.Event"]),
        set(),
        {NM},
    ),
    (
        "record renamed, relative alias",
        one("int"),
        rec(fld("x", "int"), name="Other", aliases=["Event"]),
        set(),
        {NM},
    ),
    (
        "record alias in another namespace",
        one("int"),
        rec(fld("x", "int"), name="Other", aliases=["elsewhere.Event"]),
        {NM},
        {NM},
    ),
    (
        "record namespace changed",
        one("int"),
        rec(fld("x", "int"), namespace="de.hamm.other"),
        set(),
        set(),
    ),
    ("record namespace dropped", one("int"), rec(fld("x", "int"), namespace=None), set(), set()),
    ("field renamed with alias", one("int"), rec(fld("y", "int", aliases=["x"])), set(), {RFMDV}),
    ("field renamed without alias", one("int"), rec(fld("y", "int")), {RFMDV}, {RFMDV}),
    ("make field optional", one("string"), one(["null", "string"], default=None), set(), {TM}),
    ("union of one vs non-union", one("string"), one(["string"]), set(), set()),
    ("non-union vs union of one", one(["string"]), one("string"), set(), set()),
    ("add union branch", one(["null", "string"]), one(["null", "string", "int"]), set(), {MUB}),
    ("remove union branch", one(["null", "string", "int"]), one(["null", "string"]), {MUB}, set()),
    ("union to non-union", one(["null", "int"]), one("int"), {TM}, set()),
    ("union branch promoted", one(["null", "int"]), one(["null", "long"]), set(), {MUB}),
    ("union reordered", one(["null", "int"]), one(["int", "null"], default=1), set(), set()),
    (
        "array items promoted",
        one({"type": "array", "items": "int"}),
        one({"type": "array", "items": "long"}),
        set(),
        {TM},
    ),
    (
        "array items changed",
        one({"type": "array", "items": "string"}),
        one({"type": "array", "items": "int"}),
        {TM},
        {TM},
    ),
    (
        "map values promoted",
        one({"type": "map", "values": "int"}),
        one({"type": "map", "values": "double"}),
        set(),
        {TM},
    ),
    (
        "array to map",
        one({"type": "array", "items": "int"}),
        one({"type": "map", "values": "int"}),
        {TM},
        {TM},
    ),
    ("nested record field added", one(ADDRESS), one(ADDRESS_PLUS), {RFMDV}, set()),
    (
        "record in array gains field",
        one({"type": "array", "items": ADDRESS}),
        one({"type": "array", "items": ADDRESS_PLUS}),
        {RFMDV},
        set(),
    ),
    (
        "optional record gains field",
        one(["null", ADDRESS], default=None),
        one(["null", ADDRESS_PLUS], default=None),
        {RFMDV},
        set(),
    ),
    ("date to timestamp (int to long)", one(DATE), one(TS), set(), {TM}),
    ("timestamp to plain long", one(TS), one("long"), set(), set()),
    ("date to plain int", one(DATE), one("int"), set(), set()),
    ("date to string", one(DATE), one("string"), {TM}, {TM}),
    ("decimal scale changed", one(dec(10, 2)), one(dec(10, 3)), {TM}, {TM}),
    ("decimal to plain bytes", one(dec(10, 2)), one("bytes"), set(), set()),
    ("recursive type unchanged", one(LIST), one(LIST), set(), set()),
    ("recursive type gains field with default", one(LIST), one(LIST_PLUS), set(), set()),
    (
        "enum field with enum default added",
        one("int"),
        rec(fld("x", "int"), fld("k", enum(["A"], default="A"))),
        {RFMDV},
        set(),
    ),
]


def _types(items: list[Incompatibility]) -> set[str]:
    return {item.type for item in items}


@pytest.mark.parametrize(
    ("old", "new", "backward", "forward"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_backward_forward_full(old, new, backward, forward):
    assert _types(check_compatibility(new, [old], Level.BACKWARD)) == backward
    assert _types(check_compatibility(new, [old], Level.FORWARD)) == forward
    full = check_compatibility(new, [old], Level.FULL)
    assert _types(full) == backward | forward
    assert all(item.version == 1 for item in full)
    assert check_compatibility(new, [old], Level.NONE) == []


def test_named_type_referenced_twice_reports_both_paths():
    old = rec(fld("old_address", ADDRESS), fld("new_address", "Address"))
    new = rec(fld("old_address", ADDRESS_PLUS), fld("new_address", "Address"))
    found = check_compatibility(new, [old], "BACKWARD")
    assert [(i.type, i.path) for i in found] == [
        (RFMDV, "/fields/0/type/fields/2"),
        (RFMDV, "/fields/1/type/fields/2"),
    ]
    assert "'old_address.city'" in found[0].message
    assert "'new_address.city'" in found[1].message


def test_paths_are_json_pointers_into_the_reader_and_messages_name_the_field():
    old = rec(fld("a", "int"), fld("b", "string"))
    new = rec(fld("a", "string"), fld("b", "boolean"))
    found = check_compatibility(new, [old], "BACKWARD")
    assert [(i.type, i.path) for i in found] == [(TM, "/fields/0/type"), (TM, "/fields/1/type")]
    assert "field 'a'" in found[0].message and "string" in found[0].message
    assert "new schema" in found[0].message and "old schema" in found[0].message


def test_union_branch_error_points_at_the_matching_branch():
    found = check_compatibility(
        one(["null", ADDRESS_PLUS], default=None),
        [one(["null", ADDRESS], default=None)],
        "BACKWARD",
    )
    assert [(i.type, i.path) for i in found] == [(RFMDV, "/fields/0/type/1/fields/2")]
    assert "x.city" in found[0].message


def test_missing_union_branch_names_the_writer_type():
    (item,) = check_compatibility(
        one(["null", "string"]), [one(["null", "string", "int"])], "BACKWARD"
    )
    assert item.type == MUB and item.path == "/fields/0/type" and "int" in item.message


def test_enum_message_lists_missing_symbols():
    (item,) = check_compatibility(one(enum(["A"])), [one(enum(["A", "B"]))], "BACKWARD")
    assert item.path == "/fields/0/type/symbols" and "'B'" in item.message


V1 = rec(fld("id", "string"))
V2 = rec(fld("id", "string"), fld("n", "int", default=0))
V3_DROPS_DEFAULT = rec(fld("id", "string"), fld("n", "int"))


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("BACKWARD", []),  # v3 reads v2: n is there
        ("BACKWARD_TRANSITIVE", [(RFMDV, 1)]),  # v3 cannot read v1: n missing, no default
        ("FORWARD", []),
        ("FORWARD_TRANSITIVE", []),
        ("FULL", []),
        ("FULL_TRANSITIVE", [(RFMDV, 1)]),
        ("NONE", []),
    ],
)
def test_transitive_levels_check_every_version(level, expected):
    found = check_compatibility(V3_DROPS_DEFAULT, [V1, V2], level)
    assert [(i.type, i.version) for i in found] == expected


def test_forward_transitive_names_the_breaking_version():
    old_with_y = rec(fld("id", "string"), fld("y", "int"))
    found = check_compatibility(V1, [old_with_y, V1], "FORWARD_TRANSITIVE")
    assert [(i.type, i.version) for i in found] == [(RFMDV, 1)]
    assert check_compatibility(V1, [old_with_y, V1], "FORWARD") == []


def test_level_accepts_strings_case_insensitively_and_rejects_unknown():
    assert check_compatibility(V2, [V1], "backward_transitive") == []
    assert Level.parse(" full ") is Level.FULL
    with pytest.raises(ValueError, match="unknown compatibility level 'SIDEWAYS'"):
        check_compatibility(V2, [V1], "SIDEWAYS")


def test_no_existing_versions_is_compatible():
    assert check_compatibility(V1, [], Level.FULL_TRANSITIVE) == []


def test_json_text_and_bare_type_names_are_accepted():
    assert check_compatibility(json.dumps(V2), [json.dumps(V1)], "BACKWARD") == []
    assert check_compatibility("long", ["int"], "BACKWARD") == []
    assert check_compatibility('"long"', ['"int"'], "BACKWARD") == []
    assert _types(check_compatibility("int", ["long"], "BACKWARD")) == {TM}
    assert check_compatibility(["null", "int"], ["int"], "BACKWARD") == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"type": "record", "name": "R", "fields": [', "bad JSON"),
        (one("Adress"), "unknown type name 'Adress'"),
        ("Adress", "unknown type name 'Adress'"),
        (one("int", default="zero"), "bad default"),
        (one(["null", "int"], default=1), "first branch"),
        (one(enum(["A"], default="B")), "B"),
        (one(["int", "int"]), "already in Union"),
        (rec(fld("x", "int"), fld("x", "long")), "already in use"),
        ({"type": "record", "name": "R"}, "fields"),
        ({"type": "frobnicate"}, "frobnicate"),
        (42, "expected JSON text"),
        (one({"type": "enum", "name": "E", "symbols": "AB"}), "symbols must be a JSON array"),
        (rec(fld("x", "int", aliases="y")), "aliases must be a JSON array"),
        (rec(fld("x", "int"), aliases="Old"), "aliases must be a JSON array"),
        (one({"type": "array", "items": {"type": "enum", "name": "E", "symbols": "A"}}), "symbols"),
    ],
)
def test_invalid_schemas_raise_invalid_schema_error(bad, message):
    with pytest.raises(InvalidSchemaError, match=message):
        check_compatibility(bad, [V1], "BACKWARD")
    assert issubclass(InvalidSchemaError, ValueError)


def test_invalid_existing_schema_is_named_by_position():
    with pytest.raises(InvalidSchemaError, match="existing schema 2"):
        check_compatibility(V1, [V1, "{nope"], "NONE")


@pytest.mark.parametrize(
    ("default", "type_"),
    [
        (None, "null"),
        (True, "boolean"),
        (2**31 - 1, "int"),
        (2**40, "long"),
        (1, "double"),
        (1.5, "float"),
        ("\u00ff", "bytes"),
        ("abcd", {"type": "fixed", "name": "F", "size": 4}),
        ([1, 2], {"type": "array", "items": "int"}),
        ({"a": "b"}, {"type": "map", "values": "string"}),
        (
            {"a": 1},
            {
                "type": "record",
                "name": "Inner",
                "fields": [fld("a", "int"), fld("b", "int", default=0)],
            },
        ),
    ],
)
def test_valid_defaults_are_accepted(default, type_):
    assert check_compatibility(rec(fld("x", type_, default=default)), [], "BACKWARD") == []


@pytest.mark.parametrize(
    ("default", "type_"),
    [
        (0, "null"),
        (1, "boolean"),
        (2**31, "int"),
        (True, "long"),
        ("1", "double"),
        ("\u0100", "bytes"),
        ("abc", {"type": "fixed", "name": "F", "size": 4}),
        (["x"], {"type": "array", "items": "int"}),
        ({"a": 1}, {"type": "map", "values": "string"}),
        ({}, {"type": "record", "name": "Inner", "fields": [fld("a", "int")]}),
    ],
)
def test_invalid_defaults_are_rejected(default, type_):
    with pytest.raises(InvalidSchemaError, match="bad default"):
        check_compatibility(rec(fld("x", type_, default=default)), [], "BACKWARD")
