"""One function a page: the facts it shows as a JSON-able dict. The HTML page renders that dict,
and ``<page>.json`` is that dict, so people, programs and tests read the same facts. Keys that
start with ``_`` are for the HTML only (pre-drawn SVG) and are left out of the JSON twin."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal import charts, classification, lagebild, lineage, quality
from portal.changes import schema_changes
from portal.glossary import TERMS
from portal.live import LiveState
from portal.ropa import record_of_processing

CHART_DAYS = 30
ROWS_SHOWN = 400  # the newest days; a filter narrows the rest down


def public(context: dict[str, Any]) -> dict[str, Any]:
    """The JSON twin of a page: everything but the HTML-only parts."""
    return {k: v for k, v in context.items() if not k.startswith("_")}


def _recipient_name(state: LiveState, name: str) -> str:
    return state.facts.recipient_name(name)


def start(state: LiveState, today: dt.date) -> dict[str, Any]:
    facts = state.facts
    in_force = [a for a in facts.agreements.values() if a.status(today) == "gültig"]
    audit = state.audit
    return {
        "page": "start",
        "title": "Datendrehscheibe der Stadt Hamm",
        "as_of": today.isoformat(),
        "complete": state.ready,
        "figures": {
            "departments": len(facts.principals.departments),
            "datasets": len(facts.datasets),
            "agreements_in_force": len(in_force),
            "recipients": len(facts.recipients),
            "deliveries_7_days": audit.delivered_since(today - dt.timedelta(days=6)),
            "deliveries_30_days": audit.delivered_since(today - dt.timedelta(days=29)),
            "deliveries_total": audit.delivered,
        },
    }


def datasets(state: LiveState) -> dict[str, Any]:
    facts = state.facts
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in facts.datasets.values():
        groups.setdefault(d.department, []).append(
            {
                "topic": d.topic,
                "title": d.title,
                "description": d.description,
                "versions": list(d.versions),
                "personal": d.personal,
                "sensitive": d.sensitive,
                "fields": len(d.fields),
                "agreements": list(d.agreements),
            }
        )
    return {
        "page": "datensaetze",
        "title": "Datensätze",
        "departments": [
            {
                "name": name,
                "description": facts.department_name(name),
                "contact": facts.principals.contact(name),
                "datasets": sorted(items, key=lambda x: x["topic"]),
            }
            for name, items in sorted(groups.items())
        ],
    }


def dataset(state: LiveState, topic: str, today: dt.date) -> dict[str, Any] | None:
    facts = state.facts
    d = facts.datasets.get(topic)
    if d is None:
        return None
    return {
        "page": "datensatz",
        "title": d.title,
        "topic": d.topic,
        "description": d.description,
        "department": d.department,
        "department_name": facts.department_name(d.department),
        "versions": list(d.versions),
        "data_subjects": d.data_subjects,
        "fields": [f.as_json() for f in d.fields],
        "classes": {k: v[0] for k, v in classification.WORDS.items()},
        "agreements": [
            {
                "id": a,
                "recipient": facts.agreements[a].agreement.subscriber,
                "recipient_name": _recipient_name(state, facts.agreements[a].agreement.subscriber),
                "purpose": facts.agreements[a].agreement.purpose,
                "status": facts.agreements[a].status(today),
            }
            for a in d.agreements
        ],
    }


def quality_overview(state: LiveState, today: dt.date) -> dict[str, Any]:
    return quality.overview(state.quality, state.facts, today, complete=state.ready)


def dataset_quality(state: LiveState, topic: str, today: dt.date) -> dict[str, Any] | None:
    return quality.dataset_page(
        state.quality,
        state.facts,
        topic,
        today,
        rule_texts=state.rule_texts,
        complete=state.ready,
    )


def _agreement_summary(state: LiveState, a: Any, today: dt.date) -> dict[str, Any]:
    ag = a.agreement
    return {
        "id": ag.id,
        "recipient": ag.subscriber,
        "recipient_name": _recipient_name(state, ag.subscriber),
        "source": ag.source,
        "dataset": a.dataset_title,
        "purpose": ag.purpose,
        "legal_basis": ag.legal_basis,
        "sensitive_legal_basis": ag.sensitive_legal_basis,
        "valid_from": ag.valid_from.isoformat() if ag.valid_from else None,
        "valid_until": ag.valid_until.isoformat(),
        "status": a.status(today),
    }


def agreements(state: LiveState, today: dt.date) -> dict[str, Any]:
    facts = state.facts
    delivered = state.audit.delivered_by_agreement()
    items = []
    for a in facts.agreements.values():
        item = _agreement_summary(state, a, today)
        item["delivered"] = delivered.get(a.id, 0)
        items.append(item)
    return {
        "page": "vereinbarungen",
        "title": "Vereinbarungen",
        "agreements": items,
        "recipients": [
            {
                "name": r.name,
                "description": r.description,
                "contact": r.contact,
                "agreements": list(r.agreements),
            }
            for r in facts.recipients.values()
        ],
    }


def agreement(state: LiveState, agreement_id: str, today: dt.date) -> dict[str, Any] | None:
    a = state.facts.agreements.get(agreement_id)
    if a is None:
        return None
    series = state.audit.per_day(agreement_id, CHART_DAYS, today)
    summary = next((s for s in state.audit.summaries() if s.agreement_id == agreement_id), None)
    context = _agreement_summary(state, a, today)
    context.update(
        {
            "page": "vereinbarung",
            "title": f"Vereinbarung {agreement_id}",
            "dataset_topic": a.agreement.source,
            "key": a.key.as_json(),
            "fields": [s.as_json() for s in a.sentences],
            "withheld": list(a.withheld),
            "filter": a.filter,
            "features": list(a.features),
            "delivered": summary.delivered if summary else 0,
            "filtered": summary.filtered if summary else 0,
            "last_delivery": summary.last_at.isoformat() if summary and summary.last_at else None,
            "per_day": [{"day": d.isoformat(), "delivered": n} for d, n in series],
            "_chart": charts.bar_chart(
                series,
                title=f"Lieferungen je Tag der letzten {CHART_DAYS} Tage",
                chart_id="lieferungen",
            ),
        }
    )
    return context


def flows(state: LiveState) -> dict[str, Any]:
    facts = state.facts
    graph = lineage.lineage(facts)
    by_id = {n.id: n for n in graph.nodes}
    return {
        "page": "datenfluesse",
        "title": "Datenflüsse",
        "nodes": [
            {"id": n.id, "kind": n.kind, "label": n.label, "href": n.href, "x": n.x, "y": n.y}
            for n in graph.nodes
        ],
        "edges": [
            {
                "from": a,
                "to": b,
                "from_label": by_id[a].label,
                "to_label": by_id[b].label,
                "from_href": by_id[a].href,
                "to_href": by_id[b].href,
            }
            for a, b in graph.edges
        ],
        "features": [
            {
                "name": v.name,
                "description": v.description,
                "agreement": v.agreement,
                "k": v.k,
            }
            for v in facts.features.values()
        ],
        "_svg": lineage.render_svg(graph),
    }


PROTECTIONS = (
    (
        "Nichts ohne Vereinbarung",
        "Ein Amt erhält Daten eines anderen Amtes nur, wenn eine Datennutzungsvereinbarung es "
        "erlaubt. Sie nennt Zweck, Rechtsgrundlage und Laufzeit. Was sie nicht nennt, wird nie "
        "übermittelt (deny by default), auch kein Feld, das später hinzukommt.",
    ),
    (
        "So wenig wie nötig",
        "Die Datendrehscheibe vergröbert Angaben, bevor sie das Rathaus-Netz zum Empfänger "
        "verlassen: statt des Geburtsdatums die Altersgruppe, statt der Anschrift die ersten "
        "Stellen der Postleitzahl, statt der Kennung ein Pseudonym.",
    ),
    (
        "Pseudonyme, die nicht zusammenpassen",
        "Jede Vereinbarung hat einen eigenen geheimen Schlüssel für ihre Pseudonyme. Zwei "
        "Empfänger können ihre Daten deshalb nicht über das Pseudonym zusammenführen.",
    ),
    (
        "Der Server passt auf",
        "Jede Stelle meldet sich mit einem eigenen Zugang beim Kafka-Server an. Der Server "
        "erlaubt nur, was aus den Vereinbarungen folgt; alles andere verweigert er. Eine "
        "abgelaufene Vereinbarung beendet den Lesezugriff.",
    ),
    (
        "Alles wird protokolliert",
        "Zu jeder Lieferung entsteht im selben Arbeitsschritt ein Eintrag im Protokoll: was an "
        "wen unter welcher Vereinbarung ging. Die Zahlen dieses Portals kommen aus diesem "
        "Protokoll, und die Datenschutzbeauftragte kann jede Lieferung nachvollziehen.",
    ),
    (
        "Anonyme Zählungen für die KI",
        "Der KI-Feature-Store erhält keine Einzelfälle zur Auswertung, sondern veröffentlicht nur "
        "Zählungen, zu denen mindestens k = 5 Personen beigetragen haben (k-Anonymität).",
    ),
)


def knowledge() -> dict[str, Any]:
    return {
        "page": "wissen",
        "title": "Wissen",
        "terms": [{"slug": t.slug, "term": t.term, "definition": t.definition} for t in TERMS],
        "protections": [{"title": t, "text": x} for t, x in PROTECTIONS],
    }


def record(state: LiveState, today: dt.date) -> dict[str, Any]:
    ropa = record_of_processing(
        state.facts,
        state.retention,
        today,
        audit_topic=state.audit_topic,
        receipts_topic=state.receipts_topic,
        receipts_retention_days=state.receipts_retention_days,
    )
    return {"page": "verarbeitungsverzeichnis", **ropa}


# -- staff ---------------------------------------------------------------------------------------


def audit(
    state: LiveState,
    *,
    agreement: str | None = None,
    subscriber: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> dict[str, Any]:
    rows = state.audit.rows(agreement=agreement, subscriber=subscriber, since=since, until=until)
    # The same summaries as `hub audit report [--subscriber S] [--since D]`.
    summaries = [
        s.as_json()
        for s in state.audit.summaries(subscriber=subscriber, since=since)
        if agreement is None or s.agreement_id == agreement
    ]
    return {
        "page": "audit",
        "title": "Protokoll der Lieferungen",
        "complete": state.ready,
        "filters": {
            "agreement": agreement,
            "subscriber": subscriber,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
        "options": {
            "agreements": sorted({*state.audit.agreements, *state.facts.agreements}),
            "subscribers": sorted({*state.audit.subscribers, *state.facts.recipients}),
        },
        "records_folded": state.audit.records,
        "summaries": summaries,
        "rows": [r.as_json() for r in rows[:ROWS_SHOWN]],
        "rows_total": len(rows),
        "delivered": sum(r.delivered for r in rows),
        "command": "hub audit report"
        + (f" --subscriber {subscriber}" if subscriber else "")
        + (f" --since {since.isoformat()}" if since else ""),
    }


def changes(state: LiveState) -> dict[str, Any]:
    catalog = state.facts.catalog
    return {
        "page": "schemaaenderungen",
        "title": "Schemaänderungen",
        "subjects": schema_changes(catalog) if catalog is not None else [],
    }


def dead_letters(state: LiveState) -> dict[str, Any]:
    fold = state.dead_letters
    return {
        "page": "unzustellbar",
        "title": "Unzustellbare Nachrichten",
        "complete": state.ready,
        **fold.summary(),
        "latest": fold.latest(),
    }


def situation(state: LiveState, bucket: lagebild.Bucket = "woche") -> dict[str, Any]:
    """The Lagebild: the feature views' published trends and their forecasts."""
    views = sorted(state.facts.features)
    forecasts = state.forecasts.all(views)
    return lagebild.page(
        state.windows,
        views,
        forecasts,
        bucket=bucket,
        forecast_note=state.forecasts.note,
        complete=state.ready,
    )
