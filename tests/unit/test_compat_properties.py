"""Properties of the compatibility checker over generated record schemas."""

from __future__ import annotations

import json

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.schemas.compatibility import Level, check_compatibility

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
DEFAULTS = {
    "null": None,
    "boolean": False,
    "int": 0,
    "long": 0,
    "float": 0.0,
    "double": 0.0,
    "bytes": "",
    "string": "",
}
FIELD_NAMES = ["a", "b", "c", "d"]
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def field_type(draw, field_name: str, depth: int = 0):
    kinds = ["primitive", "optional", "enum", "array", "map"] + (["record"] if depth < 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "primitive":
        return draw(st.sampled_from(PRIMITIVES))
    if kind == "optional":
        return ["null", draw(st.sampled_from(PRIMITIVES[1:]))]
    if kind == "enum":
        symbols = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=1, unique=True))
        enum = {"type": "enum", "name": f"E_{field_name}", "symbols": symbols}
        if draw(st.booleans()):
            enum["default"] = symbols[0]
        return enum
    if kind == "array":
        return {"type": "array", "items": draw(st.sampled_from(PRIMITIVES[1:]))}
    if kind == "map":
        return {"type": "map", "values": draw(st.sampled_from(PRIMITIVES[1:]))}
    return draw(record(f"N_{field_name}", depth + 1))


def default_for(type_):
    if isinstance(type_, str):
        return DEFAULTS[type_]
    if isinstance(type_, list):
        return None
    return {"enum": lambda: type_["symbols"][0], "array": list, "map": dict}.get(
        type_["type"], lambda: None
    )()


@st.composite
def record(draw, name: str = "Event", depth: int = 0):
    names = draw(st.lists(st.sampled_from(FIELD_NAMES), unique=True, max_size=4))
    fields = []
    for field_name in names:
        type_ = draw(field_type(f"{name}_{field_name}", depth))
        field = {"name": field_name, "type": type_}
        is_record = isinstance(type_, dict) and type_["type"] == "record"
        if not is_record and (isinstance(type_, list) or draw(st.booleans())):
            field["default"] = default_for(type_)
        fields.append(field)
    return {"type": "record", "name": name, "fields": fields}


@SETTINGS
@given(record())
def test_a_schema_is_compatible_with_itself_at_every_level(schema):
    for level in Level:
        assert check_compatibility(schema, [schema, schema], level) == []


@SETTINGS
@given(record(), st.sampled_from(PRIMITIVES[1:]))
def test_adding_an_optional_field_with_null_default_is_fully_compatible(schema, type_):
    evolved = json.loads(json.dumps(schema))
    evolved["fields"].append({"name": "added", "type": ["null", type_], "default": None})
    assert check_compatibility(evolved, [schema], Level.FULL_TRANSITIVE) == []


@SETTINGS
@given(record(), record())
def test_verdicts_agree_with_avro_where_it_follows_the_specification(reader, writer):
    """No aliases and no decimals are generated, so the known departures cannot occur,
    except a reader enum field without default missing in the writer: both say incompatible."""
    ours = check_compatibility(reader, [writer], Level.BACKWARD) == []
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    assert ours is (result.compatibility is SchemaCompatibilityType.compatible)


@SETTINGS
@given(record(), record())
def test_full_is_backward_plus_forward(old, new):
    full = check_compatibility(new, [old], Level.FULL)
    backward = check_compatibility(new, [old], Level.BACKWARD)
    forward = check_compatibility(new, [old], Level.FORWARD)
    assert full == backward + forward
