"""Schemas as code: the catalog of Avro contracts, their compatibility, lint and CLI."""

from hub.schemas.catalog import (
    Catalog,
    SchemaCatalogError,
    SchemaFile,
    Subject,
    default_schemas_dir,
    load_catalog,
    standalone_schema,
)
from hub.schemas.compatibility import (
    Incompatibility,
    InvalidSchemaError,
    Level,
    check_compatibility,
)
from hub.schemas.fields import FieldInfo, iter_fields
from hub.schemas.lint import LintError, lint
from hub.schemas.shared_types import SharedType, TypeFile

__all__ = [
    "Catalog",
    "FieldInfo",
    "Incompatibility",
    "InvalidSchemaError",
    "Level",
    "LintError",
    "SchemaCatalogError",
    "SchemaFile",
    "SharedType",
    "Subject",
    "TypeFile",
    "check_compatibility",
    "default_schemas_dir",
    "iter_fields",
    "lint",
    "load_catalog",
    "standalone_schema",
]
