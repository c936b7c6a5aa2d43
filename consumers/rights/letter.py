"""The answer to an access request as a German letter draft: Markdown, and HTML for the PDF.

One list of blocks (headings, paragraphs, lists, tables) is built from the report and written
out twice, so the Markdown and the PDF cannot say different things. Text may hold code spans in
backticks (ids, pseudonyms); ``code()`` makes one of any value. Pure; the PDF itself is
``portal.pdf.html_pdf`` (WeasyPrint), as the record of processing's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from consumers.rights.report import AccessReport, AgreementSection, DeliveryLine

CITY_TZ = ZoneInfo("Europe/Berlin")
MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip
DRAFT = "Entwurf – vor dem Versand prüfen und unterschreiben"
TITLE = "Auskunft nach Art. 15 DSGVO über Übermittlungen der Datendrehscheibe"
RIGHTS = (
    "Sie können die Berichtigung (Art. 16 DSGVO) oder Löschung (Art. 17 DSGVO) Ihrer Daten, die "
    "Einschränkung ihrer Verarbeitung (Art. 18 DSGVO) verlangen und der Verarbeitung "
    "widersprechen (Art. 21 DSGVO). Verlangen Sie die Löschung, teilen wir sie jedem hier "
    "genannten Empfänger mit (Art. 19 DSGVO). Sie haben außerdem das Recht, sich bei der "
    "Landesbeauftragten für Datenschutz und Informationsfreiheit Nordrhein-Westfalen zu "
    "beschweren (Art. 77 DSGVO)."
)
HOW_KNOWN = (
    "Die Datendrehscheibe bewahrt zu jeder Übermittlung einen Nachweis auf: an wen, unter welcher "
    "Vereinbarung und wann. Ihre Kennungen stehen darin nicht im Klartext, sondern nur als "
    "geheimer Prüfwert (ein Schlüssel-Hash), der sich ohne den Schlüssel der Stadt nicht "
    "zurückrechnen lässt. Mit diesem Prüfwert haben wir nach Ihren Kennungen gesucht."
)


@dataclass(frozen=True)
class Block:
    kind: str  # h1 h2 h3 p ul table meta
    items: tuple[Any, ...]


def code(value: Any) -> str:
    """``value`` as a code span (backticks inside it are dropped: they would end the span)."""
    return "`" + str(value).replace("`", "") + "`"


def german_date(at: datetime) -> str:
    local = at.astimezone(CITY_TZ)
    return f"{local.day}. {MONTHS[local.month - 1]} {local.year}"


def german_time(at: datetime) -> str:
    local = at.astimezone(CITY_TZ)
    return f"{german_date(local)}, {local:%H:%M} Uhr"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _value_text(value: Any) -> str:
    if value is None:
        return "(leer)"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, str):
        return code(value)  # a code span: a masked "****12" is no Markdown emphasis
    return str(value)


def flatten(record: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """A delivered record's leaves as (dotted path, value)."""
    if isinstance(record, dict):
        out: list[tuple[str, Any]] = []
        for k, v in record.items():
            out += flatten(v, f"{prefix}{k}.")
        return out
    return [(prefix.rstrip("."), record)]


def _values(line: DeliveryLine, named: dict[str, str]) -> str:
    assert line.delivered is not None
    parts = [f"{named.get(p, p)}: {_value_text(v)}" for p, v in flatten(line.delivered.record)]
    if line.delivered.key is not None:
        parts.append(f"Kennung des Datensatzes: {code(line.delivered.key)}")
    return "; ".join(parts)


