"""The portal's Datenqualität pages (no broker): the fold of hub.quality, the figures per data set
and day, per rule with its description and per optional field, charts with a table alternative,
every data set listed, and nothing but counts on the page."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from test_portal_app import FACTS, client, make_state

from hub.quality.summary import Figures, to_record
from portal import charts
from portal.quality import QualityFold, dataset_page, load_rule_texts, overview, rule_texts_of

TODAY = dt.date(2026, 12, 1)
AT = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
MOVED = "buergeramt.resident.moved"


def record(day: str, partition: int = 0, events: int = 100, at=AT, **extra):
    figures = Figures(
        events=events,
        flagged=Counter(extra.pop("flagged", {})),
        nulls=Counter(extra.pop("nulls", {})),
        **extra,
    )
    return to_record(MOVED, day, partition, figures, at)


def test_the_fold_keeps_the_latest_summary_per_key_and_sums_partitions():
    fold = QualityFold()
    fold.add(record("2026-12-01", 0, events=10))
    fold.add(record("2026-12-01", 0, events=40, at=AT + dt.timedelta(hours=1)))
    fold.add(record("2026-12-01", 1, events=5, flagged={"plz-in-hamm": 2}))
    (figures,) = fold.of(MOVED).values()
    assert figures.events == 45 and figures.flagged == {"plz-in-hamm": 2}
    assert fold.records == 3 and fold.updated_at(MOVED) == AT + dt.timedelta(hours=1)
    assert fold.of("tiefbauamt.roadworks.started") == {}


def test_the_overview_lists_every_data_set_and_says_which_have_no_figures_yet():
    fold = QualityFold()
    fold.add(record("2026-11-30", flagged={"plz-in-hamm": 5}, dead_letters=1))
    fold.add(record("2026-10-01", events=999))  # before the 30 days
    page = overview(fold, FACTS, TODAY, complete=True)
    assert [d["topic"] for d in page["datasets"]] == sorted(FACTS.datasets)
    moved = next(d for d in page["datasets"] if d["topic"] == MOVED)
    assert moved["has_data"] and moved["events"] == 100 and moved["flag_rate"] == 0.05
    assert moved["last_day"] == "2026-11-30"
    others = [d for d in page["datasets"] if d["topic"] != MOVED]
    assert others and not any(d["has_data"] for d in others)


def test_a_data_set_page_has_days_rules_with_their_words_and_every_optional_field():
    fold = QualityFold()
    fold.add(record("2026-11-29", events=50, flagged={"umzug-nicht-vor-geburt": 1}))
    fold.add(
        record("2026-12-01", events=150, late=3, duplicates=2, nulls={"new_address.street": 15})
    )
    texts = {MOVED: {"umzug-nicht-vor-geburt": "Der Umzug liegt nach der Geburt."}}
    page = dataset_page(fold, FACTS, MOVED, TODAY, rule_texts=texts, complete=True)
    assert page["totals"]["events"] == 200 and page["totals"]["late"] == 3
    assert len(page["per_day"]) == 30 and page["per_day"][-1]["day"] == "2026-12-01"
    assert page["per_day"][-2] == {**page["per_day"][-2], "events": 0, "flag_rate": None}
    assert page["rules"] == [
        {
            "rule": "umzug-nicht-vor-geburt",
            "description": "Der Umzug liegt nach der Geburt.",
            "count": 1,
            "share": 0.005,
        }
    ]
    nulls = {n["path"]: n for n in page["nulls"]}
    assert nulls["new_address.street"]["share"] == 0.075
    # the data set's optional fields are all listed, also those that were never null
    optional = [f.path for f in FACTS.datasets[MOVED].fields if f.type.endswith("(optional)")]
    assert set(optional) <= set(nulls)
    assert dataset_page(fold, FACTS, "no.such.topic", TODAY, rule_texts={}, complete=True) is None


def test_rule_descriptions_come_from_the_quality_files_beside_the_schemas():
    texts = load_rule_texts(FACTS.catalog)
    assert texts and all(isinstance(t, dict) for t in texts.values())
    roadworks = texts["tiefbauamt.roadworks.finished"]
    assert roadworks["kosten-nicht-negativ"] == "Die tatsächlichen Kosten sind nicht negativ."
    later = rule_texts_of(
        [
            {"fields": {"a": [{"name": "r", "description": "alt"}]}},
            {"record": [{"name": "r", "description": "neu"}], "fields": None},
            "not a mapping",
        ]
    )
    assert later == {"r": "neu"}


def test_the_pages_render_with_charts_and_tables_and_no_record_content():
    state = make_state()
    for day in range(5):
        state.quality.add(
            record(
                (TODAY - dt.timedelta(days=day)).isoformat(),
                events=100 + day,
                flagged={"umzug-nicht-vor-geburt": day},
                nulls={"new_address.street": 10},
            )
        )
    c = client(state)
    html = c.get(f"/qualitaet/{MOVED}").text
    assert (
        'class="chart" role="img"' in html
        and "<summary>Zahlen je Tag als Tabelle</summary>" in html
    )
    assert "Markierungen je Ereignis" in html and "umzug-nicht-vor-geburt" in html
    assert 'href="/datensaetze/buergeramt.resident.moved"' in html
    overview_html = c.get("/qualitaet").text
    assert "noch keine Zahlen" in overview_html and 'aria-current="page"' in overview_html
    assert 'href="/qualitaet/buergeramt.resident.moved"' in c.get(f"/datensaetze/{MOVED}").text
    data = c.get(f"/qualitaet/{MOVED}.json").json()
    assert data["totals"]["events"] == 510 and not any(k.startswith("_") for k in data)
    assert c.get("/qualitaet/unbekannt").status_code == 404
    assert c.get("/qualitaet/unbekannt.json").status_code == 404


def test_the_share_line_leaves_a_gap_where_nothing_was_read():
    days = [TODAY - dt.timedelta(days=2 - i) for i in range(3)]
    svg = charts.line_chart(
        [(days[0], 0.1), (days[1], None), (days[2], 0.3)], title="t", chart_id="c", what="x"
    )
    assert svg.count("<circle") == 2 and "<polyline" not in svg  # no line across the gap
    assert "höchster Wert 30,0 %" in svg
    assert "Keine Werte" in charts.line_chart([(days[0], None)], title="t", chart_id="c", what="x")


def test_every_coordinate_of_every_chart_is_a_number():
    """A decimal comma belongs in a label, never in a coordinate (a browser would misplace
    the drawing)."""
    import xml.etree.ElementTree as ET
    from zoneinfo import ZoneInfo

    days = [TODAY - dt.timedelta(days=29 - i) for i in range(30)]
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    drawings = [
        charts.bar_chart([(d, i * 7) for i, d in enumerate(days)], title="t", chart_id="a"),
        charts.line_chart(
            [(d, i / 90) for i, d in enumerate(days)], title="t", chart_id="b", what="x"
        ),
        charts.sparkline([1.5, 2.25, None, 3.0]),
        charts.forecast_chart(
            [(at + dt.timedelta(hours=h), 12.5) for h in range(3)],
            [(at + dt.timedelta(hours=3 + h), 13.3, 12.1, 14.7) for h in range(3)],
            title="t",
            chart_id="c",
            tz=ZoneInfo("Europe/Berlin"),
        ),
    ]
    for svg in drawings:
        for element in ET.fromstring(svg).iter():
            for name in ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height"):
                if name in element.attrib:
                    float(element.attrib[name])
            for point in element.attrib.get("points", "").split():
                x, y = point.split(",")
                float(x), float(y)
