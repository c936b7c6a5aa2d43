"""Confluent wire format: magic byte 0, the schema id as 4-byte big-endian, then Avro binary.

Pure functions over bytes, no Avro: the framing can be checked and rewritten (e.g. by the router
re-encoding for a subscriber) without decoding the body.
"""

from __future__ import annotations

import struct

from hub.serde.errors import MagicByteError

MAGIC_BYTE = 0
HEADER_SIZE = 5
MAX_SCHEMA_ID = 2**32 - 1
_HEADER = struct.Struct(">bI")


def header(schema_id: int) -> bytes:
    """The 5 header bytes for ``schema_id``."""
    if not 0 <= schema_id <= MAX_SCHEMA_ID:
        raise ValueError(f"schema id {schema_id} is outside 0..{MAX_SCHEMA_ID}")
    return _HEADER.pack(MAGIC_BYTE, schema_id)


def frame(schema_id: int, body: bytes) -> bytes:
    """Prefix an Avro body with the header for ``schema_id``."""
    return header(schema_id) + body


def schema_id_of(data: bytes | bytearray | memoryview) -> int:
    """The schema id in the header of ``data``; raises MagicByteError if there is no valid header."""
    if len(data) < HEADER_SIZE:
        raise MagicByteError(
            f"payload of {len(data)} bytes is shorter than the 5-byte Confluent header"
        )
    if data[0] != MAGIC_BYTE:
        raise MagicByteError(
            f"unknown magic byte {data[0]} (expected {MAGIC_BYTE}): not Confluent wire format"
        )
    return int.from_bytes(data[1:HEADER_SIZE], "big")


def split(data: bytes | bytearray | memoryview) -> tuple[int, memoryview]:
    """Schema id and Avro body (a view, no copy) of a framed payload."""
    schema_id = schema_id_of(data)
    return schema_id, memoryview(data)[HEADER_SIZE:]
