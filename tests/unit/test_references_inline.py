"""Schema references: parsing Confluent's ``references``, the names a schema uses, and the
standalone schema that Avro libraries read (``inline``)."""

from __future__ import annotations

import json

import avro.schema
import fastavro
import pytest
from fastavro.schema import to_parsing_canonical_form
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.schemas.references import (
    Reference,
    ReferenceError,
    definitions,
    inline,
    names_used,
    order_dependencies,
    parse_references,
)

ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "de.hamm.types",
    "fields": [
        {"name": "street", "type": "string"},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
    ],
}
POINT = {
    "type": "record",
    "name": "GeoPoint",
    "namespace": "de.hamm.types",
    "fields": [{"name": "lat", "type": "double"}, {"name": "lon", "type": "double"}],
}


def user(*fields: tuple[str, object], namespace: str = "de.hamm.buergeramt") -> dict:
    return {
        "type": "record",
        "name": "Moved",
        "namespace": namespace,
        "fields": [{"name": n, "type": t} for n, t in fields],
    }


# --- parse_references ---------------------------------------------------------------------


def test_references_parse() -> None:
    assert parse_references(None) == ()
    assert parse_references([]) == ()
    assert parse_references([{"name": "a.B", "subject": "s", "version": 2}]) == (
        Reference("a.B", "s", 2),
    )
    assert parse_references([{"name": "a.B", "subject": "s", "version": -1}])[0].version == -1


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x", "must be a JSON array"),
        ({"name": "a"}, "must be a JSON array"),
        (["x"], "references[0] must be an object"),
        ([{"subject": "s", "version": 1}], "references[0].name"),
        ([{"name": "", "subject": "s", "version": 1}], "references[0].name"),
        ([{"name": "a", "version": 1}], "references[0].subject"),
        ([{"name": "a", "subject": "s"}], "references[0].version"),
        ([{"name": "a", "subject": "s", "version": "1"}], "references[0].version"),
        ([{"name": "a", "subject": "s", "version": True}], "references[0].version"),
        ([{"name": "a", "subject": "s", "version": 0}], "positive version or -1"),
        ([{"name": "a", "subject": "s", "version": -2}], "positive version or -1"),
        (
            [
                {"name": "a", "subject": "s", "version": 1},
                {"name": "a", "subject": "t", "version": 1},
            ],
            "names 'a' twice",
        ),
    ],
)
def test_malformed_references_are_named(value: object, text: str) -> None:
    with pytest.raises(ReferenceError, match=text.replace("[", r"\[").replace("]", r"\]")):
        parse_references(value)


# --- names_used and definitions -----------------------------------------------------------


def test_names_used_in_order_of_first_use() -> None:
    schema = user(
        ("a", "de.hamm.types.GeoPoint"),
        ("b", ["null", "de.hamm.types.Address"]),
        ("c", {"type": "array", "items": "de.hamm.types.GeoPoint"}),
        ("d", {"type": "map", "values": "string"}),
    )
    assert names_used(schema) == ["de.hamm.types.GeoPoint", "de.hamm.types.Address"]


def test_names_defined_in_the_schema_are_not_used_from_outside() -> None:
    schema = user(("a", ADDRESS), ("b", "de.hamm.types.Address"), ("c", "Kind"))
    assert names_used(schema) == ["de.hamm.buergeramt.Kind"]  # Kind is types.Kind: unqualified


def test_relative_names_resolve_in_the_enclosing_namespace() -> None:
    assert names_used(user(("a", "Address"), namespace="de.hamm.types")) == [
        "de.hamm.types.Address"
    ]


def test_definitions_of_a_standalone_schema() -> None:
    assert set(definitions(user(("a", ADDRESS)))) == {
        "de.hamm.buergeramt.Moved",
        "de.hamm.types.Address",
        "de.hamm.types.Kind",
    }


# --- inline -------------------------------------------------------------------------------


def parses(schema: object) -> None:
    fastavro.parse_schema(schema)
    avro.schema.parse(json.dumps(schema))


def test_without_references_the_schema_is_itself() -> None:
    schema = user(("a", "string"))
    assert inline(schema, []) is schema


def test_the_first_use_defines_the_type_later_ones_name_it() -> None:
    schema = user(("old", "de.hamm.types.Address"), ("new", "de.hamm.types.Address"))
    out = inline(schema, [ADDRESS])
    parses(out)
    first, second = out["fields"][0]["type"], out["fields"][1]["type"]
    assert first["name"] == "de.hamm.types.Address" and first["type"] == "record"
    assert second == "de.hamm.types.Address"
    assert schema["fields"][0]["type"] == "de.hamm.types.Address"  # the input is untouched


def test_nested_types_of_a_reference_can_be_named() -> None:
    schema = user(("a", "de.hamm.types.Address"), ("k", "de.hamm.types.Kind"))
    out = inline(schema, [ADDRESS])
    parses(out)
    assert out["fields"][1]["type"] == "de.hamm.types.Kind"


def test_a_nested_type_used_first_is_defined_once() -> None:
    schema = user(("k", "de.hamm.types.Kind"), ("a", "de.hamm.types.Address"))
    out = inline(schema, [ADDRESS])
    parses(out)
    assert out["fields"][0]["type"]["type"] == "enum"
    assert out["fields"][1]["type"]["fields"][1]["type"] == "de.hamm.types.Kind"


