"""Shared named types: ``schemas/_types/<full name>/v<N>.avsc``, referenced by name.

A type several departments use (the address, the geo point) is written once, as a schema of
its own in the namespace ``de.hamm.types``, and a schema names it (``"type":
"de.hamm.types.Address"``) instead of defining it. In the registry each type is a subject named
by its full name (Confluent's RecordNameStrategy), and a schema's ``references`` say which
subject version defines each type it names. Readers get the *standalone* form, each referenced
type written out at its first use (``hub.schemas.references.inline``); everything that parses,
lints, checks compatibility, derives or generates works on that form.

A schema uses version 1 of a type unless its top-level ``"x-type-versions"`` pins another
(``{"de.hamm.types.Address": 2}``): a new version of a type never changes a schema version
that is already registered. The pins are the catalog's business, not the registry's: they are
not part of the registered text (the references carry the versions).

``load_types`` does not stop at the first problem; the catalog raises the first, the lint
reports them all. Doc and x-pii on every field are the lint's rules, not checked here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.schemas.files import SchemaCatalogError, read_compatibility, read_schema_json
from hub.schemas.naming import DEFAULT_COMPATIBILITY, VERSION_FILE_RE
from hub.schemas.parsing import InvalidSchemaError, parse_schema
from hub.schemas.references import (
    NAMED,
    Reference,
    ReferenceError,
    definitions,
    fullname,
    inline,
    names_used,
    order_dependencies,
)

TYPES_DIR = "_types"
TYPES_NAMESPACE = "de.hamm.types"
VERSION_PIN = "x-type-versions"
TYPE_NAME_RE = re.compile(r"^de\.hamm\.types(?:\.[a-z][a-z0-9]*)*\.[A-Z][A-Za-z0-9]*$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file of the tree; ``rule`` as in ``hub.schemas.lint``."""

    path: Path
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class TypeFile:
    """One version of a shared type.

    ``raw`` is the file as written (without ``x-type-versions``): what the registry stores,
    with ``references`` (the types it names itself). ``schema`` is its standalone form;
    ``uses`` every shared type written out in it, dependencies first.
    """

    path: Path
    name: str
    version: int
    schema: dict
    raw: dict
    references: tuple[Reference, ...] = ()
    uses: tuple[Reference, ...] = ()

    @property
    def subject(self) -> str:
        return type_subject(self.name)

    @property
    def reference(self) -> Reference:
        return Reference(self.name, self.subject, self.version)


@dataclass(frozen=True)
class SharedType:
    """A shared type's versions (ascending) and compatibility level."""

    name: str
    compatibility: str
    versions: tuple[TypeFile, ...]
    broken: tuple[int, ...] = ()  # versions on disk that have a problem (the lint's view)

    @property
    def subject(self) -> str:
        return type_subject(self.name)

    @property
    def latest(self) -> TypeFile:
        return self.versions[-1]

    def version(self, number: int) -> TypeFile | None:
        return next((v for v in self.versions if v.version == number), None)


@dataclass(frozen=True)
class Resolved:
    """A schema's references (direct, in order of first use), the shared types its standalone
    form holds (all of them, dependencies first), and that form."""

    references: tuple[Reference, ...]
    uses: tuple[Reference, ...]
    schema: dict


def type_subject(name: str) -> str:
    """The registry subject of a shared type: its full name (RecordNameStrategy)."""
    return name


