"""The trail of data-subject requests (``hub.rights``) and where each case stands. Pure.

Every access lookup and every erasure is one ``RightsRequestRecorded`` (who asked, when, for
which case, the person by keyed hashes only, whom the answer named or notified). A case's
status folds its erasure records with the recipients' confirmations, each read from the topic
only that recipient may write (the topic says who confirmed, not the record's own field).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from consumers.rights.contract import ACCESS, ERASURE
from consumers.rights.erasure import Outgoing


def trail_record(
    *,
    request_id: str,
    kind: str,
    case: str,
    requested_by: str,
    principal: str,
    tool: str,
    references: Sequence[tuple[str, str]],
    since: dt.datetime | None,
    recipients: Iterable[str],
    deliveries: int,
    requests: Iterable[Outgoing] = (),
    at: dt.datetime,
) -> dict[str, Any]:
    if kind not in (ACCESS, ERASURE):
        raise ValueError(f"kind: {kind!r} is neither {ACCESS} nor {ERASURE}")
    return {
        "request_id": request_id,
        "kind": kind,
        "case": case,
        "requested_by": requested_by,
        "principal": principal,
        "tool": tool,
        "person": [{"name": n, "hash": h} for n, h in references],
        "since": since,
        "recipients": sorted(set(recipients)),
        "deliveries": deliveries,
        "requests": [
            {
                "subscriber": r.subscriber,
                "agreement_id": r.agreement_id,
                "delivery_topic": r.topic,
                "request_id": r.request_id,
            }
            for r in requests
        ],
        "recorded_at": at,
    }


@dataclass
class RecipientStatus:
    subscriber: str
    notified_at: dt.datetime
    requests: list[str] = field(default_factory=list)
    confirmed_at: dt.datetime | None = None
    note: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "subscriber": self.subscriber,
            "notified_at": self.notified_at.isoformat(),
            "requests": self.requests,
            "confirmed": self.confirmed,
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "note": self.note,
        }


@dataclass
class CaseStatus:
    case: str
    recipients: dict[str, RecipientStatus] = field(default_factory=dict)
    access_requests: int = 0
    erasure_requests: int = 0

    @property
    def outstanding(self) -> list[str]:
        return sorted(s for s, r in self.recipients.items() if not r.confirmed)

    @property
    def confirmed(self) -> list[str]:
        return sorted(s for s, r in self.recipients.items() if r.confirmed)

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "access_requests": self.access_requests,
            "erasure_requests": self.erasure_requests,
            "recipients": [self.recipients[s].as_json() for s in sorted(self.recipients)],
            "confirmed": self.confirmed,
            "outstanding": self.outstanding,
        }


@dataclass(frozen=True)
class Confirmation:
    """A confirmation as read: ``subscriber`` is whose topic it came from."""

    subscriber: str
    case: str
    request_ids: tuple[str, ...]
    confirmed_at: dt.datetime
    note: str | None = None


def fold_cases(
    trail: Iterable[dict[str, Any]], confirmations: Iterable[Confirmation]
) -> dict[str, CaseStatus]:
    """Each case's status. A confirmation counts for a recipient notified in that case: one
    naming request ids for those requests, one naming none when made after the notice. A later
    erasure of the same case (sent again) needs confirming again."""
    cases: dict[str, CaseStatus] = {}
    for record in sorted(trail, key=lambda r: r["recorded_at"]):
        status = cases.setdefault(record["case"], CaseStatus(record["case"]))
        if record["kind"] == ACCESS:
            status.access_requests += 1
            continue
        status.erasure_requests += 1
        for sent in record["requests"]:
            subscriber = sent["subscriber"]
            previous = status.recipients.get(subscriber)
            if previous is None or previous.notified_at != record["recorded_at"]:
                status.recipients[subscriber] = RecipientStatus(subscriber, record["recorded_at"])
            status.recipients[subscriber].requests.append(sent["request_id"])
    for c in sorted(confirmations, key=lambda c: c.confirmed_at):
        status = cases.get(c.case)
        recipient = status.recipients.get(c.subscriber) if status else None
        if recipient is None:
            continue
        if c.request_ids:  # the SDK names the requests: they say which round it confirms
            if not set(c.request_ids) & set(recipient.requests):
                continue
        elif c.confirmed_at < recipient.notified_at:  # `hub rights confirm`: by time
            continue
        recipient.confirmed_at, recipient.note = c.confirmed_at, c.note
    return cases
