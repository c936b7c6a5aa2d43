"""The gateway's OpenAPI document, derived from the Avro schemas (pure, no I/O).

``event_schema`` gives the JSON Schema (OpenAPI 3.1, i.e. JSON Schema 2020-12) of one event of
a topic: exactly the JSON that ``convert.py`` turns into a record, rule for rule:

- record: an object, ``additionalProperties: false``; a field without default is required, one
  with a default has it as ``default`` (in the JSON the gateway takes); ``doc`` as
  ``description``, ``x-pii`` kept; records nest inline (titled by their name), a record that
  contains itself is a ``$ref`` to a definition;
- int/long: integers in the Avro range (``int32``/``int64``); float/double: numbers (a float
  within the single-precision range); boolean; string; null;
- bytes: base64 text (``contentEncoding: base64``, the exact pattern ``b64decode`` takes);
  fixed: base64 of exactly ``size`` bytes;
- enum: its symbols; array: ``items``; map: an object of the values;
- union: ``anyOf`` of the plain branches (a nullable field: ``anyOf [T, null]``);
- timestamp-millis/-micros: an RFC 3339 ``date-time`` with an offset (or the converter's laxer
  spellings of one: a space for ``T``, no seconds), or epoch milliseconds;
  local-timestamp: a date-time without offset; date: ``date`` (YYYY-MM-DD); time: HH:MM[:SS[.f]];
  uuid: ``uuid`` (8-4-4-4-12); decimal: a decimal string or an integer that fits its
  ``(precision, scale)``.

Patterns spell out what the converter's parsers take (calendar dates, hours, offsets, digits),
so a value is valid by the document exactly when the gateway accepts it. One leniency is left
out: the converter also takes a decimal as a JSON float with few enough decimals, which JSON
Schema cannot say reliably (``multipleOf`` on floats), so the document offers strings and
integers for decimals.

``topic_path_item`` and ``document`` assemble the operations: one ``POST
/v1/topics/<topic>/events`` per topic, body one event or a batch, every answer the gateway gives
with its body and headers.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import decimal
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from producers.gateway.convert import (
    EPOCH,
    FLOAT_MAX,
    INT_RANGE,
    LONG_RANGE,
    SchemaError,
    _fullname,
    _named,
)

_B64 = "[A-Za-z0-9+/]"
# What the converter's regular expressions and datetime.fromisoformat take together, spelled out
# as patterns (ECMA 262, as JSON Schema has them: [0-9], not \d): the calendar of years 1 to
# 9999 with its leap days, hours 00-23, offsets under 24 hours, at most 9 decimals.
_YEAR = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (
    f"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    f"|{_LEAP_YEAR}-02-29)"
)
_CLOCK = "(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,9})?)?"
_OFFSET = "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
TIMESTAMP_PATTERN = f"^{_DATE}[Tt ]{_CLOCK}{_OFFSET}$"
"""Every timestamp text the converter takes."""
RFC3339_PATTERN = (
    f"^{_DATE}[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{{1,9}})?{_OFFSET}$"
)
"""Those of them that are RFC 3339 date-times (``format: date-time``)."""
LOCAL_TIMESTAMP_PATTERN = f"^{_DATE}[Tt ]{_CLOCK}$"
DATE_PATTERN = f"^{_DATE}$"
UUID_PATTERN = "^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$"
TIME_PATTERN = "^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,6})?)?$"
EPOCH_MILLIS_RANGE = (
    (dt.datetime.min.replace(tzinfo=dt.UTC) - EPOCH) // dt.timedelta(milliseconds=1),
    (dt.datetime.max.replace(tzinfo=dt.UTC) - EPOCH) // dt.timedelta(milliseconds=1),
)
"""Epoch milliseconds the converter can turn into a datetime (years 1 to 9999)."""

_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
_LOGICAL_BASES = {
    ("long", "timestamp-millis"),
    ("long", "timestamp-micros"),
    ("long", "local-timestamp-millis"),
    ("long", "local-timestamp-micros"),
    ("int", "date"),
    ("int", "time-millis"),
    ("long", "time-micros"),
    ("string", "uuid"),
}
_MISSING: Any = object()
_EXAMPLE_TIME = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)


def base64_pattern(size: int | None = None) -> str:
    """What ``base64.b64decode(validate=True)`` takes: of any length, or of exactly ``size``
    bytes (a ``fixed``). It ignores ``=`` after a complete group of four, so that is allowed."""
    if size is None:
        return f"^(?:(?:{_B64}{{4}})+=*|(?:{_B64}{{4}})*(?:{_B64}{{2}}==|{_B64}{{3}}=))?$"
    full, rest = divmod(size, 3)
    if rest == 0:
        return f"^(?:{_B64}{{4}}){{{full}}}=*$" if full else "^$"
    tail = f"{_B64}{{2}}==" if rest == 1 else f"{_B64}{{3}}="
    return f"^(?:{_B64}{{4}}){{{full}}}{tail}$"


@dataclass(frozen=True)
class EventSchema:
    """The JSON Schema of one event, and the definitions its ``$ref``s point to (only records
    that contain themselves need one), keyed by their name under ``ref_prefix``."""

    schema: dict[str, Any]
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)


def event_schema(
    avro: Any, *, ref_prefix: str = "#/components/schemas/", name_prefix: str = ""
) -> EventSchema:
    """The JSON Schema of the JSON that ``convert.compile_schema(avro)`` accepts.

    ``avro``: the schema as JSON data, plain or fastavro-parsed. A recursive record becomes
    ``{"$ref": ref_prefix + name_prefix + <full name>}``, its schema in ``definitions``.
    Raises SchemaError where ``compile_schema`` does.
    """
    deriver = _Deriver(ref_prefix, name_prefix)
    schema = deriver.derive(avro, "")
    return EventSchema(schema, deriver.definitions)


def example_event(avro: Any) -> dict[str, Any]:
    """A small event the converter accepts: every field without a default, plausible values."""
    deriver = _Deriver("#/", "")
    deriver.derive(avro, "")  # learns the named types
    value = deriver.sample(avro, "", 0)
    return value if isinstance(value, dict) else {}


def to_json(value: Any) -> Any:
    """A record in Python values (as the simulators make them) as the JSON the gateway takes."""
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        if not value.microsecond:
            spec = "seconds"
        elif not value.microsecond % 1000:
            spec = "milliseconds"
        else:
            spec = "microseconds"
        return value.isoformat(timespec=spec).replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class _Deriver:
    """One pass over an Avro schema, resolving names as ``convert._compile`` does."""

    def __init__(self, ref_prefix: str, name_prefix: str) -> None:
        self.ref_prefix = ref_prefix
        self.name_prefix = name_prefix
        self.avro: dict[str, Mapping[str, Any]] = {}  # full name -> definition
        self.done: dict[str, dict[str, Any]] = {}  # full name -> JSON Schema
        self.building: set[str] = set()
        self.recursive: set[str] = set()
        self.definitions: dict[str, dict[str, Any]] = {}

    # -- JSON Schema ----------------------------------------------------------------------------

    def ref(self, full: str) -> dict[str, Any]:
        return {"$ref": f"{self.ref_prefix}{self.name_prefix}{full}"}

    def lookup(self, node: str, namespace: str) -> str:
        full = _fullname(node, namespace)
        for key in (full, node):
            if key in self.avro:
                return key
        raise SchemaError(f"unknown named type {node!r}")

    def derive(self, node: Any, namespace: str) -> dict[str, Any]:
        if isinstance(node, list):
            return self.union(node, namespace)
        if isinstance(node, str):
            if node in _PRIMITIVES:
                return _primitive(node)
            key = self.lookup(node, namespace)
            if key in self.building:
                self.recursive.add(key)
                return self.ref(key)
            return self.done[key]
        if not isinstance(node, Mapping):
            raise SchemaError(f"not an Avro type: {node!r}")
        kind = node.get("type")
        logical = node.get("logicalType")
        if kind in ("record", "error"):
            return self.record(node, namespace)
        if kind in ("enum", "fixed"):
            full = _named(node, namespace)
            self.avro[full] = node
            schema = _enum(node) if kind == "enum" else _fixed(node)
            self.done[full] = schema
            return schema
        if kind == "array":
            return {"type": "array", "items": self.derive(node.get("items"), namespace)}
        if kind == "map":
            values = self.derive(node.get("values"), namespace)
            return {"type": "object", "additionalProperties": values}
        if isinstance(kind, list | Mapping):
            return self.derive(kind, namespace)
        if logical is not None and (kind, logical) in _LOGICAL_BASES:
            return _logical(logical)
        if logical == "decimal" and kind == "bytes":
            return _decimal(int(node.get("precision", 38)), int(node.get("scale", 0)))
        if kind in _PRIMITIVES:
            return _primitive(kind)
        raise SchemaError(f"unsupported Avro type: {kind!r}")

    def union(self, node: list[Any], namespace: str) -> dict[str, Any]:
        branches = [self.derive(branch, namespace) for branch in node]
        if len(branches) == 1:
            return branches[0]
        # anyOf, not oneOf: int and double (or two records) may both take a value, and the
        # converter takes the first branch that does.
        return {"anyOf": branches}

    def record(self, node: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        full = _named(node, namespace)
        own_namespace = full.rpartition(".")[0]
        self.avro[full] = node
        self.building.add(full)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for item in node.get("fields", []):
            prop = dict(self.derive(item["type"], own_namespace))
            if isinstance(item.get("doc"), str):
                # the field's doc first; a record's or enum's own doc after it
                own = prop.get("description")
                prop["description"] = (
                    f"{item['doc']}\n\n{own}" if own and own != item["doc"] else item["doc"]
                )
            if "x-pii" in item:
                prop["x-pii"] = item["x-pii"]
            if "default" in item:
                default = self.json_value(item["type"], item["default"], own_namespace)
                if default is not _MISSING:
                    prop["default"] = default
            else:
                required.append(item["name"])
            properties[item["name"]] = prop
        self.building.discard(full)
        schema: dict[str, Any] = {"type": "object", "title": full.rpartition(".")[2]}
        if isinstance(node.get("doc"), str):
            schema["description"] = node["doc"]
        schema["properties"] = properties
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        if full in self.recursive:
            self.definitions[f"{self.name_prefix}{full}"] = schema
            schema = self.ref(full)
        self.done[full] = schema
        return schema

    # -- values ---------------------------------------------------------------------------------

    def resolve(self, node: Any, namespace: str) -> tuple[Any, str]:
        """A named type's definition (and its namespace) for a reference by name."""
        if isinstance(node, str) and node not in _PRIMITIVES:
            key = self.lookup(node, namespace)
            return self.avro[key], key.rpartition(".")[0]
        return node, namespace

    def json_value(self, node: Any, value: Any, namespace: str) -> Any:
        """An Avro JSON default as the JSON the gateway takes; _MISSING when it has none."""
        node, namespace = self.resolve(node, namespace)
        if isinstance(node, list):
            # An Avro union's default is of its first branch.
            return self.json_value(node[0], value, namespace) if node else _MISSING
        if isinstance(node, str):
            return _b64_default(value) if node == "bytes" else value
        kind = node.get("type")
        logical = node.get("logicalType")
        if kind in ("record", "error"):
            if not isinstance(value, Mapping):
                return _MISSING
            own = _named(node, namespace).rpartition(".")[0]
            out: dict[str, Any] = {}
            for item in node.get("fields", []):
                if item["name"] in value:
                    converted = self.json_value(item["type"], value[item["name"]], own)
                    if converted is _MISSING:
                        return _MISSING
                    out[item["name"]] = converted
                elif "default" not in item:
                    return _MISSING
            return out
        if kind == "fixed":
            return _b64_default(value)
        if kind == "array":
            items = [self.json_value(node.get("items"), v, namespace) for v in value or []]
            return _MISSING if any(v is _MISSING for v in items) else items
        if kind == "map":
            values = {
                k: self.json_value(node.get("values"), v, namespace)
                for k, v in (value or {}).items()
            }
            return _MISSING if any(v is _MISSING for v in values.values()) else values
        if isinstance(kind, list | Mapping):
            return self.json_value(kind, value, namespace)
        if logical is not None and (kind, logical) in _LOGICAL_BASES:
            return _logical_default(logical, value)
        if logical == "decimal" and kind == "bytes":
            return _decimal_default(value, int(node.get("scale", 0)))
        if kind == "bytes":
            return _b64_default(value)
        return value

    def sample(self, node: Any, namespace: str, depth: int) -> Any:
        """A plausible value the converter takes (records: the fields without a default)."""
        node, namespace = self.resolve(node, namespace)
        if isinstance(node, list):
            others = [b for b in node if b != "null"]
            # deep in a recursive type, stop at null
            if not others or ("null" in node and depth > 3):
                return None
            return self.sample(others[0], namespace, depth)
        if isinstance(node, str):
            return _PRIMITIVE_SAMPLES[node]
        kind = node.get("type")
        logical = node.get("logicalType")
        if kind in ("record", "error"):
            own = _named(node, namespace).rpartition(".")[0]
            return {
                item["name"]: self.sample(item["type"], own, depth + 1)
                for item in node.get("fields", [])
                if "default" not in item
            }
        if kind == "enum":
            return node["symbols"][0]
        if kind == "fixed":
            return base64.b64encode(bytes(int(node.get("size", 0)))).decode("ascii")
        if kind == "array":
            return []
        if kind == "map":
            return {}
        if isinstance(kind, list | Mapping):
            return self.sample(kind, namespace, depth)
        if logical is not None and (kind, logical) in _LOGICAL_BASES:
            return _LOGICAL_SAMPLES[logical]
        if logical == "decimal" and kind == "bytes":
            return "0"
        return _PRIMITIVE_SAMPLES[kind]