def test_types_inside_unions_arrays_and_maps() -> None:
    schema = user(
        ("a", ["null", "de.hamm.types.GeoPoint"]),
        ("b", {"type": "array", "items": "de.hamm.types.GeoPoint"}),
        ("c", {"type": "map", "values": "de.hamm.types.Address"}),
    )
    out = inline(schema, [ADDRESS, POINT])
    parses(out)
    assert out["fields"][0]["type"][1]["type"] == "record"
    assert out["fields"][1]["type"]["items"] == "de.hamm.types.GeoPoint"
    assert out["fields"][2]["type"]["values"]["name"] == "de.hamm.types.Address"


def test_the_inlined_type_keeps_its_own_namespace() -> None:
    schema = user(("a", "de.hamm.types.Address"))
    record = fastavro.parse_schema(inline(schema, [ADDRESS]))
    assert record["fields"][0]["type"]["name"] == "de.hamm.types.Address"
    assert record["fields"][0]["type"]["fields"][1]["type"]["name"] == "de.hamm.types.Kind"


def test_a_type_of_the_null_namespace() -> None:
    bare = {"type": "record", "name": "Bare", "fields": [{"name": "x", "type": "int"}]}
    out = inline(user(("a", "Bare")), [bare])
    assert out["fields"][0]["type"]["namespace"] == ""


def test_a_reference_that_is_itself_a_schema_name() -> None:
    assert inline("de.hamm.types.GeoPoint", [POINT])["type"] == "record"


def test_an_unknown_name_is_left_for_the_parser() -> None:
    out = inline(user(("a", "de.hamm.types.Nowhere")), [ADDRESS])
    assert out["fields"][0]["type"] == "de.hamm.types.Nowhere"
    with pytest.raises(fastavro.schema.UnknownType):
        fastavro.parse_schema(out)


def test_references_of_references_are_inlined_first() -> None:
    place = {
        "type": "record",
        "name": "Place",
        "namespace": "de.hamm.types",
        "fields": [
            {"name": "address", "type": "de.hamm.types.Address"},
            {"name": "at", "type": "de.hamm.types.GeoPoint"},
        ],
    }
    place_standalone = inline(place, [ADDRESS, POINT])
    out = inline(
        user(("p", "de.hamm.types.Place"), ("q", "de.hamm.types.GeoPoint")), [place_standalone]
    )
    parses(out)
    assert out["fields"][1]["type"] == "de.hamm.types.GeoPoint"


# --- order_dependencies -------------------------------------------------------------------


def test_dependencies_come_first() -> None:
    a, b, c = Reference("A", "a", 1), Reference("B", "b", 1), Reference("C", "c", 1)
    assert order_dependencies([a], {a: [b, c], b: [c]}) == [c, b, a]
    assert order_dependencies([a, c], {a: [c]}) == [c, a]


def test_a_cycle_is_named() -> None:
    a, b = Reference("A", "a", 1), Reference("B", "b", 2)
    with pytest.raises(ReferenceError, match="cycle: a v1 -> b v2 -> a v1"):
        order_dependencies([a], {a: [b], b: [a]})


# --- property: splitting a named type out and inlining it back is the identity ------------

field_names = st.sampled_from(["a", "b", "c", "d", "e", "f"])
primitive = st.sampled_from(["int", "long", "string", "double", "boolean", "bytes"])


@st.composite
def records(draw, depth: int = 0, names=None):
    names = names if names is not None else iter(range(10_000))
    name = f"R{next(names)}"
    count = draw(st.integers(1, 4))
    fields, used = [], set()
    for _ in range(count):
        field = draw(field_names.filter(lambda n: n not in used))
        used.add(field)
        if depth < 2 and draw(st.booleans()):
            ftype = draw(records(depth + 1, names))
        elif draw(st.booleans()):
            ftype = {"type": "enum", "name": f"E{next(names)}", "symbols": ["X", "Y"]}
        else:
            ftype = draw(primitive)
        if draw(st.booleans()):
            ftype = ["null", ftype]
        fields.append({"name": field, "type": ftype})
    return {"type": "record", "name": name, "fields": fields}


def _split(schema: dict) -> tuple[dict, dict] | None:
    """Move the first nested record definition out, naming it instead."""
    for field in schema["fields"]:
        candidates = field["type"] if isinstance(field["type"], list) else [field["type"]]
        for i, candidate in enumerate(candidates):
            if isinstance(candidate, dict) and candidate.get("type") == "record":
                shared = {**candidate, "namespace": "shared"}
                named = "shared." + candidate["name"]
                if isinstance(field["type"], list):
                    field["type"] = [named if j == i else c for j, c in enumerate(field["type"])]
                else:
                    field["type"] = named
                return schema, shared
    return None


@settings(max_examples=150, deadline=None)
@given(records())
def test_split_and_inline_is_the_same_schema(schema: dict) -> None:
    original = json.loads(json.dumps({**schema, "namespace": "main"}))
    split = _split(json.loads(json.dumps(original)))
    if split is None:
        return
    user_schema, shared = split
    assert names_used(user_schema, "") == ["shared." + shared["name"]]
    back = inline(user_schema, [shared])
    # The split type now lives in namespace "shared": compare with the original so renamed.
    expected = json.loads(json.dumps(original))
    _split(expected)  # same walk: puts the namespace on the same definition
    expected_full = inline(expected, [shared])
    assert to_parsing_canonical_form(fastavro.parse_schema(back)) == to_parsing_canonical_form(
        fastavro.parse_schema(expected_full)
    )
    parses(back)
