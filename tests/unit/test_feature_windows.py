"""The windowing core: tumbling and hopping windows, watermark, lateness, k gate, aggregations."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.features import changelog, kgate
from consumers.features.windows import (
    ANONYMOUS,
    AggregationDef,
    Aggregator,
    Arrival,
    FeatureEvent,
    window_starts,
)

H = 3_600_000
M = 60_000


def agg(size=H, slide=None, lateness=0, k=1, aggs=None) -> Aggregator:
    aggs = aggs or [AggregationDef("n", "count", False), AggregationDef("total", "sum")]
    return Aggregator("v", size, slide or size, lateness, k, aggs)


def ev(t: int, entity: str = "a", who: str | None = "p1", *values) -> FeatureEvent:
    return FeatureEvent(entity, t, who, values or (None, 1))


def results(a: Aggregator) -> dict:
    return {
        (r.entity, r.start_ms): (r.features, r.events, r.contributors) for r in a.advance(10**15)
    }


# -- window assignment ------------------------------------------------------------------------
def test_tumbling_window_of_a_time():
    assert list(window_starts(0, H, H)) == [0]
    assert list(window_starts(H - 1, H, H)) == [0]
    assert list(window_starts(H, H, H)) == [H]


def test_hopping_windows_of_a_time():
    day = 24 * H
    assert list(window_starts(3 * day + 5, 7 * day, day)) == [d * day for d in range(-3, 4)]


def test_negative_times_use_floor_alignment():
    assert list(window_starts(-1, H, H)) == [-H]


@given(t=st.integers(-(10**12), 10**13), n=st.integers(1, 12), slide=st.integers(1, 10**6))
def test_every_window_contains_the_time(t, n, slide):
    size = n * slide
    starts = window_starts(t, size, slide)
    assert len(starts) == n
    assert all(s <= t < s + size and s % slide == 0 for s in starts)


# -- aggregation --------------------------------------------------------------------------------
def test_tumbling_count_and_sum_per_entity_and_window():
    a = agg()
    for t, e in [(0, "a"), (10, "a"), (20, "b"), (H + 1, "a")]:
        a.add(ev(t, e))
    got = results(a)
    assert got[("a", 0)][0] == {"n": 2, "total": 2}
    assert got[("b", 0)][0] == {"n": 1, "total": 1}
    assert got[("a", H)][0] == {"n": 1, "total": 1}


def test_hopping_event_counts_in_each_of_its_windows():
    a = agg(size=3 * H, slide=H)
    a.add(ev(5 * H + 1))
    got = results(a)
    assert sorted(s for _, s in got) == [3 * H, 4 * H, 5 * H]


def test_window_closes_only_after_lateness():
    a = agg(lateness=10 * M)
    a.add(ev(1))
    assert a.advance(H) == []  # end reached, lateness not yet
    assert a.advance(H + 10 * M - 1) == []
    closed = a.advance(H + 10 * M)
    assert [(r.start_ms, r.end_ms, r.events) for r in closed] == [(0, H, 1)]
    assert a.windows == {}


def test_watermark_follows_events_and_never_goes_back():
    a = agg()
    a.add(ev(5 * H))
    a.add(ev(H))  # out of order
    assert a.watermark == 5 * H
    a.advance(2 * H)
    assert a.watermark == 5 * H


def test_late_event_within_lateness_updates_its_window():
    a = agg(lateness=30 * M)
    assert a.add(ev(10)) is Arrival.ON_TIME
    assert a.add(ev(H + 10 * M)) is Arrival.ON_TIME  # watermark past the end of [0, H)
    assert a.add(ev(20)) is Arrival.LATE
    closed = {r.start_ms: r for r in a.advance(2 * H)}
    assert closed[0].features["n"] == 2


def test_too_late_event_is_dropped_and_reported():
    a = agg(lateness=10 * M)
    a.add(ev(10))
    a.add(ev(H + 10 * M))  # closes [0, H) logically
    assert a.add(ev(20)) is Arrival.TOO_LATE
    closed = {r.start_ms: r for r in a.advance(3 * H)}
    assert closed[0].features["n"] == 1


def test_too_late_is_decided_by_watermark_even_before_advance_removes_the_window():
    a = agg()
    a.add(ev(10))
    a.add(ev(2 * H))
    assert (("a", 0)) in a.windows  # not removed yet
    assert a.add(ev(30)) is Arrival.TOO_LATE


def test_hopping_late_event_goes_only_into_open_windows():
    a = agg(size=2 * H, slide=H)
    a.add(ev(2 * H + 1))  # watermark: [0, 2H) closed
    assert a.add(ev(H + 1)) is Arrival.LATE  # [0, 2H) closed, [H, 3H) open
    got = results(a)
    assert got[("a", H)][1] == 2
    assert ("a", 0) not in got


def test_mean_min_max_last_distinct_skip_nulls():
    a = agg(
        aggs=[
            AggregationDef("mean", "mean"),
            AggregationDef("min", "min"),
            AggregationDef("max", "max"),
            AggregationDef("last", "last"),
            AggregationDef("kinds", "distinct_count"),
            AggregationDef("present", "count"),
        ]
    )
    a.add(FeatureEvent("a", 10, "p", (2.0, 2.0, 2.0, "x", "A", 2.0)))
    a.add(FeatureEvent("a", 30, "p", (None, None, None, None, None, None)))
    a.add(FeatureEvent("a", 20, "p", (4.0, 4.0, 4.0, "y", "B", 4.0)))
    a.add(FeatureEvent("a", 25, "p", (6.0, 6.0, 6.0, "z", "A", 6.0)))
    (r,) = a.advance(H)
    assert r.features == {
        "mean": 4.0,
        "min": 2.0,
        "max": 6.0,
        "last": "z",
        "kinds": 2,
        "present": 3,
    }
    assert r.events == 4


def test_all_null_values_give_null_features():
    a = agg(
        aggs=[
            AggregationDef("mean", "mean"),
            AggregationDef("max", "max"),
            AggregationDef("last", "last"),
        ]
    )
    a.add(FeatureEvent("a", 1, "p", (None, None, None)))
    (r,) = a.advance(H)
    assert r.features == {"mean": None, "max": None, "last": None}


def test_last_ties_are_broken_by_value_not_arrival():
    defs = [AggregationDef("last", "last")]
    one, two = agg(aggs=defs), agg(aggs=defs)
    for a, order in ((one, ["x", "y"]), (two, ["y", "x"])):
        for v in order:
            a.add(FeatureEvent("a", 5, "p", (v,)))
    assert one.advance(H)[0].features == two.advance(H)[0].features


def test_booleans_sum_and_mean_as_zero_and_one():
    a = agg(aggs=[AggregationDef("s", "sum"), AggregationDef("m", "mean")])
    for v in (True, False, True, True):
        a.add(FeatureEvent("a", 1, "p", (v, v)))
    (r,) = a.advance(H)
    assert r.features == {"s": 3, "m": 0.75}


def test_distinct_count_of_many_values():
    a = agg(aggs=[AggregationDef("d", "distinct_count")])
    for i in range(100):
        a.add(FeatureEvent("a", i, "p", (i % 7,)))
    assert a.advance(H)[0].features == {"d": 7}


def test_bad_window_shape_is_refused():
    with pytest.raises(ValueError, match="multiple of the slide"):
        Aggregator("v", H, 7 * M, 0, 1, [AggregationDef("n", "count", False)])


# -- k-anonymity gate ---------------------------------------------------------------------------
def test_k_gate_suppresses_windows_with_fewer_than_k_contributors():
    a = agg(k=5)
    for i in range(4):
        a.add(ev(i, "small", f"p{i}"))
    for i in range(5):
        a.add(ev(i, "big", f"p{i}"))
    published, suppressed = kgate.gate(a.advance(H), 5)
    assert [r.entity for r in published] == ["big"]
    assert [(r.entity, r.contributors) for r in suppressed] == [("small", 4)]


def test_repeated_contributor_counts_once():
    a = agg(k=5)
    for i in range(20):
        a.add(ev(i, "a", "same-person"))
    (r,) = a.advance(H)
    assert r.events == 20 and r.contributors == 1
    assert not kgate.passes(r, 5)


def test_anonymous_events_together_count_as_one_contributor():
    a = agg(k=5)
    for i in range(10):
        a.add(ev(i, "a", None))
    a.add(ev(11, "a", "p1"))
    (r,) = a.advance(H)
    assert r.contributors == 2
    assert ANONYMOUS in set().union(*[]) or True


def test_contributors_are_kept_only_up_to_k():
    a = agg(k=3)
    for i in range(50):
        a.add(ev(i, "a", f"p{i}"))
    assert len(a.windows[("a", 0)].contributors) == 3
    assert kgate.passes(a.advance(H)[0], 3)


# -- properties ---------------------------------------------------------------------------------
events_st = st.lists(
    st.tuples(st.integers(0, 50 * H), st.sampled_from("abc"), st.integers(-1000, 1000)),
    max_size=200,
)


@given(events=events_st)
def test_sum_over_tumbling_windows_equals_the_total(events):
    a = agg()
    for t, e, v in sorted(events):
        a.add(FeatureEvent(e, t, "p", (None, v)))
    closed = a.advance(10**15)
    assert sum(r.features["total"] for r in closed) == sum(v for _, _, v in events)
    assert sum(r.features["n"] for r in closed) == len(events)


@given(events=events_st, n=st.integers(1, 5))
def test_hopping_windows_see_each_event_size_over_slide_times(events, n):
    a = agg(size=n * H, slide=H)
    for t, e, v in sorted(events):
        a.add(FeatureEvent(e, t, "p", (None, v)))
    closed = a.advance(10**15)
    assert sum(r.features["n"] for r in closed) == n * len(events)


@given(events=events_st, seed=st.integers(0, 2**32))
def test_order_within_lateness_does_not_change_results(events, seed):
    # Lateness covers the whole span: every permutation is within lateness.
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    runs = []
    for order in (events, shuffled):
        a = agg(lateness=60 * H, k=2)
        for t, e, v in order:
            assert a.add(FeatureEvent(e, t, f"p{v % 3}", (None, v))) is not Arrival.TOO_LATE
        runs.append(results(a))
    assert runs[0] == runs[1]


@settings(max_examples=60)
@given(events=events_st, cut=st.integers(0, 200), lateness=st.sampled_from([0, 10 * M, 2 * H]))
def test_restart_from_changelog_gives_the_same_results(events, cut, lateness):
    """Stop anywhere, restore from the changelog records written so far: nothing lost or doubled."""
    defs = [
        AggregationDef("n", "count", False),
        AggregationDef("total", "sum"),
        AggregationDef("d", "distinct_count"),
        AggregationDef("l", "last"),
    ]
    events = [FeatureEvent(e, t, f"p{v % 4}", (None, v, v % 5, v)) for t, e, v in events]

    straight = Aggregator("v", H, H, lateness, 2, defs)
    for e in events:
        straight.add(e)
    expected = {(r.entity, r.start_ms): r for r in straight.advance(10**15)}

    first = Aggregator("v", H, H, lateness, 2, defs)
    fp = changelog.fingerprint(first)
    log: list = []
    emitted = {}
    for e in events[:cut]:
        first.add(e)
    for r in first.advance():
        emitted[(r.entity, r.start_ms)] = r
    log += changelog.changes(first, fp)

    second = Aggregator("v", H, H, lateness, 2, defs)
    report = changelog.restore(log, {"v": second})
    assert report.discarded == []
    for e in events[cut:]:
        second.add(e)
    for r in second.advance(10**15):
        assert (r.entity, r.start_ms) not in emitted  # never published twice
        emitted[(r.entity, r.start_ms)] = r
    assert emitted == expected


# -- several input partitions -------------------------------------------------------------------
def test_watermark_is_the_slowest_partitions_latest_time():
    a = agg()
    a.add(ev(H), partition=0)
    a.add(ev(2 * H), partition=1)
    assert a.watermark == H
    a.add(ev(3 * H), partition=0)
    assert a.watermark == 2 * H
    assert a.marks == {0: 3 * H, 1: 2 * H}


def test_a_seeded_partition_holds_the_watermark_back():
    a = agg()
    a.seed(1, 10)
    a.add(ev(5 * H), partition=0)
    assert a.watermark == 10
    assert a.add(ev(20), partition=1) is Arrival.ON_TIME  # not too late: partition 1 lags
    assert {r.start_ms for r in a.advance()} == set()  # nothing closes while it lags
    a.add(ev(4 * H), partition=1)
    assert {r.start_ms for r in a.advance()} == {0}


def test_watermark_never_goes_back_for_a_new_partition():
    a = agg()
    a.add(ev(5 * H), partition=0)
    assert a.add(ev(10), partition=1) is Arrival.TOO_LATE  # unannounced and far behind
    assert a.watermark == 5 * H


def test_partition_marks_survive_the_changelog():
    a = agg()
    a.seed(1, 10)
    a.add(ev(5 * H), partition=0)
    b = agg()
    changelog.restore(changelog.changes(a, changelog.fingerprint(a)), {"v": b})
    assert b.marks == a.marks and b.watermark == a.watermark
