"""File-drop mappings: which export column fills which schema field, converted how.

A mapping is YAML (see ``catalog/mappings/``)::

    topic: ordnungsamt.parking-violation.recorded
    source: /hamm/ordnungsamt/owi-export     # CloudEvents source of the events
    format: csv                              # csv | jsonl (default: from the file's extension)
    encoding: auto                           # auto (UTF-8, else Windows-1252) | utf-8 | cp1252
    delimiter: ";"
    decimal: ","
    timezone: Europe/Berlin                  # of timestamps without offset
    columns:
      Aktenzeichen: violation_id             # type taken from the schema
      Tatzeit: {field: occurred_at, type: timestamp}
      Tatbestand: {field: violation_type, values: {Halteverbot: NO_STOPPING_ZONE}}
      Breitengrad: location.lat              # dotted path into a nested record
    constants: {officer_id: OD-0}            # the same value in every event
    defaults: {obstruction: false}           # when the cell is empty or the column absent

Without ``columns`` (JSON lines whose objects already are the records) each object is converted
as the gateway converts JSON (RFC 3339 timestamps, ``YYYY-MM-DD`` dates, enum symbols).

``load_mapping`` checks the file's structure, ``bind`` checks it against the topic's schema
(every field exists, enum values are symbols, every required field is provided), and the bound
mapping turns one row into a record or a ``RowError`` naming the column and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from producers.connectors import german
from producers.gateway.convert import ConversionError, RecordConverter, compile_schema

ColumnType = Literal["string", "int", "float", "bool", "date", "timestamp", "enum"]
_NAMED = ("record", "error", "enum", "fixed")


class MappingError(ValueError):
    """A mapping file is invalid; the message names the file and the key."""


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1)
    type: ColumnType | None = None
    """None: derived from the schema field's type."""
    values: dict[str, str] | None = None
    """Enum mapping: the export's text → the schema's symbol."""
    format: str | None = None
    """strptime format for date/timestamp columns that are not dd.mm.yyyy [HH:MM]."""


class MappingModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = Field(pattern=r"^[a-z0-9-]+\.[a-z0-9-]+\.[a-z0-9-]+$")
    source: str = Field(pattern=r"^/")
    format: Literal["csv", "jsonl"] | None = None
    encoding: str = "auto"
    delimiter: str = Field(";", min_length=1, max_length=1)
    decimal: Literal[",", "."] = ","
    timezone: str = "Europe/Berlin"
    columns: dict[str, ColumnSpec] = {}
    constants: dict[str, Any] = {}
    defaults: dict[str, Any] = {}

    @field_validator("columns", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): {"field": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Berlin)") from None
        return value


@dataclass(frozen=True)
class FileMapping:
    """A structurally valid mapping and the file it came from."""

    model: MappingModel
    path: str

    @property
    def topic(self) -> str:
        return self.model.topic

    @property
    def source(self) -> str:
        return self.model.source


def parse_mapping(data: Any, path: str = "<memory>") -> FileMapping:
    if not isinstance(data, Mapping):
        raise MappingError(f"{path}: expected a mapping with topic, source and columns")
    try:
        return FileMapping(MappingModel.model_validate(data), path)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"])
            problems.append(f"{path}: {key}: {error['msg'].removeprefix('Value error, ')}")
        raise MappingError("; ".join(problems)) from None


