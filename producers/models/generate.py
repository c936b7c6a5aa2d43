"""Generate typed pydantic models from the schema catalog: ``python -m producers.models.generate``.

Writes ``producers/models/<department>.py`` (one model per event type and nested record, one
``StrEnum`` per Avro enum) and ``producers/models/__init__.py`` (``MODELS``: topic → model) from
the *latest* version of every subject. The shared types of ``schemas/_types/`` (latest
version each) become ``producers/models/types.py``; a department module imports the ones its
schemas use (and re-exports them: ``from producers.models.buergeramt import Address`` works)
instead of repeating them. A schema that pins an older version of a type gets a class of its
own, as any nested record. The output is committed; ``--check`` (and a unit test)
fail when it differs from what the schemas give, so the models never go stale. The code is
emitted already in ``ruff format`` style.
"""

from __future__ import annotations

import json
import keyword
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import fastavro
import typer
from pydantic import BaseModel

from hub.schemas.catalog import Subject, default_schemas_dir, load_catalog
from hub.schemas.shared_types import TYPES_NAMESPACE, SharedType

OUT_DIR = Path(__file__).resolve().parent
_PRIMITIVES = {
    "null": "None",
    "boolean": "bool",
    "int": "Int32",
    "long": "Int64",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "string": "str",
}
_LOGICAL = {
    "timestamp-millis": "dt.datetime",
    "timestamp-micros": "dt.datetime",
    "local-timestamp-millis": "dt.datetime",
    "local-timestamp-micros": "dt.datetime",
    "date": "dt.date",
    "time-millis": "dt.time",
    "time-micros": "dt.time",
    "decimal": "Decimal",
    "uuid": "str",
}
_RESERVED = set(dir(BaseModel)) | {"TOPIC", "to_avro"}
TYPES_MODULE = "types"


class GenerationError(ValueError):
    """A schema cannot be turned into a model; the message names the topic and the type."""


@dataclass
class _Class:
    name: str
    source: str


@dataclass
class _Department:
    """Classes of one department module, in dependency order, named types shared by full name."""

    name: str
    classes: list[_Class] = field(default_factory=list)
    by_fullname: dict[str, tuple[str, str]] = field(default_factory=dict)  # → (class, identity)
    used: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    shared: set[str] = field(default_factory=set)  # classes imported from the types module


def literal(value: str) -> str:
    """A Python string literal in ruff's preferred quoting."""
    if '"' in value and "'" not in value:
        return "'" + json.dumps(value, ensure_ascii=False)[1:-1].replace('\\"', '"') + "'"
    return json.dumps(value, ensure_ascii=False)


def python_name(avro_name: str) -> str:
    """A field name Python and pydantic accept (``class`` → ``class_``)."""
    if keyword.iskeyword(avro_name) or avro_name in _RESERVED or avro_name.startswith("_"):
        return avro_name.lstrip("_") + "_"
    return avro_name


def class_name(fullname: str) -> str:
    short = fullname.rpartition(".")[2]
    return short[:1].upper() + short[1:]


def type_class_name(fullname: str) -> str:
    """The class of a shared type: its name below ``de.hamm.types`` in PascalCase
    (``de.hamm.types.infrastructure.GeoPoint`` → ``InfrastructureGeoPoint``), so two types of
    one short name in different namespaces stay apart."""
    relative = fullname.removeprefix(f"{TYPES_NAMESPACE}.")
    return "".join(part[:1].upper() + part[1:] for part in relative.split("."))


def _docstring(doc: str | None, indent: str = "    ") -> list[str]:
    if not doc:
        return []
    text = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()
    if text.endswith('"'):
        text += " "
    return [f'{indent}"""{text}"""', ""]


