"""``hub audit report``: who received what, why and under which basis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer

from consumers.audit.report import render, summarize
from hub.kafka import KafkaSecurity, registry_auth
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryError, SerdeError
from hub.settings import get_settings
from hub.topics import read_snapshot

app = typer.Typer(help="The audit trail of deliveries (record of processing).")


async def read_audit(
    bootstrap: str, registry_url: str, topic: str, *, security: KafkaSecurity | None = None
) -> list[dict[str, Any]]:
    """Every committed audit record, decoded with the schema it was written with.
    ``security``: the reader (``hub-audit``, the data-protection officer's principal).

    A record this registry cannot decode (written under another registry's ids, or damaged)
    is left out and said once on stderr with how many and the first offset: a report of the
    rest is still a true report of what it shows."""
    security = security or KafkaSecurity.from_settings(principal="hub-audit")
    records = await read_snapshot(bootstrap, topic, security=security)
    serde = AvroSerde()
    registry = AsyncRegistryClient(registry_url, auth=registry_auth(security))
    decoded = []
    unreadable: list[tuple[int, str]] = []
    try:
        for record in records:
            if not record.value:
                continue
            schema_id = int.from_bytes(record.value[1:5], "big")
            try:
                try:
                    serde.schema(schema_id)
                except SerdeError:
                    serde.add_schema(schema_id, await registry.schema_by_id(schema_id))
                decoded.append(serde.decode(record.value))
            except (SerdeError, RegistryError) as error:
                if isinstance(error, RegistryError) and (error.status == 0 or error.status >= 500):
                    raise  # the registry is down: no report rather than a partial one
                unreadable.append((record.offset, str(error)))
    finally:
        await registry.aclose()
    if unreadable:
        offset, why = unreadable[0]
        typer.secho(
            f"hub audit: {len(unreadable)} record(s) of {topic} left out, not readable with "
            f"{registry_url} (first at offset {offset}: {why})",
            err=True,
            fg="yellow",
        )
    return decoded


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date or ISO timestamp") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@app.command()
def report(
    subscriber: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    since: Annotated[str | None, typer.Option(help="From this date/time (ISO 8601).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """Per agreement: purpose, legal basis, what was delivered, how much, when."""
    settings = get_settings()
    security = KafkaSecurity.from_settings(settings, principal="hub-audit")
    records = asyncio.run(
        read_audit(
            settings.bootstrap_servers,
            settings.registry_url,
            settings.audit_topic,
            security=security,
        )
    )
    summaries = summarize(records, subscriber=subscriber, since=_since(since))
    if as_json:
        typer.echo(orjson.dumps([s.as_json() for s in summaries]).decode())
    else:
        typer.echo(render(summaries))
