"""``hub webhooks``: push deliveries to HTTP endpoints, signed; given-up ones listed and replayed.

hub webhooks run [--subscription ID ...]     # until SIGTERM; /metrics and /healthz on 9105
hub webhooks check                           # every subscription: shape, agreements, secrets
hub webhooks list [--subscription ID] [--pending] [--json]
hub webhooks replay --subscription ID [--since 2026-11-01T08:00] [--attempts 3]
hub webhooks secret                          # a fresh whsec_ signing secret
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from pathlib import Path
from typing import Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import orjson
import typer

from consumers.webhooks.service import WebhookConfig, WebhookDispatcher, prepare_subscriptions
from consumers.webhooks.settings import load_webhook_settings
from consumers.webhooks.subscriptions import SubscriptionError
from hub.settings import SettingsError, get_settings

app = typer.Typer(help="Webhook push: deliveries POSTed as signed CloudEvents, with retries.")
log = logging.getLogger("hub.webhooks")
CITY_TZ = ZoneInfo("Europe/Berlin")

CatalogOption = Annotated[
    Path | None,
    typer.Option(help="Catalog folder (subscriptions/ and agreements/; default HUB_CATALOG_DIR)."),
]


def _config(catalog: Path | None = None, **overrides: Any) -> WebhookConfig:
    settings = get_settings()
    try:
        webhooks = load_webhook_settings()
    except SettingsError as error:
        _fail(str(error))
    if catalog is not None:
        overrides.setdefault("subscriptions_dir", catalog / "subscriptions")
        overrides.setdefault("agreements_dir", catalog / "agreements")
    return WebhookConfig.from_settings(settings, webhooks, **overrides)


def _fail(*lines: str, code: int = 2) -> NoReturn:
    for line in lines:
        typer.secho(f"hub webhooks: {line}", err=True, fg="red")
    raise typer.Exit(code)


@app.command()
def run(
    catalog: CatalogOption = None,
    subscription: Annotated[
        list[str] | None, typer.Option(help="Only this subscription (repeatable).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Port of /metrics and /healthz (default HUB_WEBHOOKS_METRICS_PORT)."),
    ] = None,
) -> None:
    """Push until SIGTERM/SIGINT: requests in flight finish, progress is committed."""
    from consumers.webhooks.health import HealthServer

    config = _config(catalog, only=tuple(subscription or ()))
    try:
        prepared = prepare_subscriptions(config)
    except SubscriptionError as error:
        _fail(*error.problems)
    if not prepared:
        _fail(f"no subscriptions in {config.subscriptions_dir}")
    dispatcher = WebhookDispatcher(config, prepared)
    port = load_webhook_settings().webhooks_metrics_port if metrics_port is None else metrics_port
    host = get_settings().metrics_host
    with contextlib.ExitStack() as stack:
        if port:
            server = stack.enter_context(HealthServer(host, port, dispatcher.health))
            log.info("metrics", extra={"url": f"http://{host}:{server.port}/metrics"})
        asyncio.run(serve(dispatcher))


async def serve(dispatcher: WebhookDispatcher) -> None:
    """Run ``dispatcher`` with SIGTERM/SIGINT as its stop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, dispatcher.stop)
    async with dispatcher:
        await dispatcher.run()


@app.command()
def check(catalog: CatalogOption = None) -> None:
    """Check every subscription: its shape, its agreements, that its secrets can be read."""
    config = _config(catalog)
    try:
        prepared = prepare_subscriptions(config)
    except SubscriptionError as error:
        _fail(*error.problems, code=1)
    for p in prepared:
        topics = ", ".join(p.topics) or "(no agreement in force today)"
        typer.echo(f"{p.subscription.id}: {p.subscription.endpoint_for_logs} <- {topics}")


def parse_since(text: str) -> dt.datetime:
    """ISO 8601 date or date-time; without an offset, Hamm's local time."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"expected an ISO date or time like 2026-11-01T08:00, got {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=CITY_TZ)


@app.command("list")
def list_command(
    catalog: CatalogOption = None,
    subscription: Annotated[str | None, typer.Option(help="Only this subscription.")] = None,
    pending_only: Annotated[bool, typer.Option("--pending", help="Only not yet replayed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """Given-up deliveries: why, from where, when (never their content: personal data)."""
    from consumers.webhooks.replay import list_given_up

    entries = asyncio.run(list_given_up(_config(catalog), subscription))
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
                        "subscription": r.subscription,
                        "delivery": r.place,
                        "attempts": r.attempts,
                        "status": r.status,
                        "error": r.error,
                        "body": r.body,
                        "time": r.time,
                        "value_bytes": e.value_size,
                    }
                ).decode()
            )
        else:
            state = "pending " if e.pending else "replayed"
            typer.echo(
                f"{e.partition}:{e.offset} {state} {r.time} {r.subscription} {r.place} "
                f"after {r.attempts} attempt(s): {r.error} {r.body[:120]!r}"
            )
    if not as_json:
        typer.echo(
            f"{len(entries)} given-up deliver(ies), {sum(e.pending for e in entries)} pending"
        )


@app.command()
def replay(
    subscription: Annotated[str, typer.Option(help="The subscription whose deliveries to send.")],
    since: Annotated[
        str | None,
        typer.Option(
            help="Everything given up since then (ISO; default: what no replay sent yet)."
        ),
    ] = None,
    attempts: Annotated[int, typer.Option(min=1, max=8, help="Attempts per delivery.")] = 3,
    catalog: CatalogOption = None,
) -> None:
    """Send given-up deliveries again (same webhook-id); what fails again is dead-lettered again."""
    from consumers.webhooks.replay import replay_given_up

    when = parse_since(since) if since else None
    config = _config(catalog)
    try:
        report = asyncio.run(
            replay_given_up(config, subscription, since=when, max_attempts=attempts)
        )
    except SubscriptionError as error:
        _fail(*error.problems)
    typer.echo(
        f"{subscription}: sent {report.sent}, acknowledged {report.acknowledged}, "
        f"given up again {report.given_up}"
    )
    if report.gone:
        _fail("the endpoint answered 410 Gone; the replay stopped", code=1)
    if report.given_up:
        raise typer.Exit(1)


@app.command()
def secret() -> None:
    """Print a fresh signing secret (whsec_...) to put where the subscription's `secret:` points."""
    from consumers.webhooks.signing import generate_secret

    typer.echo(generate_secret())


if __name__ == "__main__":
    from hub.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app()
