"""The JSON Schema of each topic's events, derived from Avro (producers.gateway.openapi): what it
says for every Avro type, that every value it allows converts, that it allows what the converter
accepts and forbids what it rejects, defaults, examples, and the assembled OpenAPI operations.

Values are drawn from the JSON Schema itself by ``from_schema`` below, a reading of the keywords
the derivation writes (hypothesis-jsonschema does not work with current Hypothesis)."""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import re
from io import BytesIO
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers.gateway.convert import (
    FLOAT_MAX,
    ConversionError,
    SchemaError,
    compile_schema,
)
from producers.gateway.openapi import (
    DATE_PATTERN,
    EPOCH_MILLIS_RANGE,
    TIMESTAMP_PATTERN,
    UUID_PATTERN,
    TopicDoc,
    base64_pattern,
    component_name,
    document,
    event_schema,
    example_event,
    operation_id,
    to_json,
    topic_path_item,
)

REPO = Path(__file__).resolve().parents[2]

KIND = {"type": "enum", "name": "Kind", "doc": "What it is.", "symbols": ["A", "B"]}
PLACE = {
    "type": "record",
    "name": "Place",
    "doc": "A point.",
    "fields": [
        {"name": "lat", "type": "double", "doc": "Latitude.", "x-pii": "quasi"},
        {"name": "lon", "type": "double"},
    ],
}
SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Everything",
    "namespace": "de.hamm.test",
    "doc": "Every Avro type the gateway converts.",
    "x-key": "id",
    "fields": [
        {"name": "id", "type": "string", "doc": "The id.", "x-pii": "direct"},
        {"name": "count", "type": "int"},
        {"name": "big", "type": "long", "default": 7},
        {"name": "ratio", "type": "double"},
        {"name": "single", "type": "float", "default": 0.5},
        {"name": "flag", "type": "boolean"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {
            "name": "at_micros",
            "type": {"type": "long", "logicalType": "timestamp-micros"},
            "default": 1_000_000,
        },
        {
            "name": "local",
            "type": ["null", {"type": "long", "logicalType": "local-timestamp-millis"}],
            "default": None,
        },
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "first_day", "type": {"type": "int", "logicalType": "date"}, "default": 0},
        {"name": "kind", "type": KIND, "doc": "Its kind."},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "choice", "type": ["null", "int", "string"], "default": None},
        {"name": "place", "type": PLACE},
        {"name": "other_place", "type": ["null", "Place"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "Kind"}, "default": []},
        {"name": "extra", "type": {"type": "map", "values": "long"}, "default": {}},
        {"name": "blob", "type": ["null", "bytes"], "default": None},
        {"name": "raw", "type": "bytes", "default": "\u00ff"},
        {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}, "default": "abcd"},
        {
            "name": "amount",
            "type": [
                "null",
                {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2},
            ],
            "default": None,
        },
        {
            "name": "ref",
            "type": ["null", {"type": "string", "logicalType": "uuid"}],
            "default": None,
        },
        {
            "name": "clock",
            "type": ["null", {"type": "int", "logicalType": "time-millis"}],
            "default": None,
        },
        {
            "name": "home",
            "type": {
                "type": "record",
                "name": "Home",
                "fields": [
                    {"name": "street", "type": "string"},
                    {"name": "where", "type": "Place"},
                ],
            },
            "default": {"street": "Markt", "where": {"lat": 51.6, "lon": 7.8}},
        },
    ],
}
CONVERTER = compile_schema(SCHEMA)
PARSED = parse_schema(copy.deepcopy(SCHEMA))


def _date_time(value: object) -> bool:
    """RFC 3339 date-time, for the format checker (jsonschema has none without extras)."""
    if not isinstance(value, str):
        return True
    match = re.fullmatch(
        r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|([+-])(\d\d):(\d\d))",
        value,
        flags=re.ASCII,
    )
    if match is None:
        return False
    try:
        dt.datetime(*(int(match.group(i)) for i in range(1, 7)))
    except ValueError:
        return False
    return match.group(10) is None or (int(match.group(10)) < 24 and int(match.group(11)) < 60)


FORMATS = jsonschema.FormatChecker()
FORMATS.checks("date-time")(_date_time)


