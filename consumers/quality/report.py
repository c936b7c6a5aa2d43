"""The quality report per data set and day: pure. Summary records of ``hub.quality`` (combined
over partitions by the contract's ``combine``) and, optionally, the producers' rejections at the
door in; rows, text and JSON out.

Rates are shares of the events the router read that day: a rule's rate is the share of events
it flagged, a field's null share the share of events without a value. The *flag rate* of a day
is flags per event (``Figures.flagged_events / events``): an event broken by two rules counts
twice, the same way the router's Prometheus counters add up, so it is what the alert
``HubQualityFlagRateJump`` measures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.quality.summary import DayFigures, Figures

REJECTED_METRIC = "hub_publisher_quality_rejected_total"


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` (None when nothing was read: no rate, not zero)."""
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class Rejections:
    """What the producers refused at the door, by data set, day and rule, as Prometheus
    answered (None in ``counts``: not asked). ``note`` says where the figures come from, or
    why there are none."""

    counts: Mapping[tuple[str, date], Mapping[str, int]] | None
    note: str

    def of(self, dataset: str, day: date) -> dict[str, int] | None:
        if self.counts is None:
            return None
        return dict(self.counts.get((dataset, day), {}))


NOT_CONFIGURED = Rejections(
    None,
    f"rejected at the door: counted by the producers (SDK, gateway, connectors) as "
    f"{REJECTED_METRIC} on their /metrics; set HUB_PROMETHEUS_URL to include them here",
)


@dataclass(frozen=True)
class DayRow:
    """One data set on one day."""

    day: date
    figures: Figures
    rejected: dict[str, int] | None = None
    """By rule, from Prometheus; None: not known here."""

    @property
    def events(self) -> int:
        return self.figures.events

    @property
    def flag_rate(self) -> float | None:
        return share(self.figures.flagged_events, self.figures.events)

    def rule_rates(self) -> dict[str, float | None]:
        return {r: share(n, self.events) for r, n in sorted(self.figures.flagged.items())}

    def null_shares(self) -> dict[str, float | None]:
        return {p: share(n, self.events) for p, n in sorted(self.figures.nulls.items())}

    def as_json(self) -> dict[str, Any]:
        f = self.figures
        return {
            "day": self.day.isoformat(),
            "events": f.events,
            "flagged": dict(sorted(f.flagged.items())),
            "flags": f.flagged_events,
            "flag_rate": self.flag_rate,
            "rule_rates": self.rule_rates(),
            "dead_letters": f.dead_letters,
            "late": f.late,
            "duplicates": f.duplicates,
            "nulls": dict(sorted(f.nulls.items())),
            "null_shares": self.null_shares(),
            "rejected": self.rejected,
        }


@dataclass(frozen=True)
class DatasetQuality:
    """One data set: its days with figures, oldest first (none: no summary yet)."""

    dataset: str
    days: tuple[DayRow, ...] = ()
    in_catalog: bool = True

    @property
    def has_data(self) -> bool:
        return bool(self.days)

    def total(self) -> Figures:
        out = Figures()
        for row in self.days:
            out.add(row.figures)
        return out

    def as_json(self) -> dict[str, Any]:
        total = self.total()
        return {
            "dataset": self.dataset,
            "status": "ok" if self.has_data else "no data",
            "in_catalog": self.in_catalog,
            "events": total.events,
            "flag_rate": share(total.flagged_events, total.events),
            "days": [d.as_json() for d in self.days],
        }


@dataclass(frozen=True)
class QualityReport:
    datasets: tuple[DatasetQuality, ...]
    rejections: Rejections = field(default=NOT_CONFIGURED)
    undecodable: int = 0
    """Records of hub.quality that could not be read (counted, never guessed)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "datasets": [d.as_json() for d in self.datasets],
            "rejected_at_the_door": {
                "included": self.rejections.counts is not None,
                "note": self.rejections.note,
            },
            "undecodable_records": self.undecodable,
        }


def build_report(
    days: Iterable[DayFigures],
    catalog: Iterable[str],
    *,
    dataset: str | None = None,
    since: date | None = None,
    rejections: Rejections = NOT_CONFIGURED,
    undecodable: int = 0,
) -> QualityReport:
    """Every data set of the schema catalog (and any other with summaries), each with its days
    from ``since``; a data set without a summary is listed with no days ("no data"). A day on
    which the producers rejected events but the router read none gets a row too."""
    known = set(catalog)
    by_dataset: dict[str, dict[date, DayRow]] = {name: {} for name in known}
    for d in days:
        if since is not None and d.day < since:
            continue
        by_dataset.setdefault(d.dataset, {})[d.day] = DayRow(
            d.day, d.figures, rejections.of(d.dataset, d.day)
        )
    if rejections.counts is not None:
        for (name, day), rules in rejections.counts.items():
            if (since is not None and day < since) or not any(rules.values()):
                continue
            rows = by_dataset.setdefault(name, {})
            if day not in rows:
                rows[day] = DayRow(day, Figures(), dict(rules))
    out = []
    for name in sorted(by_dataset):
        if dataset is not None and name != dataset:
            continue
        rows = tuple(by_dataset[name][day] for day in sorted(by_dataset[name]))
        out.append(DatasetQuality(name, rows, name in known))
    return QualityReport(tuple(out), rejections, undecodable)


# -- text ----------------------------------------------------------------------------------------


def percent(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.2f} %" if value < 0.1 else f"{value * 100:.1f} %"


def _counts(items: Mapping[str, int], rate_of: Mapping[str, float | None] | None = None) -> str:
    parts = []
    for name, n in sorted(items.items(), key=lambda kv: (-kv[1], kv[0])):
        rate = f" ({percent(rate_of[name])})" if rate_of is not None else ""
        parts.append(f"{name} {n:,}{rate}")
    return ", ".join(parts)


HEADER = f"  {'day':<10}  {'events':>9}  {'flag rate':>9}  {'dead letters':>12}  {'late':>7}  {'duplicates':>10}"


def render_text(report: QualityReport) -> str:
    """Plain text for people: a block per data set, a line per day, details beneath."""
    blocks = []
    for d in report.datasets:
        title = d.dataset + ("" if d.in_catalog else "  (not in the schema catalog)")
        if not d.has_data:
            blocks.append(f"{title}\n  no data")
            continue
        lines = [title, HEADER]
        for row in d.days:
            f = row.figures
            lines.append(
                f"  {row.day.isoformat():<10}  {f.events:>9,}  {percent(row.flag_rate):>9}  "
                f"{f.dead_letters:>12,}  {f.late:>7,}  {f.duplicates:>10,}"
            )
            if f.flagged:
                lines.append("      flagged: " + _counts(f.flagged, row.rule_rates()))
            nulls = {p: s for p, s in row.null_shares().items() if f.nulls[p]}
            if nulls:
                lines.append(
                    "      null share: " + ", ".join(f"{p} {percent(s)}" for p, s in nulls.items())
                )
            if row.rejected is not None:
                total = sum(row.rejected.values())
                detail = f" ({_counts(row.rejected)})" if total else ""
                lines.append(f"      rejected at the door: {total:,}{detail}")
        blocks.append("\n".join(lines))
    if not blocks:
        blocks.append("no data sets")
    footer = [report.rejections.note]
    if report.undecodable:
        footer.append(
            f"{report.undecodable} record(s) of hub.quality could not be decoded and are not "
            "counted above"
        )
    return "\n\n".join(blocks) + "\n\n" + "\n".join(footer)
