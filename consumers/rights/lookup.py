"""Find a person's deliveries in the receipts: decoded ``DeliveryReceipt`` records in, one ``Hit``
per delivery that carried one of the person's identifiers out. Pure.

A delivery replayed from the dead letters keeps its delivery id and gets a receipt again: the
hit is the first one (the earliest time it was delivered).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from consumers.rights.person import KeyedPerson
from hub.receipts import delivery_id, matches


@dataclass(frozen=True)
class Hit:
    """One delivery about the person: to whom, under which agreement version, when, and which
    of the person's identifiers it carried (``values``: path -> the value given for it, for the
    pseudonyms of an erasure; never written out)."""

    subscriber: str
    agreement_id: str
    agreement_hash: str
    source_topic: str
    source_partition: int
    offset: int
    delivery_topic: str
    delivery_id: str
    event_time: datetime
    recorded_at: datetime
    paths: tuple[str, ...]
    values: dict[str, str] = field(repr=False, compare=False, default_factory=dict)


def find_hits(
    receipts: Iterable[dict[str, Any]], person: KeyedPerson, *, since: datetime | None = None
) -> list[Hit]:
    """Every delivery a receipt records with one of ``person``'s hashes, by time, each once."""
    found: dict[str, Hit] = {}
    for receipt in receipts:
        recorded_at = receipt["recorded_at"]
        if since is not None and recorded_at < since:
            continue
        paths_of = receipt["identifiers"]
        for entry in receipt["entries"]:
            paths = matches(receipt, entry, person.wanted)
            if not paths:
                continue
            digest_of = dict(zip(paths_of, entry["hashes"], strict=False))
            values = {p: v for p in paths if (v := person.value_of(digest_of.get(p))) is not None}
            hit = Hit(
                subscriber=receipt["subscriber"],
                agreement_id=receipt["agreement_id"],
                agreement_hash=receipt["agreement_hash"],
                source_topic=receipt["source_topic"],
                source_partition=receipt["source_partition"],
                offset=entry["offset"],
                delivery_topic=receipt["delivery_topic"],
                delivery_id=delivery_id(receipt, entry),
                event_time=entry["event_time"],
                recorded_at=recorded_at,
                paths=tuple(paths),
                values=values,
            )
            seen = found.get(hit.delivery_id)
            if seen is None or hit.recorded_at < seen.recorded_at:
                found[hit.delivery_id] = hit
    return sorted(found.values(), key=lambda h: (h.event_time, h.delivery_id))


@dataclass(frozen=True)
class AgreementHits:
    """The hits of one recipient under one agreement version."""

    subscriber: str
    agreement_id: str
    agreement_hash: str
    delivery_topic: str
    source_topic: str
    hits: tuple[Hit, ...]


def group_hits(hits: Iterable[Hit]) -> list[AgreementHits]:
    """Hits by (recipient, agreement, version), in the order of recipients and first hits."""
    groups: dict[tuple[str, str, str], list[Hit]] = {}
    for hit in hits:
        groups.setdefault((hit.subscriber, hit.agreement_id, hit.agreement_hash), []).append(hit)
    out = [
        AgreementHits(s, a, v, items[0].delivery_topic, items[0].source_topic, tuple(items))
        for (s, a, v), items in groups.items()
    ]
    return sorted(out, key=lambda g: (g.subscriber, g.agreement_id, g.hits[0].event_time))