def _ecma_pattern(validator, pattern, instance, schema):
    """``pattern`` as ECMA 262 reads it: ``$`` is the end, not before a final newline."""
    if isinstance(instance, str) and not re.search(re.sub(r"\$$", r"\\Z", pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


Checker = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _ecma_pattern})


def from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> st.SearchStrategy:
    """Values of a JSON Schema written by ``event_schema``, read keyword by keyword."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].rpartition("/")[2]
        return st.deferred(lambda: from_schema(root["definitions"][name], root))
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of([from_schema(s, root) for s in schema.get("anyOf", schema.get("oneOf"))])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(
            schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False
        ) | st.integers(-(2**53), 2**53)
    if kind == "string":
        fmt, pattern = schema.get("format"), schema.get("pattern")
        if fmt == "date-time":
            strategy = st.datetimes(timezones=st.timezones() | st.just(dt.UTC)).map(
                lambda d: d.isoformat()
            )
        elif fmt == "date":
            strategy = st.dates().map(str)
        elif fmt == "uuid":
            strategy = st.uuids().map(str)
        elif pattern:
            return st.from_regex(pattern, fullmatch=True)
        else:
            return st.text()
        return strategy.filter(re.compile(pattern).search) if pattern else strategy
    if kind == "array":
        return st.lists(
            from_schema(schema["items"], root),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 3), 3),
        )
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", []))
        props = schema["properties"]
        return st.fixed_dictionaries(
            {k: from_schema(v, root) for k, v in props.items() if k in required},
            optional={k: from_schema(v, root) for k, v in props.items() if k not in required},
        )
    if kind == "object":
        return st.dictionaries(
            st.text(max_size=5), from_schema(schema["additionalProperties"], root), max_size=3
        )
    raise AssertionError(f"a keyword from_schema does not read: {schema}")


def ecma(pattern: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\$$", r"\\Z", pattern))


def standalone(avro: Any) -> dict[str, Any]:
    """The derived schema as one document ($refs into its own definitions)."""
    derived = event_schema(avro, ref_prefix="#/definitions/")
    return {**derived.schema, "definitions": derived.definitions}


def validator(avro: Any) -> jsonschema.Validator:
    return Checker(standalone(avro), format_checker=FORMATS)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
VALIDATOR = validator(SCHEMA)
JSON_SCHEMA = standalone(SCHEMA)


def event(**changes: Any) -> dict[str, Any]:
    base = {
        "id": "x-1",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "at": "2026-11-25T10:00:00+01:00",
        "day": "2026-11-25",
        "kind": "A",
        "place": {"lat": 51.6, "lon": 7.8},
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def field_schema(name: str, schema: dict[str, Any] = JSON_SCHEMA) -> dict[str, Any]:
    return schema["properties"][name]


def encodes(record: dict[str, Any]) -> None:
    schemaless_writer(BytesIO(), PARSED, record)


def roundtrip(record: dict[str, Any]) -> dict[str, Any]:
    buffer = BytesIO()
    schemaless_writer(buffer, PARSED, record)
    buffer.seek(0)
    return schemaless_reader(buffer, PARSED)


# -- what each Avro type becomes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("avro", "expected"),
    [
        ("null", {"type": "null"}),
        ("boolean", {"type": "boolean"}),
        (
            "int",
            {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1},
        ),
        (
            "long",
            {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1},
        ),
        ("double", {"type": "number", "format": "double"}),
        (
            "float",
            {"type": "number", "format": "float", "minimum": -FLOAT_MAX, "maximum": FLOAT_MAX},
        ),
        ("string", {"type": "string"}),
        ({"type": "string"}, {"type": "string"}),
        (["string"], {"type": "string"}),
        (["null", "string"], {"anyOf": [{"type": "null"}, {"type": "string"}]}),
        ({"type": "array", "items": "string"}, {"type": "array", "items": {"type": "string"}}),
        (
            {"type": "map", "values": "boolean"},
            {"type": "object", "additionalProperties": {"type": "boolean"}},
        ),
        (
            {"type": "int", "logicalType": "date"},
            {"type": "string", "format": "date", "pattern": DATE_PATTERN},
        ),
        (
            {"type": "string", "logicalType": "uuid"},
            {"type": "string", "format": "uuid", "pattern": UUID_PATTERN},
        ),
        # a logical type on the wrong base is ignored, as the converter ignores it
        ({"type": "string", "logicalType": "date"}, {"type": "string"}),
        ({"type": "long", "logicalType": "no-such-thing"}, None),
    ],
)
def test_each_avro_type(avro, expected):
    field = {"name": "v", "type": avro}
    derived = event_schema({"type": "record", "name": "R", "fields": [field]}).schema
    got = derived["properties"]["v"]
    if expected is None:  # unknown logical type: its base type
        expected = event_schema(
            {"type": "record", "name": "R", "fields": [{"name": "v", "type": "long"}]}
        ).schema["properties"]["v"]
    assert got == expected


def test_record_fields_required_unless_defaulted_and_closed():
    assert JSON_SCHEMA["type"] == "object" and JSON_SCHEMA["additionalProperties"] is False
    assert JSON_SCHEMA["title"] == "Everything"
    assert JSON_SCHEMA["description"] == "Every Avro type the gateway converts."
    assert JSON_SCHEMA["required"] == [
        "id",
        "count",
        "ratio",
        "flag",
        "at",
        "day",
        "kind",
        "place",
    ]
    assert list(JSON_SCHEMA["properties"]) == [f["name"] for f in SCHEMA["fields"]]


def test_docs_become_descriptions_and_pii_is_kept():
    assert field_schema("id")["description"] == "The id."
    assert field_schema("id")["x-pii"] == "direct"
    kind = field_schema("kind")
    assert kind["title"] == "Kind" and kind["enum"] == ["A", "B"]
    assert kind["description"] == "Its kind.\n\nWhat it is."
    place = field_schema("place")
    assert place["title"] == "Place" and place["description"] == "A point."
    assert place["properties"]["lat"] == {
        "type": "number",
        "format": "double",
        "description": "Latitude.",
        "x-pii": "quasi",
    }
    assert "description" not in place["properties"]["lon"]


def test_named_types_are_inlined_where_they_are_used_again():
    assert field_schema("other_place")["anyOf"][1] == {
        k: v for k, v in field_schema("place").items() if k != "description"
    } | {"description": "A point."}
    assert field_schema("tags")["items"]["enum"] == ["A", "B"]


def test_timestamps_are_rfc3339_with_offset_or_epoch_millis():
    text, lax, millis = field_schema("at")["anyOf"]
    assert text["type"] == "string" and text["format"] == "date-time"
    assert lax == {
        "type": "string",
        "pattern": TIMESTAMP_PATTERN,
        "description": lax["description"],
    }
    rfc = re.compile(text["pattern"])
    assert rfc.search("2026-11-25T09:00:00Z") and not rfc.search("2026-11-25 09:00Z")
    assert millis == {
        "type": "integer",
        "format": "int64",
        "minimum": EPOCH_MILLIS_RANGE[0],
        "maximum": EPOCH_MILLIS_RANGE[1],
        "description": "milliseconds since 1970-01-01T00:00:00Z",
    }
    pattern = re.compile(lax["pattern"])
    for good in ("2026-11-25T09:00:00Z", "2026-11-25T10:00:00.123+01:00", "2026-11-25 10:00Z"):
        assert pattern.search(good) and CONVERTER.errors(event(at=good)) == []
    for bad in ("2026-11-25T10:00:00", "2026-11-25", "25.11.2026 10:00"):
        assert not pattern.search(bad) and CONVERTER.errors(event(at=bad))


def test_epoch_millis_bounds_are_the_converters():
    low, high = EPOCH_MILLIS_RANGE
    for value in (low, high, 0, 1795597200000, float(1795597200000)):
        assert CONVERTER.errors(event(at=value)) == [], value
        assert VALIDATOR.is_valid(event(at=value))
    for value in (low - 1, high + 1):
        assert CONVERTER.errors(event(at=value)), value
        assert not VALIDATOR.is_valid(event(at=value))


def test_float_range_is_single_precision():
    assert CONVERTER.errors(event(single=FLOAT_MAX)) == []
    assert [str(e) for e in CONVERTER.errors(event(single=1e39))] == [
        "single: 1e+39 is out of range for Avro float"
    ]
    assert not VALIDATOR.is_valid(event(single=1e39))
    encodes(CONVERTER.convert(event(single=-FLOAT_MAX)))


def test_bytes_and_fixed_are_exact_base64():
    blob = field_schema("blob")["anyOf"][1]
    assert blob["contentEncoding"] == "base64" and blob["pattern"] == base64_pattern()
    fixed = field_schema("hash")
    assert fixed["pattern"] == base64_pattern(4) and fixed["title"] == "Hash"
    assert VALIDATOR.is_valid(event(hash=base64.b64encode(b"1234").decode()))
    assert not VALIDATOR.is_valid(event(hash=base64.b64encode(b"123").decode()))
    assert CONVERTER.errors(event(hash=base64.b64encode(b"123").decode()))


@given(st.binary(max_size=40), st.integers(0, 40), st.sampled_from(["", "=", "=="]))
def test_base64_patterns_match_what_b64decode_takes(data, size, padding):
    text = base64.b64encode(data).decode() + padding
    try:
        decoded: bytes | None = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        decoded = None
    assert bool(ecma(base64_pattern()).search(text)) == (decoded is not None)
    assert bool(ecma(base64_pattern(size)).search(text)) == (
        decoded is not None and len(decoded) == size
    )


@given(st.text(alphabet="AB+/=z0\n -", max_size=12))
def test_base64_pattern_is_exact(text):
    try:
        base64.b64decode(text, validate=True)
        decodes = True
    except (binascii.Error, ValueError):
        decodes = False
    assert bool(ecma(base64_pattern()).search(text)) == decodes


TIMESTAMP_LIKE = st.from_regex(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,10})?)?)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?\n?",
    fullmatch=True,
) | st.builds(
    lambda d, z: d.isoformat() + z,
    st.datetimes(min_value=dt.datetime(1, 1, 1, 1), max_value=dt.datetime(9999, 12, 30)),
    st.sampled_from(["", "Z", "+01:00", "-23:59"]),
)


@SETTINGS
@given(TIMESTAMP_LIKE)
def test_timestamp_date_and_local_patterns_are_exact(text):
    """The patterns take exactly the strings the converter takes (in the converter's grammar,
    which is what the strings here are drawn from)."""
    at = not CONVERTER.errors(event(at=text))
    assert VALIDATOR.is_valid(event(at=text)) == at, text
    assert bool(ecma(TIMESTAMP_PATTERN).search(text)) == at, text
    day = not CONVERTER.errors(event(day=text))
    assert bool(ecma(field_schema("day")["pattern"]).search(text)) == day, text
    local = not CONVERTER.errors(event(local=text))
    assert bool(ecma(field_schema("local")["anyOf"][1]["pattern"]).search(text)) == local, text


def test_decimals_are_strings_or_integers_that_fit():
    decimal = field_schema("amount")["anyOf"][1]
    assert "decimal(6,2)" in decimal["description"]
    for good in ("1234.50", "-0.5", "12", 12, 9999):
        assert VALIDATOR.is_valid(event(amount=good)) and not CONVERTER.errors(event(amount=good))
    for bad in ("1.234", "123456.00", 10000, "1,5"):
        assert not VALIDATOR.is_valid(event(amount=bad)), bad
        assert CONVERTER.errors(event(amount=bad)), bad


def test_unknown_named_type_is_a_schema_error():
    with pytest.raises(SchemaError):
        event_schema({"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]})


def test_recursive_records_are_refs_to_a_definition():
    node = {
        "type": "record",
        "name": "Node",
        "namespace": "de.hamm.test",
        "fields": [
            {"name": "value", "type": "int"},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ],
    }
    derived = event_schema(node, name_prefix="T.")
    assert derived.schema == {"$ref": "#/components/schemas/T.de.hamm.test.Node"}
    definition = derived.definitions["T.de.hamm.test.Node"]
    assert definition["properties"]["next"]["anyOf"][1] == derived.schema
    checker = validator(node)
    converter = compile_schema(node)
    for value in ({"value": 1}, {"value": 1, "next": {"value": 2, "next": None}}):
        assert checker.is_valid(value) and not converter.errors(value)
    bad = {"value": 1, "next": {"value": "x"}}
    assert not checker.is_valid(bad) and converter.errors(bad)


def test_parsed_and_plain_schemas_give_the_same_json_schema():
    assert event_schema(PARSED).schema == event_schema(SCHEMA).schema


# -- defaults -----------------------------------------------------------------------------------


def test_defaults_in_the_json_the_gateway_takes():
    assert field_schema("big")["default"] == 7
    assert field_schema("at_micros")["default"] == "1970-01-01T00:00:01Z"
    assert field_schema("first_day")["default"] == "1970-01-01"
    assert field_schema("raw")["default"] == "/w=="
    assert field_schema("hash")["default"] == base64.b64encode(b"abcd").decode()
    assert field_schema("tags")["default"] == []
    assert field_schema("note")["default"] is None
    assert field_schema("home")["default"] == {
        "street": "Markt",
        "where": {"lat": 51.6, "lon": 7.8},
    }


def test_every_default_is_valid_and_means_what_leaving_the_field_out_means():
    omitted = CONVERTER.convert(event())
    for name, prop in JSON_SCHEMA["properties"].items():
        if "default" not in prop:
            continue
        sub = Checker({**prop, "definitions": JSON_SCHEMA["definitions"]}, format_checker=FORMATS)
        assert sub.is_valid(prop["default"]), name
        explicit = CONVERTER.convert(event(**{name: prop["default"]}))
        assert roundtrip(explicit)[name] == roundtrip(omitted)[name], name


def test_unrepresentable_defaults_are_left_out_but_the_field_stays_optional():
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "t", "type": {"type": "int", "logicalType": "time-millis"}, "default": -1},
        ],
    }
    derived = event_schema(schema).schema
    assert "default" not in derived["properties"]["t"] and "required" not in derived


# -- the converter and the schema agree ---------------------------------------------------------


@SETTINGS
@given(from_schema(JSON_SCHEMA))
def test_every_value_the_schema_allows_converts_and_encodes(value):
    assert VALIDATOR.is_valid(value)
    record = CONVERTER.convert(value)
    encodes(record)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["A", "C", "2026-11-25", "2026-11-25T10:00:00Z", "aGFtbQ==", "1.50"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["lat", "lon", "x", "street", "where"]), children)
    ),
    max_leaves=6,
)


@SETTINGS
@given(
    from_schema(JSON_SCHEMA),
    st.sampled_from([f["name"] for f in SCHEMA["fields"]] + ["surplus"]),
    JSON_VALUES,
)
def test_the_schema_allows_exactly_what_the_converter_accepts(value, name, replacement):
    """A valid event with one field replaced by any JSON value: the schema and the converter
    agree whether it is valid, and the converter's reasons are its usual messages."""
    value = {**value, name: replacement}
    errors = CONVERTER.errors(value)
    assert VALIDATOR.is_valid(value) == (not errors), (errors, list(VALIDATOR.iter_errors(value)))
    if errors:
        with pytest.raises(ConversionError) as info:
            CONVERTER.convert(value)
        assert {e.path.split(".")[0].split("[")[0] for e in info.value.errors} == {name}


