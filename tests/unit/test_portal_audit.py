"""The portal's fold of hub.audit gives the numbers of `hub audit report`, for any trail."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.audit.report import summarize
from portal.audit import AuditFold, day_start, local_day

START = dt.datetime(2026, 3, 28, tzinfo=dt.UTC)  # spans the change to summer time


def record(
    agreement: str,
    subscriber: str,
    delivered: int,
    filtered: int,
    at: dt.datetime,
    replayed: bool = False,
    purpose: str = "Zweck",
) -> dict:
    return {
        "agreement_id": agreement,
        "subscriber": subscriber,
        "purpose": purpose,
        "legal_basis": "§ 1",
        "sensitive_legal_basis": None,
        "source_topic": "a.b.c",
        "source_partition": 0,
        "first_offset": 0,
        "last_offset": 1,
        "delivery_topic": f"deliver.{subscriber}.a.b.c",
        "delivered": delivered,
        "filtered": filtered,
        "fields": [{"path": "x", "transform": "keep"}],
        "key_transform": "pseudonymize",
        "output_schema_id": 1,
        "router": "hub-router-0",
        "replayed": replayed,
        "recorded_at": at,
    }


records = st.lists(
    st.builds(
        record,
        st.sampled_from(["a1", "a2", "a3"]),
        st.sampled_from(["s1", "s2"]),
        st.integers(0, 1000),
        st.integers(0, 50),
        st.integers(0, 60 * 24 * 20).map(lambda m: START + dt.timedelta(minutes=m)),
        st.booleans(),
        st.sampled_from(["Zweck", "Neuer Zweck"]),
    ),
    max_size=60,
)


def _same(a: list, b: list) -> None:
    assert [s.as_json() for s in a] == [s.as_json() for s in b]


@settings(max_examples=150)
@given(records, st.sampled_from([None, "s1", "s2"]))
def test_the_fold_is_hub_audit_report(trail, subscriber):
    fold = AuditFold().add_all(trail)
    _same(fold.summaries(subscriber=subscriber), summarize(trail, subscriber=subscriber))
    assert fold.records == len(trail)
    assert fold.delivered == sum(r["delivered"] for r in trail)


@settings(max_examples=150)
@given(records, st.integers(0, 20), st.sampled_from([None, "s1"]))
def test_since_a_day_is_hub_audit_report_since_its_midnight_in_hamm(trail, offset, subscriber):
    day = (START + dt.timedelta(days=offset)).date()
    fold = AuditFold().add_all(trail)
    ours = fold.summaries(subscriber=subscriber, since=day)
    theirs = summarize(trail, subscriber=subscriber, since=day_start(day))
    counts = (
        "agreement_id",
        "subscriber",
        "delivered",
        "filtered",
        "replayed",
        "batches",
        "first_at",
        "last_at",
    )
    assert [{k: s.as_json()[k] for k in counts} for s in ours] == [
        {k: s.as_json()[k] for k in counts} for s in theirs
    ]
    assert fold.delivered_since(day) == sum(
        r["delivered"] for r in trail if local_day(r["recorded_at"]) >= day
    )


@given(records)
def test_rows_by_day_add_up(trail):
    fold = AuditFold().add_all(trail)
    rows = fold.rows()
    assert sum(r.delivered for r in rows) == fold.delivered
    assert sum(r.batches for r in rows) == len(trail)
    assert [r.day for r in rows] == sorted((r.day for r in rows), reverse=True)
    only = fold.rows(agreement="a1", subscriber="s1")
    assert sum(r.delivered for r in only) == sum(
        r["delivered"] for r in trail if r["agreement_id"] == "a1" and r["subscriber"] == "s1"
    )


def test_days_are_hamm_days_and_the_series_has_zeros():
    late = dt.datetime(2026, 6, 1, 22, 30, tzinfo=dt.UTC)  # 00:30 on 2 June in Hamm
    fold = AuditFold().add_all(
        [record("a1", "s1", 5, 0, late), record("a1", "s1", 2, 0, late + dt.timedelta(days=2))]
    )
    series = fold.per_day("a1", 5, dt.date(2026, 6, 5))
    assert series == [
        (dt.date(2026, 6, 1), 0),
        (dt.date(2026, 6, 2), 5),
        (dt.date(2026, 6, 3), 0),
        (dt.date(2026, 6, 4), 2),
        (dt.date(2026, 6, 5), 0),
    ]
    assert fold.delivered_since(dt.date(2026, 6, 3)) == 2
    assert fold.rows(since=dt.date(2026, 6, 3), until=dt.date(2026, 6, 3)) == []
