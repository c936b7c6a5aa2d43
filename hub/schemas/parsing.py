"""Turn schema text or JSON into a validated ``avro.schema.Schema``, or a clear error.

Beyond what ``avro.schema.parse`` checks, field defaults are validated against their type
(the specification requires it, the avro package does not check): a wrong default only
surfaces when a reader needs it, which is too late for a contract.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import avro.errors
import avro.schema

from hub.schemas.defaults import default_problem


class InvalidSchemaError(ValueError):
    """The text is not JSON, or the JSON is not a valid Avro schema."""


def to_json(schema: object, what: str = "schema") -> Any:
    """Accept parsed JSON (dict, list, str naming a type) or JSON text; return parsed JSON.

    A str is JSON text when it parses as JSON; otherwise a bare word like ``"long"`` is taken
    as an already parsed schema naming a type.
    """
    if isinstance(schema, dict | list):
        return schema
    if isinstance(schema, bytes):
        schema = schema.decode("utf-8", errors="replace")
    if not isinstance(schema, str):
        raise InvalidSchemaError(f"{what}: expected JSON text, dict or list, got {type(schema)}")
    text = schema.strip()
    if text[:1] in ("{", "[", '"') or text in ("null", "true", "false") or text[:1].isdigit():
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidSchemaError(f"{what}: bad JSON: {error}") from None
    return text


def parse_schema(
    schema: object, what: str = "schema", *, strict: bool = True
) -> avro.schema.Schema:
    """Parse and validate one schema; ``what`` names it in error messages.

    ``strict=False`` reads a schema that was accepted once (a registry's stored versions, maybe
    written by another registry): names, enum symbols and defaults are not judged again, as
    Confluent does not judge them again."""
    data = to_json(schema, what)
    problem = _structure_problem(data)
    if problem:
        raise InvalidSchemaError(f"{what}: {problem}")
    try:
        with warnings.catch_warnings():
            # Unknown or invalid logical types fall back to the underlying type, as the
            # specification says; the lint reports them separately.
            warnings.simplefilter("ignore", avro.errors.IgnoredLogicalType)
            parsed = avro.schema.make_avsc_object(
                data, validate_enum_symbols=strict, validate_names=strict
            )
    except (avro.errors.AvroException, TypeError, AttributeError, KeyError) as error:
        raise InvalidSchemaError(f"{what}: {_explain(error)}") from None
    if not strict:
        return parsed
    problem = _first_default_problem(parsed)
    if problem:
        raise InvalidSchemaError(f"{what}: {problem}")
    return parsed


def _structure_problem(node: Any) -> str | None:
    """What the avro package lets through: a string where the specification wants a list."""
    if isinstance(node, list):
        return next(filter(None, map(_structure_problem, node)), None)
    if not isinstance(node, dict):
        return None
    where = f"{node.get('type')} {node.get('name', '')}".strip()
    if node.get("type") == "enum" and not isinstance(node.get("symbols"), list):
        return f"{where}: symbols must be a JSON array of strings"
    if not _is_name_list(node.get("aliases")):
        return f"{where}: aliases must be a JSON array of strings"
    for field in node.get("fields") or []:
        if isinstance(field, dict):
            if not _is_name_list(field.get("aliases")):
                return f"field {field.get('name')!r}: aliases must be a JSON array of strings"
            problem = _structure_problem(field.get("type"))
            if problem:
                return problem
    for key in ("items", "values"):
        problem = _structure_problem(node.get(key))
        if problem:
            return problem
    return None


def _is_name_list(value: object) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _explain(error: Exception) -> str:
    message = str(error)
    marker = "Could not make an Avro Schema object from "
    if marker in message:
        name = message.split(marker, 1)[1].split(" (known names", 1)[0]
        return f"unknown type name {name!r} (not a primitive and not defined before this use)"
    return message


def _first_default_problem(schema: avro.schema.Schema) -> str | None:
    """Walk every record once and check each field's default against the field's type."""
    seen: set[int] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, avro.schema.RecordSchema):
            for field in node.fields:
                if field.has_default:
                    problem = default_problem(field.type, field.default)
                    if problem:
                        return (
                            f"record {node.fullname}, field {field.name!r}: bad default: {problem}"
                        )
                stack.append(field.type)
        elif isinstance(node, avro.schema.ArraySchema):
            stack.append(node.items)
        elif isinstance(node, avro.schema.MapSchema):
            stack.append(node.values)
        elif isinstance(node, avro.schema.UnionSchema):
            stack.extend(node.schemas)
    return None


def ignored_logical_types(schema: object) -> list[str]:
    """Logical types the avro package ignores as unknown or invalid (empty when all fine)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", avro.errors.IgnoredLogicalType)
        try:
            avro.schema.make_avsc_object(to_json(schema))
        except (avro.errors.AvroException, TypeError, AttributeError, KeyError):
            return []
    return [
        str(w.message) for w in caught if issubclass(w.category, avro.errors.IgnoredLogicalType)
    ]