def without_pins(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The schema as registered: the catalog's version pins left out."""
    return {key: value for key, value in raw.items() if key != VERSION_PIN}


def references_of(
    raw: Mapping[str, Any], available: Mapping[str, Sequence[int]]
) -> tuple[tuple[Reference, ...], list[tuple[str, str]]]:
    """The references of ``raw`` to the shared types in ``available`` (name → its versions on
    disk), and ``(rule, message)`` for each problem. A name that is neither defined nor a
    shared type is left to the Avro parser, which names it (unless it looks like a shared type
    written wrongly)."""
    problems: list[tuple[str, str]] = []
    pins = _pins(raw, problems)
    used = names_used(without_pins(raw))
    references = []
    for name in used:
        if name in available:
            version = pins.get(name, 1)
            if version not in available[name]:
                have = ", ".join(f"v{n}" for n in sorted(available[name]))
                problems.append(
                    (
                        "type-version",
                        f"uses the shared type {name} v{version}, but schemas/{TYPES_DIR}/{name}/ "
                        f"has only {have}",
                    )
                )
                continue
            references.append(Reference(name, type_subject(name), version))
        elif name.startswith(f"{TYPES_NAMESPACE}."):
            problems.append(
                (
                    "unknown-type",
                    f"uses the shared type {name}, which schemas/{TYPES_DIR}/ does not define "
                    f"(no folder {TYPES_DIR}/{name}/)",
                )
            )
        else:
            short = name.rpartition(".")[2]
            similar = sorted(t for t in available if t.rpartition(".")[2] == short)
            if similar:
                problems.append(
                    (
                        "unknown-type",
                        f"unknown type name {short!r} (not defined in this file); a shared type "
                        f"is named by its full name: {' or '.join(similar)}",
                    )
                )
    for name in pins:
        if name not in used:
            problems.append(
                ("type-version", f'"{VERSION_PIN}" pins {name}, which this schema does not use')
            )
    return tuple(references), problems


def standalone_of(
    raw: Mapping[str, Any],
    references: Sequence[Reference],
    built: Mapping[tuple[str, int], TypeFile],
) -> tuple[Resolved, list[tuple[str, str]]]:
    """The standalone form of ``raw`` given its ``references`` and the types ``built`` so far
    (by name and version), and ``(rule, message)`` for each problem."""
    problems: list[tuple[str, str]] = []
    chosen: dict[str, tuple[int, str]] = {}  # name -> (version, how this schema gets it)
    uses: list[Reference] = []
    referenced = []
    for reference in references:
        type_file = built.get((reference.name, reference.version))
        if type_file is None:
            problems.append(
                (
                    "invalid-schema",
                    f"uses the shared type {reference.name} v{reference.version}, which is not "
                    f"valid itself (see schemas/{TYPES_DIR}/{reference.name}/"
                    f"v{reference.version}.avsc)",
                )
            )
            continue
        referenced.append(type_file.schema)
        for use in (*type_file.uses, reference):
            how = (
                "directly" if use is reference else f"through {reference.name} v{reference.version}"
            )
            earlier = chosen.setdefault(use.name, (use.version, how))
            if earlier[0] != use.version:
                problems.append(
                    (
                        "type-version",
                        f"uses the shared type {use.name} v{earlier[0]} ({earlier[1]}) and "
                        f"v{use.version} ({how}): one schema holds one definition of a name",
                    )
                )
            elif use not in uses:
                uses.append(use)
    schema = inline(without_pins(raw), referenced)
    return Resolved(tuple(references), tuple(uses), schema), problems


def resolve(
    raw: Mapping[str, Any], types: Mapping[str, SharedType]
) -> tuple[Resolved, list[tuple[str, str]]]:
    """References and standalone form of a schema that may name the shared ``types``."""
    available = {
        name: sorted([v.version for v in t.versions] + list(t.broken)) for name, t in types.items()
    }
    built = {(v.name, v.version): v for t in types.values() for v in t.versions}
    references, problems = references_of(raw, available)
    resolved, more = standalone_of(raw, references, built)
    return resolved, problems + more


def load_types(root: Path) -> tuple[dict[str, SharedType], list[Problem]]:
    """The shared types under ``root/_types`` by full name, and every problem found.

    A version that has a problem is left out of its type's ``versions`` (listed in
    ``broken``); whatever uses it then says so.
    """
    base = Path(root) / TYPES_DIR
    problems: list[Problem] = []
    if not base.is_dir():
        return {}, problems
    found: dict[str, dict[int, tuple[Path, dict]]] = {}
    for path in sorted(p for p in base.rglob("*.avsc") if p.is_file()):
        located = _locate(path, base, problems)
        try:
            raw = read_schema_json(path)
        except SchemaCatalogError as error:
            rule = "invalid-json" if "bad JSON" in str(error) else "unreadable"
            problems.append(Problem(path, rule, str(error).split(": ", 1)[-1]))
            continue
        if located is None or not _named_as(path, raw, located[0], problems):
            continue
        found.setdefault(located[0], {})[located[1]] = (path, raw)
    levels = {name: _level(base / name, problems) for name in sorted(found)}
    for name in sorted(found):
        numbers = sorted(found[name])
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(
                Problem(
                    base / name,
                    "version-sequence",
                    f"versions must be consecutive from 1, found {numbers}",
                )
            )
    available = {name: sorted(versions) for name, versions in found.items()}
    needs: dict[Reference, tuple[Reference, ...]] = {}
    paths: dict[Reference, Path] = {}
    for name in sorted(found):
        for number, (path, raw) in sorted(found[name].items()):
            own = Reference(name, type_subject(name), number)
            references, messages = references_of(raw, available)
            problems += [Problem(path, rule, message) for rule, message in messages]
            needs[own], paths[own] = references, path
    acyclic = []
    for own in sorted(needs):
        try:
            order_dependencies([own], needs)
        except ReferenceError as error:
            problems.append(Problem(paths[own], "type-cycle", str(error)))
        else:
            acyclic.append(own)
    built: dict[tuple[str, int], TypeFile] = {}
    for own in order_dependencies(acyclic, needs):
        if own not in paths:
            continue  # a version that does not exist: its user has the problem already
        path, raw = found[own.name][own.version]
        resolved, messages = standalone_of(raw, needs[own], built)
        problems += [Problem(path, rule, message) for rule, message in messages]
        if messages:
            continue
        try:
            parse_schema(resolved.schema, str(path))
        except InvalidSchemaError as error:
            problems.append(Problem(path, "invalid-schema", str(error).split(": ", 1)[-1]))
            continue
        built[(own.name, own.version)] = TypeFile(
            path,
            own.name,
            own.version,
            resolved.schema,
            without_pins(raw),
            resolved.references,
            resolved.uses,
        )
    types = {}
    for name in sorted(found):
        versions = tuple(built[(name, n)] for n in sorted(found[name]) if (name, n) in built)
        broken = tuple(n for n in sorted(found[name]) if (name, n) not in built)
        types[name] = SharedType(name, levels[name], versions, broken)
    return types, problems


def _pins(raw: Mapping[str, Any], problems: list[tuple[str, str]]) -> dict[str, int]:
    pins = raw.get(VERSION_PIN, {})
    valid = isinstance(pins, Mapping) and all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 1
        for k, v in pins.items()
    )
    if not valid:
        problems.append(
            (
                "type-version",
                f'"{VERSION_PIN}" must map full names of shared types to versions (1, 2, ...)',
            )
        )
        return {}
    return dict(pins)


