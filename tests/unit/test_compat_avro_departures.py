"""Where ``avro.compatibility`` (avro 1.12) departs from the Avro specification, and where not.

Each departure test shows the avro package's answer and that ours follows the specification
(https://avro.apache.org/docs/1.12.0/specification/, "Aliases", "Schema Resolution", "Decimal").
The agreement tests pin the cases the brief asked to examine where both say the same.
"""

from __future__ import annotations

import json

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from hub.schemas.compatibility import check_compatibility


def avro_says_compatible(reader: object, writer: object) -> bool:
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is SchemaCompatibilityType.compatible


def we_say_compatible(reader: object, writer: object) -> bool:
    return check_compatibility(reader, [writer], "BACKWARD") == []


def rec(name, fields, namespace="de.hamm.test", **extra):
    return {"type": "record", "name": name, "namespace": namespace, "fields": fields, **extra}


# --- departures: the specification wins --------------------------------------------------


def test_departure_relative_type_alias():
    """Spec "Aliases": an alias may be relative to the namespace of the type it names."""
    writer = rec("Event", [{"name": "x", "type": "int"}])
    reader = rec("Renamed", [{"name": "x", "type": "int"}], aliases=["Event"])
    assert not avro_says_compatible(reader, writer)  # avro compares the raw alias text
    assert we_say_compatible(reader, writer)


def test_departure_missing_field_of_enum_type_with_enum_default():
    """Spec: a reader field without default that the writer lacks is an error. An enum's own
    default is for unknown symbols, not for a missing field; avro (like Java) compares the
    enum with the whole writer record and calls it a type mismatch."""
    writer = rec("Event", [{"name": "x", "type": "int"}])
    kind = {"type": "enum", "name": "Kind", "symbols": ["A", "B"], "default": "A"}
    reader = rec("Event", [{"name": "x", "type": "int"}, {"name": "k", "type": kind}])
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    assert [t.name for t in result.incompatibilities] == ["type_mismatch"]
    (item,) = check_compatibility(reader, [writer], "BACKWARD")
    assert (item.type, item.path) == ("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/1")


def test_departure_decimal_precision_and_scale():
    """Spec "Decimal": two decimals match only if their scales and precisions match."""
    writer = rec(
        "Event",
        [
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
            }
        ],
    )
    reader = rec(
        "Event",
        [
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 4},
            }
        ],
    )
    assert avro_says_compatible(reader, writer)
    (item,) = check_compatibility(reader, [writer], "BACKWARD")
    assert item.type == "TYPE_MISMATCH" and "precision, scale" in item.message


def test_avro_checker_cannot_pair_its_findings():
    """Why we walk ourselves: avro returns types, messages and locations as separate sets."""
    writer = rec("Event", [{"name": "a", "type": "string"}, {"name": "b", "type": "boolean"}])
    reader = rec("Event", [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}])
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    assert isinstance(result.messages, set) and isinstance(result.locations, set)
    found = check_compatibility(reader, [writer], "BACKWARD")
    assert [(i.path, "string" in i.message) for i in found] == [
        ("/fields/0/type", True),
        ("/fields/1/type", False),
    ]


# --- examined, no departure ---------------------------------------------------------------

KIND_AB = {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}
KIND_A_DEFAULT = {"type": "enum", "name": "Kind", "symbols": ["A"], "default": "A"}
KIND_A = {"type": "enum", "name": "Kind", "symbols": ["A"]}

AGREEING = [
    ("enum default reads unknown symbol", KIND_A_DEFAULT, KIND_AB, True),
    ("enum without default misses symbol", KIND_A, KIND_AB, False),
    ("string read as bytes", "bytes", "string", True),
    ("bytes read as string", "string", "bytes", True),
    ("union of one reads non-union", ["string"], "string", True),
    ("non-union reads union of one", "string", ["string"], True),
    (
        "record names compare unqualified",
        rec("Event", [], namespace="a.b"),
        rec("Event", [], namespace="c.d"),
        True,
    ),
    ("record names differ", rec("Event", []), rec("Other", []), False),
    ("qualified alias", rec("New", [], aliases=["de.hamm.test.Old"]), rec("Old", []), True),
    (
        "field alias",
        rec("E", [{"name": "b", "type": "int", "aliases": ["a"]}]),
        rec("E", [{"name": "a", "type": "int"}]),
        True,
    ),
    ("int read as double", "double", "int", True),
    ("long read as int", "int", "long", False),
]


@pytest.mark.parametrize(
    ("reader", "writer", "compatible"), [c[1:] for c in AGREEING], ids=[c[0] for c in AGREEING]
)
def test_both_checkers_agree_with_the_specification(reader, writer, compatible):
    assert avro_says_compatible(reader, writer) is compatible
    assert we_say_compatible(reader, writer) is compatible