def _agreement_blocks(number: str, a: AgreementSection) -> list[Block]:
    meta: list[tuple[str, str]] = [
        ("Vereinbarung", f"{code(a.agreement_id)} (Fassung {code(a.version)})"),
        ("Zweck", a.purpose or "nicht mehr ermittelbar"),
        ("Rechtsgrundlage", a.legal_basis or "nicht mehr ermittelbar"),
    ]
    if a.sensitive_legal_basis:
        meta.append(("Besondere Kategorien (Art. 9 DSGVO)", a.sensitive_legal_basis))
    meta.append(("Datensatz", code(a.source)))
    if a.filter:
        meta.append(("Auswahl", a.filter))
    span = (
        german_date(a.first)
        if german_date(a.first) == german_date(a.last)
        else f"{german_date(a.first)} bis {german_date(a.last)}"
    )
    meta.append(
        ("Zeitraum", f"{span} ({_count(len(a.deliveries), 'Übermittlung', 'Übermittlungen')})")
    )
    out = [Block("h3", (number,)), Block("meta", tuple(meta))]
    if a.fields:
        out.append(Block("p", ("Übermittelt wurde, Feld für Feld, in dieser Form:",)))
        out.append(Block("ul", tuple(f"{f.label}: {f.form}" for f in a.fields)))
    else:
        out.append(
            Block(
                "p",
                (
                    "Welche Felder in welcher Form übermittelt wurden, lässt sich für diese "
                    "Fassung der Vereinbarung nicht mehr ermitteln.",
                ),
            )
        )
    rows = tuple(
        (
            german_time(d.event_time),
            german_time(d.delivered_at),
            ", ".join(d.identifiers),
            code(d.delivery_id),
        )
        for d in a.deliveries
    )
    out.append(
        Block(
            "table",
            (("Ereignis vom", "übermittelt am", "erkannt an", "Nachweis"), rows),
        )
    )
    kept = [d for d in a.deliveries if d.delivered is not None]
    if kept:
        out.append(Block("p", ("Die übermittelten Werte, wie der Empfänger sie erhielt:",)))
        named = {f.path: f.label for f in a.fields}
        out.append(
            Block("ul", tuple(f"{german_time(d.event_time)}: {_values(d, named)}" for d in kept))
        )
    if len(kept) < len(a.deliveries):
        gone = len(a.deliveries) - len(kept)
        out.append(
            Block(
                "p",
                (
                    f"Von {_count(gone, 'Übermittlung', 'Übermittlungen')} sind die Werte bei "
                    "der Datendrehscheibe nicht mehr gespeichert (die Aufbewahrungsfrist ist "
                    "abgelaufen); was in welcher Form übermittelt wurde, steht oben.",
                ),
            )
        )
    return out


def letter_blocks(
    report: AccessReport, sender: Sequence[str] = (), signer: str = ""
) -> list[Block]:
    """The letter. ``sender``: the controller's lines; ``signer``: who signs."""
    blocks = [Block("p", (f"**{DRAFT}**",))]
    if sender:
        blocks.append(Block("p", (" · ".join(sender),)))
    meta = [("Aktenzeichen", report.case), ("Datum", german_date(report.generated_at))]
    blocks += [Block("meta", tuple(meta)), Block("h1", (TITLE,))]
    blocks.append(Block("p", ("Sehr geehrte Damen und Herren,",)))
    since = f" seit dem {german_date(report.since)}" if report.since else ""
    names = ", ".join(report.identifier_labels or report.identifier_names)
    blocks.append(
        Block(
            "p",
            (
                "Sie haben Auskunft darüber verlangt, welche personenbezogenen Daten über Sie "
                "die Datendrehscheibe der Stadt Hamm an andere Stellen übermittelt hat. Wir "
                f"haben alle aufbewahrten Übermittlungen{since} nach den Kennungen durchsucht, "
                f"die Sie uns genannt haben ({names}).",
            ),
        )
    )
    blocks.append(Block("p", (HOW_KNOWN,)))
    if not report.found:
        blocks.append(
            Block(
                "p",
                (
                    "Wir haben keine Übermittlung von Daten über Sie durch die "
                    f"Datendrehscheibe festgestellt{since}.",
                ),
            )
        )
    else:
        blocks.append(
            Block(
                "p",
                (
                    "Die Datendrehscheibe hat Daten über Sie an "
                    f"{_count(len(report.recipients), 'Stelle', 'Stellen')} übermittelt, "
                    f"insgesamt {_count(report.deliveries, 'Mal', 'Mal')}:",
                ),
            )
        )
        for i, r in enumerate(report.recipients, 1):
            title = r.recipient.description or r.recipient.name
            blocks.append(Block("h2", (f"{i}. {title}",)))
            if r.recipient.note:
                blocks.append(Block("p", (r.recipient.note,)))
            for j, a in enumerate(r.agreements, 1):
                blocks += _agreement_blocks(f"{i}.{j} Vereinbarung {code(a.agreement_id)}", a)
    blocks.append(Block("h2", ("Ihre Rechte",)))
    blocks.append(Block("p", (RIGHTS,)))
    blocks.append(Block("p", ("Mit freundlichen Grüßen",)))
    if signer:
        blocks.append(Block("p", ("Im Auftrag", signer)))
    return blocks


