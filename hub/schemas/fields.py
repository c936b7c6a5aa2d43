"""Walk every record field of a schema (at any depth) with its dotted path and classification.

Works on the parsed JSON (not on ``avro.schema`` objects) so ``doc`` and ``x-pii`` are read as
written. Paths: nested record fields are joined with ``.`` (``new_address.postcode``); a field
inside an array's items gets ``[]`` after the array field (``children[].birth_date``), inside a
map's values ``{}``; unions are transparent (``["null", Address]`` → ``address.street``).
Named types are resolved, so a type defined once and referenced again (old and new address)
yields its fields under both paths. A recursive reference (a type inside itself) is not
unrolled: its fields are already listed where the type is defined.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PII_CLASSES = ("direct", "quasi", "sensitive", "none")
PII_KEY = "x-pii"
_NAMED = ("record", "error", "enum", "fixed")


@dataclass(frozen=True)
class FieldInfo:
    """One record field. ``avro_type`` is its type as written, named references resolved."""

    path: str
    avro_type: Any
    pii: str | None
    doc: str | None
    record: str  # full name of the record that declares the field

    @property
    def optional(self) -> bool:
        """A union with null: the field may be absent in an event."""
        return isinstance(self.avro_type, list) and "null" in self.avro_type

    @property
    def value_type(self) -> Any:
        """The type without the null branch of an optional field."""
        if isinstance(self.avro_type, list):
            rest = [t for t in self.avro_type if t != "null"]
            return rest[0] if len(rest) == 1 else rest
        return self.avro_type

    @property
    def type_name(self) -> str:
        """``"string"``, ``"long"``, ``"record"``, ``"enum"``, ... or ``"union"``."""
        value = self.value_type
        if isinstance(value, list):
            return "union"
        if isinstance(value, Mapping):
            return str(value.get("type"))
        return str(value)

    @property
    def logical_type(self) -> str | None:
        value = self.value_type
        return value.get("logicalType") if isinstance(value, Mapping) else None


def iter_fields(schema: Any) -> Iterator[FieldInfo]:
    """Every field of every record in ``schema``, depth first, in declaration order."""
    yield from _walk(schema, "", "", {}, ())


def resolve_named_types(schema: Any) -> dict[str, Mapping[str, Any]]:
    """Full name → definition of every named type in ``schema``."""
    names: dict[str, Mapping[str, Any]] = {}
    for _ in _walk(schema, "", "", names, ()):
        pass
    return names


def _walk(
    node: Any,
    prefix: str,
    namespace: str,
    names: dict[str, Mapping[str, Any]],
    stack: tuple[str, ...],
) -> Iterator[FieldInfo]:
    if isinstance(node, list):
        for branch in node:
            yield from _walk(branch, prefix, namespace, names, stack)
        return
    if isinstance(node, str):
        fullname = _fullname(node, namespace)
        definition = names.get(fullname) or names.get(node)
        if definition is not None and fullname not in stack:
            ref_namespace = fullname.rpartition(".")[0]
            yield from _walk_definition(definition, fullname, prefix, ref_namespace, names, stack)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    if kind == "array":
        yield from _walk(node.get("items"), prefix + "[]", namespace, names, stack)
    elif kind == "map":
        yield from _walk(node.get("values"), prefix + "{}", namespace, names, stack)
    elif kind in _NAMED and isinstance(node.get("name"), str):
        name = node["name"]
        explicit = node.get("namespace")
        own_namespace = explicit if isinstance(explicit, str) and "." not in name else namespace
        fullname = _fullname(name, own_namespace)
        names.setdefault(fullname, node)
        yield from _walk_definition(
            node, fullname, prefix, fullname.rpartition(".")[0], names, stack
        )
    elif isinstance(kind, list | Mapping):
        yield from _walk(kind, prefix, namespace, names, stack)


def _walk_definition(
    node: Mapping[str, Any],
    fullname: str,
    prefix: str,
    namespace: str,
    names: dict[str, Mapping[str, Any]],
    stack: tuple[str, ...],
) -> Iterator[FieldInfo]:
    if node.get("type") not in ("record", "error") or not isinstance(node.get("fields"), list):
        return
    stack = (*stack, fullname)
    for field in node["fields"]:
        if not isinstance(field, Mapping):
            continue
        path = f"{prefix}.{field.get('name')}" if prefix else str(field.get("name"))
        field_type = field.get("type")
        yield FieldInfo(
            path=path,
            avro_type=_resolved(field_type, namespace, names),
            pii=field.get(PII_KEY),
            doc=field.get("doc"),
            record=fullname,
        )
        yield from _walk(field_type, path, namespace, names, stack)


def _resolved(node: Any, namespace: str, names: Mapping[str, Mapping[str, Any]]) -> Any:
    """Replace a top-level reference (also inside a union) by its definition."""
    if isinstance(node, str):
        return names.get(_fullname(node, namespace)) or names.get(node) or node
    if isinstance(node, list):
        return [_resolved(branch, namespace, names) for branch in node]
    return node


def _fullname(name: str, namespace: str) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"
