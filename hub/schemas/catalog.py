"""Load the schema tree ``schemas/<department>/<entity>.<event>/v<N>.avsc`` into subjects.

Strict: the first file that cannot be read, is not JSON, not a valid Avro schema, or sits at a
path that breaks the layout raises SchemaCatalogError naming it. The full rule set (doc and
x-pii on every field, compatibility, data-protection approvals) is ``hub.schemas.lint``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hub.schemas.compatibility import Level
from hub.schemas.naming import (
    DEFAULT_COMPATIBILITY,
    parse_location,
    subject_name,
    topic_name,
)
from hub.schemas.parsing import InvalidSchemaError, parse_schema

SUBJECT_CONFIG = "subject.yaml"


class SchemaCatalogError(ValueError):
    """A file of the schema tree is unreadable or invalid; the message names the file."""


@dataclass(frozen=True)
class SchemaFile:
    path: Path
    department: str
    entity_event: str
    version: int
    schema: dict

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


def default_schemas_dir() -> Path:
    """The repository's ``schemas/`` folder: next to the package, else under the cwd."""
    beside_package = Path(__file__).resolve().parents[2] / "schemas"
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / "schemas"


def load_catalog(root: Path = Path("schemas")) -> dict[str, Subject]:
    """All subjects under ``root`` keyed by topic, versions ascending."""
    root = Path(root)
    if not root.is_dir():
        raise SchemaCatalogError(f"{root}: not a directory")
    by_topic: dict[str, list[SchemaFile]] = {}
    for path in iter_schema_files(root):
        schema_file = load_schema_file(path, root)
        by_topic.setdefault(schema_file.topic, []).append(schema_file)
    catalog: dict[str, Subject] = {}
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
    """Every ``*.avsc`` below ``root`` in a stable order."""
    yield from sorted(p for p in Path(root).rglob("*.avsc") if p.is_file())


def load_schema_file(path: Path, root: Path) -> SchemaFile:
    try:
        location = parse_location(path.relative_to(root))
    except ValueError as error:
        raise SchemaCatalogError(f"{path}: {error}") from None
    schema = read_schema_json(path)
    if not isinstance(schema, dict):
        raise SchemaCatalogError(f"{path}: the top-level schema must be a record (JSON object)")
    try:
        parse_schema(schema, str(path))
    except InvalidSchemaError as error:
        raise SchemaCatalogError(str(error)) from None
    return SchemaFile(path, location.department, location.entity_event, location.version, schema)


def read_schema_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SchemaCatalogError(f"{path}: cannot read: {error}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SchemaCatalogError(f"{path}: bad JSON: {error}") from None


def read_compatibility(subject_dir: Path) -> str:
    """The level in ``subject.yaml`` beside the versions, else BACKWARD_TRANSITIVE."""
    config_path = subject_dir / SUBJECT_CONFIG
    if not config_path.exists():
        return DEFAULT_COMPATIBILITY
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
        raise SchemaCatalogError(f"{config_path}: cannot read: {error}") from None
    if config is None:
        return DEFAULT_COMPATIBILITY
    if not isinstance(config, dict) or set(config) - {"compatibility"}:
        raise SchemaCatalogError(f"{config_path}: expected only the key 'compatibility'")
    value = config.get("compatibility", DEFAULT_COMPATIBILITY)
    try:
        return Level.parse(value).value
    except ValueError as error:
        raise SchemaCatalogError(f"{config_path}: {error}") from None
