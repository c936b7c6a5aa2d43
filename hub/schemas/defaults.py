"""Is a JSON field default valid for its Avro type? (Specification, "field default values".)"""

from __future__ import annotations

from typing import Any

import avro.schema

_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def default_problem(schema: avro.schema.Schema, value: Any) -> str | None:
    """None when ``value`` is a valid JSON default for ``schema``, else what is wrong."""
    kind = schema.type
    if kind == "union":
        # A union's default belongs to its first branch.
        first = schema.schemas[0]
        problem = default_problem(first, value)
        return (
            f"a union's default must match its first branch ({first.type}): {problem}"
            if (problem)
            else None
        )
    checker = _CHECKS.get(kind)
    if checker is None:
        return None
    return checker(schema, value)


def _null(_: Any, value: Any) -> str | None:
    return None if value is None else f"expected null, got {value!r}"


def _boolean(_: Any, value: Any) -> str | None:
    return None if isinstance(value, bool) else f"expected true/false, got {value!r}"


def _integer(schema: Any, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"expected an integer for {schema.type}, got {value!r}"
    low, high = _INT_RANGE[schema.type]
    return None if low <= value <= high else f"{value} is out of range for {schema.type}"


def _number(schema: Any, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected a number for {schema.type}, got {value!r}"
    return None


def _string(_: Any, value: Any) -> str | None:
    return None if isinstance(value, str) else f"expected a string, got {value!r}"


def _bytes(_: Any, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"expected a string of code points 0-255 for bytes, got {value!r}"
    return None if all(ord(c) < 256 for c in value) else "bytes default has code points > 255"


def _fixed(schema: Any, value: Any) -> str | None:
    problem = _bytes(schema, value)
    if problem:
        return problem
    return None if len(value) == schema.size else f"expected {schema.size} bytes, got {len(value)}"


def _enum(schema: Any, value: Any) -> str | None:
    if value in schema.symbols:
        return None
    return f"{value!r} is not a symbol of enum {schema.fullname}"


def _array(schema: Any, value: Any) -> str | None:
    if not isinstance(value, list):
        return f"expected a JSON array, got {value!r}"
    for index, item in enumerate(value):
        problem = default_problem(schema.items, item)
        if problem:
            return f"item {index}: {problem}"
    return None


def _map(schema: Any, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"expected a JSON object, got {value!r}"
    for key, item in value.items():
        problem = default_problem(schema.values, item)
        if problem:
            return f"key {key!r}: {problem}"
    return None


def _record(schema: Any, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"expected a JSON object for record {schema.fullname}, got {value!r}"
    for field in schema.fields:
        if field.name in value:
            problem = default_problem(field.type, value[field.name])
        elif field.has_default:
            problem = None
        else:
            problem = "missing and the field has no default"
        if problem:
            return f"field {field.name!r}: {problem}"
    return None


_CHECKS = {
    "null": _null,
    "boolean": _boolean,
    "int": _integer,
    "long": _integer,
    "float": _number,
    "double": _number,
    "string": _string,
    "bytes": _bytes,
    "fixed": _fixed,
    "enum": _enum,
    "array": _array,
    "map": _map,
    "record": _record,
    "error": _record,
}
