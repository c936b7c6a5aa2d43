"""A flat view of a source Avro schema: every field at any depth by dotted path, with its type.

Built once per compilation; the per-record path never walks schemas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastavro.schema import expand_schema

from hub.agreements.errors import SpecError

PII_CLASSES = ("none", "quasi", "direct", "sensitive")
# Order of severity when several classes meet (a nested record holding several fields).
_SEVERITY = {c: i for i, c in enumerate(PII_CLASSES)}
NAMED = ("record", "error", "enum", "fixed")


def most_severe(classes: list[str]) -> str:
    """The most severe PII class of several (none < quasi < direct < sensitive)."""
    return max(classes, key=lambda c: _SEVERITY.get(c, _SEVERITY["direct"]), default="none")


@dataclass(frozen=True, slots=True)
class SourceField:
    """One field of the source schema, at any depth."""

    path: str
    name: str
    base: Any  # the Avro type without its null branch (expanded, named types inline)
    nullable: bool
    kind: str  # Avro type name of `base`: string, int, record, enum, array, ... or "union"
    logical: str | None
    pii: str  # effective class: own x-pii, "sensitive" inherited from a sensitive ancestor
    doc: str
    parent: str | None  # path of the enclosing record field, None at top level

    @property
    def type_label(self) -> str:
        """Short human-readable type, for error messages."""
        label = f"{self.kind} ({self.logical})" if self.logical else self.kind
        return f"nullable {label}" if self.nullable else label


@dataclass(frozen=True, slots=True)
class SourceSchema:
    """The fields of a source record schema by dotted path, in schema order."""

    name: str  # short record name, e.g. ResidentMoved
    fullname: str
    fields: dict[str, SourceField]


def split_nullable(t: Any) -> tuple[bool, Any]:
    """`["null", X]` → (True, X); a union of several non-null types stays a list."""
    if isinstance(t, list):
        rest = [b for b in t if b != "null"]
        nullable = len(rest) < len(t)
        if len(rest) == 1:
            return nullable, rest[0]
        return nullable, rest
    return False, t


def kind_of(base: Any) -> tuple[str, str | None]:
    """(Avro type name, logical type) of a non-null type."""
    if isinstance(base, list):
        return "union", None
    if isinstance(base, str):
        return base, None
    inner = base["type"]
    if isinstance(inner, dict | list):  # {"type": {"type": "string"}} wrapping
        return kind_of(inner)
    return inner, base.get("logicalType")


def index_schema(schema: dict[str, Any]) -> SourceSchema:
    """Index a source record schema by dotted path (named type references resolved)."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SpecError("the source schema must be an Avro record")
    try:
        expanded = expand_schema(schema)
    except Exception as exc:  # fastavro raises several types here (and RecursionError)
        raise SpecError(f"cannot resolve the source schema: {exc}") from None
    fields: dict[str, SourceField] = {}
    _index_record(expanded, "", None, False, fields)
    fullname = expanded["name"]
    return SourceSchema(name=fullname.rsplit(".", 1)[-1], fullname=fullname, fields=fields)


def _index_record(
    record: dict[str, Any],
    prefix: str,
    parent: str | None,
    sensitive_above: bool,
    out: dict[str, SourceField],
) -> None:
    for f in record.get("fields", []):
        path = f"{prefix}{f['name']}"
        nullable, base = split_nullable(f["type"])
        kind, logical = kind_of(base)
        # Unclassified fields (lint should prevent them) are treated as direct identifiers.
        own = f.get("x-pii", "direct")
        if own not in PII_CLASSES:
            own = "direct"
        pii = "sensitive" if sensitive_above else own
        out[path] = SourceField(
            path=path,
            name=f["name"],
            base=base,
            nullable=nullable,
            kind=kind,
            logical=logical,
            pii=pii,
            doc=f.get("doc", ""),
            parent=parent,
        )
        if kind in ("record", "error"):
            record_type = base["type"] if isinstance(base["type"], dict) else base
            _index_record(record_type, f"{path}.", path, pii == "sensitive", out)


class OutputTypes:
    """Copies source types into the output namespace, defining each named type once."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._defined: dict[str, str] = {}  # output fullname -> canonical JSON of its definition

    def claim(self, short: str, definition: dict[str, Any]) -> tuple[str, bool]:
        """Reserve an output fullname for a named type; (fullname, already_defined_identically)."""
        canon = json.dumps(definition, sort_keys=True)
        candidate, n = short, 1
        while True:
            full = f"{self.namespace}.{candidate}"
            have = self._defined.get(full)
            if have is None:
                self._defined[full] = canon
                return full, False
            if have == canon:
                return full, True
            n += 1
            candidate = f"{short}{n}"

    def copy(self, t: Any) -> Any:
        """A copy of source type `t` with named types renamed into the output namespace."""
        if isinstance(t, str):
            return t
        if isinstance(t, list):
            return [self.copy(b) for b in t]
        typ = t["type"]
        if isinstance(typ, dict | list):
            return self.copy(typ)
        if typ in NAMED:
            body = {k: v for k, v in t.items() if k not in ("name", "namespace", "aliases")}
            if typ in ("record", "error"):
                body["fields"] = [{**f, "type": self.copy(f["type"])} for f in t["fields"]]
            full, seen = self.claim(t["name"].rsplit(".", 1)[-1], body)
            return full if seen else {"name": full, **body}
        if typ == "array":
            return {**t, "items": self.copy(t["items"])}
        if typ == "map":
            return {**t, "values": self.copy(t["values"])}
        return dict(t)


def contains_record(t: Any) -> bool:
    """Whether a type holds a record anywhere (arrays/maps/unions included)."""
    if isinstance(t, str):
        return False
    if isinstance(t, list):
        return any(contains_record(b) for b in t)
    typ = t["type"]
    if isinstance(typ, dict | list):
        return contains_record(typ)
    if typ in ("record", "error"):
        return True
    if typ == "array":
        return contains_record(t["items"])
    if typ == "map":
        return contains_record(t["values"])
    return False