# -- Markdown ----------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append("#" * int(b.kind[1]) + " " + b.items[0])
        elif b.kind == "p":
            out.append("  \n".join(b.items))
        elif b.kind == "ul":
            out.append("\n".join(f"- {item}" for item in b.items))
        elif b.kind == "meta":
            out.append("  \n".join(f"{label}: {value}" for label, value in b.items))
        elif b.kind == "table":
            header, rows = b.items
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


# -- HTML (for the PDF) ------------------------------------------------------------------------

_CODE = re.compile(r"`([^`]*)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
STYLE = """
  @page { size: A4; margin: 22mm 20mm; @bottom-right { content: "Seite " counter(page) " von " counter(pages); font-size: 8pt; } }
  body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; line-height: 1.45; color: #111; }
  h1 { font-size: 14pt; margin: 6mm 0 4mm; }
  h2 { font-size: 12pt; margin: 6mm 0 2mm; border-bottom: 1px solid #888; break-after: avoid; }
  h3 { font-size: 10.5pt; margin: 4mm 0 1mm; break-after: avoid; }
  dl div { display: flex; margin: 0.5mm 0; }
  dt { width: 45mm; flex: none; font-weight: bold; }
  dd { margin: 0; }
  ul { margin: 1mm 0; padding-left: 5mm; }
  table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin: 2mm 0; }
  th, td { border: 1px solid #999; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
  code { font-size: 8.5pt; word-break: break-all; }
"""


def _inline(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escaped)
    return _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", escaped)


def html_fragment(blocks: Sequence[Block], *, heading_offset: int = 0) -> str:
    """The letter's body as escaped HTML, without a page around it: what ``to_html`` puts in
    the PDF's page and the portal's *Auskunft* shows inside its own (``heading_offset`` 1 there:
    the portal page has its own ``h1``, so the letter's headings move one level down)."""
    body: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            tag = f"h{min(int(b.kind[1]) + heading_offset, 6)}"
            body.append(f"<{tag}>{_inline(b.items[0])}</{tag}>")
        elif b.kind == "p":
            body.append("<p>" + "<br>".join(_inline(i) for i in b.items) + "</p>")
        elif b.kind == "ul":
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "meta":
            rows = "".join(
                f"<div><dt>{_inline(label)}</dt><dd>{_inline(value)}</dd></div>"
                for label, value in b.items
            )
            body.append(f"<dl>{rows}</dl>")
        elif b.kind == "table":
            header, rows = b.items
            head = "".join(f"<th>{_inline(h)}</th>" for h in header)
            cells = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
    return "\n".join(body)


def to_html(blocks: Sequence[Block], title: str = TITLE) -> str:
    """A self-contained page (its stylesheet inline) for the PDF."""
    return (
        '<!DOCTYPE html>\n<html lang="de">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + html_fragment(blocks)
        + "\n</body>\n</html>\n"
    )
