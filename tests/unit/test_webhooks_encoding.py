"""The webhook body: every delivered record as JSON, as consumers/webhooks/README.md says, and
the CloudEvents binary-mode headers."""

from __future__ import annotations

import base64
import math
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumers.webhooks.encoding import (
    cloudevent_headers,
    delivery_id,
    header_map,
    header_value,
    json_body,
)
from hub.agreements.cli import check_agreements
from hub.agreements.model import load_agreements
from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import AvroSerde

REPO = Path(__file__).resolve().parents[2]


def _delivery_schemas() -> dict[str, dict]:
    schemas = {t: s.latest.schema for t, s in load_catalog(default_schemas_dir()).items()}
    compiled, issues = check_agreements(load_agreements(REPO / "catalog" / "agreements"), schemas)
    assert not issues
    return {c.agreement.id: c.output_schema for c in compiled}


STAMP = datetime(2026, 11, 2, 9, 30, 15, 123000, tzinfo=UTC)


def sample(schema: Any, named: dict[str, Any]) -> tuple[Any, Any]:
    """A value for ``schema`` and the JSON the README promises for it."""
    if isinstance(schema, str):
        if schema in named:
            return sample(named[schema], named)
        return {
            "null": (None, None),
            "boolean": (True, True),
            "int": (55, 55),
            "long": (2**40, 2**40),
            "float": (1.5, 1.5),
            "double": (51.6789, 51.6789),
            "string": ("Weststraße 1", "Weststraße 1"),
            "bytes": (b"\x00\xff", "AP8="),
        }[schema]
    if isinstance(schema, list):  # a union: the first non-null branch, as a plain value
        branch = next(b for b in schema if b != "null")
        return sample(branch, named)
    kind, logical = schema["type"], schema.get("logicalType")
    if logical == "timestamp-millis":
        return STAMP, "2026-11-02T09:30:15.123000Z"
    if logical == "date":
        return date(2026, 11, 2), "2026-11-02"
    if kind == "enum":
        named[schema["name"]] = schema
        named[schema["name"].rsplit(".", 1)[-1]] = schema
        return schema["symbols"][0], schema["symbols"][0]
    if kind == "record":
        named[schema["name"]] = schema
        value, expected = {}, {}
        for f in schema["fields"]:
            value[f["name"]], expected[f["name"]] = sample(f["type"], named)
        return value, expected
    if kind == "array":
        v, e = sample(schema["items"], named)
        return [v], [e]
    if kind == "map":
        v, e = sample(schema["values"], named)
        return {"k": v}, {"k": e}
    return sample(kind, named)


@pytest.mark.parametrize("agreement", sorted(_delivery_schemas()))
def test_every_sample_delivery_schema_encodes_as_documented(agreement):
    schema = _delivery_schemas()[agreement]
    record, expected = sample(schema, {})
    serde = AvroSerde()
    serde.add_schema(7, schema)
    decoded = serde.decode(serde.encode(7, record))
    assert orjson.loads(json_body(decoded)) == expected


def test_the_sample_schemas_use_these_types():
    """The parametrized test above covers them all; a new type needs a line in sample()."""
    seen: set[str] = set()

    def walk(t: Any) -> None:
        if isinstance(t, list):
            seen.add("union")
            for b in t:
                walk(b)
        elif isinstance(t, dict):
            seen.add(t.get("logicalType") or t["type"])
            for f in t.get("fields", []):
                walk(f["type"])
        else:
            seen.add(t)

    for schema in _delivery_schemas().values():
        walk(schema)
    assert seen <= {
        "record", "enum", "union", "null", "boolean", "int", "long", "double", "string",
        "timestamp-millis", "date",
    }  # fmt: skip


def _roundtrip(avro_type: Any, value: Any) -> Any:
    schema = {"type": "record", "name": "R", "fields": [{"name": "v", "type": avro_type}]}
    serde = AvroSerde()
    serde.add_schema(1, schema)
    return orjson.loads(json_body(serde.decode(serde.encode(1, {"v": value}))))["v"]