class _Renderer:
    def __init__(
        self,
        department: _Department,
        topic: str,
        named: dict[str, Any],
        *,
        shared: dict[str, str] | None = None,
        names: dict[str, str] | None = None,
    ) -> None:
        """``shared``: full name → class of the types module to import instead of generating;
        ``names``: full name → the class name to give a type generated here."""
        self.dept = department
        self.topic = topic
        self.named = named
        self.shared = shared or {}
        self.names = names or {}
        self.event_class = ""

    def type_of(self, schema: Any) -> str:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                name = _PRIMITIVES[schema]
                if name in ("Int32", "Int64"):
                    self.dept.imports.add(name)
                return name
            definition = self.named.get(schema)
            if definition is None:
                raise GenerationError(f"{self.topic}: unknown type {schema!r}")
            return self.named_class(definition)
        if isinstance(schema, list):
            branches = [self.type_of(b) for b in schema if b != "null"]
            if "null" in schema:
                branches.append("None")
            return " | ".join(branches)
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if logical in _LOGICAL and kind in _PRIMITIVES:
            rendered = _LOGICAL[logical]
            self.dept.imports.add(rendered.partition(".")[0] if "." in rendered else rendered)
            return rendered
        if kind in ("record", "error", "enum"):
            return self.named_class(schema)
        if kind == "fixed":
            return "bytes"
        if kind == "array":
            return f"list[{self.type_of(schema['items'])}]"
        if kind == "map":
            return f"dict[str, {self.type_of(schema['values'])}]"
        return self.type_of(kind)

    def named_class(self, schema: dict[str, Any]) -> str:
        fullname = schema["name"]
        imported = self.shared.get(fullname)
        if imported is not None:
            self.dept.shared.add(imported)
            return imported
        identity = json.dumps(schema, sort_keys=True, ensure_ascii=False)
        known = self.dept.by_fullname.get(fullname)
        if known is not None and known[1] == identity:
            return known[0]
        name = self.names.get(fullname) or class_name(fullname)
        if name in self.dept.used:  # same name, different definition: qualify by the event
            name = f"{self.event_class}{name}"
        if name in self.dept.used:
            raise GenerationError(f"{self.topic}: cannot name the type {fullname} uniquely")
        self.dept.used.add(name)
        self.dept.by_fullname[fullname] = (name, identity)
        if schema["type"] == "enum":
            source = self.enum_source(name, schema)
        else:
            source = self.record_source(name, schema, base="RecordModel")
        self.dept.classes.append(_Class(name, source))
        return name

    def enum_source(self, name: str, schema: dict[str, Any]) -> str:
        self.dept.imports.add("StrEnum")
        lines = [f"class {name}(StrEnum):", *_docstring(schema.get("doc"))]
        lines += [f"    {symbol} = {literal(symbol)}" for symbol in schema["symbols"]]
        return "\n".join(lines)

    def record_source(self, name: str, schema: dict[str, Any], *, base: str) -> str:
        body = [self.field_source(f) for f in schema.get("fields", [])]
        lines = [f"class {name}({base}):", *_docstring(schema.get("doc"))]
        if base == "EventModel":
            self.dept.imports.add("ClassVar")
            lines += [f"    TOPIC: ClassVar[str] = {literal(self.topic)}", ""]
        if not body:
            lines.append("    pass")
        lines += body
        return "\n".join(lines).rstrip()

    def field_source(self, avro_field: dict[str, Any]) -> str:
        avro_name = avro_field["name"]
        name = python_name(avro_name)
        annotation = self.type_of(avro_field["type"])
        arguments = []
        default = self.default_of(avro_field, annotation)
        if default is not None:
            arguments.append(default)
        if name != avro_name:
            arguments.append(f"alias={literal(avro_name)}")
        if avro_field.get("doc"):
            arguments.append(f"description={literal(avro_field['doc'])}")
        if not arguments:
            return f"    {name}: {annotation}"
        inner = "".join(f"        {argument},\n" for argument in arguments)
        return f"    {name}: {annotation} = Field(\n{inner}    )"

    def default_of(self, avro_field: dict[str, Any], annotation: str) -> str | None:
        schema = avro_field["type"]
        optional = isinstance(schema, list) and "null" in schema
        if "default" not in avro_field:
            return "default=None" if optional else None
        value = avro_field["default"]
        if value is None:
            return "default=None" if optional else None
        resolved = schema[0] if isinstance(schema, list) else schema
        resolved = self.named.get(resolved, resolved) if isinstance(resolved, str) else resolved
        kind = resolved.get("type") if isinstance(resolved, dict) else resolved
        if isinstance(resolved, dict) and resolved.get("logicalType"):
            return None  # an epoch number is not a default a person would read
        if kind == "enum" and isinstance(value, str):
            return f"default={self.named_class(resolved)}.{value}"
        if kind == "array" and value == []:
            return "default_factory=list"
        if kind == "map" and value == {}:
            return "default_factory=dict"
        if isinstance(value, bool | int | float):
            return f"default={value!r}"
        if isinstance(value, str):
            return f"default={literal(value)}"
        return None


