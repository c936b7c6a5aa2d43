"""``hub deliveries``: serve the HTTP pull API, mint subscribers' pull tokens."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="HTTP pull API for subscribers that fetch in batches.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (0.0.0.0 in a container).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8002,
) -> None:
    """Serve GET /v1/deliveries/{agreement}, /docs, /metrics and /healthz until SIGTERM."""
    from pydantic import ValidationError

    from consumers.deliveries.catalog import CatalogError
    from consumers.deliveries.service import serve as run
    from hub.credentials import CredentialsError
    from hub.kafka import KafkaAuthError, KafkaUnreachable
    from hub.secret import SecretError

    try:
        run(host, port)
    except ValidationError as error:
        first = error.errors()[0]
        name = "HUB_" + str(first["loc"][0]).upper() if first["loc"] else "HUB_DELIVERIES_*"
        typer.secho(f"hub deliveries: {name}: {first['msg']}", err=True, fg="red")
        raise typer.Exit(2) from None
    except (CatalogError, SecretError) as error:
        typer.secho(f"hub deliveries: {error}", err=True, fg="red")
        raise typer.Exit(2) from None
    except (CredentialsError, KafkaAuthError, KafkaUnreachable) as error:
        typer.secho(f"hub deliveries: {error}", err=True, fg="red")
        raise typer.Exit(1) from None


@app.command()
def token(
    subscriber: Annotated[str, typer.Argument(help="Subscriber name, e.g. statistikstelle.")],
) -> None:
    """Print a new random pull token and the hash line to add to catalog/departments.yaml."""
    from hub.access.tokens import hash_token, new_token

    value = new_token()
    typer.echo(f"token (give it to {subscriber}; it is shown only once):\n  {value}")
    typer.echo(f"add under subscribers.{subscriber}.pull_tokens in catalog/departments.yaml:")
    typer.echo(f"  - {hash_token(value)}")
