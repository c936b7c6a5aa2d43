"""Schemas as code: the catalog of Avro contracts, their compatibility, lint and CLI."""

from hub.schemas.catalog import (
    SchemaCatalogError,
    SchemaFile,
    Subject,
    default_schemas_dir,
    load_catalog,
)
from hub.schemas.compatibility import (
    Incompatibility,
    InvalidSchemaError,
    Level,
    check_compatibility,
)
from hub.schemas.fields import FieldInfo, iter_fields
from hub.schemas.lint import LintError, lint

__all__ = [
    "FieldInfo",
    "Incompatibility",
    "InvalidSchemaError",
    "Level",
    "LintError",
    "SchemaCatalogError",
    "SchemaFile",
    "Subject",
    "check_compatibility",
    "default_schemas_dir",
    "iter_fields",
    "lint",
    "load_catalog",
]