@SETTINGS
@given(from_schema(JSON_SCHEMA))
def test_dropping_a_required_field_is_invalid_for_both(value):
    for name in JSON_SCHEMA["required"]:
        less = {k: v for k, v in value.items() if k != name}
        assert not VALIDATOR.is_valid(less)
        assert [str(e) for e in CONVERTER.errors(less)] == [f"{name}: required field is missing"]


# -- examples -----------------------------------------------------------------------------------


def test_example_event_converts_and_is_valid():
    example = example_event(SCHEMA)
    assert set(example) == set(JSON_SCHEMA["required"])
    assert VALIDATOR.is_valid(example) and CONVERTER.errors(example) == []


def test_to_json_of_python_values():
    from decimal import Decimal

    moment = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
    assert to_json(
        {
            "at": moment,
            "ms": moment.replace(microsecond=123000),
            "us": moment.replace(microsecond=123456),
            "local": dt.datetime(2026, 11, 25, 9, 30),
            "day": dt.date(2026, 11, 25),
            "clock": dt.time(14, 30),
            "blob": b"hamm",
            "amount": Decimal("12.50"),
            "list": [moment],
        }
    ) == {
        "at": "2026-11-25T09:30:00Z",
        "ms": "2026-11-25T09:30:00.123Z",
        "us": "2026-11-25T09:30:00.123456Z",
        "local": "2026-11-25T09:30:00",
        "day": "2026-11-25",
        "clock": "14:30:00",
        "blob": "aGFtbQ==",
        "amount": "12.50",
        "list": ["2026-11-25T09:30:00Z"],
    }


