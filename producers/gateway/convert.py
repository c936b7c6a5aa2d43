"""JSON events to Avro records, driven by the registered schema (pure, no I/O).

Department systems speak JSON, not Avro's JSON encoding, so the rules are the ones people
expect: timestamps as RFC 3339 strings (with an offset) or epoch milliseconds, dates as
``YYYY-MM-DD``, enums as their symbol, unions as the plain value (``"x"``, not
``{"string": "x"}``), bytes as base64. Every problem is reported with the dotted path of the
field (``location.lat``, ``measures[2]``), all of them at once, so a client fixes a bad event in
one round trip. A schema is compiled once into converter closures and reused for each event.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
_TWO_63 = 2.0**63
FLOAT_MAX = 3.4028234663852886e38
"""The largest finite IEEE 754 single: an Avro ``float`` holds no more."""
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Offset minutes 00-59: fromisoformat would read -00:60 as an hour.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:[0-5]\d)?$"
)
_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?", re.ASCII)
_UUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}", re.ASCII)
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


@dataclass(frozen=True)
class FieldError:
    """One problem of one event: ``path`` is the dotted field path ("" for the event itself)."""

    path: str
    message: str
    rule: str | None = None
    """The contract's quality rule the event breaks, when that is the problem."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConversionError(ValueError):
    """An event does not fit the schema; ``errors`` lists every bad field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class SchemaError(ValueError):
    """The schema itself cannot be compiled (unknown named type, bad union, ...)."""


class _Invalid:
    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()
"""Returned by a converter that appended an error: the caller must not use the value."""

Converter = Callable[[Any, str, list[FieldError]], Any]


@dataclass(frozen=True)
class RecordConverter:
    """Converts one JSON event (a dict) into the record the Avro writer takes."""

    schema: Any
    _convert: Converter
    check: Callable[[dict[str, Any], bool], list[FieldError]] | None = None
    """Run on a converted record: the reject quality rules it breaks (``schemas.SchemaCache``);
    its flag says whether a refusal is counted (``convert``) or only asked about (``errors``)."""

    def convert(self, event: Any) -> dict[str, Any]:
        """The Avro-ready record; raises ConversionError listing every bad field."""
        errors: list[FieldError] = []
        record = self._convert(event, "", errors)
        if not errors and self.check is not None:
            errors = self.check(record, True)
        if errors:
            raise ConversionError(errors)
        return record

    def errors(self, event: Any) -> list[FieldError]:
        """Every problem of ``event`` (empty when it converts)."""
        errors: list[FieldError] = []
        record = self._convert(event, "", errors)
        if not errors and self.check is not None:
            errors = self.check(record, False)
        return errors


def compile_schema(schema: Any) -> RecordConverter:
    """Compile a parsed Avro schema (JSON data) into a reusable converter."""
    names: dict[str, Converter] = {}
    return RecordConverter(schema, _compile(schema, "", names))


def describe(value: Any) -> str:
    """A short description of a JSON value for error messages (no personal data beyond type)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _fullname(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


# -- compilation --------------------------------------------------------------------------------


def _compile(node: Any, namespace: str, names: dict[str, Converter]) -> Converter:
    if isinstance(node, list):
        return _union([_compile(b, namespace, names) for b in node], node, namespace)
    if isinstance(node, str):
        if node in _PRIMITIVES:
            return _PRIMITIVE_CONVERTERS[node]
        full = _fullname(node, namespace)
        if full not in names and node not in names:
            raise SchemaError(f"unknown named type {node!r}")
        key = full if full in names else node
        # Looked up at call time: a record may refer to itself.
        return lambda value, path, errors: names[key](value, path, errors)
    if not isinstance(node, Mapping):
        raise SchemaError(f"not an Avro type: {node!r}")
    kind = node.get("type")
    logical = node.get("logicalType")
    if kind in ("record", "error"):
        return _record(node, namespace, names)
    if kind == "enum":
        conv = _enum(node)
        names[_named(node, namespace)] = conv
        return conv
    if kind == "fixed":
        conv = _fixed(node)
        names[_named(node, namespace)] = conv
        return conv
    if kind == "array":
        return _array(_compile(node.get("items"), namespace, names))
    if kind == "map":
        return _map(_compile(node.get("values"), namespace, names))
    if isinstance(kind, list | Mapping):
        return _compile(kind, namespace, names)
    if logical in _LOGICAL_CONVERTERS and (kind, logical) in _LOGICAL_BASES:
        return _LOGICAL_CONVERTERS[logical]
    if logical == "decimal" and kind == "bytes":
        return _decimal(int(node.get("precision", 38)), int(node.get("scale", 0)))
    if kind in _PRIMITIVES:
        return _PRIMITIVE_CONVERTERS[kind]
    raise SchemaError(f"unsupported Avro type: {kind!r}")


def _named(node: Mapping[str, Any], namespace: str) -> str:
    name = node["name"]
    explicit = node.get("namespace")
    if "." not in name and isinstance(explicit, str) and explicit:
        return f"{explicit}.{name}"
    return _fullname(name, namespace)


def _record(node: Mapping[str, Any], namespace: str, names: dict[str, Converter]) -> Converter:
    full = _named(node, namespace)
    own_namespace = full.rpartition(".")[0]
    fields: list[tuple[str, Converter, Any]] = []
    missing = object()

    def convert(value: Any, path: str, errors: list[FieldError]) -> Any:
        if not isinstance(value, Mapping):
            errors.append(FieldError(path, f"expected an object, got {describe(value)}"))
            return INVALID
        out: dict[str, Any] = {}
        for name, conv, default in fields:
            field_path = _join(path, name)
            if name in value:
                out[name] = conv(value[name], field_path, errors)
            elif default is not missing:
                out[name] = default
            else:
                errors.append(FieldError(field_path, "required field is missing"))
        if len(value) > len(out) or any(k not in out for k in value):
            known = {name for name, _, _ in fields}
            for key in value:
                if key not in known:
                    errors.append(FieldError(_join(path, str(key)), "unknown field"))
        return out

    names[full] = convert
    for field in node.get("fields", []):
        conv = _compile(field["type"], own_namespace, names)
        default = missing
        if "default" in field:
            default = _default(conv, field["type"], field["default"])
        fields.append((field["name"], conv, default))
    return convert


def _default(conv: Converter, avro_type: Any, value: Any) -> Any:
    """A field default, written in Avro JSON, as the record value (computed once)."""
    first = avro_type[0] if isinstance(avro_type, list) and avro_type else avro_type
    kind = first.get("type") if isinstance(first, Mapping) else first
    if kind in ("bytes", "fixed") and isinstance(value, str):
        return value.encode("latin-1")  # Avro JSON writes bytes as code points 0-255
    if isinstance(first, Mapping) and "logicalType" in first and isinstance(value, int):
        # the underlying number, which the writer takes as it is (the converter would read a
        # timestamp-micros default as milliseconds)
        return value
    errors: list[FieldError] = []
    converted = conv(value, "", errors)
    # A default the converter cannot read (Avro JSON quirk) is passed on as written.
    return value if errors else converted


def _union(branches: list[Converter], node: list[Any], namespace: str) -> Converter:
    nullable = "null" in node
    others = [c for c, t in zip(branches, node, strict=True) if t != "null"]
    names = [_type_label(t, namespace) for t in node if t != "null"]

    def convert(value: Any, path: str, errors: list[FieldError]) -> Any:
        if value is None:
            if nullable:
                return None
            errors.append(FieldError(path, f"must not be null (expected {' or '.join(names)})"))
            return INVALID
        first: list[FieldError] | None = None
        for conv in others:
            attempt: list[FieldError] = []
            result = conv(value, path, attempt)
            if not attempt:
                return result
            first = first if first is not None else attempt
        if len(others) == 1 and first is not None:
            errors.extend(first)
        else:
            errors.append(FieldError(path, f"{describe(value)} matches none of {', '.join(names)}"))
        return INVALID

    return convert


def _type_label(node: Any, namespace: str) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, Mapping):
        if "name" in node:
            return _named(node, namespace).rpartition(".")[2]
        return str(node.get("logicalType") or node.get("type"))
    return "union"


