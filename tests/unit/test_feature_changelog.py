"""State changelog records: what is written, what a restore makes of it."""

from __future__ import annotations

import orjson

from consumers.features import changelog
from consumers.features.windows import AggregationDef, Aggregator, FeatureEvent

H = 3_600_000
DEFS = [AggregationDef("n", "count", False), AggregationDef("kinds", "distinct_count")]


def make(k: int = 2, lateness: int = 0) -> Aggregator:
    return Aggregator("noise", H, H, lateness, k, DEFS)


def test_updated_window_and_watermark_are_written():
    a = make()
    a.add(FeatureEvent("59063", 10, "p1", (None, "TRAFFIC")))
    records = dict(changelog.changes(a, changelog.fingerprint(a)))
    state = orjson.loads(records[changelog.window_key("noise", "59063", 0)])
    assert state["n"] == 1 and state["c"] == ["p1"] and state["a"] == [1, ["TRAFFIC"]]
    assert orjson.loads(records[changelog.watermark_key("noise")])["wm"] == 10
    assert changelog.changes(a, changelog.fingerprint(a)) == []  # nothing new


def test_closed_window_gets_a_tombstone():
    a = make()
    a.add(FeatureEvent("59063", 10, "p1", (None, "X")))
    fp = changelog.fingerprint(a)
    changelog.changes(a, fp)
    a.advance(2 * H)
    records = dict(changelog.changes(a, fp))
    assert records[changelog.window_key("noise", "59063", 0)] is None


def test_restore_folds_last_value_per_key_and_tombstones():
    a = make()
    fp = changelog.fingerprint(a)
    a.add(FeatureEvent("x", 10, "p1", (None, "A")))
    log = changelog.changes(a, fp)
    a.add(FeatureEvent("x", 20, "p2", (None, "B")))
    a.add(FeatureEvent("y", 20, "p2", (None, "B")))
    log += changelog.changes(a, fp)
    a.advance(H)  # closes both
    log += changelog.changes(a, fp)
    a.add(FeatureEvent("x", H + 5, "p3", (None, "C")))
    log += changelog.changes(a, fp)

    b = make()
    report = changelog.restore(log, {"noise": b})
    assert report.windows == 1 and report.discarded == []
    assert set(b.windows) == {("x", H)}
    assert b.watermark == H + 5
    assert b.windows[("x", H)] == a.windows[("x", H)]
    assert b.dirty == set() and not b.watermark_moved


def test_restored_sets_are_sets_again():
    a = make()
    a.add(FeatureEvent("x", 1, "p1", (None, "A")))
    a.add(FeatureEvent("x", 2, "p1", (None, "A")))
    b = make()
    changelog.restore(changelog.changes(a, changelog.fingerprint(a)), {"noise": b})
    b.add(FeatureEvent("x", 3, "p2", (None, "A")))
    assert b.advance(H)[0].features == {"n": 3, "kinds": 1}


def test_state_of_another_definition_is_discarded_and_reported():
    a = make(k=2)
    a.add(FeatureEvent("x", 1, "p1", (None, "A")))
    log = changelog.changes(a, changelog.fingerprint(a))
    b = make(k=5)  # changed definition
    report = changelog.restore(log, {"noise": b})
    assert b.windows == {} and len(report.discarded) == 2
    assert "another definition" in report.discarded[0]


def test_state_of_a_removed_view_and_garbage_are_reported():
    log = [
        (orjson.dumps(["w", "gone", "x", 0]), b"{}"),
        (orjson.dumps(["w", "noise", "x", 0]), b"not json"),
    ]
    report = changelog.restore(log, {"noise": make()})
    assert any("no longer defined" in d for d in report.discarded)
    assert any("unreadable" in d for d in report.discarded)
