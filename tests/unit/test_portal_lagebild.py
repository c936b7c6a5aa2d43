"""The Lagebild (no broker): published windows folded per view, trends by week or day and by
district (sums, weighted means, the latest of a sliding count), the forecast beside what was
published since with its errors, read from a forecast file as `hub features forecast` writes
it, and a staff page behind the login that passes only published aggregates on."""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_portal_app import client, login, make_state

from portal import charts
from portal.forecasts import ForecastFiles, forecast_files, rows_of
from portal.lagebild import (
    CITY,
    SECTIONS,
    ForecastRow,
    Window,
    WindowFold,
    aggregate,
    bucket_start,
    buckets_until,
    forecast_facts,
    latest_forecasts,
    local_day,
    page,
    realised_error,
    section_facts,
    trend_word,
)

HOUR = 3600_000
NOISE = next(s for s in SECTIONS if s.slug == "laerm")
NO2 = next(s for s in SECTIONS if s.slug == "stickstoffdioxid")
ROADWORKS = next(s for s in SECTIONS if s.slug == "baustellen")
MONDAY = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)  # KW 48


def ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def window_record(view: str, entity: str, start: dt.datetime, hours: int = 1, **features) -> bytes:
    return orjson.dumps(
        {
            "view": view,
            "entity_name": "postcode",
            "entity": entity,
            "window_start_ms": ms(start),
            "window_end_ms": ms(start) + hours * HOUR,
            "features": features,
            "k": 5,
            "agreement": "ki-featurestore-noise-complaints",
            "closed_at_ms": 0,
        }
    )


def noise(entity: str, start: dt.datetime, complaints: int) -> Window:
    return Window(entity, ms(start), ms(start) + HOUR, {"complaints": complaints})


def test_the_fold_keeps_one_window_per_entity_and_start_and_counts_what_is_no_window():
    fold = WindowFold()
    fold.add("noise_complaints_hourly", window_record("v", "59063", MONDAY, complaints=5))
    fold.add("noise_complaints_hourly", window_record("v", "59063", MONDAY, complaints=5))
    fold.add("noise_complaints_hourly", b"{not json")
    fold.add("noise_complaints_hourly", orjson.dumps({"entity": "x"}))
    assert len(fold.windows("noise_complaints_hourly")) == 1
    assert fold.unreadable == 2 and fold.entity_names["noise_complaints_hourly"] == "postcode"


def test_weeks_start_on_monday_in_hamm_and_a_window_stands_for_its_last_day():
    assert bucket_start(dt.date(2026, 11, 29), "woche") == dt.date(2026, 11, 23)
    # 23:00 UTC on Sunday is Monday in Hamm
    assert local_day(ms(dt.datetime(2026, 11, 29, 23, tzinfo=dt.UTC))) == dt.date(2026, 11, 30)
    assert buckets_until(dt.date(2026, 12, 2), "tag", 3) == [
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 2),
    ]
    # a daily window [00:00, 24:00) UTC is its day in Hamm (01:00 to 01:00)
    day = Window("59063", ms(MONDAY), ms(MONDAY) + 24 * HOUR, {"complaints": 9})
    by_entity, city = aggregate([day], NOISE, [dt.date(2026, 11, 23), dt.date(2026, 11, 24)], "tag")
    assert by_entity == {"59063": [9.0, None]} and city == [9.0, None]


def test_sums_weighted_means_and_the_latest_sliding_count():
    weeks = [dt.date(2026, 11, 23), dt.date(2026, 11, 30)]
    windows = [
        noise("59063", MONDAY, 5),
        noise("59063", MONDAY + dt.timedelta(hours=5), 7),
        noise("59065", MONDAY + dt.timedelta(days=7), 6),
    ]
    by_entity, city = aggregate(windows, NOISE, weeks, "woche")
    assert by_entity == {"59063": [12.0, None], "59065": [None, 6.0]}
    assert city == [12.0, 6.0]
    air = [
        Window("HAM-MI-01", ms(MONDAY), ms(MONDAY) + HOUR, {"no2_mean": 30.0, "measurements": 1}),
        Window(
            "HAM-MI-01",
            ms(MONDAY) + HOUR,
            ms(MONDAY) + 2 * HOUR,
            {"no2_mean": 10.0, "measurements": 3},
        ),
        Window("HAM-WE-02", ms(MONDAY), ms(MONDAY) + HOUR, {"no2_mean": None, "measurements": 2}),
    ]
    by_station, mean = aggregate(air, NO2, weeks, "woche")
    assert by_station == {"HAM-MI-01": [15.0, None]} and mean == [15.0, None]
    day = dt.timedelta(days=1)
    sliding = [  # 7-day windows sliding by a day, per cell: the last day of a week counts
        Window("cell-a", ms(MONDAY - 6 * day), ms(MONDAY + day), {"roadworks": 2}),
        Window("cell-a", ms(MONDAY - 5 * day), ms(MONDAY + 2 * day), {"roadworks": 3}),
        Window("cell-b", ms(MONDAY - 5 * day), ms(MONDAY + 2 * day), {"roadworks": 1}),
    ]
    _, active = aggregate(sliding, ROADWORKS, weeks, "woche")
    assert active == [4.0, None]


