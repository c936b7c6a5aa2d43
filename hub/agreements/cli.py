"""`hub agreements check|show`: validate agreements against the schema catalog, and explain one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.access.principals import Principals, PrincipalsError, load_principals
from hub.agreements.compile import CompiledAgreement, compile_agreement
from hub.agreements.errors import AgreementCheckError, AgreementError, CheckIssue
from hub.agreements.model import Agreement, load_agreements

app = typer.Typer(
    help="Data-sharing agreements (Datennutzungsvereinbarungen).", no_args_is_help=True
)

DEFAULT_DIR = Path("catalog/agreements")
# Checking and showing do not depend on the secret (only pseudonym values do).
DUMMY_SECRET = b"hub-agreements-check-dummy-secret"


def _load_schemas() -> dict[str, dict[str, Any]]:
    """Latest source schema per topic from the schema catalog (imported lazily)."""
    from hub.schemas.catalog import default_schemas_dir, load_catalog

    return {topic: s.latest.schema for topic, s in load_catalog(default_schemas_dir()).items()}


def check_agreements(
    agreements: list[Agreement],
    schemas: dict[str, dict[str, Any]],
    principals: Principals | None = None,
) -> tuple[list[CompiledAgreement], list[CheckIssue]]:
    """Compile every agreement against its source topic's schema; collect all problems. With
    the register of principals, the subscriber must be registered and the source owned."""
    compiled: list[CompiledAgreement] = []
    issues: list[CheckIssue] = []
    for a in agreements:
        if principals is not None:
            issues.extend(principal_issues(a, principals))
        schema = schemas.get(a.source)
        if schema is None:
            issues.append(CheckIssue(a.origin, "source", f"unknown topic {a.source!r}"))
            continue
        try:
            compiled.append(compile_agreement(a, schema, DUMMY_SECRET))
        except AgreementCheckError as exc:
            issues.extend(exc.issues)
    return compiled, issues


def principal_issues(agreement: Agreement, principals: Principals) -> list[CheckIssue]:
    """An agreement names a registered subscriber and a source a registered department owns."""
    issues = []
    if not principals.may_subscribe(agreement.subscriber):
        issues.append(
            CheckIssue(
                agreement.origin,
                "subscriber",
                f"{agreement.subscriber!r} is not registered in {principals.source} "
                "(add it under subscribers, with a contact)",
            )
        )
    if principals.owner_of(agreement.source) is None:
        issues.append(
            CheckIssue(
                agreement.origin,
                "source",
                f"no department in {principals.source} owns the topic {agreement.source!r}",
            )
        )
    return issues


def default_principals_file() -> Path:
    from hub.settings import get_settings

    return get_settings().catalog_dir / "departments.yaml"


def _load_principals(path: Path) -> Principals:
    try:
        return load_principals(path)
    except PrincipalsError as exc:
        _fail([exc])
        raise  # unreachable: _fail exits


def _fail(lines: list[Any]) -> None:
    for line in lines:
        typer.echo(str(line), err=True)
    raise typer.Exit(code=1)


def _load(directory: Path) -> tuple[list[Agreement], dict[str, dict[str, Any]]]:
    try:
        agreements = load_agreements(directory)
    except AgreementError as exc:
        _fail(exc.issues)
    try:
        schemas = _load_schemas()
    except Exception as exc:  # the catalog reports its own problems; name them and stop
        _fail([f"cannot load the schema catalog: {exc}"])
    return agreements, schemas


@app.command()
def check(
    directory: Annotated[
        Path, typer.Argument(help="Folder with the agreement YAML files.")
    ] = DEFAULT_DIR,
    principals_file: Annotated[
        Path | None,
        typer.Option(
            "--principals",
            help="The register of principals (default: departments.yaml beside the folder, "
            "else in HUB_CATALOG_DIR).",
        ),
    ] = None,
) -> None:
    """Check every agreement against the latest schema of its source topic and against the
    register of principals (the subscriber must be registered)."""
    agreements, schemas = _load(directory)
    if principals_file is None:
        beside = directory.parent / "departments.yaml"
        principals_file = beside if beside.is_file() else default_principals_file()
    principals = _load_principals(principals_file)
    compiled, issues = check_agreements(agreements, schemas, principals)
    if issues:
        _fail(issues)
    typer.echo(f"{len(compiled)} agreement(s) OK")


@app.command()
def show(
    agreement_id: Annotated[str, typer.Argument(help="The agreement id.")],
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder with the agreement YAML files.")
    ] = DEFAULT_DIR,
) -> None:
    """Print an agreement: purpose, legal basis, validity, filter, transforms, output schema."""
    agreements, schemas = _load(directory)
    agreement = next((a for a in agreements if a.id == agreement_id), None)
    if agreement is None:
        _fail([f"{directory}: no agreement with id {agreement_id!r}"])
    compiled, issues = check_agreements([agreement], schemas)
    if issues:
        _fail(issues)
    c = compiled[0]
    a = c.agreement
    lines = [
        f"id:            {a.id}  ({a.origin})",
        f"subscriber:    {a.subscriber}",
        f"source:        {a.source}",
        f"delivery:      {a.topic}",
        f"purpose:       {a.purpose}",
        f"legal basis:   {a.legal_basis}",
    ]
    if a.sensitive_legal_basis:
        lines.append(f"Art. 9 basis:  {a.sensitive_legal_basis}")
    lines += [
        f"valid:         {a.valid_from or '-'} .. {a.valid_until}",
        f"identifying:   {'allowed' if a.allows_identifying else 'no'}",
        f"filter:        {json.dumps(a.where, default=str, ensure_ascii=False) if a.where else '-'}",
        f"key:           {c.key_transform}",
        "fields:",
        *(f"  {path}: {t}" for path, t in c.field_transforms.items()),
        "output schema:",
        json.dumps(c.output_schema, indent=2, ensure_ascii=False),
    ]
    typer.echo("\n".join(lines))
