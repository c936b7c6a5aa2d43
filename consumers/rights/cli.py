"""``hub rights access|erase|confirm|status``: the data-protection officer answers a resident's
requests (Art. 15, 17, 19 DSGVO); a recipient confirms an erasure.

``access``, ``erase`` and ``status`` run as ``hub-rights``; ``confirm`` as the recipient
(``--subscriber``'s principal). Every ``access`` and ``erase`` is recorded in ``hub.rights``
before anything is shown: who asked (``--by``, default the OS user), when, for which case, and
about whom only by keyed hashes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

from consumers.rights.broker import RightsError
from consumers.rights.letter import letter_blocks, to_html, to_markdown
from consumers.rights.metrics import exposition, write_textfile
from consumers.rights.person import Person, PersonError
from consumers.rights.report import AccessReport
from consumers.rights.service import ErasureOutcome, Rights, RightsConfig, confirm_erasure
from consumers.rights.trail import CaseStatus
from hub.kafka import KafkaSecurity
from hub.secret import SecretError
from hub.serde import RegistryError
from hub.settings import get_settings

app = typer.Typer(
    help="Data-subject rights: answer an access request, send erasure requests, follow them up.",
    no_args_is_help=True,
)

IdOption = Annotated[
    list[str],
    typer.Option(
        "--id",
        help="An identifier of the person, name=value (repeatable): the name is a field "
        "(resident_id) or a dotted path (guardian.email).",
    ),
]
CaseOption = Annotated[str, typer.Option("--case", help="The case number (Aktenzeichen).")]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who asks, for the trail (default: the OS user)."),
]


class AccessFormat(StrEnum):
    markdown = "markdown"
    json = "json"
    pdf = "pdf"


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"hub rights: {message}", err=True, fg="red")
    return typer.Exit(code)


def _person(ids: list[str]) -> Person:
    try:
        return Person.parse(ids)
    except PersonError as error:
        raise _fail(str(error), 2) from None


def _case(case: str) -> str:
    case = case.strip()
    if not case or len(case) > 100 or any(c in case for c in "\n\r\t"):
        raise _fail("--case: a case number on one line, at most 100 characters", 2)
    return case


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--since: {value!r} is not a date or ISO timestamp", 2) from None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def _config() -> RightsConfig:
    try:
        return RightsConfig.from_settings(get_settings())
    except SecretError as error:
        raise _fail(str(error), 2) from None


def _run(coro):
    try:
        return asyncio.run(coro)
    except RightsError as error:
        raise _fail(str(error)) from None
    except RegistryError as error:
        raise _fail(f"registry: {error}") from None


async def _access(config: RightsConfig, **kw) -> AccessReport:
    async with Rights(config) as rights:
        return await rights.access(**kw)


async def _erase(config: RightsConfig, **kw) -> ErasureOutcome:
    async with Rights(config) as rights:
        return await rights.erase(**kw)


async def _cases(config: RightsConfig) -> dict[str, CaseStatus]:
    async with Rights(config) as rights:
        return await rights.cases()


def letter_markdown(report: AccessReport, catalog_dir: Path) -> str:
    sender, signer = _organisation(catalog_dir)
    return to_markdown(letter_blocks(report, sender, signer))


def letter_pdf(report: AccessReport, catalog_dir: Path) -> bytes:
    from portal.pdf import html_pdf

    sender, signer = _organisation(catalog_dir)
    return html_pdf(to_html(letter_blocks(report, sender, signer)))


def _organisation(catalog_dir: Path) -> tuple[list[str], str]:
    """The controller's lines and the DPO who signs, from ``organisation.yaml`` if readable."""
    from portal.catalog_files import CatalogFileError
    from portal.organisation import load_organisation

    try:
        org = load_organisation(catalog_dir / "organisation.yaml")
    except (CatalogFileError, OSError):
        return [], ""
    c = org.controller
    return [c.name, c.address, c.email], org.dpo.name


