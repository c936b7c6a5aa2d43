"""Read a YAML file of the catalog into a pydantic model; errors name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class CatalogFileError(ValueError):
    """A catalog file of the portal is missing, unreadable or invalid (names file and field)."""


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogFileError(f"{path}: not valid YAML: {exc}") from None


def parse_model(kind: type[Model], data: Any, source: str) -> Model:
    if not isinstance(data, dict):
        raise CatalogFileError(f"{source}: expected a mapping")
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(file)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise CatalogFileError(f"{source}: {field}: {message}") from None
