"""``hub gateway``: serve the HTTP ingest gateway, mint department tokens."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="HTTP ingest gateway for department systems.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (0.0.0.0 in a container).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Serve POST /v1/topics/{topic}/events, /openapi.json, /docs, /metrics, /healthz."""
    from producers.gateway.departments import DepartmentsError
    from producers.gateway.service import serve as run

    try:
        run(host, port)
    except DepartmentsError as error:
        typer.secho(f"hub gateway: {error}", err=True, fg="red")
        raise typer.Exit(2) from None


@app.command()
def token(
    department: Annotated[str, typer.Argument(help="Department name, e.g. ordnungsamt.")],
) -> None:
    """Print a new random API token and the hash line to add to catalog/departments.yaml."""
    from producers.gateway.departments import hash_token, new_token

    value = new_token()
    typer.echo(f"token (give it to {department}; it is shown only once):\n  {value}")
    typer.echo(f"add under departments.{department}.tokens in catalog/departments.yaml:")
    typer.echo(f"  - {hash_token(value)}")
