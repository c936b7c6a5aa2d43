"""The daily quality summary of a data set, as the router measures it where every event passes.

Per data set (source topic), day (of arrival, Europe/Berlin) and source partition the router
keeps one cumulative ``QualitySummary`` and writes it to the compacted topic ``hub.quality``,
key ``<topic>/<day>/<partition>``, in the transaction of the batch that changed it: the figures
are exactly those of the committed offsets, so a restart neither loses nor doubles a count.
A reader sums the partitions of a day (``combine``).

No record content is in a summary: counts by rule name and by field path only.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "QualitySummary",
    "namespace": "de.hamm.hub",
    "doc": "Quality figures of one data set on one day in one source partition, cumulative.",
    "fields": [
        {"name": "dataset", "type": "string", "doc": "Source topic.", "x-pii": "none"},
        {"name": "day", "type": "string", "doc": "Arrival day, YYYY-MM-DD.", "x-pii": "none"},
        {"name": "partition", "type": "int", "doc": "Source partition.", "x-pii": "none"},
        {"name": "events", "type": "long", "doc": "Events read.", "x-pii": "none"},
        {
            "name": "flagged",
            "type": {"type": "map", "values": "long"},
            "doc": "Events flagged, by quality rule.",
            "x-pii": "none",
        },
        {"name": "dead_letters", "type": "long", "doc": "Events dead-lettered.", "x-pii": "none"},
        {
            "name": "late",
            "type": "long",
            "doc": "Events whose event time was far behind their arrival.",
            "x-pii": "none",
        },
        {
            "name": "duplicates",
            "type": "long",
            "doc": "Events whose ce_id was seen before.",
            "x-pii": "none",
        },
        {
            "name": "nulls",
            "type": {"type": "map", "values": "long"},
            "doc": "Events with the optional field null, by field path.",
            "x-pii": "none",
        },
        {
            "name": "updated_at",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "When the batch was committed.",
            "x-pii": "none",
        },
    ],
}


@dataclass
class Figures:
    """What one batch (or a whole day) adds up to for one data set."""

    events: int = 0
    flagged: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    late: int = 0
    duplicates: int = 0
    nulls: Counter[str] = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        self.events += other.events
        self.flagged.update(other.flagged)
        self.dead_letters += other.dead_letters
        self.late += other.late
        self.duplicates += other.duplicates
        self.nulls.update(other.nulls)

    def __bool__(self) -> bool:
        return bool(self.events or self.dead_letters)

    @property
    def flagged_events(self) -> int:
        """Flags summed over rules (an event broken by two rules counts twice)."""
        return sum(self.flagged.values())


def fingerprint(ce_id: bytes) -> int:
    """64 bits of SHA-256 of a ``ce_id``: what the duplicate window remembers of an event."""
    return int.from_bytes(hashlib.sha256(ce_id).digest()[:8], "big")


def optional_fields(schema: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """(dotted path, names) of every optional (``["null", T]``) field of a record schema,
    reached through records only, in schema order; a field under a null record counts as null."""
    named: dict[str, Any] = {}
    out: list[tuple[str, tuple[str, ...]]] = []

    def note(t: Any, ns: str | None) -> None:
        if isinstance(t, list):
            for b in t:
                note(b, ns)
        elif isinstance(t, dict) and t.get("type") == "record":
            ns = t.get("namespace", ns)
            named[t["name"] if "." in t["name"] or not ns else f"{ns}.{t['name']}"] = t
            named.setdefault(t["name"], t)
            for f in t.get("fields", []):
                note(f.get("type"), ns)

    def walk(record: dict[str, Any], names: tuple[str, ...], seen: frozenset) -> None:
        if id(record) in seen:
            return
        for f in record.get("fields", []):
            t = f.get("type")
            here = (*names, f["name"])
            branches = t if isinstance(t, list) else [t]
            if "null" in branches and len(branches) == 2:
                out.append((".".join(here), here))
            inner = [named.get(b, b) if isinstance(b, str) else b for b in branches if b != "null"]
            if len(inner) == 1 and isinstance(inner[0], dict) and inner[0].get("type") == "record":
                walk(inner[0], here, seen | {id(record)})

    note(schema, None)
    walk(schema, (), frozenset())
    return out


def day_of(timestamp_ms: int) -> str:
    """The arrival day of a Kafka timestamp, in Hamm's calendar."""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).astimezone(BERLIN).date().isoformat()


def summary_key(dataset: str, day: str, partition: int) -> bytes:
    return f"{dataset}/{day}/{partition}".encode()


def to_record(
    dataset: str, day: str, partition: int, figures: Figures, updated_at: datetime
) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "day": day,
        "partition": partition,
        "events": figures.events,
        "flagged": dict(figures.flagged),
        "dead_letters": figures.dead_letters,
        "late": figures.late,
        "duplicates": figures.duplicates,
        "nulls": dict(figures.nulls),
        "updated_at": updated_at,
    }


def from_record(record: Mapping[str, Any]) -> Figures:
    return Figures(
        events=record["events"],
        flagged=Counter(record["flagged"]),
        dead_letters=record["dead_letters"],
        late=record["late"],
        duplicates=record["duplicates"],
        nulls=Counter(record["nulls"]),
    )


@dataclass(frozen=True)
class DayFigures:
    """One data set on one day, all partitions summed."""

    dataset: str
    day: date
    figures: Figures


def combine(records: Iterable[Mapping[str, Any]]) -> list[DayFigures]:
    """The latest summary per key (a compacted topic read in order), summed per data set and
    day, sorted by data set and day."""
    latest: dict[tuple[str, str, int], Mapping[str, Any]] = {}
    for r in records:
        latest[(r["dataset"], r["day"], r["partition"])] = r
    days: dict[tuple[str, str], Figures] = {}
    for (dataset, day, _), r in latest.items():
        days.setdefault((dataset, day), Figures()).add(from_record(r))
    return [
        DayFigures(dataset, date.fromisoformat(day), figures)
        for (dataset, day), figures in sorted(days.items())
    ]