# -- leaves -------------------------------------------------------------------------------------


def _null(value: Any, path: str, errors: list[FieldError]) -> Any:
    if value is not None:
        errors.append(FieldError(path, f"expected null, got {describe(value)}"))
        return INVALID
    return None


def _boolean(value: Any, path: str, errors: list[FieldError]) -> Any:
    if not isinstance(value, bool):
        errors.append(FieldError(path, f"expected true or false, got {describe(value)}"))
        return INVALID
    return value


def _integer(bounds: tuple[int, int], label: str) -> Converter:
    low, high = bounds

    def convert(value: Any, path: str, errors: list[FieldError]) -> Any:
        if isinstance(value, float) and value.is_integer():
            # orjson reads integers beyond 64 bits as floats: -2**63 - 1 arrives as -2.0**63
            if not -_TWO_63 < value < _TWO_63:
                errors.append(FieldError(path, f"{value!r} is out of range for Avro {label}"))
                return INVALID
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(FieldError(path, f"expected an integer, got {describe(value)}"))
            return INVALID
        if not low <= value <= high:
            errors.append(FieldError(path, f"{value} is out of range for Avro {label}"))
            return INVALID
        return value

    return convert


def _floating(value: Any, path: str, errors: list[FieldError]) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(FieldError(path, f"expected a number, got {describe(value)}"))
        return INVALID
    return float(value)


