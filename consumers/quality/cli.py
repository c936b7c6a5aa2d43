"""``hub quality report``: per data set and day, what the router measured where every event
passes (``hub.quality``), and what the producers rejected at the door (Prometheus)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import orjson
import typer

from consumers.quality.reader import PRINCIPAL, read_summaries
from consumers.quality.rejections import MAX_DAYS, fetch_rejections
from consumers.quality.report import NOT_CONFIGURED, build_report, render_text
from hub.kafka import KafkaSecurity
from hub.quality.summary import BERLIN, DayFigures, combine
from hub.schemas.files import SchemaCatalogError
from hub.serde import RegistryError
from hub.settings import Settings, get_settings

app = typer.Typer(help="Data quality per data set and day (hub.quality).", no_args_is_help=True)


class Format(StrEnum):
    text = "text"
    json = "json"


def parse_since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected a date YYYY-MM-DD, got {value!r}", param_hint="--since"
        ) from None


def _fail(message: str) -> typer.Exit:
    typer.secho(f"hub quality report: {message}", err=True, fg="red")
    return typer.Exit(2)


def days_to_ask(days: list[DayFigures], since: date | None, today: date) -> list[date]:
    """The days Prometheus is asked about: every day from ``since`` (else those with
    summaries) to today, the newest ``MAX_DAYS``."""
    if since is not None:
        first = max(since, today - timedelta(days=MAX_DAYS - 1))
        return [first + timedelta(days=i) for i in range((today - first).days + 1)]
    return sorted({d.day for d in days if d.day <= today} | {today})


@app.command()
def report(
    dataset: Annotated[
        str | None,
        typer.Option(help="Only this data set (its topic, e.g. buergeramt.resident.moved)."),
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this day on (YYYY-MM-DD).")] = None,
    output: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """Per data set and day: events, flag rate (and per rule), dead letters, late events,
    duplicates, null share per optional field, and the rejections at the door where Prometheus
    is configured (HUB_PROMETHEUS_URL). A data set without a summary yet says "no data"."""
    settings = get_settings()
    first = parse_since(since)
    text = run_report(settings, dataset=dataset, since=first, as_json=output is Format.json)
    typer.echo(text)


def run_report(
    settings: Settings,
    *,
    dataset: str | None = None,
    since: date | None = None,
    as_json: bool = False,
    security: KafkaSecurity | None = None,
) -> str:
    """The report as text or JSON, read as ``hub-audit`` (or ``security``)."""
    from hub.schemas.catalog import load_catalog

    try:
        catalog = list(load_catalog(settings.schemas_dir))
    except SchemaCatalogError as error:
        raise _fail(str(error).splitlines()[0]) from None
    security = security or KafkaSecurity.from_settings(settings, principal=PRINCIPAL)
    try:
        summaries = asyncio.run(
            read_summaries(
                settings.bootstrap_servers,
                settings.registry_url,
                settings.quality_topic,
                security=security,
            )
        )
    except RegistryError as error:
        raise _fail(f"the registry at {settings.registry_url}: {error}") from None
    days = combine(summaries.records)
    if dataset is not None and dataset not in {*catalog, *(d.dataset for d in days)}:
        raise _fail(
            f"--dataset: no data set {dataset!r} in the schema catalog or {settings.quality_topic}"
        )
    rejections = NOT_CONFIGURED
    if settings.prometheus_url:
        today = datetime.now(BERLIN).date()
        rejections = fetch_rejections(settings.prometheus_url, days_to_ask(days, since, today))
    built = build_report(
        days,
        catalog,
        dataset=dataset,
        since=since,
        rejections=rejections,
        undecodable=summaries.undecodable,
    )
    if as_json:
        return orjson.dumps(built.as_json(), option=orjson.OPT_INDENT_2).decode()
    return render_text(built)
