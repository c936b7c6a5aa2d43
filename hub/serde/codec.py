"""Avro records to and from Confluent-framed bytes, with schemas parsed once and cached by id.

The hot path is ``encode`` and ``decode``: one dict lookup for the schema, one BytesIO, one
fastavro call, no copy of the record. Schema resolution (reading v2 bytes as v1) is decided once
per (writer id, reader schema) pair, so a reader schema equal to the writer's costs nothing.

With ``native=True`` (and ``hub_core`` installed) ``decode`` runs the native core's decoder
(``hub_core.Decoder``), which returns exactly what fastavro returns; a schema pair the core
refuses, or bytes it defers (what fastavro makes of them it cannot tell), are decoded with
fastavro, counted in ``hub_serde_native_fallbacks_total`` and logged once per schema id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from types import ModuleType
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

log = logging.getLogger(__name__)

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


def native_core() -> ModuleType | None:
    """``hub_core`` if it is installed with its decoder (``hub_core.Decoder``), else None."""
    try:
        import hub_core
    except ImportError:
        return None
    return hub_core if hasattr(hub_core, "Decoder") else None


def _fallbacks() -> Any:
    global _FALLBACKS
    if _FALLBACKS is None:
        from prometheus_client import Counter

        _FALLBACKS = Counter(
            "hub_serde_native_fallbacks_total",
            "Decodes the native decoder left to fastavro: refused (a schema pair, once) or "
            "deferred (a record)",
            ["reason"],
        )
    return _FALLBACKS


_FALLBACKS: Any = None


class AvroSerde:
    """Encode and decode Avro records in Confluent wire format.

    ``schema_source`` is asked for the writer schema of an id the serde has not seen (typically
    ``RegistryClient.schema_by_id``); without one, only ids given to ``add_schema`` decode.
    ``native``: decode with ``hub_core.Decoder`` where it can (see the module's docstring);
    ``native_refused`` then holds the schema pairs it could not, with the core's reason.
    Not thread-safe for ``add_schema``; ``encode``/``decode`` only read the caches.
    """

    def __init__(self, schema_source: SchemaSource | None = None, *, native: bool = False) -> None:
        self._source = schema_source
        self._by_id: dict[int, ParsedSchema] = {}
        self._headers: dict[int, bytes] = {}
        # (writer id, reader canonical) -> fastavro reader schema or None when equal to writer
        self._resolution: dict[tuple[int, str], Any] = {}
        self._core = native_core() if native else None
        # writer id -> its native decoder (no reader schema); None: refused, fastavro decodes
        self._native: dict[int, Any] = {}
        # (writer id, reader canonical) -> native decoder or None (refused)
        self._native_resolved: dict[tuple[int, str], Any] = {}
        self.native_refused: dict[tuple[int, str | None], str] = {}
        self._deferred_logged: set[int] = set()

    @property
    def native(self) -> bool:
        """Whether decode runs the native decoder (asked for, and ``hub_core`` installed)."""
        return self._core is not None

    def add_schema(self, schema_id: int, schema: SchemaLike | ParsedSchema) -> ParsedSchema:
        """Make ``schema_id`` known with its schema; returns the parsed schema."""
        parsed = parse(schema)
        self._by_id[schema_id] = parsed
        self._headers[schema_id] = header(schema_id)
        if self._core is not None:
            self._native[schema_id] = self._native_decoder(schema_id, parsed, None)
            for key in [k for k in self._native_resolved if k[0] == schema_id]:
                del self._native_resolved[key]
        return parsed

    def _native_decoder(
        self, schema_id: int, writer: ParsedSchema, reader: ParsedSchema | None
    ) -> Any:
        assert self._core is not None
        try:
            return self._core.Decoder(
                writer.canonical, None if reader is None else reader.canonical
            )
        except self._core.Refused as exc:
            where = (schema_id, None if reader is None else reader.canonical)
            self.native_refused[where] = str(exc)
            _fallbacks().labels("refused").inc()
            log.info(
                "schema id %d%s: fastavro decodes it, the native decoder refused: %s",
                schema_id,
                "" if reader is None else " read with a reader schema",
                exc,
            )
            return None

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
        if self._core is not None and reader_schema is None and type(data) is bytes:
            # the fast path: a known id, native decode; anything else takes the long way
            decoder = self._native.get(int.from_bytes(data[1:HEADER_SIZE], "big"))
            if decoder is not None and len(data) >= HEADER_SIZE and data[0] == MAGIC_BYTE:
                try:
                    return decoder.decode(data, HEADER_SIZE)
                except ValueError:
                    pass  # the long way says what went wrong, or asks fastavro
        return self.decode_with_id(data, reader_schema)[1]

    def decode_many(
        self, items: list[bytes], reader_schema: ParsedSchema | None = None
    ) -> list[Any]:
        """The records of ``items`` (see ``decode``); the first undecodable raises."""
        if self._core is not None and reader_schema is None and items:
            first = items[0]
            if type(first) is bytes and len(first) >= HEADER_SIZE:
                id_bytes = first[1:HEADER_SIZE]
                decoder = self._native.get(int.from_bytes(id_bytes, "big"))
                if decoder is not None and all(
                    type(d) is bytes and d[0:1] == b"\0" and d[1:HEADER_SIZE] == id_bytes
                    for d in items
                ):
                    try:
                        return decoder.decode_many(items, HEADER_SIZE)
                    except ValueError:
                        pass  # one at a time: the error, or fastavro for what the core defers
        return [self.decode_with_id(d, reader_schema)[1] for d in items]

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
        if self._core is not None:
            decoded = self._decode_native(data, schema_id, writer, reader_schema, reader)
            if decoded is not _DEFERRED:
                return schema_id, decoded
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

    def _decode_native(
        self,
        data: bytes | bytearray | memoryview,
        schema_id: int,
        writer: ParsedSchema,
        reader_schema: ParsedSchema | None,
        resolved: Any,
    ) -> Any:
        """The record as the native decoder reads it; ``_DEFERRED``: fastavro's to decode."""
        core = self._core
        assert core is not None
        if resolved is None:  # no reader schema, or one equal to the writer's
            if schema_id not in self._native:
                self._native[schema_id] = self._native_decoder(schema_id, writer, None)
            decoder = self._native[schema_id]
        else:
            assert reader_schema is not None
            key = (schema_id, reader_schema.canonical)
            if key not in self._native_resolved:
                self._native_resolved[key] = self._native_decoder(schema_id, writer, reader_schema)
            decoder = self._native_resolved[key]
        if decoder is None:
            return _DEFERRED
        size = len(data)
        try:
            return decoder.decode(data if type(data) is bytes else bytes(data), HEADER_SIZE)
        except core.Deferred as exc:
            _fallbacks().labels("deferred").inc()
            if schema_id not in self._deferred_logged:
                self._deferred_logged.add(schema_id)
                log.info(
                    "schema id %d: fastavro decodes a record the native decoder deferred "
                    "(%s); logged once",
                    schema_id,
                    exc.args[0],
                )
            return _DEFERRED
        except core.AvroError as exc:
            message = exc.args[1]
            if message == "truncated payload":
                text = f"truncated payload for schema id {schema_id}: {size} bytes; no more bytes"
            elif message.endswith("trailing bytes after the record"):
                text = f"{message} for schema id {schema_id}"
            else:
                text = f"undecodable Avro body for schema id {schema_id} ({size} bytes): {message}"
            raise DecodeError(text, schema_id) from None

    def _resolve(self, schema_id: int, writer: ParsedSchema, reader: ParsedSchema) -> Any:
        resolved = None if writer.canonical == reader.canonical else reader.parsed
        self._resolution[(schema_id, reader.canonical)] = resolved
        return resolved


_DEFERRED = object()


def _raise_bad_header(data: bytes | bytearray | memoryview) -> None:
    from hub.serde.wire import schema_id_of

    schema_id_of(data)  # raises MagicByteError with the reason