def _float32(value: Any, path: str, errors: list[FieldError]) -> Any:
    number = _floating(value, path, errors)
    # Beyond it the Avro writer fails (OverflowError) instead of naming the field.
    if number is not INVALID and not -FLOAT_MAX <= number <= FLOAT_MAX:
        errors.append(FieldError(path, f"{value} is out of range for Avro float"))
        return INVALID
    return number


def _string(value: Any, path: str, errors: list[FieldError]) -> Any:
    if not isinstance(value, str):
        errors.append(FieldError(path, f"expected a string, got {describe(value)}"))
        return INVALID
    return value


def _bytes(value: Any, path: str, errors: list[FieldError]) -> Any:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        errors.append(FieldError(path, f"expected base64 text, got {describe(value)}"))
        return INVALID
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        errors.append(FieldError(path, "not valid base64"))
        return INVALID


def _enum(node: Mapping[str, Any]) -> Converter:
    symbols = list(node.get("symbols", []))
    allowed = frozenset(symbols)
    shown = ", ".join(symbols[:12]) + (", ..." if len(symbols) > 12 else "")

    def convert(value: Any, path: str, errors: list[FieldError]) -> Any:
        if not isinstance(value, str) or value not in allowed:
            got = repr(value) if isinstance(value, str) else describe(value)
            errors.append(FieldError(path, f"{got} is not one of {shown}"))
            return INVALID
        return value

    return convert


def _fixed(node: Mapping[str, Any]) -> Converter:
    size = int(node.get("size", 0))

    def convert(value: Any, path: str, errors: list[FieldError]) -> Any:
        data = _bytes(value, path, errors)
        if data is INVALID:
            return INVALID
        if len(data) != size:
            errors.append(FieldError(path, f"expected {size} bytes, got {len(data)}"))
            return INVALID
        return data

    return convert


def _array(items: Converter) -> Converter:
    def convert(value: Any, path: str, errors: list[FieldError]) -> Any:
        if not isinstance(value, list | tuple):
            errors.append(FieldError(path, f"expected an array, got {describe(value)}"))
            return INVALID
        return [items(item, f"{path}[{i}]", errors) for i, item in enumerate(value)]

    return convert


def _map(values: Converter) -> Converter:
    def convert(value: Any, path: str, errors: list[FieldError]) -> Any:
        if not isinstance(value, Mapping):
            errors.append(FieldError(path, f"expected an object, got {describe(value)}"))
            return INVALID
        return {str(k): values(v, _join(path, str(k)), errors) for k, v in value.items()}

    return convert