def render_department(
    department: str, subjects: list[Subject], types: dict[str, SharedType] | None = None
) -> str:
    """The source of ``producers/models/<department>.py``; the shared ``types`` its schemas use
    (in their latest version) are imported from ``producers/models/types.py``."""
    dept = _Department(department)
    latest_types = {name: t.latest.version for name, t in (types or {}).items()}
    for subject in subjects:  # taken first: a nested record of the same name gets qualified
        for use in subject.latest.uses:
            if latest_types.get(use.name) == use.version:
                dept.used.add(type_class_name(use.name))
    events = []
    for subject in sorted(subjects, key=lambda s: s.topic):
        latest = subject.latest
        parsed = fastavro.parse_schema(latest.schema)
        shared = {
            use.name: type_class_name(use.name)
            for use in latest.uses
            if latest_types.get(use.name) == use.version
        }
        renderer = _Renderer(dept, subject.topic, parsed.get("__named_schemas", {}), shared=shared)
        event_name = class_name(parsed["name"])
        renderer.event_class = event_name
        if event_name in dept.used:
            raise GenerationError(f"{subject.topic}: event name {event_name} is taken")
        dept.used.add(event_name)
        dept.by_fullname[parsed["name"]] = (event_name, "")
        source = renderer.record_source(event_name, parsed, base="EventModel")
        dept.classes.append(_Class(event_name, source))
        events.append((subject.topic, event_name))
    header = "\n".join(
        [
            f'"""Event models of the department {department}: generated from schemas/{department}/ by',
            "``python -m producers.models.generate``; do not edit, regenerate.",
            '"""',
        ]
    )
    return _module(header, dept, ["EventModel"])


def render_types(types: dict[str, SharedType]) -> str:
    """The source of ``producers/models/types.py``: the latest version of every shared type."""
    dept = _Department(TYPES_MODULE)
    names = {name: type_class_name(name) for name in types}
    for name in sorted(types):
        parsed = fastavro.parse_schema(types[name].latest.schema)
        renderer = _Renderer(
            dept, f"schemas/_types/{name}", parsed.get("__named_schemas", {}), names=names
        )
        renderer.type_of(name)
    header = "\n".join(
        [
            '"""Shared types of the event models: generated from schemas/_types/ by',
            "``python -m producers.models.generate``; do not edit, regenerate. The department",
            "modules import (and re-export) the ones their schemas use.",
            '"""',
        ]
    )
    return _module(header, dept, [])


def _module(header: str, dept: _Department, base: list[str]) -> str:
    """Header, imports, ``__all__`` and the classes of one generated module."""
    imports = []
    if "dt" in dept.imports:
        imports.append("import datetime as dt")
    if "Decimal" in dept.imports:
        imports.append("from decimal import Decimal")
    if "StrEnum" in dept.imports:
        imports.append("from enum import StrEnum")
    if "ClassVar" in dept.imports:
        imports.append("from typing import ClassVar")
    if any("(RecordModel)" in c.source for c in dept.classes):
        base = [*base, "RecordModel"]
    base += sorted(dept.imports & {"Int32", "Int64"})
    models = [_import("producers.models.base", base)] if base else []
    if dept.shared:
        models.append(_import(f"producers.models.{TYPES_MODULE}", dept.shared))
    blocks = [
        "\n".join(imports),
        "from pydantic import Field" if any("Field(" in c.source for c in dept.classes) else "",
        "\n".join(models),
    ]
    exports = _all_list([*(c.name for c in dept.classes), *dept.shared])
    head = f"{header}\n\n" + "\n\n".join(b for b in blocks if b) + f"\n\n{exports}"
    return "\n\n\n".join([head, *(c.source for c in dept.classes)]) + "\n"


def _import(module: str, names: Iterable[str], indent: str = "") -> str:
    """``from module import a, b`` in ruff's style: wrapped one name a line past 100 columns."""
    ordered = sorted(names)
    line = f"{indent}from {module} import {', '.join(ordered)}"
    if len(line) <= 100:
        return line
    inner = "".join(f"{indent}    {name},\n" for name in ordered)
    return f"{indent}from {module} import (\n{inner}{indent})"


def _all_list(names: Iterable[str]) -> str:
    """``__all__`` sorted the way ruff (RUF022) wants it: CONSTANTS, Classes, functions."""

    def order(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)

    return "__all__ = [\n" + "".join(f"    {literal(n)},\n" for n in sorted(names, key=order)) + "]"


