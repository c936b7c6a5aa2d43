"""Base class of the generated delivery models, and the fingerprint that ties a model to the one
delivery schema it was generated from.

A delivery model is used for a record only when its fingerprint equals the fingerprint of the
schema the record was written with: then validating the decoded record cannot fail for a reason
of shape, and a record of any other schema version stays a dict instead of being squeezed into a
model of another version.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import orjson

from producers.models.base import Int32, Int64, RecordModel

__all__ = ["DeliveryModel", "Int32", "Int64", "RecordModel", "fingerprint"]

FINGERPRINT_CHARS = 32  # 128 bits of SHA-256: collisions are not a concern, lines stay short


class DeliveryModel(RecordModel):
    """The record of one agreement's deliveries, generated from its derived delivery schema."""

    AGREEMENT: ClassVar[str]
    SOURCE: ClassVar[str]
    TOPIC: ClassVar[str]
    PURPOSE: ClassVar[str]
    LEGAL_BASIS: ClassVar[str]
    FINGERPRINT: ClassVar[str]


def _shape(node: Any) -> Any:
    """The schema without what does not change how a record reads: docs and ``x-`` props
    (purpose, legal basis, classification), and ``{"type": "string"}`` written as ``"string"``
    (the registry may serve either form of the same schema)."""
    if isinstance(node, dict):
        kept = {k: _shape(v) for k, v in node.items() if k != "doc" and not k.startswith("x-")}
        if len(kept) == 1 and isinstance(kept.get("type"), str):
            return kept["type"]
        return kept
    if isinstance(node, list):
        return [_shape(item) for item in node]
    return node


def fingerprint(schema: Any) -> str:
    """A stable id of the schema's shape: names, field order, types, logical types, defaults.

    An agreement whose purpose is reworded is a new schema version with the same fingerprint, so
    its generated model still applies; a field added or dropped changes it."""
    canonical = orjson.dumps(_shape(schema), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:FINGERPRINT_CHARS]
