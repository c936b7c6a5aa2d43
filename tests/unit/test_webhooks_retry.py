"""The retry schedule and what an answer means."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from consumers.webhooks.retry import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    SCHEDULE,
    Verdict,
    parse_retry_after,
    retry_delay,
    status_class,
    verdict,
)


def test_the_standard_webhooks_schedule():
    # immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
    assert SCHEDULE == (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
    assert MAX_ATTEMPTS == 8
    delays = [retry_delay(n, jitter=0) for n in range(1, 8)]
    assert delays == list(SCHEDULE)
    assert retry_delay(8, jitter=0) is None  # the 8th failure gives up
    assert sum(delays) / 3600 == pytest.approx(27.6, abs=0.1)  # a day's outage is survived


def test_scale_compresses_and_max_attempts_cuts_it():
    assert retry_delay(1, scale=0.001, jitter=0) == pytest.approx(0.005)
    assert retry_delay(2, scale=0.001, jitter=0) == pytest.approx(0.3)
    assert retry_delay(2, max_attempts=3, jitter=0) == 300
    assert retry_delay(3, max_attempts=3, jitter=0) is None
    assert retry_delay(1, max_attempts=1) is None
    assert retry_delay(8, max_attempts=20) is None  # never beyond the schedule
    with pytest.raises(ValueError):
        retry_delay(0)


def test_jitter_stays_within_ten_percent():
    rng = random.Random(7)
    delays = {retry_delay(2, rng=rng) for _ in range(200)}
    assert all(270 <= x <= 330 for x in delays)
    assert len(delays) > 100


def test_retry_after_is_honoured_unscaled_and_bounded():
    assert retry_delay(1, scale=0.001, retry_after=2, jitter=0) == 2
    assert retry_delay(2, retry_after=1, jitter=0) == 300  # never sooner than the schedule
    assert retry_delay(1, retry_after=10**9, jitter=0) == MAX_RETRY_AFTER
    assert retry_delay(7, retry_after=5) is not None
    assert retry_delay(8, retry_after=5) is None  # Retry-After does not add attempts


def test_parse_retry_after():
    now = datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 3 ") == 3
    assert parse_retry_after("Mon, 02 Nov 2026 10:01:30 GMT", now) == 90
    assert parse_retry_after("Mon, 02 Nov 2026 09:00:00 GMT", now) == 0  # the past: now
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


@pytest.mark.parametrize(
    "status, outcome",
    [
        (200, Verdict.ACKNOWLEDGED),
        (202, Verdict.ACKNOWLEDGED),
        (204, Verdict.ACKNOWLEDGED),
        (299, Verdict.ACKNOWLEDGED),
        (301, Verdict.RETRY),  # redirects are not followed
        (400, Verdict.RETRY),
        (401, Verdict.RETRY),
        (404, Verdict.RETRY),
        (410, Verdict.GONE),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (None, Verdict.RETRY),
    ],
)
def test_verdicts(status, outcome):
    assert verdict(status) is outcome


def test_status_classes():
    assert [status_class(s) for s in (200, 302, 429, 503)] == ["2xx", "3xx", "4xx", "5xx"]
    assert status_class(None, "timeout") == "timeout"
    assert status_class(None) == "connection"