# -- logical types ------------------------------------------------------------------------------


def parse_timestamp(value: Any) -> datetime:
    """An aware datetime from RFC 3339 text (offset required), epoch millis or a datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a timestamp needs a UTC offset")
        return value
    if isinstance(value, bool):
        raise ValueError("expected an RFC 3339 timestamp or epoch milliseconds, got a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON does not tell 1795597200000 from 1795597200000.0
    if isinstance(value, int):
        return EPOCH + timedelta(milliseconds=value)
    if isinstance(value, str):
        if not _RFC3339.match(value):
            raise ValueError(f"{value!r} is not an RFC 3339 timestamp (2026-11-25T14:30:00Z)")
        try:
            parsed = datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid timestamp: {exc}") from None
        if parsed.tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset (add Z or +01:00)")
        return parsed
    raise ValueError(f"expected an RFC 3339 timestamp or epoch milliseconds, got {describe(value)}")


def _timestamp(value: Any, path: str, errors: list[FieldError]) -> Any:
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError) as exc:
        errors.append(FieldError(path, str(exc)))
        return INVALID


def _local_timestamp(value: Any, path: str, errors: list[FieldError]) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value
    if isinstance(value, str) and _RFC3339.match(value) and value[-1] not in "Zz":
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                return parsed
        except ValueError:
            pass
    errors.append(FieldError(path, "expected a local date-time without offset (2026-11-25T14:30)"))
    return INVALID


def _date(value: Any, path: str, errors: list[FieldError]) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            errors.append(FieldError(path, f"{value!r} is not a valid date: {exc}"))
            return INVALID
    errors.append(FieldError(path, f"expected a date YYYY-MM-DD, got {describe(value)}"))
    return INVALID


def _time(value: Any, path: str, errors: list[FieldError]) -> Any:
    if isinstance(value, time):
        return value
    # HH:MM[:SS[.ffffff]] only: what the OpenAPI document says (fromisoformat also reads
    # 1430 or 14:30+01:00, whose offset an Avro time could not keep)
    if isinstance(value, str) and _TIME.fullmatch(value):
        return time.fromisoformat(value)
    errors.append(FieldError(path, f"expected a time HH:MM:SS, got {describe(value)}"))
    return INVALID


def _uuid(value: Any, path: str, errors: list[FieldError]) -> Any:
    # the canonical 8-4-4-4-12 form only (uuid.UUID also reads braces, urn:uuid: and no dashes)
    if isinstance(value, str) and _UUID.fullmatch(value):
        return str(uuid.UUID(value))
    errors.append(FieldError(path, f"expected a UUID, got {describe(value)}"))
    return INVALID


def _decimal(precision: int, scale: int) -> Converter:
    quantum = Decimal(1).scaleb(-scale)

    def convert(value: Any, path: str, errors: list[FieldError]) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            errors.append(FieldError(path, f"expected a decimal number, got {describe(value)}"))
            return INVALID
        try:
            number = Decimal(str(value))
            exact = number.quantize(quantum)
        except InvalidOperation:
            errors.append(FieldError(path, f"{value!r} is not a decimal number"))
            return INVALID
        if exact != number or len(exact.as_tuple().digits) > precision:
            errors.append(FieldError(path, f"{value} does not fit decimal({precision},{scale})"))
            return INVALID
        return exact

    return convert


_PRIMITIVE_CONVERTERS: dict[str, Converter] = {
    "null": _null,
    "boolean": _boolean,
    "int": _integer(INT_RANGE, "int"),
    "long": _integer(LONG_RANGE, "long"),
    "float": _float32,
    "double": _floating,
    "bytes": _bytes,
    "string": _string,
}
_LOGICAL_CONVERTERS: dict[str, Converter] = {
    "timestamp-millis": _timestamp,
    "timestamp-micros": _timestamp,
    "local-timestamp-millis": _local_timestamp,
    "local-timestamp-micros": _local_timestamp,
    "date": _date,
    "time-millis": _time,
    "time-micros": _time,
    "uuid": _uuid,
}
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
