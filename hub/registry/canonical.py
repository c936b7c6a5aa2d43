"""Schema identity: when are two submitted Avro schemas "the same schema" (and so one id)?

Whitespace and the order of JSON object keys do not matter; field order, names, docs, defaults
and extra attributes do (as in Confluent, docs and defaults are part of the schema). A type
written as ``{"type": "string"}`` equals ``"string"``.
"""

from __future__ import annotations

from typing import Any

import orjson


class SchemaTextError(ValueError):
    """The schema string is not JSON."""


def load(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise SchemaTextError(f"schema is not valid JSON: {exc}") from None


def _collapse(node: Any) -> Any:
    if isinstance(node, dict):
        if len(node) == 1 and isinstance(node.get("type"), str):
            return node["type"]
        return {
            k: _collapse(v) if k in ("type", "items", "values", "fields") else v
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_collapse(item) for item in node]
    return node


def identity(schema: Any) -> str:
    """The normalized JSON of a parsed schema; equal identities mean the same schema."""
    return orjson.dumps(_collapse(schema), option=orjson.OPT_SORT_KEYS).decode()


def compact(schema: Any) -> str:
    """The schema as stored and served: compact JSON, key order as submitted."""
    return orjson.dumps(schema).decode()
