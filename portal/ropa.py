"""The record of processing activities (Verzeichnis von Verarbeitungstätigkeiten, Art. 30 Abs. 1
DSGVO), generated from the catalog: one activity per data-sharing agreement, with controller and
DPO (``organisation.yaml``), purposes, categories of data subjects and of personal data (the
schemas' ``x-pii`` and docs), recipients, retention (the topics' ``retention.ms``) and the
technical and organisational measures the hub takes. Pure: facts in, one JSON-able dict out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hub.receipts import DEFAULT_RETENTION_DAYS as RECEIPTS_RETENTION_DAYS
from portal import classification
from portal.facts import AgreementFacts, Facts

TITLE = "Verzeichnis von Verarbeitungstätigkeiten nach Art. 30 Abs. 1 DSGVO"
_DAY_MS = 86_400_000


def retention_text(ms: int | None) -> str:
    """``retention.ms`` of a topic in words."""
    if ms is None:
        return "nicht ermittelbar (der Kafka-Server hat die Einstellung nicht genannt)"
    if ms < 0:
        return "unbegrenzt (bis zur Löschung durch die verantwortliche Stelle)"
    if ms % _DAY_MS == 0:
        days = ms // _DAY_MS
        if days % 365 == 0 and days >= 365:
            years = days // 365
            return "1 Jahr" if years == 1 else f"{years} Jahre"
        return "1 Tag" if days == 1 else f"{days} Tage"
    hours = ms / 3_600_000
    return f"{hours:g} Stunden".replace(".", ",")


def _contact(c: Any) -> dict[str, str]:
    return {
        "name": c.name,
        "address": c.address,
        "email": c.email,
        "phone": c.phone,
        "website": c.website,
    }


def _categories(facts: Facts, a: AgreementFacts) -> list[dict[str, str]]:
    """The personal data the activity processes: every delivered field that is personal."""
    dataset = facts.datasets.get(a.agreement.source)
    pii = {f.path: f.pii for f in dataset.fields} if dataset else {}
    out = []
    for s in a.sentences:
        if not s.delivered:
            continue
        cls = pii.get(s.path, "none")
        if not classification.is_personal(cls):
            continue
        out.append(
            {
                "label": s.label,
                "classification": cls,
                "classification_text": classification.word(cls),
                "form": s.what,
            }
        )
    if a.key.delivered:
        out.insert(
            0,
            {
                "label": a.key.label,
                "classification": "direct",
                "classification_text": classification.word("direct"),
                "form": a.key.what,
            },
        )
    return out


def _activity(
    facts: Facts, a: AgreementFacts, retention: Mapping[str, int | None], today: dt.date
) -> dict[str, Any]:
    ag = a.agreement
    recipient = facts.recipients.get(ag.subscriber)
    dataset = facts.datasets.get(ag.source)
    kinds = {s.kind for s in a.sentences if s.delivered} | ({a.key.kind} - {"drop"})
    measures = ["Nur die genannten Felder werden übermittelt, alle anderen nie (deny by default)."]
    if "pseudonymize" in kinds:
        measures.append("Kennungen als Pseudonym mit einem eigenen Schlüssel dieser Vereinbarung.")
    if kinds & {"truncate", "generalize", "age_band", "bucket", "postcode_prefix", "h3"}:
        measures.append("Vergröberung von Zeitpunkten, Alter, Orten oder Zahlen (siehe Felder).")
    if kinds & {"mask", "redact", "date_shift"}:
        measures.append("Maskierung, Schwärzung oder Verschiebung einzelner Angaben.")
    if ag.where:
        measures.append(a.filter or "Nur Ereignisse, die die Bedingung der Vereinbarung erfüllen.")
    measures.append(
        f"Befristet bis {ag.valid_until:%d.%m.%Y}; danach liefert die Vereinbarung nichts."
    )
    return {
        "id": ag.id,
        "name": f"Übermittlung „{a.dataset_title}“ an {recipient.description if recipient else ag.subscriber}",
        "status": a.status(today),
        "purpose": ag.purpose,
        "legal_basis": ag.legal_basis,
        "sensitive_legal_basis": ag.sensitive_legal_basis,
        "valid_from": ag.valid_from.isoformat() if ag.valid_from else None,
        "valid_until": ag.valid_until.isoformat(),
        "source": ag.source,
        "publisher": facts.department_name(dataset.department) if dataset else "",
        "data_subjects": [dataset.data_subjects if dataset else "Betroffene der Ereignisse"],
        "data_categories": _categories(facts, a),
        "recipients": [
            {
                "name": ag.subscriber,
                "description": recipient.description if recipient else ag.subscriber,
                "contact": recipient.contact if recipient else "",
            }
        ],
        "third_country_transfers": facts.organisation.third_country_transfers,
        "retention": [
            {
                "what": f"Ereignisse beim Fachamt (Thema {ag.source})",
                "topic": ag.source,
                "period": retention_text(retention.get(ag.source)),
            },
            {
                "what": f"Lieferungen an den Empfänger (Thema {ag.topic})",
                "topic": ag.topic,
                "period": retention_text(retention.get(ag.topic)),
            },
        ],
        "measures": measures,
    }


def general_measures(facts: Facts, audit_topic: str) -> list[str]:
    """The hub's technical and organisational measures (Art. 32 DSGVO), from its design."""
    pseudonymizing = sum(
        1
        for a in facts.agreements.values()
        if a.key.kind == "pseudonymize" or any(s.kind == "pseudonymize" for s in a.sentences)
    )
    ks = sorted({v.k for v in facts.features.values()})
    measures = [
        "Zugangskontrolle: jede Stelle und jeder Dienst ist ein eigener Nutzer des Kafka-Servers "
        "(SASL/SCRAM-SHA-512, über Netze mit TLS); Passwörter liegen nie im Katalog.",
        "Zugriffskontrolle: der Kafka-Server verweigert grundsätzlich alles (deny by default) und "
        "erlaubt nur, was aus dem Katalog folgt: ein Empfänger liest nur die Lieferungen seiner "
        "gültigen Vereinbarungen, die Rohdaten liest nur die Datendrehscheibe selbst.",
        "Datenminimierung: ein Feld, das eine Vereinbarung nicht nennt, wird nie übermittelt, "
        "auch nicht, wenn es später zu einem Datensatz hinzukommt.",
        f"Pseudonymisierung: {pseudonymizing} von {len(facts.agreements)} Vereinbarungen "
        "pseudonymisieren Kennungen mit einem Schlüssel je Vereinbarung (HMAC-SHA256, abgeleitet "
        "mit HKDF), so dass Empfänger ihre Daten nicht miteinander verknüpfen können.",
        f"Protokollierung: jede Lieferung wird im selben Kafka-Transaktionsschritt im Protokoll "
        f"{audit_topic} festgehalten (was, an wen, unter welcher Vereinbarung).",
        "Befristung: abgelaufene Vereinbarungen liefern nichts mehr, und der Lesezugriff des "
        "Empfängers endet.",
        "Freigabe: ein neues Feld mit Personenbezug in einem Datensatz braucht die dokumentierte "
        "Freigabe der Datenschutzbeauftragten.",
    ]
    if ks:
        measures.append(
            "Anonyme Aggregate: der KI-Feature-Store veröffentlicht nur Zählungen mit mindestens "
            f"k beitragenden Personen (k-Anonymität), k = {max(ks)} bei Merkmalen aus "
            "personenbezogenen Daten."
        )
    return [*measures, *facts.organisation.measures]