def _catalog_schema(path: Path) -> Any:
    """A catalog schema as a reader gets it: shared types it names written out, where the
    catalog has them (hub.schemas.catalog.standalone_schema)."""
    from hub.schemas.catalog import standalone_schema

    return standalone_schema(path)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (REPO / "schemas").rglob("v*.avsc") if not p.parts[-3].startswith("_")),
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_every_catalog_schema_derives_and_its_simulated_events_validate(path):
    from producers.gateway.document import simulated_examples

    avro = _catalog_schema(path)
    converter = compile_schema(parse_schema(copy.deepcopy(avro)))
    checker = validator(avro)
    example = example_event(avro)
    assert checker.is_valid(example) and converter.errors(example) == []
    topic = f"{path.parts[-3]}.{path.parts[-2]}"
    for simulated in simulated_examples(topic, converter):
        assert checker.is_valid(simulated), list(checker.iter_errors(simulated))


# -- the OpenAPI operations ---------------------------------------------------------------------


def test_names_of_components_and_operations():
    assert component_name("buergeramt.resident.moved") == "BuergeramtResidentMoved"
    assert component_name("tiefbauamt.street-damage.reported") == "TiefbauamtStreetDamageReported"
    assert operation_id("tiefbauamt.street-damage.reported") == (
        "publish_tiefbauamt_street_damage_reported"
    )


