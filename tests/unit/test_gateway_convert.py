"""JSON → Avro conversion of the gateway: every rule, every error path, and round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import given
from hypothesis import strategies as st

from hub.schemas.catalog import standalone_schema
from producers.gateway.convert import (
    ConversionError,
    FieldError,
    SchemaError,
    compile_schema,
    parse_timestamp,
)

REPO = Path(__file__).resolve().parents[2]

SCHEMA = {
    "type": "record",
    "name": "Everything",
    "namespace": "de.hamm.test",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "count", "type": "int"},
        {"name": "big", "type": "long", "default": 7},
        {"name": "ratio", "type": "double"},
        {"name": "flag", "type": "boolean"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "choice", "type": ["null", "int", "string"], "default": None},
        {
            "name": "place",
            "type": {
                "type": "record",
                "name": "Place",
                "fields": [
                    {"name": "lat", "type": "double"},
                    {"name": "lon", "type": "double"},
                ],
            },
        },
        {"name": "other_place", "type": ["null", "Place"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "Kind"}, "default": []},
        {"name": "extra", "type": {"type": "map", "values": "long"}, "default": {}},
        {"name": "blob", "type": ["null", "bytes"], "default": None},
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
    ],
}
CONVERTER = compile_schema(SCHEMA)
PARSED = parse_schema(SCHEMA)


def event(**changes):
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


def errors(value) -> dict[str, str]:
    with pytest.raises(ConversionError) as info:
        CONVERTER.convert(value)
    return {e.path: e.message for e in info.value.errors}


def roundtrip(record):
    buf = BytesIO()
    schemaless_writer(buf, PARSED, record)
    buf.seek(0)
    return schemaless_reader(buf, PARSED)


def test_a_plain_json_event_converts_and_encodes():
    record = CONVERTER.convert(event())
    assert record["at"] == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert record["day"] == date(2026, 11, 25)
    assert record["big"] == 7 and record["note"] is None and record["tags"] == []
    back = roundtrip(record)
    assert back["at"] == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert back["place"] == {"lat": 51.6, "lon": 7.8}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25T09:00:00Z", datetime(2026, 11, 25, 9, tzinfo=UTC)),
        ("2026-11-25T09:00:00z", datetime(2026, 11, 25, 9, tzinfo=UTC)),
        ("2026-11-25t09:00:00+00:00", datetime(2026, 11, 25, 9, tzinfo=UTC)),
        ("2026-11-25 10:00:00+01:00", datetime(2026, 11, 25, 9, tzinfo=UTC)),
        ("2026-11-25T10:00+01:00", datetime(2026, 11, 25, 9, tzinfo=UTC)),
        ("2026-11-25T09:00:00.123Z", datetime(2026, 11, 25, 9, 0, 0, 123000, tzinfo=UTC)),
        (1795597200000, datetime(2026, 11, 25, 9, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (-1000, datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (
            datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1))),
            datetime(2025, 12, 31, 23, tzinfo=UTC),
        ),
    ],
)
def test_timestamps_as_rfc3339_or_epoch_millis(value, expected):
    assert parse_timestamp(value) == expected
    assert CONVERTER.convert(event(at=value))["at"] == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2026-11-25T10:00:00", "no UTC offset"),
        ("2026-11-25", "not an RFC 3339"),
        ("25.11.2026 10:00", "not an RFC 3339"),
        ("2026-13-25T10:00:00Z", "not a valid timestamp"),
        (True, "got a boolean"),
        (1.5, "got a number"),
        (None, "got null"),
        (datetime(2026, 1, 1), "needs a UTC offset"),
    ],
)
def test_bad_timestamps_name_the_field(value, fragment):
    assert fragment in errors(event(at=value))["at"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("25.11.2026", "expected a date YYYY-MM-DD"),
        ("2026-02-30", "not a valid date"),
        (20251, "expected a date"),
        ("2026-11-25T00:00:00Z", "expected a date"),
    ],
)
def test_dates_are_iso_days(value, fragment):
    assert fragment in errors(event(day=value))["day"]


def test_enums_are_symbols():
    assert CONVERTER.convert(event(kind="B"))["kind"] == "B"
    assert errors(event(kind="b")) == {"kind": "'b' is not one of A, B"}
    assert errors(event(kind=1)) == {"kind": "a number is not one of A, B"}


def test_unions_take_plain_values_not_avro_json():
    assert CONVERTER.convert(event(note="hi"))["note"] == "hi"
    assert CONVERTER.convert(event(note=None))["note"] is None
    assert CONVERTER.convert(event(choice=5))["choice"] == 5
    assert CONVERTER.convert(event(choice="five"))["choice"] == "five"
    assert "note" in errors(event(note={"string": "hi"}))
    assert errors(event(choice=1.5)) == {"choice": "a number matches none of int, string"}
    record = CONVERTER.convert(event(other_place={"lat": 1, "lon": 2}))
    assert record["other_place"] == {"lat": 1.0, "lon": 2.0}
    assert roundtrip(record)["other_place"] == {"lat": 1.0, "lon": 2.0}
    # a single non-null branch explains the problem from inside it
    assert errors(event(other_place={"lat": "x", "lon": 2})) == {
        "other_place.lat": "expected a number, got a string"
    }


def test_every_bad_field_is_reported_with_its_path():
    bad = event(count="3", flag="ja", place={"lat": None}, tags=["A", "C"], id=..., surplus=1)
    assert errors(bad) == {
        "id": "required field is missing",
        "count": "expected an integer, got a string",
        "flag": "expected true or false, got a string",
        "place.lat": "expected a number, got null",
        "place.lon": "required field is missing",
        "tags[1]": "'C' is not one of A, B",
        "surplus": "unknown field",
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("count", 2**31, "2147483648 is out of range for Avro int"),
        ("count", -(2**31) - 1, "-2147483649 is out of range for Avro int"),
        ("big", 2**63, f"{2**63} is out of range for Avro long"),
        ("count", True, "expected an integer, got a boolean"),
        ("count", 1.5, "expected an integer, got a number"),
        ("ratio", "0,5", "expected a number, got a string"),
        ("ratio", False, "expected a number, got a boolean"),
        ("id", 5, "expected a string, got a number"),
        ("flag", 1, "expected true or false, got a number"),
        ("place", [], "expected an object, got an array"),
        ("tags", "A", "expected an array, got a string"),
        ("extra", [1], "expected an object, got an array"),
    ],
)
def test_type_errors(field, value, message):
    assert errors(event(**{field: value})) == {field: message}


def test_whole_floats_pass_as_integers_and_ints_as_doubles():
    record = CONVERTER.convert(event(count=3.0, ratio=2))
    assert record["count"] == 3 and isinstance(record["count"], int)
    assert record["ratio"] == 2.0 and isinstance(record["ratio"], float)


def test_maps_bytes_decimals_uuids_and_times():
    record = CONVERTER.convert(
        event(
            extra={"a": 1},
            blob="aGFtbQ==",
            amount="1234.50",
            ref="12345678-1234-5678-1234-567812345678",
            clock="14:30:00",
        )
    )
    assert record["extra"] == {"a": 1}
    assert record["blob"] == b"hamm"
    assert record["amount"] == Decimal("1234.50")
    assert record["clock"] == time(14, 30)
    assert roundtrip(record)["amount"] == Decimal("1234.50")
    assert errors(event(extra={"a": "1"})) == {"extra.a": "expected an integer, got a string"}
    assert errors(event(blob="***")) == {"blob": "not valid base64"}
    assert "amount" in errors(event(amount="1.234"))  # three decimals for scale 2
    assert "amount" in errors(event(amount="123456.00"))  # precision 6
    assert "ref" in errors(event(ref="not-a-uuid"))


def test_not_an_object_at_all():
    assert errors([1, 2]) == {"": "expected an object, got an array"}
    assert str(FieldError("", "x")) == "x" and str(FieldError("a.b", "x")) == "a.b: x"


def test_unknown_named_type_is_a_schema_error():
    with pytest.raises(SchemaError):
        compile_schema({"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]})


def test_recursive_types_convert():
    schema = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "value", "type": "int"},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ],
    }
    converter = compile_schema(schema)
    assert converter.convert({"value": 1, "next": {"value": 2}}) == {
        "value": 1,
        "next": {"value": 2, "next": None},
    }
    assert {e.path for e in converter.errors({"value": 1, "next": {"value": "x"}})} == {
        "next.value"
    }


@pytest.mark.parametrize("path", sorted((REPO / "schemas").rglob("*.avsc")))
def test_every_catalog_schema_compiles(path):
    schema = standalone_schema(path)  # the shared types it names written out, as readers get it
    compile_schema(schema)
    compile_schema(parse_schema(schema))  # the Publisher's parsed form


moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@given(moments)
def test_rfc3339_and_epoch_millis_mean_the_same_instant(moment):
    millis = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    text = moment.isoformat().replace("+00:00", "Z")
    assert parse_timestamp(text) == parse_timestamp(millis) == moment


@given(
    st.integers(-(2**31), 2**31 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.lists(st.sampled_from(["A", "B"])),
    st.dictionaries(st.text(), st.integers(-(2**63), 2**63 - 1), max_size=3),
    st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1), st.text()),
)
def test_converted_records_survive_the_avro_roundtrip(count, ratio, text, tags, extra, choice):
    record = CONVERTER.convert(
        event(count=count, ratio=ratio, id=text, tags=tags, extra=extra, choice=choice)
    )
    back = roundtrip(record)
    assert (back["count"], back["id"], back["tags"], back["extra"], back["choice"]) == (
        count,
        text,
        tags,
        extra,
        choice,
    )
    assert back["ratio"] == ratio


# -- what the OpenAPI document promises (producers/gateway/openapi.py) ------------------------


def test_integers_beyond_64_bits_are_out_of_range_though_json_rounds_them():
    import orjson

    # orjson reads -2**63 - 1 as the float -2.0**63, which would pass as the long minimum
    assert errors(event(big=orjson.loads(b"-9223372036854775809"))) == {
        "big": "-9.223372036854776e+18 is out of range for Avro long"
    }
    assert CONVERTER.convert(event(big=orjson.loads(b"-9223372036854775808")))["big"] == -(2**63)
    assert "big" in errors(event(big=orjson.loads(b"18446744073709551616")))
    assert CONVERTER.convert(event(big=2.0**62))["big"] == 2**62


def test_epoch_millis_may_arrive_as_whole_json_floats():
    assert CONVERTER.convert(event(at=1795597200000.0))["at"] == datetime(
        2026, 11, 25, 9, tzinfo=UTC
    )
    assert "got a number" in errors(event(at=1795597200000.5))["at"]


def test_avro_float_holds_single_precision_only():
    converter = compile_schema(
        {"type": "record", "name": "R", "fields": [{"name": "f", "type": "float"}]}
    )
    assert converter.convert({"f": 3.4e38}) == {"f": 3.4e38}
    assert [str(e) for e in converter.errors({"f": 3.5e38})] == [
        "f: 3.5e+38 is out of range for Avro float"
    ]
    assert [str(e) for e in converter.errors({"f": "x"})] == ["f: expected a number, got a string"]


@pytest.mark.parametrize("value", ["14:30", "14:30:00", "14:30:00.5", "23:59:59.123456"])
def test_times_are_hh_mm_with_optional_seconds(value):
    assert CONVERTER.convert(event(clock=value))["clock"] == time.fromisoformat(value)


@pytest.mark.parametrize("value", ["1430", "14", "14:30+01:00", "T14:30", "24:00", "14:30:00\n"])
def test_other_time_spellings_are_refused(value):
    assert errors(event(clock=value)) == {"clock": "expected a time HH:MM:SS, got a string"}


@pytest.mark.parametrize(
    "value",
    [
        "{12345678-1234-5678-1234-567812345678}",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
        "12345678123456781234567812345678",
        "12345678-1234-5678-1234-567812345678\n",
    ],
)
def test_uuids_are_the_canonical_form(value):
    assert errors(event(ref=value)) == {"ref": "expected a UUID, got a string"}
    upper = "12345678-1234-5678-1234-56781234ABCD"
    assert CONVERTER.convert(event(ref=upper))["ref"] == upper.lower()


def test_defaults_of_fixed_and_logical_types_are_the_avro_json_value():
    schema = {
        "type": "record",
        "name": "D",
        "fields": [
            {"name": "h", "type": {"type": "fixed", "name": "H", "size": 4}, "default": "abcd"},
            {
                "name": "us",
                "type": {"type": "long", "logicalType": "timestamp-micros"},
                "default": 1_000_000,
            },
        ],
    }
    record = compile_schema(schema).convert({})
    assert record == {"h": b"abcd", "us": 1_000_000}
    parsed = parse_schema(schema)
    buf = BytesIO()
    schemaless_writer(buf, parsed, record)
    buf.seek(0)
    assert schemaless_reader(buf, parsed)["us"] == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_offset_minutes_stop_at_59():
    # fromisoformat alone reads -00:60 as an offset of an hour
    assert "not an RFC 3339" in errors(event(at="2026-11-25T10:00:00-00:60"))["at"]
    assert CONVERTER.convert(event(at="2026-11-25T10:00:00+23:59"))["at"] == datetime(
        2026, 11, 24, 10, 1, tzinfo=UTC
    )
