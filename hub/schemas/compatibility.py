"""Can one Avro schema read data written with another? Confluent's levels on Avro's rules.

The rules are Avro's schema resolution, checked the way Confluent Schema Registry checks them
(Apache Avro's ``SchemaCompatibility``, of which ``avro.compatibility`` is the Python port).
This module walks the schemas itself instead of calling ``avro.compatibility``, because that
checker returns its findings as unordered sets (types, messages and locations cannot be paired
up again), drops the location inside unions, and departs from the specification in three places,
where the specification wins here:

* type aliases written relative to the namespace (``"aliases": ["OldName"]``) are ignored by it;
  the specification says they are relative to the type's namespace;
* a reader field without default whose type is an enum with a default is compared with the whole
  writer record and reported as TYPE_MISMATCH; the specification says a missing field without
  default is an error, so it is READER_FIELD_MISSING_DEFAULT_VALUE;
* decimals are compared by their underlying type only; the specification says two decimals
  match only if scale and precision match (otherwise every value would silently change).

``tests/unit/test_compat_avro_departures.py`` pins each of these, and a property test checks
that both checkers agree on every other verdict.

``Incompatibility.path`` is a JSON pointer in Confluent's style into the *reader* schema (the
new schema for BACKWARD, the old one for FORWARD), e.g. ``/fields/2/type/fields/0``; the
message also names the dotted field path, e.g. ``new_address.postcode``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import avro.schema

from hub.schemas.parsing import InvalidSchemaError, parse_schema

__all__ = [
    "Incompatibility",
    "InvalidSchemaError",
    "Level",
    "check_compatibility",
    "check_pair",
]


class Level(StrEnum):
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @classmethod
    def parse(cls, value: Level | str) -> Level:
        try:
            return cls(str(value).strip().upper())
        except ValueError:
            names = ", ".join(level.value for level in cls)
            raise ValueError(f"unknown compatibility level {value!r}; one of {names}") from None

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")

    @property
    def backward(self) -> bool:
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def forward(self) -> bool:
        return self.value.startswith(("FORWARD", "FULL"))


@dataclass(frozen=True)
class Incompatibility:
    type: str
    path: str
    message: str
    version: int | None = None


def check_compatibility(
    new: object, existing: Sequence[object], level: Level | str, *, strict_existing: bool = True
) -> list[Incompatibility]:
    """Every way ``new`` breaks ``existing`` (oldest first) at ``level``; [] if compatible.

    BACKWARD: the new schema reads data of the latest; FORWARD: the latest reads data of the
    new one; FULL: both. The *_TRANSITIVE levels check against every existing version, and
    ``Incompatibility.version`` is the 1-based position in ``existing`` that breaks.
    Raises InvalidSchemaError for a schema that is not valid JSON/Avro, ValueError for an
    unknown level. ``strict_existing=False``: the existing schemas were accepted before and are
    not judged again by today's name and default rules (a registry's stored versions).
    """
    level = Level.parse(level)
    new_schema = parse_schema(new, "new schema")
    old_schemas = [
        parse_schema(schema, f"existing schema {index}", strict=strict_existing)
        for index, schema in enumerate(existing, start=1)
    ]
    if level is Level.NONE or not old_schemas:
        return []
    numbered = list(enumerate(old_schemas, start=1))
    targets = numbered if level.transitive else numbered[-1:]
    found: list[Incompatibility] = []
    for version, old in targets:
        if level.backward:
            found += _with_version(check_pair(new_schema, old, "new", "old"), version)
        if level.forward:
            found += _with_version(check_pair(old, new_schema, "old", "new"), version)
    return found


def _with_version(items: list[Incompatibility], version: int) -> list[Incompatibility]:
    return [Incompatibility(i.type, i.path, i.message, version) for i in items]


def check_pair(
    reader: avro.schema.Schema,
    writer: avro.schema.Schema,
    reader_label: str = "reader",
    writer_label: str = "writer",
) -> list[Incompatibility]:
    """Can ``reader`` read everything ``writer`` writes? The labels word the messages."""
    return _Walk(reader_label, writer_label).check(reader, writer, ("",), "")


# The writer type (right) each reader type (left) can read besides its own (specification,
# "Schema Resolution": int→long/float/double, long→float/double, float→double, string↔bytes).
_PROMOTIONS = {
    "long": {"int"},
    "float": {"int", "long"},
    "double": {"int", "long", "float"},
    "bytes": {"string"},
    "string": {"bytes"},
}
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class _Walk:
    """One reader/writer comparison; remembers the named-type pairs in progress (recursion)."""

    def __init__(self, reader_label: str, writer_label: str) -> None:
        self.r = reader_label
        self.w = writer_label
        self.in_progress: set[tuple[int, int]] = set()

    def check(
        self,
        reader: avro.schema.Schema,
        writer: avro.schema.Schema,
        ptr: tuple[str, ...],
        field: str,
    ) -> list[Incompatibility]:
        if reader.type == "union" and writer.type == "union":
            found = []
            for branch in writer.schemas:
                found += self._read_into_union(reader, branch, ptr, field)
            return found
        if writer.type == "union":
            # Every branch the writer may use must be readable.
            found = []
            for branch in writer.schemas:
                found += self.check(reader, branch, ptr, field)
            return found
        if reader.type == "union":
            return self._read_into_union(reader, writer, ptr, field)
        if reader.type != writer.type:
            if writer.type in _PROMOTIONS.get(reader.type, ()):
                return []
            return [self._type_mismatch(reader, writer, ptr, field)]
        if reader.type in _PRIMITIVES:
            return self._decimal(reader, writer, ptr, field)
        if reader.type == "array":
            return self.check(reader.items, writer.items, (*ptr, "items"), _sub(field, "[]"))
        if reader.type == "map":
            return self.check(reader.values, writer.values, (*ptr, "values"), _sub(field, "{}"))
        return self._named(reader, writer, ptr, field)

    def _named(self, reader, writer, ptr, field) -> list[Incompatibility]:
        key = (id(reader), id(writer))
        if key in self.in_progress:
            return []  # a recursive type: this pair is being checked further up
        self.in_progress.add(key)
        try:
            found = self._names(reader, writer, ptr, field)
            if reader.type == "fixed":
                found += self._fixed(reader, writer, ptr, field)
            elif reader.type == "enum":
                found += self._enum(reader, writer, ptr, field)
            else:
                found += self._record(reader, writer, ptr, field)
            return found
        finally:
            self.in_progress.discard(key)

    def _read_into_union(self, reader, writer, ptr, field) -> list[Incompatibility]:
        for index, branch in enumerate(reader.schemas):
            if not self.check(branch, writer, (*ptr, str(index)), field):
                return []
        # No branch reads it. If one branch is the same kind of thing (a record of the same
        # name, an array, ...), its findings say precisely what broke, so report those.
        for index, branch in enumerate(reader.schemas):
            if _shallow_match(branch, writer):
                return self.check(branch, writer, (*ptr, str(index)), field)
        return [
            self._item(
                "MISSING_UNION_BRANCH",
                ptr,
                field,
                f"the {self.r} schema's union has no branch that can read "
                f"{_describe(writer)}, which the {self.w} schema may write",
            )
        ]

    def _names(self, reader, writer, ptr, field) -> list[Incompatibility]:
        if names_match(reader, writer):
            return []
        return [
            self._item(
                "NAME_MISMATCH",
                (*ptr, "name"),
                field,
                f"the name of the {reader.type} changed: {self.r} schema {reader.fullname}, "
                f"{self.w} schema {writer.fullname} (keep the name, or add the old name as an "
                "alias of the reader's type)",
            )
        ]

    def _fixed(self, reader, writer, ptr, field) -> list[Incompatibility]:
        found = self._decimal(reader, writer, ptr, field)
        if reader.size != writer.size:
            found.append(
                self._item(
                    "FIXED_SIZE_MISMATCH",
                    (*ptr, "size"),
                    field,
                    f"fixed {reader.fullname} has size {reader.size} in the {self.r} schema "
                    f"and {writer.size} in the {self.w} schema",
                )
            )
        return found

    def _enum(self, reader, writer, ptr, field) -> list[Incompatibility]:
        missing = [s for s in writer.symbols if s not in reader.symbols]
        default = reader.props.get("default")
        if not missing or (default is not None and default in reader.symbols):
            return []
        return [
            self._item(
                "MISSING_ENUM_SYMBOLS",
                (*ptr, "symbols"),
                field,
                f"enum {reader.fullname} in the {self.r} schema lacks {missing} of the "
                f"{self.w} schema and has no default symbol to read them as",
            )
        ]

    def _record(self, reader, writer, ptr, field) -> list[Incompatibility]:
        found: list[Incompatibility] = []
        writer_fields = {f.name: f for f in writer.fields}
        for index, reader_field in enumerate(reader.fields):
            at = (*ptr, "fields", str(index))
            path = _sub(field, reader_field.name)
            writer_field = _lookup_writer_field(writer_fields, reader_field)
            if writer_field is None:
                if not reader_field.has_default:
                    found.append(
                        self._item(
                            "READER_FIELD_MISSING_DEFAULT_VALUE",
                            at,
                            path,
                            f"the field has no default value in the {self.r} schema and is "
                            f"missing in the {self.w} schema",
                        )
                    )
                continue
            found += self.check(reader_field.type, writer_field.type, (*at, "type"), path)
        return found

    def _decimal(self, reader, writer, ptr, field) -> list[Incompatibility]:
        r, w = _decimal_of(reader), _decimal_of(writer)
        if r is None or w is None or r == w:
            return []
        return [
            self._item(
                "TYPE_MISMATCH",
                ptr,
                field,
                f"decimal (precision, scale) is {r} in the {self.r} schema and {w} in the "
                f"{self.w} schema; decimals only match with equal precision and scale",
            )
        ]

    def _type_mismatch(self, reader, writer, ptr, field) -> Incompatibility:
        return self._item(
            "TYPE_MISMATCH",
            ptr,
            field,
            f"the {self.r} schema's type {_describe(reader)} cannot read the {self.w} "
            f"schema's type {_describe(writer)}",
        )

    def _item(self, kind: str, ptr: tuple[str, ...], field: str, text: str) -> Incompatibility:
        path = "/".join(ptr) or "/"
        where = f"field {field!r} at {path}" if field else f"at {path}"
        return Incompatibility(kind, path, f"{where}: {text}")


def names_match(reader: avro.schema.NamedSchema, writer: avro.schema.NamedSchema) -> bool:
    """Same unqualified name, or a reader alias (qualified or relative) is the writer's name."""
    if _unqualified(reader.fullname) == _unqualified(writer.fullname):
        return True
    return writer.fullname in _alias_fullnames(reader)


