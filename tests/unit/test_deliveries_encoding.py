"""Deliveries as CloudEvents JSON: every Avro type of the sample delivery schemas (and of Avro at
all) written by the documented rules, and each record matching the JSON Schema of the docs."""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumers.deliveries.encoding import (
    cloudevent,
    dumps,
    json_schema,
)
from hub.agreements.compile import compile_agreement
from hub.agreements.model import load_agreements
from hub.schemas.catalog import load_catalog
from hub.serde import AvroSerde

REPO = Path(__file__).resolve().parents[2]
SECRET = b"test-master-secret-0123456789abcdef"
UTC = dt.UTC


def sample_output_schemas() -> dict[str, dict[str, Any]]:
    catalog = load_catalog(REPO / "schemas")
    return {
        a.id: compile_agreement(a, catalog[a.source].latest.schema, SECRET).output_schema
        for a in load_agreements(REPO / "catalog" / "agreements")
    }


SAMPLES = sample_output_schemas()

ALL_TYPES = {
    "type": "record",
    "name": "Everything",
    "namespace": "de.hamm.test",
    "doc": "Every Avro type once.",
    "fields": [
        {"name": "n", "type": "null"},
        {"name": "flag", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "big", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "nan", "type": "double"},
        {"name": "inf", "type": "double"},
        {"name": "raw", "type": "bytes"},
        {"name": "s", "type": "string"},
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "BLUE"]}},
        {"name": "again", "type": "Color"},  # a named type used a second time, by name
        {"name": "list", "type": {"type": "array", "items": "int"}},
        {"name": "map", "type": {"type": "map", "values": "string"}},
        {"name": "fix", "type": {"type": "fixed", "name": "Four", "size": 4}},
        {"name": "maybe", "type": ["null", "string"], "default": None},
        {"name": "nothing", "type": ["null", "string"], "default": None},
        {"name": "either", "type": ["int", "string"]},
        {
            "name": "inner",
            "type": {
                "type": "record",
                "name": "Inner",
                "fields": [{"name": "x", "type": ["null", "bytes"], "doc": "Inner bytes."}],
            },
        },
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "tu", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
        },
        {
            "name": "tiny",
            "type": {
                "type": "fixed",
                "name": "Dec",
                "size": 8,
                "logicalType": "decimal",
                "precision": 12,
                "scale": 7,
            },
        },
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {
            "name": "span",
            "type": {"type": "fixed", "name": "Duration", "size": 12, "logicalType": "duration"},
        },
    ],
}

