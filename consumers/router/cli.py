"""``hub router run``: the router as a long-running service."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import orjson
import typer
from prometheus_client import start_http_server

from consumers.router.runtime import limit_malloc_arenas, tune_gc
from consumers.router.service import Router, RouterConfig
from hub.secret import SecretError, load_master_secret
from hub.settings import get_settings

app = typer.Typer(help="Route events to subscribers under data-sharing agreements.")
log = logging.getLogger("hub.router")


@app.command()
def run(
    catalog: Annotated[
        Path | None, typer.Option(help="Catalog folder (agreements under agreements/).")
    ] = None,
    schemas: Annotated[Path | None, typer.Option(help="Schema contracts folder.")] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Port of /metrics (default HUB_ROUTER_METRICS_PORT).")
    ] = None,
) -> None:
    """Run until SIGTERM/SIGINT (finishing the batch in flight); SIGHUP reloads agreements."""
    limit_malloc_arenas()  # before the clients start their threads
    settings = get_settings()
    try:
        secret = load_master_secret(settings.secret_file)
    except SecretError as error:
        typer.secho(f"hub router: {error}", err=True, fg="red")
        raise typer.Exit(2) from None
    # With the admin credential on this machine, the router makes the broker's ACLs match the
    # catalog before it connects as hub-router (new agreements open, expired ones close).
    from hub.access.service import apply_if_admin

    if settings.router_apply_access:
        asyncio.run(apply_if_admin(settings, "router"))
    config = RouterConfig.from_settings(
        settings,
        agreements_dir=(catalog / "agreements") if catalog else None,
        schemas_dir=schemas,
    )
    port = settings.router_metrics_port if metrics_port is None else metrics_port
    if port:
        start_http_server(port, addr=settings.metrics_host)
        log.info("metrics", extra={"url": f"http://{settings.metrics_host}:{port}/metrics"})
    tune_gc()

    async def apply_access() -> None:
        if settings.router_apply_access:
            await apply_if_admin(settings, "router")

    asyncio.run(serve(config, secret, before_reload=apply_access))


async def serve(
    config: RouterConfig,
    secret: bytes,
    before_reload: Callable[[], Awaitable[object]] | None = None,
) -> None:
    router = Router(config, secret, before_reload=before_reload)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, router.stop)
    loop.add_signal_handler(signal.SIGHUP, router.request_reload)
    async with router:
        await router.run()


dlq_app = typer.Typer(help="Dead letters: events the router could not handle, and their replay.")


def _config() -> RouterConfig:
    return RouterConfig.from_settings(get_settings())


@dlq_app.command("list")
def list_command(
    pending_only: Annotated[bool, typer.Option("--pending", help="Only not yet replayed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """Each dead letter's reason and origin (sizes only: the content is personal data)."""
    from consumers.router.replay import list_dead_letters

    entries = asyncio.run(list_dead_letters(_config()))
    shown = [e for e in entries if e.pending or not pending_only]
    for e in shown:
        r = e.reason
        if as_json:
            typer.echo(
                orjson.dumps(
                    {
                        "partition": e.partition,
                        "offset": e.offset,
                        "pending": e.pending,
                        "error_class": r.error_class,
                        "message": r.message,
                        "source": f"{r.topic}/{r.partition}/{r.offset}",
                        "agreement": r.agreement_id,
                        "service": r.router,
                        "time": r.time,
                        "value_bytes": e.value_size,
                    }
                ).decode()
            )
        else:
            state = "pending " if e.pending else "replayed"
            agreement = f" agreement={r.agreement_id}" if r.agreement_id else ""
            typer.echo(
                f"{e.partition}:{e.offset} {state} {r.time} {r.error_class} "
                f"from {r.topic}/{r.partition}/{r.offset} by {r.router or '?'}{agreement}: "
                f"{r.message[:160]}"
            )
    if not as_json:
        pending = sum(e.pending for e in entries)
        typer.echo(f"{len(entries)} dead letter(s), {pending} pending replay")


@dlq_app.command()
def replay(
    dry_run: Annotated[bool, typer.Option(help="Say what would happen; write nothing.")] = False,
) -> None:
    """Replay every pending dead letter once, under the agreements in force now."""
    from consumers.router.replay import replay_dead_letters

    settings = get_settings()
    try:
        secret = load_master_secret(settings.secret_file)
    except SecretError as error:
        typer.secho(f"hub dlq: {error}", err=True, fg="red")
        raise typer.Exit(2) from None
    report = asyncio.run(replay_dead_letters(_config(), secret, dry_run=dry_run))
    verb = "would replay" if dry_run else "replayed"
    typer.echo(f"{verb} {report.replayed} dead letter(s)")
    if report.skipped:
        typer.echo(f"  left alone {report.skipped} written by other services (not routable)")
    for agreement, n in sorted(report.delivered.items()):
        typer.echo(f"  delivered under {agreement}: {n}")
    for reason, n in sorted(report.dead_again.items()):
        typer.echo(f"  dead-lettered again ({reason}): {n}")
