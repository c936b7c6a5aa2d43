"""When to try a webhook again, and what an answer means: pure functions.

The schedule is the Standard Webhooks one (its "example schedule", also Svix's): immediately,
then 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours and 10 hours after each
failed attempt, so a receiver that is down for a day still gets everything; after the 8th
failure the delivery is given up (dead-lettered). ``scale`` compresses the schedule (tests,
demos); a little jitter spreads the retries of many failed deliveries apart.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

# Seconds to wait after attempt n (1-based) failed, before attempt n + 1.
SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.1
# A Retry-After longer than the longest step of the schedule is not honoured beyond it.
MAX_RETRY_AFTER = max(SCHEDULE)


class Verdict(Enum):
    ACKNOWLEDGED = "acknowledged"  # 2xx: done
    RETRY = "retry"  # any other answer, a timeout, a connection error
    GONE = "gone"  # 410: the receiver says the endpoint is gone; disable the subscription


def verdict(status: int | None) -> Verdict:
    """What an HTTP status means for a delivery (None: no answer at all)."""
    if status is not None and 200 <= status < 300:
        return Verdict.ACKNOWLEDGED
    if status == 410:
        return Verdict.GONE
    return Verdict.RETRY


def status_class(status: int | None, error: str | None = None) -> str:
    """The metrics label of an attempt: ``2xx`` .. ``5xx``, ``timeout`` or ``connection``."""
    if status is None:
        return "timeout" if error == "timeout" else "connection"
    return f"{status // 100}xx"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date); None when
    absent or unreadable; never negative."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(
    attempts: int,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    scale: float = 1.0,
    retry_after: float | None = None,
    jitter: float = JITTER,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before the next attempt after ``attempts`` failed ones; None: give up.

    A ``Retry-After`` (429/503) is honoured as given, not scaled: the receiver asked for it;
    the delay is the longer of it and the schedule's step, at most ``MAX_RETRY_AFTER``.
    """
    if attempts < 1:
        raise ValueError("attempts counts the failed attempts, starting at 1")
    if attempts >= min(max_attempts, MAX_ATTEMPTS):
        return None
    step = SCHEDULE[attempts - 1] * scale
    if jitter:
        step *= 1 + (rng or random).uniform(-jitter, jitter)
    if retry_after is not None:
        step = max(step, min(retry_after, MAX_RETRY_AFTER))
    return step