def test_the_trend_compares_the_last_two_complete_buckets():
    assert trend_word([10, 20, 5], complete=2) == "steigend"
    assert trend_word([10, 5, 100], complete=2) == "fallend"
    assert trend_word([10, 10.5], complete=2) == "gleichbleibend"
    assert trend_word([None, 10, 3], complete=2) == "–"
    assert trend_word([10], complete=1) == "–"


def test_a_section_runs_up_to_the_latest_published_window_and_marks_the_running_week():
    windows = [noise("59063", MONDAY + dt.timedelta(days=d), 5) for d in range(9)]
    facts = section_facts(NOISE, windows, "postcode", "woche")
    assert facts["has_data"] and len(facts["buckets"]) == 8
    assert facts["buckets"][-1]["start"] == "2026-11-30" and facts["buckets"][-1]["running"]
    assert facts["buckets"][-1]["label"] == "KW 49/2026"
    assert facts["city"]["values"][-2:] == [35, 10]
    assert facts["district_word"] == "Postleitzahlbezirk"
    roadworks = section_facts(ROADWORKS, [], None, "woche")
    assert not roadworks["has_data"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["59063", "59065", "59071"]),
            st.integers(0, 24 * 20),
            st.integers(5, 60),
        ),
        max_size=60,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_the_city_adds_up_its_districts_and_nothing_else(items):
    windows = [noise(e, MONDAY + dt.timedelta(hours=h), n) for e, h, n in items]
    starts = buckets_until(dt.date(2026, 12, 13), "woche", 4)
    by_entity, city = aggregate(windows, NOISE, starts, "woche")
    for i in range(len(starts)):
        parts = [v[i] for v in by_entity.values() if v[i] is not None]
        assert city[i] == (sum(parts) if parts else None)
    assert sum(v for v in city if v) == sum(n for _, _, n in items)


# -- forecasts -------------------------------------------------------------------------------------

START = dt.datetime(2026, 12, 2, 1, tzinfo=dt.UTC)


def forecast(
    entity: str, values: list[float], made_at: dt.datetime = START, mae=2.5
) -> ForecastRow:
    return ForecastRow(
        entity,
        made_at,
        START,
        3600,
        "complaints",
        tuple(values),
        tuple(v - 1 for v in values),
        tuple(v + 1 for v in values),
        mae,
        30,
        "poisson-hour-of-day",
    )


def test_the_newest_forecast_per_entity_is_shown():
    old = forecast("59063", [1, 1], START - dt.timedelta(days=1))
    new = forecast("59063", [2, 2])
    assert latest_forecasts([new, old, forecast("59065", [3])]) == [new, forecast("59065", [3])]


def test_the_realised_error_counts_only_windows_that_were_published():
    row = forecast("59063", [10, 10, 10])
    published = {("59063", ms(START)): 7.0, ("59063", ms(START) + 2 * HOUR): 12.0}
    assert realised_error(row, published) == (2.5, 2)  # the withheld hour is not a zero
    assert realised_error(row, {}) == (None, 0)


def test_the_forecast_stands_beside_what_was_published_before_and_since():
    windows = [noise("59063", START - dt.timedelta(hours=h), 6) for h in (1, 2)]
    windows.append(noise("59063", START, 9))  # published after the forecast was made
    facts = forecast_facts(
        "noise_complaints_hourly",
        "Lärmbeschwerden",
        windows,
        [forecast("59063", [8.0, 5.0]), forecast("59065", [4.0, 4.0])],
    )
    assert facts["horizon"] == 2 and facts["horizon_hours"] == 2.0
    district = {d["entity"]: d for d in facts["districts"]}
    assert district["59063"]["published_before"] == 12.0  # the two hours before the horizon
    assert district["59063"]["forecast"] == 13.0 and district["59063"]["low"] == 11.0
    assert district["59063"]["realised_error"] == 1.0 and district["59063"]["realised_windows"] == 1
    assert (
        district["59065"]["published_before"] is None
        and district["59065"]["mae_last_horizon"] == 2.5
    )
    assert [s["forecast"] for s in facts["steps"]] == [12.0, 9.0]
    assert [s["published"] for s in facts["steps"]] == [9.0, None]
    assert 'role="img"' in facts["_chart"] and "Prognose für 2 Schritte" in facts["_chart"]
    assert forecast_facts("v", "t", windows, []) is None


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def test_the_page_keeps_its_drawings_out_of_the_facts():
    fold = WindowFold()
    for h in range(30):
        fold.add(
            "noise_complaints_hourly",
            window_record("v", "59063", START - dt.timedelta(hours=h), complaints=5 + h % 4),
        )
    facts = page(
        fold,
        ["noise_complaints_hourly", "moves_in_daily"],
        {"noise_complaints_hourly": [forecast("59063", [5.0] * 24)]},
        bucket="tag",
        forecast_note=None,
        complete=True,
    )
    public = {k: v for k, v in facts.items() if not k.startswith("_")}
    assert not any(k.startswith("_") for k in _walk(public))
    assert [s["slug"] for s in facts["sections"]] == ["laerm", "zuzuege"]
    assert CITY in facts["_sparks"]["laerm"] and "59063" in facts["_sparks"]["laerm"]
    assert set(facts["_forecast_charts"]) == {"noise_complaints_hourly"}


