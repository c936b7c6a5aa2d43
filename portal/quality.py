"""Data quality as the public pages show it: the fold of ``hub.quality`` (the latest summary per
data set, day and partition) and the facts of the *Datenqualität* pages. Counts by rule name and
field path only: no summary holds record content, and no page shows any. Pure, but for
``load_rule_texts``, which reads the rules' descriptions from the schema tree once at start."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from hub.quality.summary import DayFigures, Figures, combine
from portal import charts

DAYS = 30


def share(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


@dataclass
class QualityFold:
    """The latest summary per key of ``hub.quality``: a compacted topic read in order."""

    latest: dict[tuple[str, str, int], Mapping[str, Any]] = field(default_factory=dict)
    records: int = 0
    _days: list[DayFigures] | None = None

    def add(self, record: Mapping[str, Any]) -> None:
        self.latest[(record["dataset"], record["day"], record["partition"])] = record
        self.records += 1
        self._days = None

    def days(self) -> list[DayFigures]:
        """Per data set and day, the partitions summed (``combine``), cached until a record."""
        if self._days is None:
            self._days = combine(self.latest.values())
        return self._days

    def of(self, dataset: str) -> dict[dt.date, Figures]:
        return {d.day: d.figures for d in self.days() if d.dataset == dataset}

    def updated_at(self, dataset: str) -> dt.datetime | None:
        times = [r["updated_at"] for (name, _, _), r in self.latest.items() if name == dataset]
        return max(times) if times else None


def period(today: dt.date, days: int = DAYS) -> list[dt.date]:
    return [today - dt.timedelta(days=days - 1 - i) for i in range(days)]


def _sum(days: Mapping[dt.date, Figures], span: list[dt.date]) -> Figures:
    total = Figures()
    for day in span:
        if day in days:
            total.add(days[day])
    return total


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "events": f.events,
        "flags": f.flagged_events,
        "flag_rate": share(f.flagged_events, f.events),
        "dead_letters": f.dead_letters,
        "late": f.late,
        "late_share": share(f.late, f.events),
        "duplicates": f.duplicates,
        "duplicate_share": share(f.duplicates, f.events),
    }


def overview(fold: QualityFold, facts: Any, today: dt.date, *, complete: bool) -> dict[str, Any]:
    """Every data set of the catalog with its last 30 days; one without a summary says so."""
    span = period(today)
    rows = []
    for topic, d in sorted(facts.datasets.items()):
        days = fold.of(topic)
        total = _sum(days, span)
        seen = [day for day in sorted(days) if day <= today]
        rows.append(
            {
                "topic": topic,
                "title": d.title,
                "department_name": facts.department_name(d.department),
                "has_data": bool(days),
                "read_by_router": bool(d.agreements),
                **_figures(total),
                "last_day": seen[-1].isoformat() if seen else None,
            }
        )
    return {
        "page": "qualitaet",
        "title": "Datenqualität",
        "as_of": today.isoformat(),
        "days": DAYS,
        "complete": complete,
        "datasets": rows,
    }


def dataset_page(
    fold: QualityFold,
    facts: Any,
    topic: str,
    today: dt.date,
    *,
    rule_texts: Mapping[str, Mapping[str, str]],
    complete: bool,
) -> dict[str, Any] | None:
    """The quality of one data set over the last 30 days: per day, per rule, per field."""
    d = facts.datasets.get(topic)
    if d is None:
        return None
    days = fold.of(topic)
    span = period(today)
    total = _sum(days, span)
    per_day = []
    for day in span:
        f = days.get(day, Figures())
        per_day.append({"day": day.isoformat(), **_figures(f)})
    texts = rule_texts.get(topic, {})
    rules = [
        {
            "rule": name,
            "description": texts.get(name, ""),
            "count": n,
            "share": share(n, total.events),
        }
        for name, n in sorted(total.flagged.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    labels = {f.path: f.label for f in d.fields}
    optional = [f.path for f in d.fields if f.type.endswith("(optional)")]
    nulls = [
        {
            "path": path,
            "label": labels.get(path, path),
            "count": total.nulls.get(path, 0),
            "share": share(total.nulls.get(path, 0), total.events),
        }
        for path in sorted({*optional, *total.nulls}, key=lambda p: (-total.nulls.get(p, 0), p))
    ]
    updated = fold.updated_at(topic)
    return {
        "page": "datenqualitaet",
        "title": f"Datenqualität: {d.title}",
        "topic": topic,
        "dataset": d.title,
        "department_name": facts.department_name(d.department),
        "as_of": today.isoformat(),
        "from": span[0].isoformat(),
        "until": span[-1].isoformat(),
        "complete": complete,
        "has_data": bool(days),
        # The router measures what it reads: the source topics of agreements.
        "read_by_router": bool(d.agreements),
        "updated_at": updated.isoformat() if updated else None,
        "totals": _figures(total),
        "per_day": per_day,
        "rules": rules,
        "nulls": nulls,
        "_events_chart": charts.bar_chart(
            [(day, days[day].events if day in days else 0) for day in span],
            title=f"Gelesene Ereignisse je Tag der letzten {DAYS} Tage",
            chart_id="ereignisse",
            what="Ereignisse",
        ),
        "_flags_chart": charts.line_chart(
            [
                (day, share(days[day].flagged_events, days[day].events) if day in days else None)
                for day in span
            ],
            title=f"Anteil markierter Ereignisse je Tag der letzten {DAYS} Tage",
            chart_id="markiert",
            what="Markierungen je Ereignis",
        ),
    }


def rule_texts_of(documents: list[Any]) -> dict[str, str]:
    """Rule name → German description, from the parsed quality files of a data set's versions
    (the latest version's text wins)."""
    out: dict[str, str] = {}
    for data in documents:
        if not isinstance(data, dict):
            continue
        rules: list[Any] = []
        for items in (data.get("fields") or {}).values():
            rules += items if isinstance(items, list) else []
        rules += data.get("record") or []
        for rule in rules:
            if isinstance(rule, dict) and isinstance(rule.get("name"), str):
                out[rule["name"]] = str(rule.get("description") or "")
    return out


def load_rule_texts(catalog: Any) -> dict[str, dict[str, str]]:
    """Per data set, its quality rules' descriptions, from ``v<N>.quality.yaml`` beside each
    version. I/O, once at start; a file that does not read leaves its rules undescribed."""
    from hub.quality.book import quality_path

    out: dict[str, dict[str, str]] = {}
    for topic, subject in (catalog or {}).items():
        documents = []
        for version in subject.versions:
            path = quality_path(version.path)
            if path.exists():
                try:
                    documents.append(yaml.safe_load(path.read_text(encoding="utf-8")))
                except (OSError, yaml.YAMLError):
                    continue
        if documents:
            out[topic] = rule_texts_of(documents)
    return out
