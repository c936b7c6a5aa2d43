"""``hub connect``: run the file-drop and outbox connectors."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Connectors for systems that export files or keep an outbox table.", no_args_is_help=True
)
log = logging.getLogger(__name__)


@app.command()
def files(
    dir: Annotated[
        Path,
        typer.Option(
            "--dir",
            help="The drop folder (done/ and rejects/ go below it).",
            exists=True,
            file_okay=False,
        ),
    ],
    mapping: Annotated[
        Path,
        typer.Option(
            "--mapping", help="Mapping YAML (see catalog/mappings/).", exists=True, dir_okay=False
        ),
    ],
    once: Annotated[bool, typer.Option("--once", help="Process what is there, then exit.")] = False,
    chunk_size: Annotated[int, typer.Option(help="Rows per Kafka transaction.")] = 500,
    poll_interval: Annotated[float, typer.Option(help="Seconds between looks.")] = 5.0,
) -> None:
    """Publish CSV / JSON-lines exports dropped into a folder (watches it unless --once)."""
    from producers.connectors.files import FileDropConfig, FileDropConnector
    from producers.connectors.mapping import MappingError, load_mapping

    try:
        file_mapping = load_mapping(mapping)
    except MappingError as error:
        _fail(error)
    settings, own = _settings()
    config = FileDropConfig(
        directory=dir,
        bootstrap_servers=settings.bootstrap_servers,
        registry_url=settings.registry_url,
        progress_topic=own.connect_progress_topic,
        chunk_size=chunk_size,
        poll_interval=poll_interval,
    )
    connector = FileDropConnector(config, file_mapping)
    _run(connector, once, own.connect_metrics_port, settings.metrics_host)


@app.command()
def outbox(
    dsn: Annotated[str, typer.Option(help="sqlite:///path.db, a path, or postgresql://...")],
    source: Annotated[
        str,
        typer.Option(
            help="CloudEvents source, /hamm/<department>/<system>: the connector runs as that "
            "department."
        ),
    ],
    table: Annotated[str, typer.Option(help="The outbox table.")] = "outbox",
    name: Annotated[
        str | None, typer.Option(help="Name in progress keys (default: from the DSN).")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Publish what is pending, then exit.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Rows per Kafka transaction.")] = 500,
    poll_interval: Annotated[float, typer.Option(help="Seconds between polls when idle.")] = 1.0,
) -> None:
    """Publish the rows of an outbox table in id order (polls unless --once)."""
    from producers.connectors.outbox import OutboxConfig, OutboxConnector

    settings, own = _settings()
    config = OutboxConfig(
        dsn=dsn,
        bootstrap_servers=settings.bootstrap_servers,
        registry_url=settings.registry_url,
        table=table,
        name=name,
        source=source,
        progress_topic=own.connect_progress_topic,
        batch_size=batch_size,
        poll_interval=poll_interval,
    )
    try:
        connector = OutboxConnector(config)
    except ValueError as error:
        _fail(error)
    _run(connector, once, own.connect_metrics_port, settings.metrics_host)


def _settings() -> tuple[Any, Any]:
    from hub.settings import get_settings
    from producers.connectors.settings import ConnectSettings

    return get_settings(), ConnectSettings()


def _fail(error: Exception) -> None:
    typer.secho(f"hub connect: {error}", err=True, fg="red")
    raise typer.Exit(2)


def _run(connector: Any, once: bool, metrics_port: int, metrics_host: str) -> None:
    """Start, run, and on SIGTERM/SIGINT finish the transaction in flight before stopping."""
    from aiokafka.errors import KafkaError

    from producers.connectors.mapping import MappingError
    from producers.sdk.errors import PublisherError

    if metrics_port and not once:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, metrics_host)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, connector.request_stop)
        async with connector:
            if once:
                await connector.run_once()
            else:
                await connector.run()
        log.info("connector stopped")

    try:
        asyncio.run(main())
    except (MappingError, PublisherError, KafkaError, ValueError) as error:
        _fail(error)