def _doc(topic: str = "test.everything.happened", department: str = "test") -> TopicDoc:
    return TopicDoc(topic, department, PARSED, 42, (example_event(SCHEMA),))


def test_one_operation_per_topic_with_its_schema_responses_and_security():
    item, components = topic_path_item(_doc(), max_batch=100, max_body_bytes=1000)
    operation = item["post"]
    assert operation["operationId"] == "publish_test_everything_happened"
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation["tags"] == ["test"]
    assert "subject `test.everything.happened-value`, id 42" in operation["description"]
    assert "`id` is its Kafka key" in operation["description"]
    media = operation["requestBody"]["content"]["application/json"]
    single, batch = media["schema"]["oneOf"]
    assert single == {"$ref": "#/components/schemas/TestEverythingHappened"}
    assert batch["items"] == single and (batch["minItems"], batch["maxItems"]) == (1, 100)
    assert components["TestEverythingHappened"] == {
        **event_schema(PARSED).schema,
        "title": "TestEverythingHappened",
    }
    assert media["examples"]["event"]["value"] == example_event(SCHEMA)
    assert set(operation["responses"]) == {
        "201",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "422",
        "429",
        "503",
    }
    assert [p["name"] for p in operation["parameters"]] == ["Idempotency-Key"]
    responses = operation["responses"]
    assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert responses["429"]["headers"]["Retry-After"]["required"] is False
    assert responses["503"]["headers"]["Retry-After"]["required"] is True
    assert "1000 bytes" in responses["413"]["description"]