def test_a_sparkline_is_decoration_for_a_row_that_holds_the_numbers():
    svg = charts.sparkline([1.0, None, 3.0, 4.0])
    assert 'aria-hidden="true"' in svg and svg.count("<polyline") == 1 and "<circle" in svg


# -- the forecast file -------------------------------------------------------------------------------


@pytest.fixture
def forecast_dir(tmp_path):
    """A forecast view's offline file as `hub features forecast` writes it (its own frame)."""
    pytest.importorskip("sklearn")
    import pyarrow as pa
    import pyarrow.parquet as pq

    from consumers.features.forecast import forecast_entity, forecasts_frame

    history = [
        (START - dt.timedelta(hours=h), float(5 + (h % 24 > 18) * 6)) for h in range(1, 24 * 4)
    ]
    made = [
        forecast_entity(pc, history, start=START, step=dt.timedelta(hours=1), horizon=24, seed=42)
        for pc in ("59063", "59065")
    ]
    view = types.SimpleNamespace(
        definition=types.SimpleNamespace(entity=types.SimpleNamespace(name="postcode"))
    )
    frame = forecasts_frame(view, "complaints", made, START)
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False),
        tmp_path / "noise_complaints_hourly_forecast.parquet",
    )
    return tmp_path


def test_the_forecast_file_is_read_as_feast_wrote_it_and_again_when_it_changes(forecast_dir):
    files = ForecastFiles(forecast_dir)
    rows = files.read("noise_complaints_hourly")
    assert [r.entity for r in rows] == ["59063", "59065"]
    assert len(rows[0].values) == 24 and rows[0].start == START and rows[0].training_windows > 0
    assert files.all(["noise_complaints_hourly", "moves_in_daily"]).keys() == {
        "noise_complaints_hourly"
    }
    assert files.read("noise_complaints_hourly") is rows  # unchanged file: not read again
    assert rows_of([{"postcode": "1", "feature": "x"}]) == []  # not a forecast row
    none = forecast_files(forecast_dir, {"type": "bigquery"})
    assert none.offline_dir is None and "bigquery" in none.note and none.read("x") == []


def test_the_lagebild_is_a_staff_page_with_trends_and_the_forecast(forecast_dir):
    state = make_state()
    state.forecasts = ForecastFiles(forecast_dir)
    for h in range(1, 48):
        for pc in ("59063", "59065"):
            state.windows.add(
                "noise_complaints_hourly",
                window_record("v", pc, START - dt.timedelta(hours=h), complaints=5 + h % 3),
            )
    c = client(state)
    assert c.get("/intern/lagebild", follow_redirects=False).status_code == 303
    assert c.get("/intern/lagebild.json").status_code == 401
    login(c)
    html = c.get("/intern/lagebild").text
    assert "<h1>Lagebild</h1>" in html and "Lärmbeschwerden" in html and "Stadt gesamt" in html
    assert "Prognose je Bezirk" in html and "poisson-hour-of-day" in html
    assert 'href="/intern/lagebild?einteilung=tag"' in html
    data = c.get("/intern/lagebild.json?einteilung=tag").json()
    assert data["bucket"] == "tag" and data["forecasts"][0]["view"] == "noise_complaints_hourly"
    assert {d["entity"] for d in data["forecasts"][0]["districts"]} == {"59063", "59065"}
    assert not any(k.startswith("_") for k in _walk(data))
    empty = make_state()
    c = client(empty)
    login(c)
    html = c.get("/intern/lagebild").text
    assert "Noch nichts veröffentlicht." in html and "Noch keine Prognose" in html


def test_a_portal_without_the_feature_stores_files_says_where_the_forecasts_would_be(tmp_path):
    files = forecast_files(tmp_path / "elsewhere", None)
    assert files.all(["noise_complaints_hourly"]) == {}
    assert "HUB_FEATURES_FEAST_REPO" in files.note and "elsewhere" in files.note
