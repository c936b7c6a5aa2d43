"""Errors of the Avro serde: one base class, one subclass for each way bytes or records go wrong.

Every message names what was wrong and, where one is known, the schema id, so a dead-letter
entry explains itself.
"""

from __future__ import annotations


class SerdeError(Exception):
    """Base class: bytes could not be decoded, or a record could not be encoded."""

    def __init__(self, message: str, schema_id: int | None = None) -> None:
        super().__init__(message)
        self.schema_id = schema_id


class MagicByteError(SerdeError):
    """The payload does not start with the Confluent magic byte 0 (or is shorter than 5 bytes)."""


class UnknownSchemaError(SerdeError):
    """The schema id in the header is not known to the serde nor to the registry."""


class DecodeError(SerdeError):
    """The Avro body is truncated, has trailing bytes, or does not match the writer schema."""


class EncodeError(SerdeError):
    """The record does not match the schema it is encoded with (missing field, wrong type)."""


class SchemaResolutionError(SerdeError):
    """The writer schema cannot be read with the requested reader schema."""