def _primitive(kind: str) -> dict[str, Any]:
    if kind == "null":
        return {"type": "null"}
    if kind == "boolean":
        return {"type": "boolean"}
    if kind in ("int", "long"):
        low, high = INT_RANGE if kind == "int" else LONG_RANGE
        fmt = "int32" if kind == "int" else "int64"
        return {"type": "integer", "format": fmt, "minimum": low, "maximum": high}
    if kind == "float":
        return {"type": "number", "format": "float", "minimum": -FLOAT_MAX, "maximum": FLOAT_MAX}
    if kind == "double":
        return {"type": "number", "format": "double"}
    if kind == "bytes":
        return {
            "type": "string",
            "format": "byte",
            "contentEncoding": "base64",
            "pattern": base64_pattern(),
        }
    return {"type": "string"}


def _enum(node: Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "title": str(node["name"]).rpartition(".")[2]}
    if isinstance(node.get("doc"), str):
        schema["description"] = node["doc"]
    schema["enum"] = list(node.get("symbols", []))
    return schema


def _fixed(node: Mapping[str, Any]) -> dict[str, Any]:
    size = int(node.get("size", 0))
    return {
        "type": "string",
        "title": str(node["name"]).rpartition(".")[2],
        "description": f"{size} bytes, base64",
        "format": "byte",
        "contentEncoding": "base64",
        "pattern": base64_pattern(size),
    }


