"""Load the schema tree ``schemas/<department>/<entity>.<event>/v<N>.avsc`` into subjects.

The shared types under ``schemas/_types/`` (``hub.schemas.shared_types``) load first; each
schema file then gets its ``references`` (the shared types it names, in Confluent's form) and
its standalone form (each referenced type written out), which is what ``SchemaFile.schema``
is: everything that parses, checks, derives or generates reads that. ``SchemaFile.raw`` is the
file as the registry stores it, with its ``references``.

Strict: the first file that cannot be read, is not JSON, not a valid Avro schema, names a
shared type that is missing, or sits at a path that breaks the layout raises
SchemaCatalogError naming it. The full rule set (doc and x-pii on every field, compatibility,
data-protection approvals) is ``hub.schemas.lint``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.schemas.files import (
    SUBJECT_CONFIG,
    SchemaCatalogError,
    read_compatibility,
    read_schema_json,
)
from hub.schemas.naming import parse_location, subject_name, topic_name
from hub.schemas.parsing import InvalidSchemaError, parse_schema
from hub.schemas.references import Reference
from hub.schemas.shared_types import TYPES_DIR, SharedType, load_types, resolve, without_pins

__all__ = [
    "SUBJECT_CONFIG",
    "Catalog",
    "SchemaCatalogError",
    "SchemaFile",
    "Subject",
    "default_schemas_dir",
    "iter_schema_files",
    "load_catalog",
    "load_schema_file",
    "read_compatibility",
    "read_schema_json",
    "standalone_schema",
    "types_root",
]


@dataclass(frozen=True)
class SchemaFile:
    """One version of an event schema. ``schema`` is its standalone form; ``raw`` the file as
    written (without the catalog's ``x-type-versions``), naming the shared types of
    ``references``; ``uses`` every shared type in ``schema``, dependencies first."""

    path: Path
    department: str
    entity_event: str
    version: int
    schema: dict
    references: tuple[Reference, ...] = ()
    raw: dict = field(default_factory=dict)
    uses: tuple[Reference, ...] = ()

    def __post_init__(self) -> None:
        if not self.raw:  # built by hand (tests) without shared types: one form
            object.__setattr__(self, "raw", self.schema)

    @property
    def topic(self) -> str:
        return topic_name(self.department, self.entity_event)

    @property
    def subject(self) -> str:
        return subject_name(self.topic)

    @property
    def key_field(self) -> str | None:
        """Top-level field whose value producers use as the Kafka message key (``x-key``)."""
        key = self.schema.get("x-key")
        return key if isinstance(key, str) else None


@dataclass(frozen=True)
class Subject:
    topic: str
    subject: str
    compatibility: str
    versions: tuple[SchemaFile, ...]

    @property
    def latest(self) -> SchemaFile:
        return self.versions[-1]


class Catalog(dict[str, Subject]):
    """The subjects by topic, and the shared types they reference (``types``, by full name)."""

    def __init__(
        self,
        subjects: Mapping[str, Subject] | None = None,
        types: Mapping[str, SharedType] | None = None,
    ) -> None:
        super().__init__(subjects or {})
        self.types: dict[str, SharedType] = dict(types or {})


def default_schemas_dir() -> Path:
    """The repository's ``schemas/`` folder: next to the package, else under the cwd."""
    beside_package = Path(__file__).resolve().parents[2] / "schemas"
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / "schemas"


def load_catalog(root: Path = Path("schemas")) -> Catalog:
    """All subjects under ``root`` keyed by topic, versions ascending; the shared types of
    ``root/_types`` as ``Catalog.types``."""
    root = Path(root)
    if not root.is_dir():
        raise SchemaCatalogError(f"{root}: not a directory")
    types, problems = load_types(root)
    if problems:
        raise SchemaCatalogError(str(problems[0]))
    by_topic: dict[str, list[SchemaFile]] = {}
    for path in iter_schema_files(root):
        if path.relative_to(root).parts[0] == TYPES_DIR:
            continue
        schema_file = load_schema_file(path, root, types)
        by_topic.setdefault(schema_file.topic, []).append(schema_file)
    catalog = Catalog(types=types)
    for topic in sorted(by_topic):
        versions = tuple(sorted(by_topic[topic], key=lambda f: f.version))
        numbers = [f.version for f in versions]
        if numbers != list(range(1, len(numbers) + 1)):
            raise SchemaCatalogError(
                f"{versions[0].path.parent}: versions must be consecutive from 1, found {numbers}"
            )
        catalog[topic] = Subject(
            topic=topic,
            subject=versions[0].subject,
            compatibility=read_compatibility(versions[0].path.parent),
            versions=versions,
        )
    return catalog


def iter_schema_files(root: Path) -> Iterator[Path]:
    """Every ``*.avsc`` below ``root`` (the shared types' too) in a stable order."""
    yield from sorted(p for p in Path(root).rglob("*.avsc") if p.is_file())


def load_schema_file(
    path: Path, root: Path, types: Mapping[str, SharedType] | None = None
) -> SchemaFile:
    """One version file, its references to ``types`` resolved (default: those of ``root``)."""
    try:
        location = parse_location(path.relative_to(root))
    except ValueError as error:
        raise SchemaCatalogError(f"{path}: {error}") from None
    raw = read_schema_json(path)
    if not isinstance(raw, dict):
        raise SchemaCatalogError(f"{path}: the top-level schema must be a record (JSON object)")
    if types is None:
        types, problems = load_types(root)
        if problems:
            raise SchemaCatalogError(str(problems[0]))
    resolved, problems = resolve(raw, types)
    if problems:
        raise SchemaCatalogError(f"{path}: {problems[0][1]}")
    try:
        parse_schema(resolved.schema, str(path))
    except InvalidSchemaError as error:
        raise SchemaCatalogError(str(error)) from None
    return SchemaFile(
        path,
        location.department,
        location.entity_event,
        location.version,
        resolved.schema,
        resolved.references,
        without_pins(raw),
        resolved.uses,
    )


def types_root(path: Path) -> Path | None:
    """The schema tree ``path`` sits in: the nearest folder above it that holds ``_types/``."""
    for parent in Path(path).resolve().parents:
        if (parent / TYPES_DIR).is_dir():
            return parent
    return None


def standalone_schema(path: Path, root: Path | None = None) -> Any:
    """The standalone form of one version file, an event schema's or a shared type's, the
    shared types it names resolved from ``root`` (default: ``types_root(path)``; none outside
    a tree). SchemaCatalogError naming the file (or the type) if that fails."""
    path = Path(path)
    root = root if root is not None else types_root(path)
    types, problems = load_types(root) if root is not None else ({}, [])
    if root is not None and path.resolve().is_relative_to((root / TYPES_DIR).resolve()):
        for problem in problems:  # only this file's own problems matter here
            if problem.path.resolve() == path.resolve():
                raise SchemaCatalogError(str(problem))
        for shared in types.values():
            for version in shared.versions:
                if version.path.resolve() == path.resolve():
                    return version.schema
        raise SchemaCatalogError(f"{path}: not a valid shared type (see hub schemas lint)")
    raw = read_schema_json(path)
    if not isinstance(raw, dict):
        return raw
    resolved, found = resolve(raw, types)
    if found:
        raise SchemaCatalogError(f"{path}: {found[0][1]}")
    return resolved.schema