@app.command()
def access(
    ids: IdOption,
    case: CaseOption,
    since: Annotated[
        str | None, typer.Option(help="Only deliveries from this date/time (ISO 8601).")
    ] = None,
    format: Annotated[AccessFormat, typer.Option("--format", help="Output.")] = (
        AccessFormat.markdown
    ),
    output: Annotated[
        Path | None, typer.Option("--output", help="Write here (required for pdf).")
    ] = None,
    by: ByOption = None,
) -> None:
    """Who received the person's data, under which agreement, why, when, in which form; the
    delivered values while they are kept. A German letter draft (Markdown or PDF) or JSON."""
    person, case = _person(ids), _case(case)
    if format is AccessFormat.pdf and output is None:
        raise _fail("--format pdf needs --output FILE", 2)
    config = _config()
    report = _run(
        _access(config, person=person, case=case, requested_by=_who(by), since=_since(since))
    )
    if format is AccessFormat.json:
        data = orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2) + b"\n"
    elif format is AccessFormat.markdown:
        data = letter_markdown(report, config.catalog_dir).encode()
    else:
        data = letter_pdf(report, config.catalog_dir)
    if output is None:
        typer.echo(data.decode(), nl=False)
    else:
        output.write_bytes(data)
        typer.echo(
            f"case {case}: {report.deliveries} deliveries to {len(report.recipients)} "
            f"recipients; written to {output}",
            err=True,
        )
    for problem in report.problems:
        typer.secho(f"note: {problem}", err=True, fg="yellow")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def render_erasure(outcome: ErasureOutcome) -> str:
    plan = outcome.plan
    lines = [
        f"case {outcome.case}: {_plural(outcome.deliveries, 'delivery', 'deliveries')} about "
        f"the person, {_plural(len(plan.recipients), 'recipient', 'recipients')} notified "
        f"({_plural(len(plan.requests), 'request', 'requests')})"
    ]
    for r in plan.requests:
        n = len(r.record["agreements"][0]["delivery_ids"])
        lines.append(
            f"  notified      {r.subscriber:<20} {r.agreement_id}  →  {r.topic}  "
            f"({_plural(n, 'delivery', 'deliveries')}, request {r.request_id})"
        )
    for s in plan.skipped:
        lines.append(f"  not notified  {s.subscriber:<20} {s.agreement_id}: {s.reason}")
    for note in plan.notes:
        lines.append(f"  follow up     {note}")
    lines.append("the hub's own copies:")
    for c in outcome.copies:
        lines.append(f"  {c.topic}\n      {c.holds}: {c.erasure}")
    if plan.requests:
        lines.append(
            f"next: each recipient confirms (`hub rights confirm --case {outcome.case} "
            f"--subscriber <name>` or the SDK); `hub rights status --case {outcome.case}`"
        )
    return "\n".join(lines)


@app.command()
def erase(
    ids: IdOption,
    case: CaseOption,
    format: Annotated[OutputFormat, typer.Option("--format", help="Output.")] = OutputFormat.text,
    by: ByOption = None,
) -> None:
    """Send every recipient that received data about the person an erasure request on its own
    delivery topic, in its own pseudonyms; report the hub's own copies."""
    person, case = _person(ids), _case(case)
    config = _config()
    outcome = _run(_erase(config, person=person, case=case, requested_by=_who(by)))
    if format is OutputFormat.json:
        typer.echo(orjson.dumps(outcome.as_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(render_erasure(outcome))


@app.command()
def confirm(
    case: CaseOption,
    subscriber: Annotated[
        str, typer.Option("--subscriber", help="The recipient confirming (its principal).")
    ],
    note: Annotated[
        str | None, typer.Option(help="Free text, e.g. your file number (no personal data).")
    ] = None,
) -> None:
    """Confirm, as the recipient, that you erased what the case's erasure request named."""
    case = _case(case)
    settings = get_settings()
    security = KafkaSecurity.from_settings(settings, principal=subscriber)
    topic = _run(
        confirm_erasure(
            bootstrap=settings.bootstrap_servers,
            registry_url=settings.registry_url,
            security=security,
            subscriber=subscriber,
            case=case,
            note=note,
            prefix=settings.rights_confirmations_prefix,
        )
    )
    typer.echo(f"case {case}: confirmed for {subscriber} on {topic}")


def render_status(cases: dict[str, CaseStatus]) -> str:
    lines = []
    for name in sorted(cases):
        c = cases[name]
        if not c.recipients:
            lines.append(
                f"case {name}: {_plural(c.access_requests, 'access request', 'access requests')}"
                ", no erasure"
            )
            continue
        lines.append(
            f"case {name}: {_plural(len(c.recipients), 'recipient', 'recipients')} notified, "
            f"{len(c.confirmed)} confirmed, {len(c.outstanding)} outstanding"
        )
        for s in sorted(c.recipients):
            r = c.recipients[s]
            if r.confirmed_at is not None:
                note = f" ({r.note})" if r.note else ""
                lines.append(f"  confirmed    {s:<20} at {_when(r.confirmed_at)}{note}")
            else:
                lines.append(f"  outstanding  {s:<20} notified at {_when(r.notified_at)}")
    return "\n".join(lines) if lines else "no data-subject requests recorded"


@app.command()
def status(
    case: Annotated[str | None, typer.Option("--case", help="Only this case.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", help="Output.")] = OutputFormat.text,
    textfile: Annotated[
        Path | None,
        typer.Option(help="Also write the hub_rights_* series here (node_exporter textfile)."),
    ] = None,
) -> None:
    """Who confirmed an erasure and who has not; the hub_rights_* figures."""
    config = _config()
    cases = _run(_cases(config))
    if textfile is not None:
        write_textfile(textfile, cases)
    shown = {k: v for k, v in cases.items() if case is None or k == case}
    if case is not None and not shown:
        raise _fail(f"case {case}: no request recorded in {config.rights_topic}")
    if format is OutputFormat.json:
        typer.echo(
            orjson.dumps(
                {"cases": [shown[k].as_json() for k in sorted(shown)]},
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
    else:
        typer.echo(render_status(shown))
        typer.echo("")
        typer.echo(exposition(cases), nl=False)