def days_text(days: int) -> str:
    """A retention setting in days, in words (3653 days: "3653 Tage (rund 10 Jahre)")."""
    text = retention_text(days * _DAY_MS)
    if days >= 730 and days % 365:
        text += f" (rund {round(days / 365.25)} Jahre)"
    return text


def receipts_measure(receipts_topic: str, days: int) -> str:
    """The receipts, which answer Art. 15 and Art. 17 requests, as a measure in words."""
    return (
        f"Betroffenenrechte: zu jeder Lieferung hält die Datendrehscheibe im selben "
        f"Transaktionsschritt einen Nachweis im Thema {receipts_topic} fest (an wen, unter welcher "
        "Fassung der Vereinbarung, wann), mit den direkten Kennungen der Person nur als geheimem "
        f"Schlüssel-Hash, nie im Klartext; aufbewahrt {days_text(days)}. Damit "
        "beantwortet die Datenschutzbeauftragte Auskunftsersuchen (Art. 15 DSGVO) und teilt "
        "Löschungen jedem tatsächlichen Empfänger mit (Art. 17, 19 DSGVO); jede solche Abfrage "
        "wird ihrerseits protokolliert."
    )


def record_of_processing(
    facts: Facts,
    retention: Mapping[str, int | None],
    today: dt.date,
    *,
    audit_topic: str = "hub.audit",
    receipts_topic: str = "hub.receipts",
    receipts_retention_days: int = RECEIPTS_RETENTION_DAYS,
) -> dict[str, Any]:
    org = facts.organisation
    return {
        "title": TITLE,
        "as_of": today.isoformat(),
        "controller": _contact(org.controller),
        "dpo": _contact(org.dpo),
        "activities": [_activity(facts, a, retention, today) for a in facts.agreements.values()],
        "audit_retention": {
            "topic": audit_topic,
            "period": retention_text(retention.get(audit_topic)),
        },
        # The receipts' retention is the setting the router creates hub.receipts with.
        "receipts_retention": {
            "topic": receipts_topic,
            "period": days_text(receipts_retention_days),
            "days": receipts_retention_days,
        },
        "measures": [
            *general_measures(facts, audit_topic),
            receipts_measure(receipts_topic, receipts_retention_days),
        ],
    }
