"""``hub simulate``: publish realistic, seeded department events for the demo.

Registers the schema catalog first (idempotent), then publishes ``rate`` events a second for
``duration`` seconds, showing per-department counts. SIGTERM or Ctrl-C stops generating and
waits for what was sent, so nothing sent is lost and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Annotated

import orjson
import typer

from hub.logs import configure_logging
from hub.registry.publish import PublishError, publish_catalog
from hub.schemas.catalog import SchemaCatalogError, Subject, default_schemas_dir, load_catalog
from hub.serde import RegistryClient, RegistryError
from hub.settings import get_settings
from producers.sdk import PublisherError
from producers.simulators import SimulationStats, TopicMix, run_simulation
from producers.simulators.publishers import DepartmentPublishers
from producers.simulators.settings import SimulatorSettings

app = typer.Typer(
    help="Publish simulated events of Hamm's departments (needs a broker and a registry).",
    no_args_is_help=True,
    add_completion=False,
)
log = logging.getLogger("producers.simulate")
PROGRESS_EVERY_S = 5.0


@app.callback()
def main() -> None:
    """Publish simulated events of Hamm's departments (needs a broker and a registry)."""


@app.command()
def run(
    rate: Annotated[float, typer.Option(help="events per second", min=0.001)] = 50.0,
    duration: Annotated[float, typer.Option(help="seconds to run", min=0)] = 60.0,
    seed: Annotated[int, typer.Option(help="same seed, same events")] = 42,
    topic: Annotated[
        list[str] | None, typer.Option(help="only this topic (repeatable); default: all")
    ] = None,
    time_scale: Annotated[
        float,
        typer.Option(
            help="simulated seconds per real second (60: an hour of city life a minute)", min=0.001
        ),
    ] = 1.0,
    topic_prefix: Annotated[
        str,
        typer.Option(
            help="write to <prefix><topic> instead (a shared cluster, tests); registers the schemas there"
        ),
    ] = "",
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Prometheus /metrics port (0: off) [HUB_SIMULATOR_METRICS_PORT]"),
    ] = None,
) -> None:
    """Publish ``rate × duration`` simulated events and print the counts as JSON."""
    settings = get_settings()
    own = SimulatorSettings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        mix = TopicMix(topic)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--topic") from None
    try:
        catalog = load_catalog(default_schemas_dir())
        for line in publish_catalog(catalog, settings.registry_url):
            log.debug(line)
        if topic_prefix:
            _register_prefixed(catalog, mix.topics, topic_prefix, settings.registry_url)
    except (SchemaCatalogError, PublishError, RegistryError) as exc:
        typer.echo(f"cannot register the schema catalog: {exc}", err=True)
        raise typer.Exit(1) from None
    port = own.simulator_metrics_port if metrics_port is None else metrics_port
    if port:
        from prometheus_client import start_http_server

        try:
            start_http_server(port, addr=settings.metrics_host)
        except OSError as exc:
            typer.echo(
                f"cannot serve /metrics on {settings.metrics_host}:{port} ({exc.strerror}); "
                "choose another with --metrics-port or HUB_SIMULATOR_METRICS_PORT (0: off)",
                err=True,
            )
            raise typer.Exit(1) from None
    try:
        stats = asyncio.run(
            _simulate(
                own.simulator_source, mix.topics, rate, duration, seed, topic_prefix, time_scale
            )
        )
    except (PublisherError, RegistryError) as exc:
        typer.echo(f"simulation failed: {exc}", err=True)
        raise typer.Exit(1) from None
    sys.stdout.write(orjson.dumps(stats.as_dict()).decode() + "\n")
    if stats.failed:
        raise typer.Exit(1)


def _register_prefixed(
    catalog: dict[str, Subject], topics: list[str], prefix: str, registry_url: str
) -> None:
    """The latest schema of each topic under ``<prefix><topic>-value`` too."""
    with RegistryClient(registry_url) as client:
        for name in topics:
            client.register(f"{prefix}{name}-value", catalog[name].latest.schema)


async def _simulate(
    source: str,
    topics: list[str],
    rate: float,
    duration: float,
    seed: int,
    prefix: str = "",
    time_scale: float = 1.0,
) -> SimulationStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    last = [0.0]

    def progress(stats: SimulationStats) -> None:
        if stats.elapsed - last[0] >= PROGRESS_EVERY_S:
            last[0] = stats.elapsed
            log.info(
                "simulation progress",
                extra={
                    "acknowledged": stats.acknowledged,
                    "planned": stats.planned,
                    "failed": stats.failed,
                    "by_department": dict(stats.by_department),
                },
            )

    targets = [prefix + name for name in topics]
    async with DepartmentPublishers(single_source=source) as publisher:
        await publisher.ensure_topics(targets)  # no auto-creation races
        stats = await run_simulation(
            publisher,
            topics,
            rate,
            duration,
            seed,
            stop=stop,
            on_progress=progress,
            rename=(lambda name: prefix + name) if prefix else None,
            time_scale=time_scale,
        )
    log.info("simulation finished", extra=stats.as_dict())
    return stats


if __name__ == "__main__":
    app()
