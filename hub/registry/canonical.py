"""Schema identity: when are two submitted Avro schemas "the same schema" (and so one id)?

Whitespace and the order of JSON object keys do not matter; field order, names, docs, defaults
and extra attributes do (as in Confluent, docs and defaults are part of the schema). A type
written as ``{"type": "string"}`` equals ``"string"``, and so does ``{"type": "string", "name":
"X"}``: Avro's parser ignores the reserved attributes (name, namespace, doc, ...) of a
primitive, so Confluent's normalized form drops them. The ``references`` of a schema are part
of its identity: the same text resolving names elsewhere is another schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson


class SchemaTextError(ValueError):
    """The schema string is not JSON."""


def load(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise SchemaTextError(f"schema is not valid JSON: {exc}") from None


PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
# Avro's reserved schema attributes; on a primitive they mean nothing and the parser drops them.
RESERVED = frozenset(
    {"doc", "fields", "items", "name", "namespace", "size", "symbols", "values", "aliases"}
)


def _collapse(node: Any) -> Any:
    """A schema node in its normalized form (fields are not schemas: see ``_field``)."""
    if isinstance(node, list):
        return [_collapse(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") in PRIMITIVES:
        node = {k: v for k, v in node.items() if k not in RESERVED}
    if len(node) == 1 and isinstance(node.get("type"), str):
        return node["type"]
    out = {}
    for key, value in node.items():
        if key in ("type", "items", "values"):
            out[key] = _collapse(value)
        elif key == "fields" and isinstance(value, list):
            out[key] = [_field(f) for f in value]
        else:
            out[key] = value
    return out


def _field(field: Any) -> Any:
    if not isinstance(field, dict) or "type" not in field:
        return field
    return {**field, "type": _collapse(field["type"])}


def identity(schema: Any, references: Sequence[Any] = ()) -> str:
    """The normalized JSON of a parsed schema and its references (``Reference`` or their JSON
    form); equal identities mean the same schema."""
    return with_references(
        orjson.dumps(_collapse(schema), option=orjson.OPT_SORT_KEYS).decode(), references
    )


def with_references(text_identity: str, references: Sequence[Any] = ()) -> str:
    """The identity of a schema whose text alone has ``text_identity``."""
    if not references:
        return text_identity
    refs = [r if isinstance(r, dict) else r.to_json() for r in references]
    return text_identity + "|" + orjson.dumps(refs, option=orjson.OPT_SORT_KEYS).decode()


def compact(schema: Any) -> str:
    """The schema as stored and served: compact JSON, key order as submitted."""
    return orjson.dumps(schema).decode()
