"""Explain why a record does not match an Avro schema, naming the field by its dotted path.

Two forms of the same rules. ``compile_guard`` is the fast path: a predicate built once per
schema, one closure call per field, no message. ``find_problem`` is the slow path, run only for
a refused record, and says where and why: ``new_address.postcode: expected string, got int``.
Strict where fastavro's encoder is lenient (it writes ``None`` as ``false``, truncates floats
into longs, ignores unknown keys): nothing a department sends is changed or dropped silently.

Works on fastavro's parsed schema (full names, ``__named_schemas``), so named types resolve.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
# What fastavro's writer accepts for a logical type besides the underlying Avro type.
_LOGICAL = {
    "timestamp-millis": (dt.datetime,),
    "timestamp-micros": (dt.datetime,),
    "local-timestamp-millis": (dt.datetime,),
    "local-timestamp-micros": (dt.datetime,),
    "date": (dt.date,),
    "time-millis": (dt.time,),
    "time-micros": (dt.time,),
    "decimal": (decimal.Decimal,),
    "uuid": (uuid.UUID,),
}


@dataclass(frozen=True)
class Problem:
    """Where a record breaks its schema (``path`` None: the record itself) and how."""

    path: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def find_problem(parsed_schema: Mapping[str, Any], record: Any) -> Problem | None:
    """The first mismatch between ``record`` and ``parsed_schema`` (fastavro-parsed), or None."""
    return _Checker(parsed_schema.get("__named_schemas", {})).check(parsed_schema, record, "")


def type_of(value: Any) -> str:
    """The Avro-ish name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes | bytearray):
        return "bytes"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