EVERYTHING = {
    "n": None,
    "flag": True,
    "i": -7,
    "big": 2**40,
    "f": 1.5,
    "d": 0.1,
    "nan": math.nan,
    "inf": math.inf,
    "raw": b"\x00\xffhub",
    "s": "Straße",
    "color": "RED",
    "again": "BLUE",
    "list": [1, 2],
    "map": {"a": "b"},
    "fix": b"\x01\x02\x03\x04",
    "maybe": "ja",
    "nothing": None,
    "either": "zwei",
    "inner": {"x": b"\x10"},
    "day": dt.date(2026, 11, 25),
    "tm": dt.time(9, 30, 0, 123000),
    "tu": dt.time(9, 30, 0, 123456),
    "ts": dt.datetime(2026, 11, 25, 8, 30, tzinfo=UTC),
    "tsu": dt.datetime(2026, 11, 25, 8, 30, 0, 5, tzinfo=UTC),
    "local": dt.datetime(2026, 11, 25, 9, 30),
    "amount": Decimal("12.50"),
    "tiny": Decimal("0.0000001"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "span": b"\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00",
}


def through_the_wire(schema: dict[str, Any], record: dict[str, Any]) -> Any:
    """What the pull API decodes: the record encoded and decoded as the router's bytes are."""
    serde = AvroSerde()
    serde.add_schema(1, schema)
    return serde.decode(serde.encode(1, record))


def as_json(value: Any) -> Any:
    return orjson.loads(dumps(value))


def test_every_avro_type_by_the_documented_rules():
    out = as_json(through_the_wire(ALL_TYPES, EVERYTHING))
    assert out == {
        "n": None,
        "flag": True,
        "i": -7,
        "big": 2**40,
        "f": 1.5,
        "d": 0.1,
        "nan": "NaN",  # JSON has no NaN: protobuf's mapping
        "inf": "Infinity",
        "raw": base64.b64encode(b"\x00\xffhub").decode(),
        "s": "Straße",
        "color": "RED",
        "again": "BLUE",
        "list": [1, 2],
        "map": {"a": "b"},
        "fix": "AQIDBA==",
        "maybe": "ja",  # a union is its plain value
        "nothing": None,
        "either": "zwei",
        "inner": {"x": "EA=="},
        "day": "2026-11-25",
        "tm": "09:30:00.123000",
        "tu": "09:30:00.123456",
        "ts": "2026-11-25T08:30:00Z",
        "tsu": "2026-11-25T08:30:00.000005Z",
        "local": "2026-11-25T09:30:00",
        "amount": "12.50",
        "tiny": "0.0000001",  # plain notation, never 1E-7
        "id": "12345678-1234-5678-1234-567812345678",
        "span": base64.b64encode(EVERYTHING["span"]).decode(),
    }
    assert conforms(out, json_schema(ALL_TYPES)) == []


def test_the_json_schema_names_every_type():
    schema = json_schema(ALL_TYPES)
    props = schema["properties"]
    assert schema["required"] == [f["name"] for f in ALL_TYPES["fields"]]
    assert schema["additionalProperties"] is False
    assert props["again"] == props["color"] == {"type": "string", "enum": ["RED", "BLUE"]}
    assert props["ts"]["format"] == "date-time" and props["day"]["format"] == "date"
    assert props["raw"]["contentEncoding"] == "base64"
    assert props["maybe"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert props["inner"]["properties"]["x"]["description"] == "Inner bytes."
    assert props["amount"]["type"] == "string" and props["tiny"]["type"] == "string"
    assert props["id"]["format"] == "uuid"


def example(schema: Any, named: dict[str, Any], i: int = 0) -> Any:
    """A valid value of an Avro schema (the non-null branch of a union)."""
    if isinstance(schema, list):
        return example(next(s for s in schema if s != "null"), named, i)
    if isinstance(schema, str):
        if schema in named:
            return example(named[schema], named, i)
        return {
            "string": f"wert-{i}",
            "int": 42 + i,
            "long": 2**35 + i,
            "double": 51.68,
            "float": 0.5,
            "boolean": True,
            "bytes": b"\x01",
        }[schema]
    logical = schema.get("logicalType")
    if logical == "timestamp-millis":
        return dt.datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    if logical == "date":
        return dt.date(2026, 11, 25)
    kind = schema["type"]
    if kind == "record":
        named[schema["name"]] = schema
        return {f["name"]: example(f["type"], named, i) for f in schema["fields"]}
    if kind == "enum":
        named[schema["name"]] = schema
        return schema["symbols"][-1]
    return example(kind, named, i)


@pytest.mark.parametrize("agreement_id", sorted(SAMPLES))
def test_sample_deliveries_as_json_match_their_documented_schema(agreement_id):
    schema = SAMPLES[agreement_id]
    record = example(schema, {})
    out = as_json(through_the_wire(schema, record))
    assert conforms(out, json_schema(schema)) == []
    # each field as the table says, by its Avro type
    for field in schema["fields"]:
        value, kind = out[field["name"]], field["type"]
        if isinstance(kind, dict) and kind.get("logicalType") == "timestamp-millis":
            assert value == "2026-11-25T08:30:00Z"
        elif isinstance(kind, dict) and kind.get("logicalType") == "date":
            assert value == "2026-11-25"
        elif isinstance(kind, dict) and kind.get("type") == "enum":
            assert value == kind["symbols"][-1]
        elif isinstance(kind, list):  # a union: the plain value, no {"string": ...} wrapper
            assert not isinstance(value, dict) or "string" not in value


def test_sample_schemas_use_these_types():
    """The sample agreements' derived schemas hold the types the tests above cover."""
    seen: set[str] = set()

    def walk(t: Any) -> None:
        if isinstance(t, list):
            seen.add("union")
            for branch in t:
                walk(branch)
        elif isinstance(t, str):
            seen.add(t)
        else:
            seen.add(t.get("logicalType") or t["type"])
            for field in t.get("fields", []):
                walk(field["type"])

    for schema in SAMPLES.values():
        walk(schema)
    expected = {"string", "int", "boolean", "double", "null", "union", "enum", "record"}
    assert expected | {"timestamp-millis", "date"} <= seen


def test_a_cloudevent_of_a_delivery():
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"e-1"),
        ("ce_source", b"/hamm/buergeramt/meldewesen"),
        ("ce_type", b"de.hamm.buergeramt.resident.moved"),
        ("ce_time", b"2026-11-25T08:30:00Z"),
        ("content-type", b"application/avro"),
        ("ce_hubagreement", b"a-1"),
        ("ce_hubdelivery", b"a-1/buergeramt.resident.moved/0/17"),
    ]
    event = cloudevent("a-1", "deliver.x.y.z", 2, 9, b"k1.abc", headers, {"x": 1})
    assert event == {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/hamm/buergeramt/meldewesen",
        "type": "de.hamm.buergeramt.resident.moved",
        "time": "2026-11-25T08:30:00Z",
        "datacontenttype": "application/json",
        "hubagreement": "a-1",
        "hubdelivery": "a-1/buergeramt.resident.moved/0/17",
        "partitionkey": "k1.abc",
        "data": {"x": 1},
    }


def test_a_cloudevent_without_envelope_is_still_valid():
    event = cloudevent("a-1", "deliver.x.y.z", 2, 9, None, [], None, "DecodeError: truncated")
    assert event["id"] == event["hubdelivery"] == "a-1/deliver.x.y.z/2/9"
    assert event["source"] and event["type"] and event["specversion"] == "1.0"
    assert "partitionkey" not in event
    assert event["data"] is None and event["huberror"] == "DecodeError: truncated"


# -- a small JSON Schema checker for the subset json_schema() writes -----------------------------

_TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def conforms(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (empty: it conforms)."""
    if "anyOf" in schema:
        if any(not conforms(value, s, path) for s in schema["anyOf"]):
            return []
        return [f"{path}: matches no branch"]
    problems = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_TYPES[k](value) for k in kinds):
            return [f"{path}: {value!r} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} not in enum")
    fmt = schema.get("format")
    if isinstance(value, str) and fmt == "date":
        dt.date.fromisoformat(value)
    if isinstance(value, str) and fmt == "date-time":
        assert value.endswith("Z"), value
        dt.datetime.fromisoformat(value)
    if isinstance(value, str) and schema.get("contentEncoding") == "base64":
        base64.b64decode(value, validate=True)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{path}.{name}: missing")
        for name, item in value.items():
            if name in props:
                problems += conforms(item, props[name], f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}.{name}: not in the schema")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += conforms(item, schema["additionalProperties"], f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += conforms(item, schema["items"], f"{path}[{index}]")
    return problems
