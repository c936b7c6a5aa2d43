"""The audit trail folded into counts: per agreement (the same summaries as ``hub audit report``)
and per agreement, subscriber and day in Hamm's calendar. Pure and incremental: records go in one
at a time as the portal follows ``hub.audit``, and every page asks only the small fold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from consumers.audit.report import AgreementSummary

CITY_TZ = ZoneInfo("Europe/Berlin")


@dataclass
class DayCount:
    """One agreement's batches of one day."""

    delivered: int = 0
    filtered: int = 0
    replayed: int = 0
    batches: int = 0
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None

    def add(self, delivered: int, filtered: int, replayed: bool, at: dt.datetime) -> None:
        self.delivered += delivered
        self.filtered += filtered
        self.replayed += delivered if replayed else 0
        self.batches += 1
        if self.first_at is None or at < self.first_at:
            self.first_at = at
        if self.last_at is None or at >= self.last_at:
            self.last_at = at


@dataclass(frozen=True)
class AuditRow:
    """A line of the staff audit page: deliveries of one agreement on one day."""

    day: dt.date
    agreement_id: str
    subscriber: str
    delivered: int
    filtered: int
    replayed: int
    batches: int

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "agreement_id": self.agreement_id,
            "subscriber": self.subscriber,
            "delivered": self.delivered,
            "filtered": self.filtered,
            "replayed": self.replayed,
            "batches": self.batches,
        }


def local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(CITY_TZ).date()


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in Hamm, as an aware datetime (what ``--since`` of a day means)."""
    return dt.datetime.combine(day, dt.time(), CITY_TZ)


def _fold(
    s: AgreementSummary,
    r: dict[str, Any],
    at: dt.datetime,
    delivered: int,
    filtered: int,
    replayed: bool,
) -> None:
    """The rules of ``consumers.audit.report.summarize``: counts add up, the latest terms win."""
    s.delivered += delivered
    s.filtered += filtered
    s.replayed += delivered if replayed else 0
    s.batches += 1
    s.first_at = at if s.first_at is None or at < s.first_at else s.first_at
    if s.last_at is None or at >= s.last_at:
        s.last_at = at
        s.purpose, s.legal_basis = r["purpose"], r["legal_basis"]
        s.sensitive_legal_basis = r.get("sensitive_legal_basis")
        s.fields = {f["path"]: f["transform"] for f in r["fields"]}
        s.key_transform = r["key_transform"]


@dataclass
class AuditFold:
    """Counts of ``hub.audit``; ``add`` is the only way in."""

    records: int = 0
    delivered: int = 0
    _summaries: dict[str, AgreementSummary] = field(default_factory=dict)
    _pairs: dict[tuple[str, str], AgreementSummary] = field(default_factory=dict)
    _days: dict[tuple[str, str, dt.date], DayCount] = field(default_factory=dict)

    def add(self, r: dict[str, Any]) -> None:
        """Fold one decoded audit record (``consumers.router.audit.AUDIT_SCHEMA``)."""
        at: dt.datetime = r["recorded_at"]
        agreement_id, subscriber = r["agreement_id"], r["subscriber"]
        delivered, filtered = r["delivered"], r["filtered"]
        replayed = bool(r.get("replayed"))
        # By agreement (``hub audit report``) and by agreement and subscriber (``--subscriber``).
        for key, table in (
            (agreement_id, self._summaries),
            ((agreement_id, subscriber), self._pairs),
        ):
            s = table.get(key)
            if s is None:
                s = table[key] = AgreementSummary(
                    agreement_id, subscriber, r["purpose"], r["legal_basis"],
                    r.get("sensitive_legal_basis"), r["source_topic"], r["delivery_topic"],
                )  # fmt: skip
            _fold(s, r, at, delivered, filtered, replayed)
        key = (agreement_id, subscriber, local_day(at))
        day = self._days.get(key)
        if day is None:
            day = self._days[key] = DayCount()
        day.add(delivered, filtered, replayed, at)
        self.records += 1
        self.delivered += delivered

    def add_all(self, records: Iterable[dict[str, Any]]) -> AuditFold:
        for r in records:
            self.add(r)
        return self

    # -- questions the pages ask ----------------------------------------------------------------
    def summaries(
        self, *, subscriber: str | None = None, since: dt.date | None = None
    ) -> list[AgreementSummary]:
        """As ``summarize(records, subscriber=..., since=midnight of since in Hamm)``."""
        if since is None:
            chosen = (
                list(self._summaries.values())
                if subscriber is None
                else [p for (_, who), p in self._pairs.items() if who == subscriber]
            )
            return sorted(chosen, key=lambda s: (s.subscriber, s.agreement_id))
        out: dict[str, AgreementSummary] = {}
        for (agreement_id, who, day), count in self._days.items():
            if day < since or (subscriber is not None and who != subscriber):
                continue
            base = (
                self._summaries[agreement_id]
                if subscriber is None
                else self._pairs[(agreement_id, who)]
            )
            s = out.get(agreement_id)
            if s is None:
                s = out[agreement_id] = AgreementSummary(
                    agreement_id, who, base.purpose, base.legal_basis, base.sensitive_legal_basis,
                    base.source_topic, base.delivery_topic, fields=dict(base.fields),
                    key_transform=base.key_transform,
                )  # fmt: skip
            s.delivered += count.delivered
            s.filtered += count.filtered
            s.replayed += count.replayed
            s.batches += count.batches
            if s.first_at is None or (count.first_at and count.first_at < s.first_at):
                s.first_at = count.first_at
            if s.last_at is None or (count.last_at and count.last_at >= s.last_at):
                s.last_at = count.last_at
        return sorted(out.values(), key=lambda s: (s.subscriber, s.agreement_id))

    def rows(
        self,
        *,
        agreement: str | None = None,
        subscriber: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[AuditRow]:
        """Deliveries by agreement, subscriber and day, newest day first."""
        rows = [
            AuditRow(day, a, s, c.delivered, c.filtered, c.replayed, c.batches)
            for (a, s, day), c in self._days.items()
            if (agreement is None or a == agreement)
            and (subscriber is None or s == subscriber)
            and (since is None or day >= since)
            and (until is None or day <= until)
        ]
        return sorted(rows, key=lambda r: (-r.day.toordinal(), r.subscriber, r.agreement_id))

    def delivered_since(self, since: dt.date) -> int:
        return sum(c.delivered for (_, _, day), c in self._days.items() if day >= since)

    def per_day(self, agreement_id: str, days: int, today: dt.date) -> list[tuple[dt.date, int]]:
        """Deliveries of one agreement on each of the last ``days`` days (zeros included)."""
        first = today - dt.timedelta(days=days - 1)
        counts = {first + dt.timedelta(days=i): 0 for i in range(days)}
        for (a, _, day), c in self._days.items():
            if a == agreement_id and day in counts:
                counts[day] += c.delivered
        return sorted(counts.items())

    def delivered_by_agreement(self) -> dict[str, int]:
        return {a: s.delivered for a, s in self._summaries.items()}

    @property
    def agreements(self) -> list[str]:
        return sorted(self._summaries)

    @property
    def subscribers(self) -> list[str]:
        return sorted({s.subscriber for s in self._summaries.values()})