class _Checker:
    def __init__(self, named: Mapping[str, Any]) -> None:
        self._named = named

    def resolve(self, schema: Any) -> Any:
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            return self._named.get(schema, schema)
        return schema

    def describe(self, schema: Any) -> str:
        schema = self.resolve(schema)
        if isinstance(schema, list):
            return "one of " + ", ".join(self.describe(branch) for branch in schema)
        if isinstance(schema, Mapping):
            kind = schema.get("type")
            if kind in ("record", "error", "enum", "fixed"):
                return f"{kind} {_short(schema.get('name', '?'))}"
            if kind == "array":
                return f"array of {self.describe(schema.get('items'))}"
            if kind == "map":
                return f"map of {self.describe(schema.get('values'))}"
            logical = schema.get("logicalType")
            if logical in _LOGICAL:
                return f"{kind} ({logical})"
            return self.describe(kind)
        return str(schema)

    def check(self, schema: Any, value: Any, path: str) -> Problem | None:
        schema = self.resolve(schema)
        if isinstance(schema, list):
            return self._union(schema, value, path)
        if isinstance(schema, str):
            return self._primitive(schema, value, path)
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if logical in _LOGICAL and isinstance(value, _LOGICAL[logical]):
            return None
        if kind in ("record", "error"):
            return self._record(schema, value, path)
        if kind == "enum":
            return self._enum(schema, value, path)
        if kind == "array":
            return self._array(schema, value, path)
        if kind == "map":
            return self._map(schema, value, path)
        if kind == "fixed":
            return self._fixed(schema, value, path)
        if isinstance(kind, str):
            problem = self._primitive(kind, value, path)
            if problem is not None and logical in _LOGICAL:
                return self._mismatch(schema, value, path)
            return problem
        return self.check(kind, value, path)

    def _mismatch(self, schema: Any, value: Any, path: str) -> Problem:
        return Problem(path or None, f"expected {self.describe(schema)}, got {type_of(value)}")

    def _primitive(self, kind: str, value: Any, path: str) -> Problem | None:
        if kind == "null":
            ok = value is None
        elif kind == "boolean":
            ok = isinstance(value, bool)
        elif kind in _RANGES:
            ok = isinstance(value, int) and not isinstance(value, bool)
            low, high = _RANGES[kind]
            if ok and not low <= value <= high:
                return Problem(path or None, f"{value} is out of range for Avro {kind}")
        elif kind in ("float", "double"):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind == "string":
            ok = isinstance(value, str)
        elif kind == "bytes":
            ok = isinstance(value, bytes | bytearray)
        else:
            return Problem(path or None, f"unknown type {kind!r} in the schema")
        return None if ok else self._mismatch(kind, value, path)

    def _union(self, branches: list[Any], value: Any, path: str) -> Problem | None:
        problems = []
        for branch in branches:
            problem = self.check(branch, value, path)
            if problem is None:
                return None
            problems.append((branch, problem))
        # A value of the right kind for exactly one branch explains itself from inside it
        # (``address.postcode: expected string``) better than "expected one of null, Address".
        if value is not None:
            candidates = [p for b, p in problems if _same_kind(self.resolve(b), value)]
            if len(candidates) == 1:
                return candidates[0]
        return self._mismatch(branches, value, path)

    def _record(self, schema: Mapping[str, Any], value: Any, path: str) -> Problem | None:
        if not isinstance(value, Mapping):
            return self._mismatch(schema, value, path)
        fields = schema.get("fields", [])
        for field in fields:
            name = field["name"]
            inner = f"{path}.{name}" if path else name
            if name not in value:
                if "default" in field:
                    continue
                if self.check(field["type"], None, inner) is None:
                    continue  # fastavro writes null for a missing nullable field
                return Problem(inner, f"missing, expected {self.describe(field['type'])}")
            problem = self.check(field["type"], value[name], inner)
            if problem is not None:
                return problem
        known = {field["name"] for field in fields}
        unknown = [key for key in value if key not in known]
        if unknown:
            first = f"{path}.{unknown[0]}" if path else str(unknown[0])
            return Problem(
                first,
                f"unknown field, not in {self.describe(schema)} "
                f"(fields: {', '.join(f['name'] for f in fields)})",
            )
        return None

    def _enum(self, schema: Mapping[str, Any], value: Any, path: str) -> Problem | None:
        symbols = schema.get("symbols", [])
        if not isinstance(value, str):
            return self._mismatch(schema, value, path)
        if value not in symbols:
            return Problem(
                path or None,
                f"{value!r} is not a symbol of {self.describe(schema)} ({', '.join(symbols)})",
            )
        return None

    def _array(self, schema: Mapping[str, Any], value: Any, path: str) -> Problem | None:
        if not isinstance(value, Sequence) or isinstance(value, str | bytes | bytearray):
            return self._mismatch(schema, value, path)
        for index, item in enumerate(value):
            problem = self.check(schema["items"], item, f"{path}[{index}]")
            if problem is not None:
                return problem
        return None

    def _map(self, schema: Mapping[str, Any], value: Any, path: str) -> Problem | None:
        if not isinstance(value, Mapping):
            return self._mismatch(schema, value, path)
        for key, item in value.items():
            if not isinstance(key, str):
                return Problem(path or None, f"map key {key!r} is not a string")
            problem = self.check(schema["values"], item, f"{path}[{key}]")
            if problem is not None:
                return problem
        return None

    def _fixed(self, schema: Mapping[str, Any], value: Any, path: str) -> Problem | None:
        if not isinstance(value, bytes | bytearray):
            return self._mismatch(schema, value, path)
        if len(value) != schema.get("size"):
            return Problem(
                path or None, f"expected {schema.get('size')} bytes for {self.describe(schema)}"
            )
        return None


def _same_kind(schema: Any, value: Any) -> bool:
    kind = schema.get("type") if isinstance(schema, Mapping) else schema
    if kind in ("record", "error", "map"):
        return isinstance(value, Mapping)
    if kind == "array":
        return isinstance(value, list | tuple)
    return False


def _short(name: str) -> str:
    return name.rpartition(".")[2]


Guard = Callable[[Any], bool]
_MISSING = object()


