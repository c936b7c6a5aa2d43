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
    """Serve the REST API until SIGTERM/SIGINT."""
    from hub.logs import configure_logging
    from hub.registry.server import RegistryServer
    from hub.registry.server import serve as run

    settings = RegistrySettings()
    configure_logging()
    server = RegistryServer(
        bootstrap_servers or settings.bootstrap_servers,
        topic=topic or settings.registry_topic,
        host=host or settings.registry_host,
        port=settings.registry_port if port is None else port,
        default_compatibility=settings.registry_default_compatibility,
        replication_factor=settings.registry_replication_factor,
    )
    try:  # uvloop (uvicorn[standard]) roughly halves the event loop's share of each request
        import uvloop
    except ImportError:
        asyncio.run(run(server))
    else:
        uvloop.run(run(server))


if __name__ == "__main__":
    app()