def test_document_adds_topics_tags_and_keeps_the_base():
    base = {"openapi": "3.1.0", "paths": {"/healthz": {}}, "components": {"schemas": {"X": {}}}}
    spec = document(
        base,
        [_doc("b.x.y", "b"), _doc("a.x.y", "a"), _doc("a.x-y.z", "a"), _doc("a.x.y-z", "a")],
        max_batch=10,
        max_body_bytes=10,
        departments={"a": "Amt A"},
    )
    assert list(spec["paths"]) == [
        "/healthz",
        "/v1/topics/a.x-y.z/events",
        "/v1/topics/a.x.y/events",
        "/v1/topics/a.x.y-z/events",
        "/v1/topics/b.x.y/events",
    ]
    assert spec["tags"] == [{"name": "a", "description": "Amt A"}, {"name": "b"}]
    # a.x-y.z and a.x.y-z spell the same class name: the second gets a number
    refs = [
        spec["paths"][f"/v1/topics/{t}/events"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]["oneOf"][0]["$ref"]
        for t in ("a.x-y.z", "a.x.y-z")
    ]
    assert refs == ["#/components/schemas/AXYZ", "#/components/schemas/AXYZ2"]
    assert base == {
        "openapi": "3.1.0",
        "paths": {"/healthz": {}},
        "components": {"schemas": {"X": {}}},
    }