def render_init(departments: dict[str, list[tuple[str, str]]]) -> str:
    """The source of ``producers/models/__init__.py``: every event model by topic, imported lazily.

    Lazy on purpose: the package must import even when a department module is broken or stale,
    or ``python -m producers.models.generate`` (which imports the package) could not repair it.
    Static tools see the real imports under ``TYPE_CHECKING``.
    """
    events = sorted(
        (topic, module, name) for module, items in departments.items() for topic, name in items
    )
    lines = [
        '"""Typed event models, one module per department, generated from ``schemas/`` by',
        "``python -m producers.models.generate``; do not edit, regenerate.",
        "",
        "    from producers.models.buergeramt import ResidentMoved",
        "    from producers.models import MODELS  # topic -> model class",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "from producers.models.base import EventModel, RecordModel",
        "",
        "if TYPE_CHECKING:",
    ]
    for module, items in sorted(departments.items()):
        lines.append(_import(f"producers.models.{module}", [n for _, n in items], indent="    "))
    lines += ["", "TOPICS: dict[str, tuple[str, str]] = {"]
    lines += [
        f"    {literal(topic)}: ({literal(module)}, {literal(name)}),"
        for topic, module, name in events
    ]
    lines += [
        "}",
        '"""Topic → (module, class) of its event model."""',
        "_MODULE_OF = {name: module for module, name in TOPICS.values()}",
        "",
        "",
        "def model_of(topic: str) -> type[EventModel]:",
        '    """The event model of ``topic``; KeyError naming the topic if it has none."""',
        "    try:",
        "        module, name = TOPICS[topic]",
        "    except KeyError:",
        '        raise KeyError(f"no event model for topic {topic!r}") from None',
        '    return getattr(importlib.import_module(f"producers.models.{module}"), name)',
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        '    if name == "MODELS":',
        "        return {topic: model_of(topic) for topic in TOPICS}",
        "    if name in _MODULE_OF:",
        '        return getattr(importlib.import_module(f"producers.models.{_MODULE_OF[name]}"), name)',
        '    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        "",
        "",
    ]
    names = ["EventModel", "MODELS", "RecordModel", "TOPICS", "model_of"]
    names += [name for _, _, name in events]
    lines.append(_all_list(names))
    return "\n".join(lines) + "\n"


def module_name(department: str) -> str:
    return department.replace("-", "_")


def generate(schemas_dir: Path | None = None) -> dict[str, str]:
    """File name (relative to ``producers/models/``) → source, for the whole catalog."""
    catalog = load_catalog(schemas_dir or default_schemas_dir())
    by_department: dict[str, list[Subject]] = {}
    for subject in catalog.values():
        by_department.setdefault(subject.latest.department, []).append(subject)
    files: dict[str, str] = {}
    events: dict[str, list[tuple[str, str]]] = {}
    types = getattr(catalog, "types", {})
    if types:
        files[f"{TYPES_MODULE}.py"] = render_types(types)
    for department, subjects in sorted(by_department.items()):
        module = module_name(department)
        if module in (TYPES_MODULE, "base", "generate"):
            raise GenerationError(f"department {department!r}: its module name is reserved")
        files[f"{module}.py"] = render_department(department, subjects, types)
        events[module] = [
            (s.topic, class_name(s.latest.schema["name"]))
            for s in sorted(subjects, key=lambda s: s.topic)
        ]
    files["__init__.py"] = render_init(events)
    return files


def stale_files(files: dict[str, str], out_dir: Path = OUT_DIR) -> list[str]:
    """Names of generated files whose committed content differs (or is missing)."""
    stale = []
    for name, source in files.items():
        path = out_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != source:
            stale.append(name)
    return stale


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    schemas_dir: Annotated[
        Path | None, typer.Option(help="schema tree (default: the repository's schemas/)")
    ] = None,
    out_dir: Annotated[Path, typer.Option(help="where the modules go")] = OUT_DIR,
    check: Annotated[
        bool, typer.Option("--check", help="only report stale files; exit 1 if any")
    ] = False,
) -> None:
    """Write (or with --check, verify) the generated model modules."""
    write_or_check(
        generate(schemas_dir), out_dir, check, "models", "python -m producers.models.generate"
    )


def write_or_check(
    files: dict[str, str], out_dir: Path, check: bool, what: str, command: str
) -> None:
    """Write the stale generated files, or with ``check`` name them and exit 1 if any."""
    stale = stale_files(files, out_dir)
    if check:
        for name in stale:
            typer.echo(f"{out_dir / name}: stale, run {command}")
        if not stale:
            typer.echo(f"{what} are up to date")
        raise typer.Exit(1 if stale else 0)
    for name in stale:
        (out_dir / name).write_text(files[name], encoding="utf-8")
        typer.echo(f"wrote {out_dir / name}")
    if not stale:
        typer.echo(f"{what} are up to date")


if __name__ == "__main__":
    sys.exit(app())
