"""Dead letters: a message the router cannot handle keeps its key, value and headers and gains
headers that say why and where it came from, so it can be read, fixed and replayed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "hub_dlq_"
Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class DeadLetter:
    """Why and where from; ``agreement_id`` is set when only one agreement's transform failed."""

    error_class: str
    message: str
    topic: str
    partition: int
    offset: int
    agreement_id: str | None = None
    router: str = ""
    time: str = ""


def dead_letter_headers(
    original: Iterable[tuple[str, bytes]], reason: DeadLetter
) -> list[tuple[str, bytes]]:
    """The original headers (minus any earlier dead-letter reason) plus this reason."""
    headers = [(k, v) for k, v in original if not k.startswith(PREFIX)]
    headers += [
        (PREFIX + "error_class", reason.error_class.encode()),
        (PREFIX + "message", reason.message[:2000].encode("utf-8", "replace")),
        (PREFIX + "topic", reason.topic.encode()),
        (PREFIX + "partition", str(reason.partition).encode()),
        (PREFIX + "offset", str(reason.offset).encode()),
        (PREFIX + "time", (reason.time or datetime.now(UTC).isoformat()).encode()),
        (PREFIX + "router", reason.router.encode()),
    ]
    if reason.agreement_id:
        headers.append((PREFIX + "agreement", reason.agreement_id.encode()))
    return headers


def parse_dead_letter(headers: Headers) -> tuple[DeadLetter, list[tuple[str, bytes]]]:
    """The reason recorded in a dead letter's headers, and the original headers without it."""
    found = {
        k[len(PREFIX) :]: v.decode("utf-8", "replace") for k, v in headers if k.startswith(PREFIX)
    }
    original = [(k, v) for k, v in headers if not k.startswith(PREFIX)]
    if "topic" not in found or "offset" not in found:
        raise ValueError("not a hub dead letter: the hub_dlq_topic/offset headers are missing")
    reason = DeadLetter(
        error_class=found.get("error_class", "?"),
        message=found.get("message", ""),
        topic=found["topic"],
        partition=int(found.get("partition", "0")),
        offset=int(found["offset"]),
        agreement_id=found.get("agreement") or None,
        router=found.get("router", ""),
        time=found.get("time", ""),
    )
    return reason, original
