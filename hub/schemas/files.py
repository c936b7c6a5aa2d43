"""Reading the files of the schema tree: JSON of a version, ``subject.yaml`` of a subject.

Shared by the catalog (``hub.schemas.catalog``), the shared types (``hub.schemas.shared_types``)
and the lint; every error names the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hub.schemas.compatibility import Level
from hub.schemas.naming import DEFAULT_COMPATIBILITY

SUBJECT_CONFIG = "subject.yaml"


class SchemaCatalogError(ValueError):
    """A file of the schema tree is unreadable or invalid; the message names the file."""


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
