"""Deliveries as structured-mode CloudEvents in a JSON batch, and the JSON Schema of each record
(pure: no I/O).

The delivered record is the ``data`` of its event, in the hub's one JSON form
(``hub/serde/json.py``, the table there and in consumers/deliveries/README.md).

Event attributes: ``specversion``, ``id``, ``source``, ``type``, ``time`` come from the
publisher's envelope (the ``ce_*`` headers the router passed through), ``hubagreement`` and
``hubdelivery`` (the idempotency key, ``<agreement>/<source topic>/<partition>/<offset>``) from
the router, ``partitionkey`` (CloudEvents' partitioning extension) is the delivered message key,
the entity id as the agreement transformed it; ``datacontenttype`` is ``application/json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hub.serde.json import AGREEMENT_HEADER, DELIVERY_HEADER, ENVELOPE, delivery_id, dumps

BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
DATA_CONTENT_TYPE = "application/json"
__all__ = [
    "AGREEMENT_HEADER",
    "BATCH_MEDIA_TYPE",
    "DELIVERY_HEADER",
    "batch",
    "cloudevent",
    "delivery_id",
    "dumps",
    "json_schema",
]


def cloudevent(
    agreement_id: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    data: Any,
    error: str | None = None,
) -> dict[str, Any]:
    """One delivery as a structured-mode CloudEvent (a dict for ``dumps``).

    A publisher that left out ``ce_id``, ``ce_source`` or ``ce_type`` (all three are required by
    CloudEvents) gets the delivery id, the hub's source of the agreement and the type of the
    delivery topic instead, so every event of a batch is valid. ``error``: the record could not
    be decoded; ``data`` is then null and ``huberror`` says why, so the client still gets (and
    passes) the place instead of being stopped there for good."""
    event: dict[str, Any] = {"specversion": "1.0"}
    hub_delivery = None
    for name, value in headers:
        attribute = ENVELOPE.get(name)
        if attribute is not None:
            event[attribute] = value.decode("utf-8", "replace")
        elif name == DELIVERY_HEADER:
            hub_delivery = value.decode("utf-8", "replace")
    if hub_delivery is None:
        hub_delivery = delivery_id(agreement_id, topic, partition, offset)
    event.setdefault("id", hub_delivery)
    event.setdefault("source", f"/hamm/hub/agreements/{agreement_id}")
    event.setdefault("type", f"de.hamm.{topic}")
    event["datacontenttype"] = DATA_CONTENT_TYPE
    event["hubagreement"] = agreement_id
    event["hubdelivery"] = hub_delivery
    if key is not None:
        event["partitionkey"] = key.decode("utf-8", "replace")
    if error is not None:
        event["huberror"] = error
    event["data"] = data
    return event


def batch(events: Iterable[Mapping[str, Any]]) -> bytes:
    """A CloudEvents JSON batch: a JSON array of structured-mode events."""
    return dumps(list(events))


# -- the JSON Schema of a delivered record (for the OpenAPI document) --------------------------

_LOGICAL: dict[tuple[str, str], dict[str, Any]] = {
    ("int", "date"): {"type": "string", "format": "date"},
    ("int", "time-millis"): {"type": "string", "format": "time"},
    ("long", "time-micros"): {"type": "string", "format": "time"},
    ("long", "timestamp-millis"): {"type": "string", "format": "date-time"},
    ("long", "timestamp-micros"): {"type": "string", "format": "date-time"},
    ("long", "local-timestamp-millis"): {
        "type": "string",
        "description": "Wall-clock time without offset (ISO 8601).",
        "examples": ["2026-11-25T09:30:00"],
    },
    ("long", "local-timestamp-micros"): {
        "type": "string",
        "description": "Wall-clock time without offset (ISO 8601).",
        "examples": ["2026-11-25T09:30:00"],
    },
    ("string", "uuid"): {"type": "string", "format": "uuid"},
}
_PRIMITIVE: dict[str, dict[str, Any]] = {
    "null": {"type": "null"},
    "boolean": {"type": "boolean"},
    "int": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    # JSON has no NaN or infinity: the hub writes them as these strings (hub/serde/json.py)
    "float": {"anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]},
    "double": {"anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]},
    "string": {"type": "string"},
    "bytes": {"type": "string", "contentEncoding": "base64"},
}
_DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Decimal number."}


def _name(schema: Mapping[str, Any], namespace: str | None) -> tuple[str, str | None]:
    name = str(schema["name"])
    space = schema.get("namespace", namespace)
    if "." in name:
        return name, name.rsplit(".", 1)[0]
    return (f"{space}.{name}" if space else name), space


class _Converter:
    """Avro schema → JSON Schema (2020-12, as OpenAPI 3.1 uses it); named types are inlined."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}
        self.open: set[str] = set()  # records being converted: a recursive one stops there

    def convert(self, schema: Any, namespace: str | None) -> dict[str, Any]:
        if isinstance(schema, str):
            if schema in _PRIMITIVE:
                return dict(_PRIMITIVE[schema])
            full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
            target = self.named.get(full, self.named.get(schema))
            if target is None:
                return {}
            return self.convert(target, namespace) if full not in self.open else {}
        if isinstance(schema, list):
            branches = [self.convert(s, namespace) for s in schema]
            non_null = [b for b in branches if b != {"type": "null"}]
            if len(non_null) == 1 and len(branches) == 2:
                return {"anyOf": [non_null[0], {"type": "null"}]}
            return {"anyOf": branches}
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if logical == "decimal" and kind in ("bytes", "fixed"):
            if kind == "fixed":
                self.named.setdefault(_name(schema, namespace)[0], schema)
            return dict(_DECIMAL)
        if isinstance(kind, str) and (kind, logical) in _LOGICAL:
            return dict(_LOGICAL[(kind, logical)])
        if kind in ("record", "error"):
            full, space = _name(schema, namespace)
            self.named[full] = schema
            self.open.add(full)
            try:
                properties = {}
                for field in schema.get("fields", []):
                    prop = self.convert(field["type"], space)
                    if field.get("doc"):
                        prop["description"] = field["doc"]
                    if "x-pii" in field:
                        prop["x-pii"] = field["x-pii"]
                    properties[field["name"]] = prop
            finally:
                self.open.discard(full)
            out: dict[str, Any] = {
                "type": "object",
                "properties": properties,
                # the writer always writes every field: nothing is optional, null is a value
                "required": list(properties),
                "additionalProperties": False,
            }
            if schema.get("doc"):
                out["description"] = schema["doc"]
            return out
        if kind == "enum":
            self.named[_name(schema, namespace)[0]] = schema
            return {"type": "string", "enum": list(schema.get("symbols", []))}
        if kind == "fixed":
            self.named[_name(schema, namespace)[0]] = schema
            return {"type": "string", "contentEncoding": "base64"}
        if kind == "array":
            return {"type": "array", "items": self.convert(schema["items"], namespace)}
        if kind == "map":
            return {
                "type": "object",
                "additionalProperties": self.convert(schema["values"], namespace),
            }
        if isinstance(kind, str | list | dict):
            # {"type": "string"} and the like; logical types we do not know are their base type
            return self.convert(kind, namespace)
        return {}


def json_schema(avro_schema: Any) -> dict[str, Any]:
    """The JSON Schema of ``data`` for records of ``avro_schema``, by the rules above."""
    return _Converter().convert(avro_schema, None)