def load_mapping(path: Path) -> FileMapping:
    """Read a mapping file; MappingError names the file and the key."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from None
    return parse_mapping(data, str(path))


# -- the schema's addressable fields ------------------------------------------------------------


@dataclass(frozen=True)
class SchemaField:
    path: str
    avro_type: Any  # without a null branch; named references resolved
    nullable: bool
    has_default: bool

    @property
    def kind(self) -> str:
        t = self.avro_type
        if isinstance(t, Mapping):
            return str(t.get("logicalType") or t.get("type"))
        return "union" if isinstance(t, list) else str(t)


def schema_fields(schema: Mapping[str, Any]) -> dict[str, SchemaField]:
    """Every field reachable by a dotted path (through nested records and nullable unions)."""
    names = _named_types(schema)
    out: dict[str, SchemaField] = {}

    def resolve(node: Any) -> Any:
        return names.get(node, node) if isinstance(node, str) else node

    def walk(record: Mapping[str, Any], prefix: str, seen: tuple[str, ...]) -> None:
        for f in record.get("fields", []):
            path = f"{prefix}{f['name']}"
            node = resolve(f["type"])
            nullable = isinstance(node, list) and "null" in node
            if isinstance(node, list):
                rest = [resolve(b) for b in node if b != "null"]
                node = rest[0] if len(rest) == 1 else rest
            out[path] = SchemaField(path, node, nullable, "default" in f)
            if isinstance(node, Mapping) and node.get("type") in ("record", "error"):
                name = str(node.get("name"))
                if name not in seen:
                    walk(node, path + ".", (*seen, name))

    walk(schema, "", (str(schema.get("name")),))
    return out


def _named_types(schema: Any) -> dict[str, Any]:
    names: dict[str, Any] = (
        dict(schema.get("__named_schemas", {})) if isinstance(schema, Mapping) else {}
    )

    def visit(node: Any, namespace: str) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, namespace)
        elif isinstance(node, Mapping):
            kind = node.get("type")
            if kind in _NAMED and isinstance(node.get("name"), str):
                name = node["name"]
                ns = node.get("namespace") if isinstance(node.get("namespace"), str) else namespace
                full = name if "." in name or not ns else f"{ns}.{name}"
                names.setdefault(full, node)
                names.setdefault(name.rpartition(".")[2], node)
                namespace = full.rpartition(".")[0]
            for key in ("type", "items", "values"):
                if key in node and not isinstance(node[key], str):
                    visit(node[key], namespace)
            for f in node.get("fields", []) if kind in ("record", "error") else []:
                visit(f.get("type"), namespace)

    visit(schema, "")
    return names


_INFERRED = {
    "string": "string",
    "uuid": "string",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "boolean": "bool",
    "date": "date",
    "timestamp-millis": "timestamp",
    "timestamp-micros": "timestamp",
    "enum": "enum",
}


# -- binding to a schema and applying to rows ---------------------------------------------------


@dataclass(frozen=True)
class RowError(ValueError):
    """Why one row cannot become an event; ``column``/``field`` name where, when known."""

    message: str
    column: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.field is not None:
            where.append(f"field {self.field}")
        return f"{' '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class BoundColumn:
    column: str
    field: str
    type: str
    values: dict[str, str] | None
    symbols: tuple[str, ...]
    format: str | None
    nullable: bool


@dataclass(frozen=True)
class BoundMapping:
    """A mapping checked against the topic's schema, ready to turn rows into records."""

    mapping: FileMapping
    columns: tuple[BoundColumn, ...]
    converter: RecordConverter
    tz: tzinfo
    column_of: dict[str, str] = field(default_factory=dict)  # field path → column

    @property
    def topic(self) -> str:
        return self.mapping.topic

    def missing_columns(self, header: list[str]) -> list[str]:
        """Mapped columns the file's header lacks (those without a default are fatal)."""
        present = set(header)
        defaults = self.mapping.model.defaults
        return [
            c.column
            for c in self.columns
            if c.column not in present and c.field not in defaults and not c.nullable
        ]

    def record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The Avro-ready record of ``row`` (column → cell); RowError lists every problem."""
        model = self.mapping.model
        # Without columns (JSON lines) the object itself is the record.
        record: dict[str, Any] = {} if self.columns else dict(row)
        problems: list[RowError] = []
        for path, value in model.constants.items():
            _set(record, path, value)
        for col in self.columns:
            cell = row.get(col.column)
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                if col.field in model.defaults:
                    _set(record, col.field, model.defaults[col.field])
                elif col.nullable:
                    _set(record, col.field, None)
                continue  # a schema default applies, else the converter says "required"
            try:
                _set(record, col.field, self._parse(col, cell))
            except ValueError as exc:
                problems.append(RowError(str(exc), col.column, col.field))
        for path, value in model.defaults.items():
            if _get(record, path) is _ABSENT:
                _set(record, path, value)
        if not problems:
            try:
                return self.converter.convert(record)
            except ConversionError as exc:
                for error in exc.errors:
                    column = self.column_of.get(error.path)
                    message = error.message
                    if message == "required field is missing" and column:
                        message = "empty, but the field is required"
                    problems.append(RowError(message, column, error.path or None))
        raise RowErrors(problems)

    def _parse(self, col: BoundColumn, cell: Any) -> Any:
        if not isinstance(cell, str):
            return cell  # JSON lines: already typed; the converter checks the type
        kind = col.type
        if kind == "string":
            return cell
        if kind == "int":
            return german.parse_int(cell)
        if kind == "float":
            return german.parse_float(cell, self.mapping.model.decimal)
        if kind == "bool":
            return german.parse_bool(cell)
        if kind == "date":
            return german.parse_date(cell, col.format)
        if kind == "timestamp":
            return german.parse_timestamp(cell, self.tz, col.format)
        return _enum_symbol(col, cell)


class RowErrors(ValueError):
    """All problems of one row."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def _enum_symbol(col: BoundColumn, cell: str) -> str:
    text = cell.strip()
    if col.values is not None and text in col.values:
        return col.values[text]
    if text in col.symbols:
        return text
    upper = text.upper()
    if upper in col.symbols:
        return upper
    known = list(col.values or ()) or list(col.symbols)
    raise ValueError(f"{text!r} is not one of {', '.join(known)}")


