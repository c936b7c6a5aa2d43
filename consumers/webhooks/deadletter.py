"""Given-up webhook deliveries in ``hub.webhooks.dlq``: the delivery's key, value and headers
as they were, plus headers saying for which subscription, where from and why (last status,
an excerpt of the receiver's answer, attempts), so ``hub webhooks replay`` can send it again
with the same ``webhook-id``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "hub_webhooks_"
BODY_EXCERPT = 500


@dataclass(frozen=True)
class GivenUp:
    subscription: str
    topic: str  # the delivery topic, partition and offset the delivery was read from
    partition: int
    offset: int
    attempts: int
    status: int | None  # the last answer's HTTP status; None: no answer (timeout, connection)
    error: str  # "HTTP 503", "timeout after 10.0 s", "connection: refused", "undecodable: ..."
    body: str = ""  # the start of the last answer's body
    time: str = ""

    @property
    def place(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


def given_up_headers(
    original: Iterable[tuple[str, bytes]], reason: GivenUp
) -> list[tuple[str, bytes]]:
    """The delivery's headers (minus an earlier reason) plus this one."""
    headers = [(k, v) for k, v in original if not k.startswith(PREFIX)]
    headers += [
        (PREFIX + "subscription", reason.subscription.encode()),
        (PREFIX + "topic", reason.topic.encode()),
        (PREFIX + "partition", str(reason.partition).encode()),
        (PREFIX + "offset", str(reason.offset).encode()),
        (PREFIX + "attempts", str(reason.attempts).encode()),
        (PREFIX + "status", b"" if reason.status is None else str(reason.status).encode()),
        (PREFIX + "error", reason.error[:500].encode("utf-8", "replace")),
        (PREFIX + "body", reason.body[:BODY_EXCERPT].encode("utf-8", "replace")),
        (PREFIX + "time", (reason.time or datetime.now(UTC).isoformat()).encode()),
    ]
    return headers


def parse_given_up(
    headers: Sequence[tuple[str, bytes]],
) -> tuple[GivenUp, list[tuple[str, bytes]]]:
    """The reason in a DLQ record's headers, and the delivery's own headers."""
    found = {
        k[len(PREFIX) :]: (v or b"").decode("utf-8", "replace")
        for k, v in headers
        if k.startswith(PREFIX)
    }
    original = [(k, v) for k, v in headers if not k.startswith(PREFIX)]
    if "subscription" not in found or "offset" not in found:
        raise ValueError("not a webhook dead letter: hub_webhooks_subscription/offset missing")
    reason = GivenUp(
        subscription=found["subscription"],
        topic=found.get("topic", "?"),
        partition=int(found.get("partition") or 0),
        offset=int(found["offset"]),
        attempts=int(found.get("attempts") or 0),
        status=int(found["status"]) if found.get("status") else None,
        error=found.get("error", ""),
        body=found.get("body", ""),
        time=found.get("time", ""),
    )
    return reason, original
