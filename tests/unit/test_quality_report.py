"""``hub quality report`` from summary records (no broker): every data set of the catalog is
listed, figures add up across partitions whatever the order, rates are shares, the rejections at
the door come from Prometheus or are said to be elsewhere, and bad input names its option."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, date, datetime

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from consumers.quality.cli import days_to_ask, parse_since
from consumers.quality.reader import decode_all
from consumers.quality.rejections import (
    PrometheusError,
    day_bounds,
    fetch_rejections,
    parse_vector,
    rejection_query,
)
from consumers.quality.report import (
    NOT_CONFIGURED,
    Rejections,
    build_report,
    render_text,
)
from hub.cli import app
from hub.quality.summary import SUMMARY_SCHEMA, DayFigures, Figures, combine, to_record
from hub.serde import AvroSerde, RegistryError
from hub.settings import SettingsError, load_settings

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)
MOVED = "buergeramt.resident.moved"
ROADWORKS = "tiefbauamt.roadworks.started"


def summary(dataset=MOVED, day="2026-12-01", partition=0, events=100, **figures):
    f = Figures(
        events=events,
        flagged=Counter(figures.pop("flagged", {})),
        nulls=Counter(figures.pop("nulls", {})),
        **figures,
    )
    return to_record(dataset, day, partition, f, AT)


def test_every_data_set_of_the_catalog_is_listed_and_one_without_summary_says_no_data():
    days = combine(
        [
            summary(partition=0, events=60, flagged={"plz-in-hamm": 3}, nulls={"phone": 30}),
            summary(partition=1, events=40, flagged={"plz-in-hamm": 1}, dead_letters=2, late=5),
        ]
    )
    report = build_report(days, [MOVED, ROADWORKS])
    assert [d.dataset for d in report.datasets] == [MOVED, ROADWORKS]
    moved, roadworks = report.datasets
    assert not roadworks.has_data
    (row,) = moved.days
    assert row.events == 100 and row.figures.dead_letters == 2 and row.figures.late == 5
    assert row.flag_rate == pytest.approx(0.04)
    assert row.rule_rates() == {"plz-in-hamm": pytest.approx(0.04)}
    assert row.null_shares() == {"phone": pytest.approx(0.3)}
    text = render_text(report)
    assert f"{ROADWORKS}\n  no data" in text
    assert "plz-in-hamm 4 (4.00 %)" in text and "null share: phone 30.0 %" in text
    assert "set HUB_PROMETHEUS_URL" in text  # honest about what it does not know
    data = report.as_json()
    assert [d["status"] for d in data["datasets"]] == ["ok", "no data"]
    assert data["rejected_at_the_door"]["included"] is False
    assert data["datasets"][0]["days"][0]["rejected"] is None


def test_a_data_set_with_summaries_but_no_schema_is_listed_and_marked():
    report = build_report(combine([summary(dataset="alt.gone.away")]), [MOVED])
    assert [(d.dataset, d.in_catalog) for d in report.datasets] == [
        ("alt.gone.away", False),
        (MOVED, True),
    ]
    assert "alt.gone.away  (not in the schema catalog)" in render_text(report)


def test_the_latest_summary_of_a_key_wins_and_since_and_dataset_filter():
    records = [
        summary(day="2026-11-30", events=10),
        summary(day="2026-12-01", events=5),
        summary(day="2026-12-01", events=50),  # cumulative: the later one of the key counts
        summary(dataset=ROADWORKS, day="2026-12-01", events=7),
    ]
    report = build_report(
        combine(records), [MOVED, ROADWORKS], since=date(2026, 12, 1), dataset=MOVED
    )
    (moved,) = report.datasets
    assert [(r.day, r.events) for r in moved.days] == [(date(2026, 12, 1), 50)]


def test_a_day_without_events_has_no_rate_rather_than_zero():
    report = build_report(combine([summary(events=0, dead_letters=3)]), [MOVED])
    (row,) = report.datasets[0].days
    assert row.flag_rate is None and row.figures.dead_letters == 3
    assert "        -" in render_text(report)


def test_rejections_from_prometheus_join_the_days_and_add_a_day_the_router_never_saw():
    rejections = Rejections(
        {
            (MOVED, date(2026, 12, 1)): {"plz-in-hamm": 4},
            (ROADWORKS, date(2026, 11, 30)): {"kosten-nicht-negativ": 2},
        },
        "rejected at the door: from Prometheus at http://prom",
    )
    report = build_report(combine([summary()]), [MOVED, ROADWORKS], rejections=rejections)
    moved, roadworks = report.datasets
    assert moved.days[0].rejected == {"plz-in-hamm": 4}
    assert roadworks.has_data and roadworks.days[0].events == 0
    assert roadworks.days[0].rejected == {"kosten-nicht-negativ": 2}
    text = render_text(report)
    assert "rejected at the door: 4 (plz-in-hamm 4)" in text
    assert "from Prometheus at http://prom" in text


# -- properties -----------------------------------------------------------------------------------

RULES = ("plz-in-hamm", "laerm-vor-eingang", "kosten-nicht-negativ")
FIELDS = ("phone", "old_address", "description")


@st.composite
def consistent_figures(draw) -> Figures:
    """Figures a router can write: no rule flags, and no field is null, more often than there
    were events."""
    events = draw(st.integers(0, 10_000))
    counts = st.integers(0, events)
    return Figures(
        events=events,
        flagged=Counter({r: draw(counts) for r in draw(st.sets(st.sampled_from(RULES)))}),
        dead_letters=draw(st.integers(0, 50)),
        late=draw(counts),
        duplicates=draw(counts),
        nulls=Counter({f: draw(counts) for f in draw(st.sets(st.sampled_from(FIELDS)))}),
    )


KEYS = st.tuples(
    st.sampled_from([MOVED, ROADWORKS]),
    st.sampled_from(["2026-11-30", "2026-12-01"]),
    st.integers(0, 3),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(KEYS, consistent_figures()), max_size=30), st.randoms())
def test_combine_is_independent_of_how_the_partitions_interleave(items, rnd):
    """The topic keeps each partition's summaries in order, but the partitions interleave in
    any order: the report must not depend on it."""
    records = [to_record(*key, figures, AT) for key, figures in items]
    by_key: dict = {}
    for r in records:
        by_key.setdefault((r["dataset"], r["day"], r["partition"]), []).append(r)
    # another interleaving that keeps each key's own order (what a compacted log keeps)
    queues = [list(v) for v in by_key.values()]
    shuffled = []
    while any(queues):
        queue = rnd.choice([q for q in queues if q])
        shuffled.append(queue.pop(0))

    def flat(days: list[DayFigures]):
        return [(d.dataset, d.day, d.figures) for d in days]

    assert flat(combine(records)) == flat(combine(shuffled))
    expected: dict = {}
    for (dataset, day, _), versions in by_key.items():
        expected[(dataset, day)] = expected.get((dataset, day), 0) + versions[-1]["events"]
    assert {(d.dataset, d.day.isoformat()): d.figures.events for d in combine(records)} == expected


@settings(max_examples=80, deadline=None)
@given(st.lists(consistent_figures(), min_size=1, max_size=4))
def test_every_rate_is_a_share_and_the_flag_rate_counts_flags_per_event(partitions):
    records = [summary(partition=i, **_kwargs(f)) for i, f in enumerate(partitions)]
    report = build_report(combine(records), [MOVED])
    (row,) = report.datasets[0].days
    for rate in [*row.rule_rates().values(), *row.null_shares().values()]:
        assert rate is None or 0.0 <= rate <= 1.0
    if row.events:
        assert 0.0 <= row.flag_rate <= len(RULES)
        assert row.flag_rate == pytest.approx(sum(row.figures.flagged.values()) / row.events)
    else:
        assert row.flag_rate is None
    assert orjson.loads(orjson.dumps(report.as_json()))  # JSON all the way down


def _kwargs(f: Figures) -> dict:
    return {
        "events": f.events,
        "flagged": dict(f.flagged),
        "nulls": dict(f.nulls),
        "dead_letters": f.dead_letters,
        "late": f.late,
        "duplicates": f.duplicates,
    }


# -- Prometheus -----------------------------------------------------------------------------------


def test_a_day_in_hamm_is_23_24_or_25_hours_long():
    lengths = {
        d: (day_bounds(d)[1] - day_bounds(d)[0]).total_seconds() / 3600
        for d in (date(2026, 3, 29), date(2026, 6, 1), date(2026, 10, 25))
    }
    assert lengths == {date(2026, 3, 29): 23, date(2026, 6, 1): 24, date(2026, 10, 25): 25}
    assert day_bounds(date(2026, 12, 1))[0] == datetime(2026, 11, 30, 23, tzinfo=UTC)


def vector(*items) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"topic": t, "rule": r}, "value": [1764600000, str(v)]}
                for t, r, v in items
            ],
        },
    }


def test_parse_vector_reads_prometheus_answers_and_refuses_errors():
    assert parse_vector(vector((MOVED, "plz-in-hamm", 3.7), (MOVED, "x", "NaN"))) == {
        (MOVED, "plz-in-hamm"): 3.7
    }
    with pytest.raises(PrometheusError, match="parse error"):
        parse_vector({"status": "error", "error": "parse error"})
    with pytest.raises(PrometheusError, match="matrix"):
        parse_vector({"status": "success", "data": {"resultType": "matrix", "result": []}})


def test_fetch_asks_one_increase_a_day_up_to_now_and_rounds():
    asked = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        return httpx.Response(200, json=vector((MOVED, "plz-in-hamm", 3.6), (MOVED, "y", 0.2)))

    client = httpx.Client(transport=httpx.MockTransport(answer))
    now = datetime(2026, 12, 1, 11, tzinfo=UTC)  # noon in Hamm
    found = fetch_rejections(
        "http://prom:9090/", [date(2026, 11, 30), date(2026, 12, 1)], now=now, client=client
    )
    assert found.counts == {
        (MOVED, date(2026, 11, 30)): {"plz-in-hamm": 4},
        (MOVED, date(2026, 12, 1)): {"plz-in-hamm": 4},
    }
    assert asked[0]["query"] == rejection_query(86400)
    assert asked[1]["query"] == rejection_query(12 * 3600)  # today: from midnight to now
    assert float(asked[1]["time"]) == now.timestamp()
    assert "from Prometheus at http://prom:9090/" in found.note


def test_a_prometheus_that_does_not_answer_leaves_the_rejections_out_and_says_so():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    found = fetch_rejections(
        "http://prom:9090",
        [date(2026, 12, 1)],
        now=AT,
        client=httpx.Client(transport=httpx.MockTransport(down)),
    )
    assert found.counts is None
    assert "did not answer" in found.note and "hub_publisher_quality_rejected_total" in found.note
    report = build_report(combine([summary()]), [MOVED], rejections=found)
    assert report.datasets[0].days[0].rejected is None


def test_the_days_asked_are_those_of_the_report_and_today():
    days = combine([summary(day="2026-11-20"), summary(day="2026-11-25")])
    today = date(2026, 12, 1)
    assert days_to_ask(days, None, today) == [date(2026, 11, 20), date(2026, 11, 25), today]
    assert days_to_ask(days, date(2026, 11, 29), today) == [
        date(2026, 11, 29),
        date(2026, 11, 30),
        today,
    ]
    assert len(days_to_ask([], date(2020, 1, 1), today)) == 62


def test_the_prometheus_url_setting_is_checked():
    assert load_settings(prometheus_url="http://prom:9090/").prometheus_url == "http://prom:9090"
    assert load_settings().prometheus_url is None
    with pytest.raises(SettingsError, match="HUB_PROMETHEUS_URL"):
        load_settings(prometheus_url="prom:9090")


# -- reading and the command ----------------------------------------------------------------------


class Registry:
    """The registry as the reader sees it: schema by id, 404 for one it does not know."""

    def __init__(self, schemas: dict[int, object]) -> None:
        self.schemas = schemas

    async def schema_by_id(self, schema_id: int) -> str:
        if schema_id not in self.schemas:
            raise RegistryError(404, 40403, "Schema not found")
        return orjson.dumps(self.schemas[schema_id]).decode()


def test_the_reader_decodes_summaries_skips_tombstones_and_counts_what_is_not_one():
    other = {"type": "record", "name": "Other", "fields": [{"name": "x", "type": "int"}]}
    serde = AvroSerde()
    serde.add_schema(7, SUMMARY_SCHEMA)
    serde.add_schema(8, other)
    values = [
        serde.encode(7, summary()),
        None,  # a tombstone
        b"not avro",
        serde.encode(8, {"x": 1}),  # decodes, but is no summary
        b"\x00\x00\x00\x00\x09rest",  # an id the registry does not know
    ]
    found = asyncio.run(decode_all(values, Registry({7: SUMMARY_SCHEMA, 8: other})))
    assert len(found.records) == 1 and found.records[0]["events"] == 100
    assert found.undecodable == 3


def test_a_registry_that_is_away_stops_the_reader_instead_of_dropping_figures():
    class Away:
        async def schema_by_id(self, schema_id: int) -> str:
            raise RegistryError(0, 0, "connection refused")

    serde = AvroSerde()
    serde.add_schema(7, SUMMARY_SCHEMA)
    with pytest.raises(RegistryError):
        asyncio.run(decode_all([serde.encode(7, summary())], Away()))


def test_bad_input_names_the_option():
    runner = CliRunner()
    result = runner.invoke(app, ["quality", "report", "--since", "gestern"])
    assert result.exit_code == 2 and "--since" in result.output
    assert "YYYY-MM-DD" in result.output
    result = runner.invoke(app, ["quality", "report", "--format", "xml"])
    assert result.exit_code == 2 and "--format" in result.output
    assert parse_since("2026-12-01") == date(2026, 12, 1) and parse_since(None) is None


def test_many_shapes_render():
    """Summaries of many shapes render as text and JSON without surprises."""
    rnd = random.Random(7)
    records = []
    for _ in range(200):
        events = rnd.randint(0, 500)
        records.append(
            summary(
                dataset=rnd.choice([MOVED, ROADWORKS, "umweltamt.tree.inspected"]),
                day=f"2026-11-{rnd.randint(1, 30):02d}",
                partition=rnd.randint(0, 5),
                events=events,
                flagged={r: rnd.randint(0, events) for r in rnd.sample(RULES, rnd.randint(0, 3))},
                nulls={f: rnd.randint(0, events) for f in rnd.sample(FIELDS, rnd.randint(0, 3))},
                dead_letters=rnd.randint(0, 5),
                late=rnd.randint(0, events),
                duplicates=rnd.randint(0, events),
            )
        )
    report = build_report(combine(records), [MOVED, ROADWORKS, "feuerwehr.incident.closed"])
    text = render_text(report)
    assert "feuerwehr.incident.closed\n  no data" in text
    assert text.count("\n  day ") == 3
    assert report.rejections is NOT_CONFIGURED
    data = report.as_json()
    assert sum(d["events"] for d in data["datasets"]) == sum(
        d.figures.events for d in combine(records)
    )
