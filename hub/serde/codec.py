"""Avro records to and from Confluent-framed bytes, with schemas parsed once and cached by id.

The hot path is ``encode`` and ``decode``: one dict lookup for the schema, one BytesIO, one
fastavro call, no copy of the record. Schema resolution (reading v2 bytes as v1) is decided once
per (writer id, reader schema) pair, so a reader schema equal to the writer's costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import orjson
from fastavro import parse_schema as _fastavro_parse
from fastavro import schemaless_reader, schemaless_writer
from fastavro._read_common import SchemaResolutionError as _FastavroResolutionError

from hub.serde.errors import (
    DecodeError,
    EncodeError,
    SchemaResolutionError,
    SerdeError,
    UnknownSchemaError,
)
from hub.serde.wire import HEADER_SIZE, MAGIC_BYTE, header

SchemaLike = str | bytes | Mapping[str, Any] | list[Any]
SchemaSource = Callable[[int], SchemaLike]
"""Returns the writer schema for an id, e.g. ``RegistryClient.schema_by_id``."""


@dataclass(frozen=True, eq=False)
class ParsedSchema:
    """An Avro schema parsed by fastavro, with a canonical JSON form used to compare schemas."""

    parsed: Any = field(repr=False)
    canonical: str

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParsedSchema) and other.canonical == self.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)


def load_schema(schema: SchemaLike) -> Any:
    """The schema as JSON data, from a JSON string, bytes or already-parsed JSON."""
    if isinstance(schema, str | bytes):
        try:
            return orjson.loads(schema)
        except orjson.JSONDecodeError as exc:
            raise SerdeError(f"schema is not valid JSON: {exc}") from None
    return schema


def parse(schema: SchemaLike | ParsedSchema) -> ParsedSchema:
    """Parse an Avro schema once for repeated encoding or decoding."""
    if isinstance(schema, ParsedSchema):
        return schema
    data = load_schema(schema)
    try:
        parsed = _fastavro_parse(data)
    except Exception as exc:  # fastavro raises several types for invalid schemas
        raise SerdeError(f"invalid Avro schema: {exc}") from None
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    return ParsedSchema(parsed=parsed, canonical=canonical)


class AvroSerde:
    """Encode and decode Avro records in Confluent wire format.

    ``schema_source`` is asked for the writer schema of an id the serde has not seen (typically
    ``RegistryClient.schema_by_id``); without one, only ids given to ``add_schema`` decode.
    Not thread-safe for ``add_schema``; ``encode``/``decode`` only read the caches.
    """

    def __init__(self, schema_source: SchemaSource | None = None) -> None:
        self._source = schema_source
        self._by_id: dict[int, ParsedSchema] = {}
        self._headers: dict[int, bytes] = {}
        # (writer id, reader canonical) -> fastavro reader schema or None when equal to writer
        self._resolution: dict[tuple[int, str], Any] = {}

    def add_schema(self, schema_id: int, schema: SchemaLike | ParsedSchema) -> ParsedSchema:
        """Make ``schema_id`` known with its schema; returns the parsed schema."""
        parsed = parse(schema)
        self._by_id[schema_id] = parsed
        self._headers[schema_id] = header(schema_id)
        return parsed

    def __contains__(self, schema_id: object) -> bool:
        """Whether ``schema_id`` is known (added or fetched before)."""
        return schema_id in self._by_id

    def schema(self, schema_id: int) -> ParsedSchema:
        """The parsed schema of ``schema_id``, fetched from the schema source when unseen."""
        parsed = self._by_id.get(schema_id)
        if parsed is not None:
            return parsed
        if self._source is None:
            raise UnknownSchemaError(
                f"unknown schema id {schema_id}: not added to the serde and no registry configured",
                schema_id,
            )
        try:
            fetched = self._source(schema_id)
        except SerdeError:
            raise
        except Exception as exc:
            raise UnknownSchemaError(
                f"unknown schema id {schema_id}: registry lookup failed: {exc}", schema_id
            ) from exc
        return self.add_schema(schema_id, fetched)

    def encode(self, schema_id: int, record: Mapping[str, Any]) -> bytes:
        """Confluent-framed Avro bytes of ``record`` written with the schema of ``schema_id``."""
        parsed = self._by_id.get(schema_id)
        if parsed is None:
            parsed = self.schema(schema_id)
        buf = BytesIO()
        buf.write(self._headers[schema_id])
        try:
            schemaless_writer(buf, parsed.parsed, record)
        except Exception as exc:  # fastavro: TypeError, ValueError, KeyError, ...
            raise EncodeError(
                f"record does not match schema id {schema_id}: {exc}", schema_id
            ) from None
        return buf.getvalue()

    def decode(
        self, data: bytes | bytearray | memoryview, reader_schema: ParsedSchema | None = None
    ) -> Any:
        """The record in ``data``; with ``reader_schema``, resolved into that schema."""
        return self.decode_with_id(data, reader_schema)[1]

    def decode_with_id(
        self, data: bytes | bytearray | memoryview, reader_schema: ParsedSchema | None = None
    ) -> tuple[int, Any]:
        """Schema id and record of ``data`` (see ``decode``)."""
        size = len(data)
        if size < HEADER_SIZE or data[0] != MAGIC_BYTE:
            _raise_bad_header(data)
        schema_id = int.from_bytes(data[1:HEADER_SIZE], "big")
        writer = self._by_id.get(schema_id)
        if writer is None:
            writer = self.schema(schema_id)
        reader = None
        if reader_schema is not None:
            key = (schema_id, reader_schema.canonical)
            try:
                reader = self._resolution[key]
            except KeyError:
                reader = self._resolve(schema_id, writer, reader_schema)
        buf = BytesIO(data)
        buf.seek(HEADER_SIZE)
        try:
            record = schemaless_reader(buf, writer.parsed, reader)
        except _FastavroResolutionError as exc:
            raise SchemaResolutionError(
                f"schema id {schema_id} cannot be read with the reader schema: {exc}", schema_id
            ) from None
        except EOFError as exc:
            raise DecodeError(
                f"truncated payload for schema id {schema_id}: {size} bytes; {exc or 'no more bytes'}",
                schema_id,
            ) from None
        except Exception as exc:  # IndexError, UnicodeDecodeError, ValueError, ...
            raise DecodeError(
                f"undecodable Avro body for schema id {schema_id} ({size} bytes): "
                f"{type(exc).__name__}: {exc}",
                schema_id,
            ) from None
        if buf.tell() != size:
            raise DecodeError(
                f"{size - buf.tell()} trailing bytes after the record for schema id {schema_id}",
                schema_id,
            )
        return schema_id, record

    def _resolve(self, schema_id: int, writer: ParsedSchema, reader: ParsedSchema) -> Any:
        resolved = None if writer.canonical == reader.canonical else reader.parsed
        self._resolution[(schema_id, reader.canonical)] = resolved
        return resolved


def _raise_bad_header(data: bytes | bytearray | memoryview) -> None:
    from hub.serde.wire import schema_id_of

    schema_id_of(data)  # raises MagicByteError with the reason