def _locate(path: Path, base: Path, problems: list[Problem]) -> tuple[str, int] | None:
    relative = path.relative_to(base)
    if len(relative.parts) != 2:
        problems.append(
            Problem(
                path,
                "layout",
                f"expected {TYPES_DIR}/<full name>/v<N>.avsc, got "
                f"{TYPES_DIR}/{relative.as_posix()}",
            )
        )
        return None
    name, filename = relative.parts
    if not TYPE_NAME_RE.match(name):
        problems.append(
            Problem(
                path,
                "layout",
                f"folder {name!r} is not the full name of a type in {TYPES_NAMESPACE} "
                f"(e.g. {TYPES_NAMESPACE}.Address)",
            )
        )
        return None
    match = VERSION_FILE_RE.match(filename)
    if not match:
        problems.append(
            Problem(
                path,
                "layout",
                f"file name {filename!r} is not v<N>.avsc with N >= 1 and no leading 0",
            )
        )
        return None
    return name, int(match["version"])


def _named_as(path: Path, raw: Any, name: str, problems: list[Problem]) -> bool:
    """A shared type is one named type, and its full name is its folder's name."""
    if (
        not isinstance(raw, dict)
        or raw.get("type") not in NAMED - {"error"}
        or not isinstance(raw.get("name"), str)
    ):
        problems.append(
            Problem(path, "type-name", "a shared type must be a named type (record, enum, fixed)")
        )
        return False
    namespace = raw.get("namespace")
    defined = fullname(raw["name"], namespace if isinstance(namespace, str) else None)
    if defined != name:
        problems.append(
            Problem(path, "type-name", f"defines {defined}, but its folder names {name}")
        )
        return False
    nested = sorted(set(definitions(without_pins(raw))) - {name})
    if nested:
        problems.append(
            Problem(
                path,
                "type-name",
                f"defines {', '.join(nested)} inside {name}; give each a folder of its own "
                f"under schemas/{TYPES_DIR}/ and name it",
            )
        )
        return False
    return True


def _level(folder: Path, problems: list[Problem]) -> str:
    try:
        return read_compatibility(folder)
    except SchemaCatalogError as error:
        problems.append(
            Problem(folder / "subject.yaml", "subject-config", str(error).split(": ", 1)[-1])
        )
        return DEFAULT_COMPATIBILITY
