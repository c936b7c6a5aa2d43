"""``hub portal``: serve the transparency portal, make a staff password hash."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

app = typer.Typer(help="The transparency portal for citizens and staff.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface (default HUB_PORTAL_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="TCP port (default HUB_PORTAL_PORT, 8003).")
    ] = None,
) -> None:
    """Serve the pages, their JSON twins, /dcat/catalog.ttl|.jsonld, /metrics and /healthz
    until SIGTERM (folding hub.audit and hub.dlq as hub-portal)."""
    from pydantic import ValidationError

    from hub.access.principals import PrincipalsError
    from hub.credentials import CredentialsError
    from hub.kafka import KafkaAuthError, KafkaUnreachable
    from hub.schemas.catalog import SchemaCatalogError
    from hub.secret import SecretError
    from portal.catalog_files import CatalogFileError
    from portal.service import serve as run

    try:
        run(host, port)
    except ValidationError as error:
        first = error.errors()[0]
        name = "HUB_" + str(first["loc"][0]).upper() if first["loc"] else "HUB_PORTAL_*"
        typer.secho(f"hub portal: {name}: {first['msg']}", err=True, fg="red")
        raise typer.Exit(2) from None
    except (CatalogFileError, PrincipalsError, SchemaCatalogError, SecretError) as error:
        typer.secho(f"hub portal: {error}", err=True, fg="red")
        raise typer.Exit(2) from None
    except (CredentialsError, KafkaAuthError, KafkaUnreachable) as error:
        typer.secho(f"hub portal: {error}", err=True, fg="red")
        raise typer.Exit(1) from None


@app.command()
def passwd(
    login: Annotated[str, typer.Argument(help="The staff login, e.g. dsb.")],
    name: Annotated[str, typer.Option(help="Name shown for the login.")] = "",
    rights: Annotated[
        bool,
        typer.Option(
            "--rights", help="The role for the staff page Auskunft (answers access requests)."
        ),
    ] = False,
) -> None:
    """Ask for a password (twice) and print the entry for catalog/portal.yaml (a hash only)."""
    from portal.staff import hash_password

    password = getpass.getpass(f"password for {login}: ")
    if len(password) < 12:
        typer.secho("hub portal: a password has at least 12 characters", err=True, fg="red")
        raise typer.Exit(2)
    if getpass.getpass("again: ") != password:
        typer.secho("hub portal: the two passwords differ", err=True, fg="red")
        raise typer.Exit(2)
    typer.echo("add under staff: in catalog/portal.yaml:")
    typer.echo(
        f'  {login}:\n    name: {name or login}\n    password_hash: "{hash_password(password)}"'
        + ("\n    rights: true" if rights else "")
    )