def _logical(logical: str) -> dict[str, Any]:
    if logical in ("timestamp-millis", "timestamp-micros"):
        low, high = EPOCH_MILLIS_RANGE
        return {
            "anyOf": [
                {
                    "type": "string",
                    "format": "date-time",
                    "pattern": RFC3339_PATTERN,
                    "description": "RFC 3339 with a UTC offset, e.g. 2026-11-25T09:30:00+01:00",
                },
                {
                    # what the converter reads besides RFC 3339, so the document is exact
                    "type": "string",
                    "pattern": TIMESTAMP_PATTERN,
                    "description": "also read: a space for the T, minutes without seconds "
                    "(2026-11-25 09:30+01:00)",
                },
                {
                    "type": "integer",
                    "format": "int64",
                    "minimum": low,
                    "maximum": high,
                    "description": "milliseconds since 1970-01-01T00:00:00Z",
                },
            ]
        }
    if logical in ("local-timestamp-millis", "local-timestamp-micros"):
        return {
            "type": "string",
            "pattern": LOCAL_TIMESTAMP_PATTERN,
            "description": "local date and time without offset, e.g. 2026-11-25T09:30:00",
        }
    if logical == "date":
        return {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    if logical in ("time-millis", "time-micros"):
        return {"type": "string", "pattern": TIME_PATTERN, "description": "HH:MM[:SS[.ffffff]]"}
    return {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}


def _decimal(precision: int, scale: int) -> dict[str, Any]:
    whole = max(precision - scale, 0)
    integer = f"[0-9]{{1,{whole}}}" if whole else "0"
    fraction = f"(\\.[0-9]{{1,{scale}}})?" if scale else ""
    limit = 10**whole
    return {
        "anyOf": [
            {"type": "string", "pattern": f"^[+-]?{integer}{fraction}$"},
            {"type": "integer", "minimum": -(limit - 1), "maximum": limit - 1},
        ],
        "description": f"decimal({precision},{scale}): a decimal string such as "
        f"{_decimal_example(whole, scale)!r}, or an integer",
    }


def _decimal_example(whole: int, scale: int) -> str:
    return ("12"[: max(whole, 1)] if whole else "0") + ("." + "5" * scale if scale else "")


def _b64_default(value: Any) -> Any:
    if not isinstance(value, str):
        return _MISSING
    try:
        # Avro JSON writes bytes as code points 0-255
        return base64.b64encode(value.encode("latin-1")).decode("ascii")
    except UnicodeEncodeError:
        return _MISSING


def _logical_default(logical: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return value if logical == "uuid" and isinstance(value, str) else _MISSING
    try:
        if logical == "timestamp-millis":
            low, high = EPOCH_MILLIS_RANGE
            return value if low <= value <= high else _MISSING
        if logical == "timestamp-micros":
            return to_json(EPOCH + dt.timedelta(microseconds=value))
        if logical in ("local-timestamp-millis", "local-timestamp-micros"):
            unit = "milliseconds" if logical.endswith("millis") else "microseconds"
            naive = EPOCH.replace(tzinfo=None) + dt.timedelta(**{unit: value})
            return naive.isoformat()
        if logical == "date":
            return (EPOCH.date() + dt.timedelta(days=value)).isoformat()
        unit = "milliseconds" if logical == "time-millis" else "microseconds"
        moment = dt.datetime.min + dt.timedelta(**{unit: value})
        if moment.date() != dt.date.min:
            return _MISSING
        return moment.time().isoformat()
    except OverflowError:
        return _MISSING


def _decimal_default(value: Any, scale: int) -> Any:
    if not isinstance(value, str):
        return _MISSING
    try:
        unscaled = int.from_bytes(value.encode("latin-1"), "big", signed=True)
    except UnicodeEncodeError:
        return _MISSING
    return format(decimal.Decimal(unscaled).scaleb(-scale), "f")


_PRIMITIVE_SAMPLES: dict[str, Any] = {
    "null": None,
    "boolean": False,
    "int": 1,
    "long": 1,
    "float": 0.5,
    "double": 0.5,
    "bytes": "aGFtbQ==",
    "string": "string",
}
_LOGICAL_SAMPLES: dict[str, Any] = {
    "timestamp-millis": to_json(_EXAMPLE_TIME),
    "timestamp-micros": to_json(_EXAMPLE_TIME),
    "local-timestamp-millis": "2026-11-25T10:30:00",
    "local-timestamp-micros": "2026-11-25T10:30:00",
    "date": "2026-11-25",
    "time-millis": "10:30:00",
    "time-micros": "10:30:00",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
}


# -- the OpenAPI operations ---------------------------------------------------------------------

PROBLEM_REF = "#/components/schemas/ProblemOut"
PUBLISHED_REF = "#/components/schemas/PublishedOut"
SECURITY_SCHEME = "bearerAuth"
_JSON_RULES = (
    "JSON as the gateway reads it: timestamps as RFC 3339 with a UTC offset or epoch "
    "milliseconds, dates as YYYY-MM-DD, enums as their symbol, a union as its plain value "
    '(`"x"`, not Avro JSON\'s `{"string": "x"}`), bytes as base64. A field with a default may '
    "be left out; an unknown field is an error."
)


@dataclass(frozen=True)
class TopicDoc:
    """What the document says about one topic: its schema as the gateway converts to it."""

    topic: str
    department: str
    avro: Mapping[str, Any] = field(repr=False)
    schema_id: int
    examples: tuple[dict[str, Any], ...] = ()
    """Events the converter accepts (the first two make the examples of the operation)."""


def component_name(topic: str) -> str:
    """``buergeramt.resident.moved`` -> ``BuergeramtResidentMoved`` (a client's class name)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", topic))


def operation_id(topic: str) -> str:
    """``buergeramt.resident.moved`` -> ``publish_buergeramt_resident_moved``."""
    return "publish_" + re.sub(r"[^0-9A-Za-z]+", "_", topic).strip("_")


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe (IETF httpapi Idempotency-Key): a request repeated with "
    "the same key within 24 hours is answered with the first answer (header "
    "`Idempotent-Replayed: true`) and publishes nothing again. A quoted string or a token.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def problem_responses(*, max_batch: int, max_body_bytes: int) -> dict[str, Any]:
    """The error answers of a publish operation, each with the body and headers it has."""

    def problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
        response: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": PROBLEM_REF}}},
        }
        if headers:
            response["headers"] = headers
        return response

    def retry_after(required: bool, description: str) -> dict[str, Any]:
        return {
            "Retry-After": {
                "description": description,
                "required": required,
                "schema": {"type": "integer", "minimum": 1},
            }
        }

    return {
        "400": problem(
            "The body is not JSON, not an object or an array, an empty batch, or a batch of more "
            f"than {max_batch} events."
        ),
        "401": problem(
            "Missing or unknown bearer token.",
            {
                "WWW-Authenticate": {
                    "description": "The scheme to authenticate with.",
                    "required": True,
                    "schema": {"type": "string", "enum": ["Bearer"]},
                }
            },
        ),
        "403": problem(
            "The topic belongs to another department, or the department does not publish "
            "through the gateway."
        ),
        "404": problem("No schema is registered for the topic (any more)."),
        "409": problem(
            "A request with the same `Idempotency-Key` is still being answered: retry later."
        ),
        "413": problem(f"The body is larger than {max_body_bytes} bytes: send smaller batches."),
        "422": problem(
            "Events that do not fit the schema: `errors` lists the field (and, in a batch, the "
            "index) of every problem; nothing of the request was published. Also: an "
            "`Idempotency-Key` used before for another request."
        ),
        "429": problem(
            "The department's rate limit is exceeded (retry after `Retry-After` seconds), or the "
            "batch is larger than its burst (no `Retry-After`: send smaller batches).",
            retry_after(False, "Seconds until the events would be accepted."),
        ),
        "503": problem(
            "The broker or the schema registry is unavailable; retry later, with the same "
            "`Idempotency-Key` so that nothing is published twice.",
            retry_after(True, "Seconds to wait before retrying."),
        ),
    }


def topic_path_item(
    doc: TopicDoc, *, max_batch: int, max_body_bytes: int, name: str | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The path item of ``POST /v1/topics/<topic>/events`` and the component schemas it uses
    (the event's under ``name``, default ``component_name(topic)``)."""
    name = name or component_name(doc.topic)
    derived = event_schema(doc.avro, name_prefix=f"{name}.")
    ref = {"$ref": f"#/components/schemas/{name}"}
    body_schema = {
        "oneOf": [
            ref,
            {
                "type": "array",
                "title": f"{name}Batch",
                "description": "A batch: all events are published, or none.",
                "items": ref,
                "minItems": 1,
                "maxItems": max_batch,
            },
        ]
    }
    media: dict[str, Any] = {"schema": body_schema}
    if doc.examples:
        first = doc.examples[0]
        media["examples"] = {
            "event": {"summary": "one event", "value": first},
            "batch": {"summary": "a batch (JSON array)", "value": list(doc.examples[:2])},
        }
    key = doc.avro.get("x-key")
    lines = [
        str(doc.avro.get("doc") or f"Events of {doc.topic}."),
        "",
        f"Schema: subject `{doc.topic}-value`, id {doc.schema_id}"
        + (f"; the event's `{key}` is its Kafka key." if isinstance(key, str) else "."),
        "",
        _JSON_RULES,
    ]
    operation = {
        "tags": [doc.department],
        "summary": f"Publish {doc.topic} events",
        "description": "\n".join(lines),
        "operationId": operation_id(doc.topic),
        "security": [{SECURITY_SCHEME: []}],
        "parameters": [IDEMPOTENCY_KEY],
        "requestBody": {
            "required": True,
            "description": "One event (a JSON object) or a batch (a JSON array of events).",
            "content": {"application/json": media},
        },
        "responses": {
            "201": {
                "description": "Every event was acknowledged by the broker: ids, partitions, "
                "offsets, in the order sent (or, for a repeated `Idempotency-Key`, the first "
                "answer again).",
                "headers": {
                    "Idempotent-Replayed": {
                        "description": "`true` when this is the first answer to the key again.",
                        "required": False,
                        "schema": {"type": "string", "enum": ["true"]},
                    }
                },
                "content": {"application/json": {"schema": {"$ref": PUBLISHED_REF}}},
            },
            **problem_responses(max_batch=max_batch, max_body_bytes=max_body_bytes),
        },
    }
    # titled by the component, not the record: two topics' records may share a name, and
    # client generators name their classes by the title
    event = {**derived.schema, "title": name} if "$ref" not in derived.schema else derived.schema
    components = {name: event, **derived.definitions}
    return {"post": operation}, components


def document(
    base: Mapping[str, Any],
    topics: Iterable[TopicDoc],
    *,
    max_batch: int,
    max_body_bytes: int,
    departments: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``base`` (FastAPI's document of the other routes) with one operation per topic.

    ``departments``: name -> description, for the tags that group the operations in /docs.
    """
    spec = copy.deepcopy(dict(base))
    paths = spec.setdefault("paths", {})
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    used: set[str] = set()
    for doc in sorted(topics, key=lambda d: d.topic):
        name = component_name(doc.topic)
        # a.b-c.d and a.b.c-d spell the same class name: the later one gets a number
        number = 1
        while name in schemas:
            number += 1
            name = f"{component_name(doc.topic)}{number}"
        item, parts = topic_path_item(
            doc, max_batch=max_batch, max_body_bytes=max_body_bytes, name=name
        )
        paths[f"/v1/topics/{doc.topic}/events"] = item
        schemas.update(parts)
        used.add(doc.department)
    tags = spec.setdefault("tags", [])
    for name in sorted(used):
        tag: dict[str, Any] = {"name": name}
        if departments and departments.get(name):
            tag["description"] = departments[name]
        tags.append(tag)
    return spec
