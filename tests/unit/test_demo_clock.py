"""The simulated city's clock across demo runs, and the lookup the demo suggests (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from consumers.features.published import suggest_entity
from producers.simulators.clock import event_time, next_evening

UTC = dt.UTC


def test_the_first_run_starts_a_week_ago_in_the_evening() -> None:
    assert next_evening(None, dt.date(2026, 12, 1)) == dt.datetime(2026, 11, 24, 22, tzinfo=UTC)


def test_a_later_run_starts_the_next_evening_after_the_log() -> None:
    after_night = dt.datetime(2026, 11, 25, 2, 29, tzinfo=UTC)
    assert next_evening(after_night, dt.date(2026, 12, 1)) == dt.datetime(
        2026, 11, 25, 22, tzinfo=UTC
    )
    evening = dt.datetime(2026, 11, 25, 22, tzinfo=UTC)
    assert next_evening(evening, dt.date(2026, 12, 1)) == evening + dt.timedelta(days=1)


@given(st.datetimes(timezones=st.just(UTC), min_value=dt.datetime(2000, 1, 1)))
def test_next_evening_is_after_and_within_a_day(moment: dt.datetime) -> None:
    start = next_evening(moment, dt.date(2026, 12, 1))
    assert moment < start <= moment + dt.timedelta(days=1)
    assert (start.hour, start.minute, start.second) == (22, 0, 0)


def test_event_time_of_headers() -> None:
    assert event_time([("ce_time", b"2026-11-25T02:29:28.500Z")]) == dt.datetime(
        2026, 11, 25, 2, 29, 28, 500000, tzinfo=UTC
    )
    assert event_time([("ce_time", b"soon")]) is None
    assert event_time([]) is None


def test_suggest_the_entity_with_values_in_most_views() -> None:
    windows = {
        "noise_complaints_hourly": Counter({"59065": 3, "59071": 5}),
        "moves_in_daily": Counter({"59065": 1}),
        "air_quality_hourly": Counter({"HAM-VK-01": 40}),
    }
    entity_of = {
        "noise_complaints_hourly": "postcode",
        "moves_in_daily": "postcode",
        "air_quality_hourly": "station",
    }
    assert suggest_entity(windows, entity_of) == ("postcode", "59065")
    assert suggest_entity({}, entity_of) is None
