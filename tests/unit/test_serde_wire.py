"""Confluent wire format and the Avro codec: round trips, schema resolution, every error."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from fastavro import parse_schema, schemaless_writer
from hypothesis import given
from hypothesis import strategies as st

from hub.serde import (
    AvroSerde,
    DecodeError,
    EncodeError,
    MagicByteError,
    SchemaResolutionError,
    SerdeError,
    UnknownSchemaError,
    frame,
    header,
    parse,
    schema_id_of,
    split,
)

V1 = {
    "type": "record",
    "name": "TreeInspected",
    "namespace": "de.hamm.test",
    "fields": [
        {"name": "tree_id", "type": "string"},
        {"name": "height_m", "type": "double"},
        {"name": "age", "type": "int"},
        {"name": "planted", "type": "long"},
        {"name": "healthy", "type": "boolean"},
        {"name": "photo", "type": "bytes"},
        {"name": "ratio", "type": "float"},
        {"name": "state", "type": {"type": "enum", "name": "State", "symbols": ["OK", "SICK"]}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "scores", "type": {"type": "map", "values": "long"}},
    ],
}
V2 = {**V1, "fields": [*V1["fields"], {"name": "district", "type": "string", "default": "Mitte"}]}

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
V1_RECORDS = st.fixed_dictionaries(
    {
        "tree_id": st.text(),
        "height_m": st.floats(allow_nan=False),
        "age": INT32,
        "planted": INT64,
        "healthy": st.booleans(),
        "photo": st.binary(max_size=64),
        "ratio": st.floats(width=32, allow_nan=False),
        "state": st.sampled_from(["OK", "SICK"]),
        "note": st.none() | st.text(),
        "tags": st.lists(st.text(), max_size=4),
        "scores": st.dictionaries(st.text(), INT64, max_size=4),
    }
)


def serde_with(*schemas: tuple[int, dict]) -> AvroSerde:
    serde = AvroSerde()
    for schema_id, schema in schemas:
        serde.add_schema(schema_id, schema)
    return serde


# --- framing ---


@given(st.integers(0, 2**32 - 1), st.binary())
def test_frame_round_trip(schema_id: int, body: bytes) -> None:
    data = frame(schema_id, body)
    assert data[0] == 0 and len(data) == 5 + len(body)
    assert schema_id_of(data) == schema_id
    found_id, found_body = split(data)
    assert found_id == schema_id and bytes(found_body) == body


def test_header_is_big_endian() -> None:
    assert header(1) == b"\x00\x00\x00\x00\x01"
    assert header(0x01020304) == b"\x00\x01\x02\x03\x04"


@pytest.mark.parametrize("schema_id", [-1, 2**32])
def test_header_rejects_ids_out_of_range(schema_id: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        header(schema_id)


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x00\x01"])
def test_short_payload_is_a_magic_byte_error(data: bytes) -> None:
    with pytest.raises(MagicByteError, match=f"payload of {len(data)} bytes is shorter"):
        schema_id_of(data)


@pytest.mark.parametrize("magic", [1, 0x7B, 0xFF])  # 0x7B: someone sent JSON
def test_wrong_magic_byte_is_named(magic: int) -> None:
    with pytest.raises(MagicByteError, match=f"unknown magic byte {magic}"):
        AvroSerde().decode(bytes([magic]) + b"\x00\x00\x00\x01\x02")


# --- codec round trips ---


@given(V1_RECORDS)
def test_encode_decode_round_trip(record: dict) -> None:
    serde = serde_with((3, V1))
    data = serde.encode(3, record)
    assert schema_id_of(data) == 3
    assert serde.decode(data) == record
    assert serde.decode_with_id(bytearray(data)) == (3, record)
    assert serde.decode(memoryview(data)) == record


@given(V1_RECORDS)
def test_body_is_exactly_what_fastavro_writes(record: dict) -> None:
    expected = BytesIO()
    schemaless_writer(expected, parse_schema(V1), record)
    assert serde_with((9, V1)).encode(9, record) == header(9) + expected.getvalue()


# A plain v1 record with every field at its simplest value.
MINIMAL_V1 = {
    "tree_id": "t",
    "height_m": 1.0,
    "age": 1,
    "planted": 2,
    "healthy": True,
    "photo": b"",
    "ratio": 0.5,
    "state": "OK",
    "note": None,
    "tags": [],
    "scores": {},
}


def test_schema_may_be_given_as_json_text() -> None:
    serde = serde_with((1, json.dumps(V1)))
    record = dict(MINIMAL_V1)
    assert serde.decode(serde.encode(1, record)) == record


# --- schema resolution ---


@given(V1_RECORDS)
def test_v1_reader_reads_v2_records(record: dict) -> None:
    serde = serde_with((1, V1), (2, V2))
    data = serde.encode(2, {**record, "district": "Bockum-Hövel"})
    assert serde.decode(data, reader_schema=parse(V1)) == record


@given(V1_RECORDS)
def test_v2_reader_fills_defaults_for_v1_records(record: dict) -> None:
    serde = serde_with((1, V1))
    data = serde.encode(1, record)
    assert serde.decode(data, reader_schema=parse(V2)) == {**record, "district": "Mitte"}


def test_reader_equal_to_writer_reads_the_same() -> None:
    serde = serde_with((1, V1))
    record = dict(MINIMAL_V1)
    # Key order differs: still recognized as the same schema.
    same = parse(json.dumps(dict(reversed(list(V1.items())))))
    assert serde.decode(serde.encode(1, record), same) == record


def test_incompatible_reader_raises_resolution_error() -> None:
    reader = {
        "type": "record",
        "name": "TreeInspected",
        "namespace": "de.hamm.test",
        "fields": [{"name": "species", "type": "string"}],
    }  # no default, not written
    serde = serde_with((1, V1))
    record = dict(MINIMAL_V1)
    with pytest.raises(SchemaResolutionError, match="schema id 1 cannot be read"):
        serde.decode(serde.encode(1, record), parse(reader))


# --- errors ---


def test_every_error_is_a_serde_error() -> None:
    for error in (
        MagicByteError,
        UnknownSchemaError,
        DecodeError,
        EncodeError,
        SchemaResolutionError,
    ):
        assert issubclass(error, SerdeError)


def test_unknown_schema_id_without_registry() -> None:
    with pytest.raises(UnknownSchemaError, match="unknown schema id 42") as info:
        AvroSerde().decode(frame(42, b"\x02"))
    assert info.value.schema_id == 42


def test_unknown_schema_id_when_the_registry_fails() -> None:
    def source(schema_id: int) -> str:
        raise LookupError(f"40403 Schema {schema_id} not found")

    with pytest.raises(UnknownSchemaError, match="unknown schema id 5: registry lookup failed"):
        AvroSerde(schema_source=source).decode(frame(5, b"\x02"))


def test_schema_source_is_asked_once_per_id() -> None:
    asked: list[int] = []

    def source(schema_id: int) -> str:
        asked.append(schema_id)
        return json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})

    serde = AvroSerde(schema_source=source)
    for value in range(5):
        assert serde.decode(frame(8, bytes([value * 2]))) == {"a": value}
    assert asked == [8]


def test_truncated_payload_names_the_schema_id() -> None:
    serde = serde_with((4, V1))
    data = serde.encode(
        4,
        {
            "tree_id": "abcdef",
            "height_m": 1.0,
            "age": 1,
            "planted": 2,
            "healthy": True,
            "photo": b"xyz",
            "ratio": 0.5,
            "state": "OK",
            "note": "n",
            "tags": ["a"],
            "scores": {"k": 1},
        },
    )
    for cut in range(5, len(data)):
        with pytest.raises(DecodeError, match="schema id 4") as info:
            serde.decode(data[:cut])
        assert info.value.schema_id == 4


def test_trailing_bytes_are_an_error() -> None:
    serde = serde_with(
        (1, {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
    )
    with pytest.raises(DecodeError, match="2 trailing bytes after the record for schema id 1"):
        serde.decode(frame(1, b"\x02\x00\x00"))


def test_undecodable_body_is_a_decode_error() -> None:
    serde = serde_with(
        (1, {"type": "record", "name": "R", "fields": [{"name": "s", "type": "string"}]})
    )
    with pytest.raises(DecodeError, match="undecodable Avro body for schema id 1"):
        serde.decode(frame(1, b"\x04\xff\xfe"))  # a 2-byte string that is not UTF-8
    enum = {
        "type": "record",
        "name": "E",
        "fields": [{"name": "e", "type": {"type": "enum", "name": "X", "symbols": ["A"]}}],
    }
    serde.add_schema(2, enum)
    with pytest.raises(DecodeError, match="schema id 2"):
        serde.decode(frame(2, b"\x08"))  # enum index 4 of 1 symbol


@pytest.mark.parametrize(
    "record, reason",
    [
        ({"a": "x"}, "a"),
        ({}, "a"),
        (None, ""),
    ],
)
def test_encode_errors_name_schema_and_field(record: object, reason: str) -> None:
    serde = serde_with(
        (6, {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
    )
    with pytest.raises(EncodeError, match="record does not match schema id 6") as info:
        serde.encode(6, record)  # type: ignore[arg-type]
    assert reason in str(info.value)
    assert info.value.schema_id == 6


def test_encode_with_unknown_id() -> None:
    with pytest.raises(UnknownSchemaError, match="unknown schema id 77"):
        AvroSerde().encode(77, {"a": 1})


def test_invalid_schema_is_rejected_when_added() -> None:
    with pytest.raises(SerdeError, match="invalid Avro schema"):
        AvroSerde().add_schema(1, {"type": "record", "name": "R", "fields": [{"name": "a"}]})
    with pytest.raises(SerdeError, match="not valid JSON"):
        AvroSerde().add_schema(1, "{not json")
