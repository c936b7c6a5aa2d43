"""``hub deploy kubernetes --out DIR``: write the Kubernetes (Strimzi) manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Deployment manifests rendered from the catalog.", no_args_is_help=True)


@app.callback()
def deploy() -> None:
    """Deployment manifests rendered from the catalog."""


@app.command()
def kubernetes(
    out: Annotated[Path, typer.Option(help="Folder the manifests are written to.")] = Path(
        "deploy/kubernetes"
    ),
    image: Annotated[
        str | None,
        typer.Option(
            help="Image of every hub container [ghcr.io/stadt-hamm/datendrehscheibe:<version>]."
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(help="Namespace written into every manifest (default none: kubectl -n)."),
    ] = None,
    redis: Annotated[
        str | None,
        typer.Option(
            help="host:port of the city's Redis for Feast (password from Secret hub-redis); "
            "default: run Redis in the namespace."
        ),
    ] = None,
    portal_url: Annotated[
        str | None, typer.Option(help="Public address of the portal (HUB_PORTAL_BASE_URL).")
    ] = None,
) -> None:
    """Kafka (KRaft, 3 nodes), KafkaNodePool, KafkaTopics, KafkaUsers, the hub's services."""
    from hub.access.principals import PrincipalsError
    from hub.deploy.kubernetes import DEFAULT_IMAGE, DeployError, Target, render_all, write
    from hub.schemas.catalog import SchemaCatalogError
    from hub.settings import get_settings

    try:
        target = Target(
            image=DEFAULT_IMAGE if image is None else image,
            namespace=namespace,
            redis=redis,
            portal_url=portal_url,
        )
        files = render_all(get_settings(), target)
    except (DeployError, PrincipalsError, SchemaCatalogError) as error:
        typer.secho(f"hub deploy: {error}", err=True, fg="red")
        raise typer.Exit(2) from None
    for path in write(out, files):
        typer.echo(f"wrote {path}")
