"""The answer to an access request (Art. 15 DSGVO): who received data about the person, under
which agreement, purpose and legal basis, when, which fields in which form, and, while the
delivery is still kept, the values the recipient received. Pure: hits, agreement versions,
schemas and retained deliveries in, one JSON-able report out (the letter renders it).

The report names the person only by the names of the identifiers asked for, never their values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from consumers.rights.forms import (
    FieldForm,
    field_forms,
    filter_text,
    identifier_label,
    labels,
    source_fields,
)
from consumers.rights.lookup import AgreementHits, Hit, group_hits
from consumers.rights.versions import AgreementVersions
from hub.serde.json import dumps

FEATURE_STORE_NOTE = (
    "Merkmalsspeicher der Datendrehscheibe: er veröffentlicht nur anonyme Aggregate, zu denen "
    "mindestens k Personen beigetragen haben (k-Anonymität), nie Einzelangaben."
)


@dataclass(frozen=True)
class Delivered:
    """A delivery as the recipient received it, read back from its delivery topic."""

    key: str | None
    record: Any  # JSON form (hub/serde/json.py)


@dataclass(frozen=True)
class Recipient:
    """How the register of principals describes a recipient."""

    name: str
    description: str = ""
    contact: str = ""
    note: str | None = None  # e.g. the hub's own feature store


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def json_form(record: Any) -> Any:
    """A decoded delivery in the hub's one JSON form (timestamps RFC 3339, bytes base64, ...)."""
    return orjson.loads(dumps(record))


@dataclass
class DeliveryLine:
    delivery_id: str
    event_time: datetime
    delivered_at: datetime
    identifiers: list[str]
    delivered: Delivered | None

    def as_json(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "event_time": _iso(self.event_time),
            "delivered_at": _iso(self.delivered_at),
            "identifiers": self.identifiers,
            "retained": self.delivered is not None,
            "key": self.delivered.key if self.delivered else None,
            "values": self.delivered.record if self.delivered else None,
        }


@dataclass
class AgreementSection:
    agreement_id: str
    version: str
    version_known: bool
    purpose: str | None
    legal_basis: str | None
    sensitive_legal_basis: str | None
    source: str
    delivery_topic: str
    filter: str | None
    fields: list[FieldForm]
    deliveries: list[DeliveryLine]

    @property
    def first(self) -> datetime:
        return min(d.event_time for d in self.deliveries)

    @property
    def last(self) -> datetime:
        return max(d.event_time for d in self.deliveries)

    def as_json(self) -> dict[str, Any]:
        return {
            "agreement_id": self.agreement_id,
            "version": self.version,
            "version_known": self.version_known,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "sensitive_legal_basis": self.sensitive_legal_basis,
            "source": self.source,
            "delivery_topic": self.delivery_topic,
            "filter": self.filter,
            "fields": [f.as_json() for f in self.fields],
            "first_event_time": _iso(self.first),
            "last_event_time": _iso(self.last),
            "deliveries": [d.as_json() for d in self.deliveries],
        }


@dataclass
class RecipientSection:
    subscriber: str
    recipient: Recipient
    agreements: list[AgreementSection]

    @property
    def deliveries(self) -> int:
        return sum(len(a.deliveries) for a in self.agreements)

    def as_json(self) -> dict[str, Any]:
        return {
            "subscriber": self.subscriber,
            "name": self.recipient.description or self.recipient.name,
            "contact": self.recipient.contact,
            "note": self.recipient.note,
            "deliveries": self.deliveries,
            "agreements": [a.as_json() for a in self.agreements],
        }


@dataclass
class AccessReport:
    case: str
    generated_at: datetime
    since: datetime | None
    identifier_names: list[str]
    recipients: list[RecipientSection] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    request_id: str | None = None
    identifier_labels: list[str] = field(default_factory=list)  # for the letter

    @property
    def deliveries(self) -> int:
        return sum(r.deliveries for r in self.recipients)

    @property
    def found(self) -> bool:
        return bool(self.recipients)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "access",
            "case": self.case,
            "request_id": self.request_id,
            "generated_at": _iso(self.generated_at),
            "since": _iso(self.since),
            "identifiers": self.identifier_names,
            "identifier_labels": self.identifier_labels,
            "found": self.found,
            "deliveries": self.deliveries,
            "recipients": [r.as_json() for r in self.recipients],
            "problems": self.problems,
        }


def _section(
    group: AgreementHits,
    versions: AgreementVersions,
    schemas: Mapping[str, dict[str, Any]],
    delivered: Mapping[str, Delivered],
) -> AgreementSection:
    agreement = versions.get(group.agreement_hash)
    schema = schemas.get(group.source_topic)

    def line(hit: Hit) -> DeliveryLine:
        return DeliveryLine(
            hit.delivery_id,
            hit.event_time,
            hit.recorded_at,
            [identifier_label(p, schema) for p in hit.paths],
            delivered.get(hit.delivery_id),
        )

    return AgreementSection(
        agreement_id=group.agreement_id,
        version=group.agreement_hash,
        version_known=agreement is not None,
        purpose=agreement.purpose if agreement else None,
        legal_basis=agreement.legal_basis if agreement else None,
        sensitive_legal_basis=agreement.sensitive_legal_basis if agreement else None,
        source=group.source_topic,
        delivery_topic=group.delivery_topic,
        filter=filter_text(agreement, schema) if agreement else None,
        fields=field_forms(agreement, schema) if agreement else [],
        deliveries=[line(h) for h in group.hits],
    )


def name_labels(names: Iterable[str], schemas: Mapping[str, dict[str, Any]]) -> list[str]:
    """A label for each identifier name, from the first schema with a direct identifier of
    that name (its last segment or whole path); the name itself where none has one."""
    out = []
    for name in names:
        found = name
        for topic in sorted(schemas):
            fields = source_fields(schemas[topic])
            paths = [
                p
                for p, f in fields.items()
                if f.pii == "direct" and name in (p, p.rsplit(".", 1)[-1])
            ]
            if paths:
                found = labels(fields)[paths[0]]
                break
        out.append(found)
    return out


def build_report(
    *,
    case: str,
    generated_at: datetime,
    since: datetime | None,
    identifier_names: Iterable[str],
    hits: Iterable[Hit],
    versions: AgreementVersions,
    schemas: Mapping[str, dict[str, Any]],
    recipients: Mapping[str, Recipient],
    delivered: Mapping[str, Delivered] | None = None,
) -> AccessReport:
    """The report of ``hits`` (``find_hits``). ``schemas``: source topic → its current schema
    (for labels); ``recipients``: subscriber → its description; ``delivered``: delivery id → the
    record still kept in the delivery topic."""
    delivered = delivered or {}
    names = sorted(set(identifier_names))
    report = AccessReport(case, generated_at, since, names)
    report.identifier_labels = name_labels(names, schemas)
    by_subscriber: dict[str, RecipientSection] = {}
    for group in group_hits(hits):
        section = _section(group, versions, schemas, delivered)
        if not section.version_known:
            report.problems.append(
                f"agreement {group.agreement_id}: version {group.agreement_hash} is neither in "
                "the agreement versions topic nor in the catalog: fields not described"
            )
        holder = by_subscriber.get(group.subscriber)
        if holder is None:
            recipient = recipients.get(group.subscriber) or Recipient(group.subscriber)
            holder = by_subscriber[group.subscriber] = RecipientSection(
                group.subscriber, recipient, []
            )
        holder.agreements.append(section)
    report.recipients = sorted(by_subscriber.values(), key=lambda r: r.subscriber)
    return report
