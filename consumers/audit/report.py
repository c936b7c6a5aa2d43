"""Summaries of the audit trail per agreement: the record of processing a data-protection
officer asks for (Art. 30 GDPR). Pure: audit records in, summaries and text out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class AgreementSummary:
    agreement_id: str
    subscriber: str
    purpose: str
    legal_basis: str
    sensitive_legal_basis: str | None
    source_topic: str
    delivery_topic: str
    delivered: int = 0
    filtered: int = 0
    replayed: int = 0
    batches: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    fields: dict[str, str] = field(default_factory=dict)
    key_transform: str = ""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("first_at", "last_at"):
            data[name] = data[name].isoformat() if data[name] else None
        return data


def summarize(
    records: Iterable[dict[str, Any]],
    *,
    subscriber: str | None = None,
    since: datetime | None = None,
) -> list[AgreementSummary]:
    """Fold audit records into one summary per agreement (the latest terms win)."""
    summaries: dict[str, AgreementSummary] = {}
    for r in records:
        if subscriber and r["subscriber"] != subscriber:
            continue
        at = r["recorded_at"]
        if since and at < since:
            continue
        s = summaries.get(r["agreement_id"])
        if s is None:
            s = summaries[r["agreement_id"]] = AgreementSummary(
                r["agreement_id"], r["subscriber"], r["purpose"], r["legal_basis"],
                r.get("sensitive_legal_basis"), r["source_topic"], r["delivery_topic"],
            )  # fmt: skip
        s.delivered += r["delivered"]
        s.filtered += r["filtered"]
        s.replayed += r["delivered"] if r.get("replayed") else 0
        s.batches += 1
        s.first_at = at if s.first_at is None or at < s.first_at else s.first_at
        if s.last_at is None or at >= s.last_at:
            s.last_at = at
            s.purpose, s.legal_basis = r["purpose"], r["legal_basis"]
            s.sensitive_legal_basis = r.get("sensitive_legal_basis")
            s.fields = {f["path"]: f["transform"] for f in r["fields"]}
            s.key_transform = r["key_transform"]
    return sorted(summaries.values(), key=lambda s: (s.subscriber, s.agreement_id))


def render(summaries: list[AgreementSummary]) -> str:
    """Plain text for people, one block per agreement."""
    if not summaries:
        return "no deliveries recorded"
    blocks = []
    for s in summaries:
        lines = [
            f"{s.agreement_id}  →  {s.subscriber}",
            f"  purpose:      {s.purpose}",
            f"  legal basis:  {s.legal_basis}",
        ]
        if s.sensitive_legal_basis:
            lines.append(f"  Art. 9 basis: {s.sensitive_legal_basis}")
        lines += [
            f"  from {s.source_topic} to {s.delivery_topic}",
            f"  delivered {s.delivered} event(s), filtered {s.filtered}"
            + (f", of them replayed {s.replayed}" if s.replayed else "")
            + f", in {s.batches} batch(es)",
            f"  between {_when(s.first_at)} and {_when(s.last_at)}",
            f"  key: {s.key_transform}",
            "  fields: " + ", ".join(f"{p} ({t})" for p, t in s.fields.items()),
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at else "-"
