"""``hub access plan|apply|show|export`` and ``hub access users add|rotate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.access.broker import AccessError, BrokerAccess
from hub.access.catalog import load_access_catalog
from hub.access.principals import PrincipalsError
from hub.access.service import (
    AccessPlan,
    admin_security,
    broker_access,
    hub_topics,
    plan_access,
    today_in_hamm,
)
from hub.access.strimzi import kafka_users, render
from hub.access.words import describe
from hub.credentials import Credentials, CredentialsError, CredentialStore, new_password
from hub.settings import Settings, get_settings

app = typer.Typer(
    help="Who may do what: principals, credentials and Kafka ACLs derived from the catalog.",
    no_args_is_help=True,
)
users_app = typer.Typer(help="SCRAM credentials of principals.", no_args_is_help=True)
app.add_typer(users_app, name="users")

CatalogDir = Annotated[
    Path | None, typer.Option("--catalog", help="Catalog folder [HUB_CATALOG_DIR, catalog].")
]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"hub access: {message}", err=True, fg="red")
    return typer.Exit(1)


def _broker(settings: Settings) -> BrokerAccess:
    security = admin_security(settings)
    if security is None:
        raise _fail(
            "needs the super user's credential: set HUB_KAFKA_USERNAME=hub-admin with "
            "HUB_KAFKA_PASSWORD or HUB_KAFKA_CREDENTIALS_FILE, or keep it in "
            f"{CredentialStore(settings.credentials_dir).path('hub-admin')}"
        )
    return broker_access(settings, security)


def _plan(settings: Settings, catalog: Path | None) -> AccessPlan:
    try:
        return plan_access(
            catalog or settings.catalog_dir, _broker(settings), topics=hub_topics(settings)
        )
    except (AccessError, PrincipalsError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def plan(
    catalog: CatalogDir = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 2 when there are changes (for CI).")
    ] = False,
) -> None:
    """Print the difference between the catalog's access and the broker's, one line a change."""
    planned = _plan(get_settings(), catalog)
    for problem in planned.catalog.problems:
        typer.secho(f"warning: {problem}", err=True, fg="yellow")
    for line in planned.plan.lines():
        typer.echo(line)
    if exit_code and not planned.plan.empty:
        raise typer.Exit(2)


@app.command()
def apply(catalog: CatalogDir = None) -> None:
    """Make the broker's ACLs and users what the catalog says; touches only what the hub
    created (an ACL added by hand stays). New principals get a generated credential in
    HUB_CREDENTIALS_DIR, mode 0600."""
    settings = get_settings()
    planned = _plan(settings, catalog)
    for problem in planned.catalog.problems:
        typer.secho(f"warning: {problem}", err=True, fg="yellow")
    for line in planned.plan.lines():
        typer.echo(line)
    if planned.plan.empty:
        return
    store = CredentialStore(settings.credentials_dir)
    try:
        created = _broker(settings).apply(planned.plan, store)
    except AccessError as exc:
        raise _fail(str(exc)) from None
    for user in created:
        typer.echo(f"credential of {user}: {store.path(user)} (mode 0600)")
    typer.echo("Applied.")


@app.command()
def show(
    principal: Annotated[str, typer.Argument(help="A principal, e.g. statistikstelle.")],
    catalog: CatalogDir = None,
    broker: Annotated[
        bool, typer.Option("--broker", help="Also compare with the broker's ACLs.")
    ] = False,
) -> None:
    """What a principal may do, in words, as the catalog says (and the broker, with --broker)."""
    settings = get_settings()
    try:
        access = load_access_catalog(catalog or settings.catalog_dir)
    except PrincipalsError as exc:
        raise _fail(str(exc)) from None
    desired = access.bindings(today_in_hamm(), hub_topics(settings))
    if principal not in access.principals.names():
        raise _fail(f"{principal!r} is not a registered principal ({access.principals.source})")
    for line in describe(principal, desired, access.principals):
        typer.echo(line)
    if broker:
        try:
            actual = [b for b in _broker(settings).bindings() if b.principal == principal]
        except AccessError as exc:
            raise _fail(str(exc)) from None
        want = {b.key for b in desired if b.principal == principal}
        have = {b.key for b in actual}
        typer.echo(f"  On the broker: {len(have)} ACL(s).")
        for key in sorted(want - have):
            typer.echo(f"  missing on the broker: {key} (run hub access apply)")
        for key in sorted(have - want):
            typer.echo(f"  only on the broker: {key}")


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", help="Only strimzi so far.")] = "strimzi",
    out: Annotated[Path, typer.Option(help="Where to write the manifests.")] = Path(
        "deploy/kubernetes/kafka-users.yaml"
    ),
    cluster: Annotated[str, typer.Option(help="Strimzi Kafka cluster name.")] = "hamm-hub",
    namespace: Annotated[str | None, typer.Option(help="Kubernetes namespace.")] = None,
    catalog: CatalogDir = None,
) -> None:
    """Write KafkaUser manifests (scram-sha-512, simple authorization) with the same rules."""
    if format != "strimzi":
        raise _fail(f"unknown format {format!r}: only strimzi")
    settings = get_settings()
    try:
        access = load_access_catalog(catalog or settings.catalog_dir)
    except PrincipalsError as exc:
        raise _fail(str(exc)) from None
    users = kafka_users(
        access.bindings(today_in_hamm(), hub_topics(settings)),
        access.principals,
        cluster=cluster,
        namespace=namespace,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(users), encoding="utf-8")
    typer.echo(f"{len(users)} KafkaUser manifest(s) written to {out}")


def _set_credential(principal: str, rotate: bool) -> None:
    settings = get_settings()
    try:
        access = load_access_catalog(settings.catalog_dir)
    except PrincipalsError as exc:
        raise _fail(str(exc)) from None
    if principal not in access.principals.names():
        raise _fail(
            f"{principal!r} is not registered in {access.principals.source}: add it there first"
        )
    store = CredentialStore(settings.credentials_dir)
    broker = _broker(settings)
    try:
        exists = principal in broker.users()
        if exists and not rotate:
            raise _fail(f"{principal} already has a credential: use `hub access users rotate`")
        if rotate and not exists:
            raise _fail(f"{principal} has no credential yet: use `hub access users add`")
        credential = Credentials(principal, new_password())
        broker.set_password(credential)
    except (AccessError, CredentialsError) as exc:
        raise _fail(str(exc)) from None
    path = store.write(credential, security_protocol=broker.security.protocol)
    typer.echo(f"{'rotated' if rotate else 'created'} the credential of {principal}")
    typer.echo(f"file: {path} (mode 0600; hand it to the principal's system, then delete it here)")
    typer.echo("password (shown once, not logged):")
    typer.echo(credential.password)
    if rotate:
        typer.echo(
            "The old password stops working at once: restart the principal's services with the "
            "new one."
        )


@users_app.command("add")
def users_add(principal: Annotated[str, typer.Argument(help="A registered principal.")]) -> None:
    """Create a principal's SCRAM credential and print it once."""
    _set_credential(principal, rotate=False)


@users_app.command("rotate")
def users_rotate(
    principal: Annotated[str, typer.Argument(help="A registered principal.")],
) -> None:
    """Give a principal a new password (the old one stops working) and print it once."""
    _set_credential(principal, rotate=True)