def _alias_fullnames(schema: avro.schema.NamedSchema) -> set[str]:
    # The specification: an alias is fully qualified, or relative to the type's namespace.
    namespace = schema.fullname.rpartition(".")[0]
    aliases = schema.props.get("aliases") or []
    return {
        alias if "." in alias or not namespace else f"{namespace}.{alias}"
        for alias in aliases
        if isinstance(alias, str)
    }


def _unqualified(fullname: str) -> str:
    return fullname.rpartition(".")[2]


def _lookup_writer_field(writer_fields: dict, reader_field: avro.schema.Field):
    direct = writer_fields.get(reader_field.name)
    if direct is not None:
        return direct
    for alias in reader_field.props.get("aliases") or []:
        if alias in writer_fields:
            return writer_fields[alias]
    return None


def _shallow_match(reader: avro.schema.Schema, writer: avro.schema.Schema) -> bool:
    if reader.type != writer.type:
        return False
    if reader.type in ("record", "error", "enum", "fixed"):
        return names_match(reader, writer)
    return reader.type in ("array", "map")


def _decimal_of(schema: avro.schema.Schema) -> tuple[int, int] | None:
    if schema.props.get("logicalType") != "decimal" or not hasattr(schema, "precision"):
        return None
    return (schema.precision, schema.scale or 0)


def _describe(schema: avro.schema.Schema) -> str:
    if isinstance(schema, avro.schema.NamedSchema):
        return f"{schema.type} {schema.fullname}"
    return str(schema.type)


def _sub(field: str, name: str) -> str:
    if name in ("[]", "{}"):
        return f"{field}{name}"
    return f"{field}.{name}" if field else name
