"""Avro serde in Confluent wire format, and a caching client of a Confluent-compatible registry.

>>> serde = AvroSerde(schema_source=RegistryClient(url).schema_by_id)
>>> data = serde.encode(schema_id, record)
>>> record = serde.decode(data, reader_schema=parse(v1_schema))
"""

from hub.serde.client import (
    AsyncRegistryClient,
    CompatibilityResult,
    RegisteredSchema,
    RegistryClient,
    RegistryError,
)
from hub.serde.codec import AvroSerde, ParsedSchema, parse
from hub.serde.errors import (
    DecodeError,
    EncodeError,
    MagicByteError,
    SchemaResolutionError,
    SerdeError,
    UnknownSchemaError,
)
from hub.serde.wire import HEADER_SIZE, MAGIC_BYTE, frame, header, schema_id_of, split

__all__ = [
    "HEADER_SIZE",
    "MAGIC_BYTE",
    "AsyncRegistryClient",
    "AvroSerde",
    "CompatibilityResult",
    "DecodeError",
    "EncodeError",
    "MagicByteError",
    "ParsedSchema",
    "RegisteredSchema",
    "RegistryClient",
    "RegistryError",
    "SchemaResolutionError",
    "SerdeError",
    "UnknownSchemaError",
    "frame",
    "header",
    "parse",
    "schema_id_of",
    "split",
]
