"""``hub schemas``: lint the schema tree, check two or more schema files, publish the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.schemas.catalog import (
    SchemaCatalogError,
    default_schemas_dir,
    load_catalog,
    standalone_schema,
)
from hub.schemas.compatibility import InvalidSchemaError, Level, check_compatibility
from hub.schemas.lint import format_report, lint

FALLBACK_REGISTRY_URL = "http://127.0.0.1:8081"

app = typer.Typer(
    help="Avro contracts: lint the schema tree, check compatibility, publish to the registry.",
    no_args_is_help=True,
)


@app.command("lint")
def lint_command(
    directory: Annotated[
        Path | None, typer.Argument(help="Schema root (default: the repository's schemas/).")
    ] = None,
) -> None:
    """Check every schema file; exit 1 if any rule is broken."""
    errors = lint(directory or default_schemas_dir())
    for line in format_report(errors):
        typer.echo(line)
    raise typer.Exit(1 if errors else 0)


@app.command("compat")
def compat_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="OLD.avsc [OLD2.avsc ...] NEW.avsc, oldest first, new schema last."),
    ],
    level: Annotated[
        str, typer.Option("--level", "-l", help=f"One of {', '.join(Level)}.")
    ] = Level.BACKWARD.value,
) -> None:
    """Is the last schema compatible with the earlier ones? Exit 0 yes, 1 no, 2 invalid input.

    Shared types a file names are resolved from the schema tree it sits in (``_types/``)."""
    if len(files) < 2:
        _fail("give at least two schema files: OLD.avsc [OLD2.avsc ...] NEW.avsc")
    try:
        chosen = Level.parse(level)
    except ValueError as error:
        _fail(str(error))
    schemas = [_read_schema(path) for path in files]
    *old, new = schemas
    problems = check_compatibility(new, old, chosen)
    if not problems:
        typer.echo("compatible")
        raise typer.Exit(0)
    typer.echo(f"incompatible at {chosen}: {len(problems)} breaking change(s)")
    for item in problems:
        against = files[item.version - 1] if item.version else files[-2]
        typer.echo(f"  {item.type} against {against}: {item.message}")
    raise typer.Exit(1)


@app.command("publish")
def publish_command(
    directory: Annotated[
        Path | None, typer.Argument(help="Schema root (default: the repository's schemas/).")
    ] = None,
    registry: Annotated[
        str | None, typer.Option("--registry", help="Schema registry URL (default: settings).")
    ] = None,
) -> None:
    """Register every subject's versions and compatibility level in the schema registry."""
    from hub.registry.publish import PublishError, publish_catalog

    try:
        catalog = load_catalog(directory or default_schemas_dir())
    except SchemaCatalogError as error:
        _fail(str(error))
    try:
        lines = publish_catalog(catalog, registry or _default_registry_url())
    except PublishError as error:
        _fail(str(error))
    for line in lines:
        typer.echo(line)


def _default_registry_url() -> str:
    try:
        from hub.settings import get_settings
    except ImportError:
        return FALLBACK_REGISTRY_URL
    return get_settings().registry_url


def _read_schema(path: Path) -> object:
    """Parse one file, the shared types it names resolved from the tree it sits in (its
    standalone form); exit 2 with a message naming it when it is unreadable or invalid."""
    try:
        schema = standalone_schema(path)
    except SchemaCatalogError as error:
        _fail(str(error))
    try:
        check_compatibility(schema, [], Level.NONE)  # parses and validates only
    except InvalidSchemaError as error:
        _fail(f"{path}: {str(error).removeprefix('new schema: ')}")
    return schema


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg="red")
    raise typer.Exit(2)