def bind(mapping: FileMapping, schema: Mapping[str, Any]) -> BoundMapping:
    """Check ``mapping`` against ``schema``; MappingError names the file and the key."""
    model, where = mapping.model, mapping.path
    fields = schema_fields(schema)
    leaves = ", ".join(p for p, f in fields.items() if f.kind not in ("record", "error"))
    problems: list[str] = []

    def known(path: str, key: str) -> SchemaField | None:
        found = fields.get(path)
        if found is None:
            problems.append(f"{where}: {key}: {path!r} is not a field of {model.topic} ({leaves})")
        return found

    bound: list[BoundColumn] = []
    column_of: dict[str, str] = {}
    for column, spec in model.columns.items():
        key = f"columns.{column}"
        target = known(spec.field, f"{key}.field")
        if target is None:
            continue
        if spec.field in column_of:
            problems.append(
                f"{where}: {key}.field: {spec.field} is also filled by column "
                f"{column_of[spec.field]!r}"
            )
        column_of[spec.field] = column
        kind = spec.type or _INFERRED.get(target.kind)
        if kind is None:
            problems.append(
                f"{where}: {key}: field {spec.field} has type {target.kind}; a column fills "
                "only strings, numbers, booleans, dates, timestamps and enums"
            )
            continue
        symbols: tuple[str, ...] = ()
        if target.kind == "enum":
            symbols = tuple(target.avro_type.get("symbols", ()))
            for text, symbol in (spec.values or {}).items():
                if symbol not in symbols:
                    problems.append(
                        f"{where}: {key}.values.{text}: {symbol!r} is not a symbol of "
                        f"{spec.field} ({', '.join(symbols)})"
                    )
            kind = "enum" if spec.type in (None, "enum") else kind
        elif spec.values is not None:
            problems.append(f"{where}: {key}.values: only enum fields take values")
        bound.append(
            BoundColumn(
                column, spec.field, kind, spec.values, symbols, spec.format, target.nullable
            )
        )
    for section in ("constants", "defaults"):
        for path in getattr(model, section):
            known(path, f"{section}.{path}")
    provided = set(column_of) | set(model.constants) | set(model.defaults)
    for path, f in fields.items() if model.columns else ():  # no columns: the rows are records
        if f.nullable or f.has_default or _covered(path, provided, fields):
            continue
        if f.kind in ("record", "error") and any(p.startswith(path + ".") for p in provided):
            continue
        problems.append(
            f"{where}: field {path} of {model.topic} is required, but no column, constant or "
            "default provides it"
        )
    if problems:
        raise MappingError("; ".join(problems))
    return BoundMapping(
        mapping,
        tuple(bound),
        compile_schema(schema),
        ZoneInfo(model.timezone),
        column_of,
    )


def _covered(path: str, provided: set[str], fields: dict[str, SchemaField]) -> bool:
    """Provided itself, or a parent record is provided whole or is optional/defaulted."""
    if path in provided:
        return True
    parts = path.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        f = fields.get(parent)
        if parent in provided or (f is not None and (f.nullable or f.has_default)):
            return True
    return False


_ABSENT: Any = object()


def _get(record: Mapping[str, Any], path: str) -> Any:
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = record
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value
