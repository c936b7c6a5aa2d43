"""``hub registry serve``: the schema registry as a service."""

from __future__ import annotations

import asyncio

import typer

from hub.registry.config import RegistrySettings

app = typer.Typer(help="Confluent-compatible schema registry backed by a Kafka topic.")


@app.callback()
def registry() -> None:
    """Confluent-compatible schema registry backed by a Kafka topic."""


@app.command()
def serve(
    host: str = typer.Option(None, help="Listen address [HUB_REGISTRY_HOST, 127.0.0.1]"),
    port: int = typer.Option(None, help="Listen port [HUB_REGISTRY_PORT, 8081]"),
    bootstrap_servers: str = typer.Option(
        None, help="Kafka bootstrap servers [HUB_BOOTSTRAP_SERVERS, 127.0.0.1:9092]"
    ),
    topic: str = typer.Option(None, help="Compacted topic holding the state [HUB_REGISTRY_TOPIC]"),
) -> None:
    """Serve the REST API until SIGTERM/SIGINT.

    Clients authenticate with HTTP Basic as their Kafka principal (the registry asks Kafka);
    who may write which subject follows from <HUB_CATALOG_DIR>/departments.yaml."""
    from hub.access.principals import PrincipalsError, load_principals
    from hub.credentials import CredentialsError
    from hub.kafka import KafkaAuthError, KafkaSecurity
    from hub.logs import configure_logging
    from hub.registry.auth import authenticator_for
    from hub.registry.server import RegistryServer
    from hub.registry.server import serve as run
    from hub.settings import get_settings

    settings = RegistrySettings()
    configure_logging()
    bootstrap = bootstrap_servers or settings.bootstrap_servers
    try:
        security = KafkaSecurity.from_settings(principal="hub-registry")
        _ = security.credentials  # read now: a missing credential stops the start, in one line
        principals = load_principals(get_settings().catalog_dir / "departments.yaml")
    except (CredentialsError, PrincipalsError) as exc:
        typer.echo(f"hub registry serve: {exc}", err=True)
        raise typer.Exit(2) from None
    server = RegistryServer(
        bootstrap,
        topic=topic or settings.registry_topic,
        host=host or settings.registry_host,
        port=settings.registry_port if port is None else port,
        default_compatibility=settings.registry_default_compatibility,
        replication_factor=settings.registry_replication_factor,
        security=security,
        principals=principals,
        authenticator=authenticator_for(bootstrap, security),
    )
    try:  # uvloop (uvicorn[standard]) roughly halves the event loop's share of each request
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(run(server))
    except (KafkaAuthError, CredentialsError) as exc:
        typer.echo(f"hub registry serve: {exc}", err=True)
        raise typer.Exit(2) from None


if __name__ == "__main__":
    app()