def _is_bool(value: Any) -> bool:
    return value is True or value is False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int_guard(low: int, high: int) -> Guard:
    def guard(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return guard


_PRIMITIVE_GUARDS: dict[str, Guard] = {
    "null": lambda value: value is None,
    "boolean": _is_bool,
    "int": _int_guard(*_RANGES["int"]),
    "long": _int_guard(*_RANGES["long"]),
    "float": _is_number,
    "double": _is_number,
    "bytes": lambda value: isinstance(value, bytes | bytearray),
    "string": lambda value: isinstance(value, str),
}


def compile_guard(parsed_schema: Mapping[str, Any]) -> Guard:
    """A fast, strict predicate: True exactly when ``find_problem`` finds nothing.

    fastavro's encoder is lenient where data would be lost without a word: it writes ``None``
    or ``"yes"`` as a boolean, truncates 1.5 to a long, overflows an int, spells a string into
    an array of characters and ignores unknown keys. The guard refuses all of that for the
    cost of one closure call per field; only a refused record pays for ``find_problem``.
    """
    named = parsed_schema.get("__named_schemas", {})
    built: dict[str, Guard] = {}

    def build(schema: Any) -> Guard:
        if isinstance(schema, str):
            if schema in _PRIMITIVE_GUARDS:
                return _PRIMITIVE_GUARDS[schema]
            if schema in built:  # a named type used again, or inside itself: late-bound
                return lambda value: built[schema](value)
            if schema not in named:
                raise ValueError(f"unknown type {schema!r} in the schema")
            schema = named[schema]
        if isinstance(schema, list):
            guards = tuple(build(branch) for branch in schema)
            if len(schema) == 2 and schema[0] == "null":
                other = guards[1]
                return lambda value: value is None or other(value)
            return lambda value: any(guard(value) for guard in guards)
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if logical in _LOGICAL and isinstance(kind, str) and kind in _PRIMITIVE_GUARDS:
            base, accepted = _PRIMITIVE_GUARDS[kind], _LOGICAL[logical]
            return lambda value: isinstance(value, accepted) or base(value)
        if kind in ("record", "error"):
            return _record_guard(schema, built, build)
        if kind == "enum":
            symbols = frozenset(schema.get("symbols", ()))
            return lambda value: isinstance(value, str) and value in symbols
        if kind == "array":
            item = build(schema.get("items"))
            return lambda value: (
                isinstance(value, Sequence)
                and not isinstance(value, str | bytes | bytearray)
                and all(map(item, value))
            )
        if kind == "map":
            inner = build(schema.get("values"))
            return lambda value: (
                isinstance(value, Mapping)
                and all(isinstance(key, str) for key in value)
                and all(map(inner, value.values()))
            )
        if kind == "fixed":
            size = schema.get("size")
            return lambda value: isinstance(value, bytes | bytearray) and len(value) == size
        return build(kind)

    return build(parsed_schema)


def _record_guard(
    schema: Mapping[str, Any], built: dict[str, Guard], build: Callable[[Any], Guard]
) -> Guard:
    name = schema.get("name", "")
    built[name] = lambda value: False  # replaced below; only reached by a recursive reference
    fields = []
    for field in schema.get("fields", []):
        guard = build(field["type"])
        may_be_absent = "default" in field or guard(None)
        fields.append((field["name"], guard, may_be_absent))
    known = frozenset(field[0] for field in fields)
    checks = tuple(fields)

    def guard(value: Any) -> bool:
        # ``type(...) is dict`` first: the ABC check behind isinstance(Mapping) is slow.
        if type(value) is not dict and not isinstance(value, Mapping):
            return False
        if not known.issuperset(value):
            return False
        for field_name, field_guard, may_be_absent in checks:
            inner = value.get(field_name, _MISSING)
            if inner is _MISSING:
                if not may_be_absent:
                    return False
            elif not field_guard(inner):
                return False
        return True

    built[name] = guard
    return guard