@pytest.mark.parametrize(
    "avro_type, value, expected",
    [
        ({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}, Decimal("55.00"), "55.00"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 7}, Decimal("1E-7"), "0.0000001"),
        ({"type": "fixed", "name": "F", "size": 3}, b"abc", base64.b64encode(b"abc").decode()),
        ("bytes", b"\x00\x01\xfe", "AAH+"),
        ({"type": "string", "logicalType": "uuid"}, str(uuid.UUID(int=5)), str(uuid.UUID(int=5))),
        ({"type": "long", "logicalType": "timestamp-micros"}, STAMP + timedelta(microseconds=456), "2026-11-02T09:30:15.123456Z"),
        ({"type": "long", "logicalType": "timestamp-millis"}, datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01T00:00:00Z"),
        ({"type": "long", "logicalType": "local-timestamp-millis"}, datetime(2026, 1, 1, 8, 0), "2026-01-01T08:00:00"),
        ({"type": "int", "logicalType": "time-millis"}, time(10, 30, 0, 250000), "10:30:00.250000"),
        ({"type": "int", "logicalType": "date"}, date(2026, 2, 28), "2026-02-28"),
        (["null", "string"], None, None),
        (["null", "string"], "x", "x"),
        (["null", "long", "string"], 5, 5),
        ({"type": "array", "items": "double"}, [1.0, 2.5], [1.0, 2.5]),
        ({"type": "map", "values": "int"}, {"a": 1}, {"a": 1}),
        ("double", float("nan"), "NaN"),
        ("float", float("inf"), "Infinity"),
        ({"type": "array", "items": "double"}, [float("-inf"), 1.0], ["-Infinity", 1.0]),
        ("boolean", False, False),
        ({"type": "enum", "name": "E", "symbols": ["A", "B"]}, "B", "B"),
    ],
)  # fmt: skip
def test_avro_types_in_json(avro_type, value, expected):
    assert _roundtrip(avro_type, value) == expected


def test_timezone_aware_timestamps_are_written_in_utc():
    berlin = datetime(2026, 11, 2, 10, 30, tzinfo=UTC).astimezone()
    assert json_body({"t": berlin}) == b'{"t":"2026-11-02T10:30:00Z"}'


def test_non_finite_floats_do_not_change_the_record():
    record = {"a": [float("nan")], "b": 1.0}
    json_body(record)
    assert math.isnan(record["a"][0])


def test_unknown_objects_are_an_error_not_a_guess():
    with pytest.raises(TypeError):
        json_body({"x": object()})


HEADERS = [
    ("ce_specversion", b"1.0"),
    ("ce_id", b"4f1c"),
    ("ce_source", b"/hamm/ordnungsamt/parking"),
    ("ce_type", b"de.hamm.ordnungsamt.parking-violation.recorded"),
    ("ce_time", b"2026-11-02T09:30:15.123Z"),
    ("content-type", b"application/avro"),
    ("ce_hubagreement", b"bussgeldstelle-parking-violation"),
    (
        "ce_hubdelivery",
        b"bussgeldstelle-parking-violation/ordnungsamt.parking-violation.recorded/0/17",
    ),
]


def test_cloudevents_binary_mode_headers():
    headers = header_map(HEADERS)
    msg_id = delivery_id(headers, "deliver.x", 0, 3)
    assert msg_id == "bussgeldstelle-parking-violation/ordnungsamt.parking-violation.recorded/0/17"
    assert cloudevent_headers(headers, msg_id) == {
        "content-type": "application/json",  # the body is JSON now, not the producer's Avro
        "ce-specversion": "1.0",
        "ce-id": "4f1c",
        "ce-source": "/hamm/ordnungsamt/parking",
        "ce-type": "de.hamm.ordnungsamt.parking-violation.recorded",
        "ce-time": "2026-11-02T09:30:15.123Z",
        "ce-hubagreement": "bussgeldstelle-parking-violation",
        "ce-hubdelivery": msg_id,
    }


def test_a_record_without_a_delivery_id_is_named_by_its_place():
    # the form of the pull API's ids too: the same delivery has the same id either way
    assert delivery_id({}, "deliver.x.y.z", 2, 40, "agr") == "agr/deliver.x.y.z/2/40"
    assert delivery_id({}, "deliver.x.y.z", 2, 40) == "deliver.x.y.z/2/40"
    headers = cloudevent_headers({}, "agr/deliver.x.y.z/2/40", "agr")
    assert headers["ce-id"] == "agr/deliver.x.y.z/2/40" and headers["ce-hubagreement"] == "agr"


@pytest.mark.parametrize(
    "value, header",
    [
        ("/hamm/ordnungsamt", "/hamm/ordnungsamt"),
        ("Straße", "Stra%C3%9Fe"),
        ("a b", "a%20b"),
        ('say "hi"', "say%20%22hi%22"),
        ("100%", "100%25"),
        ("tab\there", "tab%09here"),
    ],
)
def test_header_values_are_percent_encoded_as_the_http_binding_says(value, header):
    assert header_value(value) == header
