"""The *Lagebild* for staff: trends of the feature store's published windows by district (noise
complaints, moves in and out, roadworks, air quality), and the forecasts beside what was
published since. Pure: windows and forecast rows in, the page's facts out.

Only what the feature pipeline published is ever shown: a window reaches ``hub.features.<view>``
only when its k-anonymity gate passed, so a withheld window is missing here, never zero. Sums
over windows (a week of hours, the city of districts) are sums of anonymous aggregates; the page
says that a district's figure leaves out what was withheld.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson

from portal import charts

CITY_TZ = ZoneInfo("Europe/Berlin")
Bucket = Literal["woche", "tag"]
BUCKETS: dict[str, int] = {"woche": 8, "tag": 14}
"""How many weeks or days a trend table shows."""
CITY = "Stadt gesamt"
ENTITY_WORDS = {
    "postcode": "Postleitzahlbezirk",
    "station": "Messstelle",
    "h3_cell": "Gebiet (H3-Zelle)",
}


@dataclass(frozen=True, slots=True)
class Window:
    """One published window of a view."""

    entity: str
    start_ms: int
    end_ms: int
    features: Mapping[str, Any]


@dataclass
class WindowFold:
    """Every published window per view, the latest record per (entity, start) winning (a
    replayed window carries the same values)."""

    views: dict[str, dict[tuple[str, int], Window]] = field(default_factory=dict)
    entity_names: dict[str, str] = field(default_factory=dict)
    records: int = 0
    unreadable: int = 0

    def add(self, view: str, value: bytes | None) -> None:
        """A record of ``hub.features.<view>`` (JSON); what is not a window is counted only."""
        try:
            data = orjson.loads(value or b"")
            window = Window(
                str(data["entity"]),
                int(data["window_start_ms"]),
                int(data["window_end_ms"]),
                dict(data["features"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.unreadable += 1
            return
        self.views.setdefault(view, {})[(window.entity, window.start_ms)] = window
        if isinstance(data.get("entity_name"), str):
            self.entity_names[view] = data["entity_name"]
        self.records += 1

    def windows(self, view: str) -> list[Window]:
        return list(self.views.get(view, {}).values())


@dataclass(frozen=True)
class Section:
    """One trend of the page: a feature of a view, aggregated by bucket and district.

    ``how``: ``sum`` adds the windows of a bucket (counts); ``mean`` averages them weighted by
    ``weight`` (measurements); ``latest`` takes, per district, the windows that end last in the
    bucket (a sliding 7-day count is a state, not something to add up)."""

    slug: str
    title: str
    view: str
    feature: str
    how: Literal["sum", "mean", "latest"]
    unit: str
    explain: str
    weight: str | None = None
    by_district: bool = True
    digits: int = 0


SECTIONS: tuple[Section, ...] = (
    Section(
        "laerm",
        "Lärmbeschwerden",
        "noise_complaints_hourly",
        "complaints",
        "sum",
        "Beschwerden",
        "Beschwerden beim Ordnungsamt je Postleitzahlbezirk; eine Stunde zählt nur, wenn "
        "mindestens fünf verschiedene Personen sich beschwert haben.",
    ),
    Section(
        "zuzuege",
        "Zuzüge",
        "moves_in_daily",
        "moves_in",
        "sum",
        "Zuzüge",
        "Ummeldungen in einen Postleitzahlbezirk (neue Wohnung); ein Tag zählt nur mit "
        "mindestens fünf Personen.",
    ),
    Section(
        "fortzuege",
        "Fortzüge",
        "moves_out_daily",
        "moves_out",
        "sum",
        "Fortzüge",
        "Ummeldungen aus einem Postleitzahlbezirk (bisherige Wohnung); ein Tag zählt nur mit "
        "mindestens fünf Personen.",
    ),
    Section(
        "baustellen",
        "Baustellen",
        "roadworks_per_h3_7d",
        "roadworks",
        "latest",
        "Baustellen",
        "In den sieben Tagen bis zum letzten Tag des Zeitraums eingerichtete Baustellen, für "
        "die ganze Stadt (Näherung der aktiven Baustellen).",
        by_district=False,
    ),
    Section(
        "stickstoffdioxid",
        "Stickstoffdioxid (NO₂)",
        "air_quality_hourly",
        "no2_mean",
        "mean",
        "µg/m³",
        "Mittelwert der Messungen je Messstelle, in Mikrogramm je Kubikmeter.",
        weight="measurements",
        digits=1,
    ),
    Section(
        "feinstaub",
        "Feinstaub (PM10)",
        "air_quality_hourly",
        "pm10_mean",
        "mean",
        "µg/m³",
        "Mittelwert der Messungen je Messstelle, in Mikrogramm je Kubikmeter.",
        weight="measurements",
        digits=1,
    ),
)


# -- time buckets --------------------------------------------------------------------------------


def local_day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).astimezone(CITY_TZ).date()


DAY_MS = 86_400_000


def window_day(w: Window) -> dt.date:
    """The day in Hamm a window stands for: the middle of its last day (or of itself, when it
    is shorter). A feature view's daily windows are UTC days (01:00 to 01:00 in Hamm), and a
    sliding 7-day count stands for its last day."""
    return local_day(w.end_ms - min(w.end_ms - w.start_ms, DAY_MS) // 2)


def bucket_start(day: dt.date, bucket: Bucket) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if bucket == "woche" else day


def _step(bucket: Bucket) -> dt.timedelta:
    return dt.timedelta(days=7 if bucket == "woche" else 1)


def buckets_until(last: dt.date, bucket: Bucket, count: int) -> list[dt.date]:
    """The ``count`` buckets ending with the one that holds ``last``, oldest first."""
    end = bucket_start(last, bucket)
    return [end - (count - 1 - i) * _step(bucket) for i in range(count)]


def bucket_label(start: dt.date, bucket: Bucket) -> str:
    if bucket == "tag":
        return f"{start:%d.%m.}"
    iso = start.isocalendar()
    return f"KW {iso.week}/{iso.year}"


def bucket_span(start: dt.date, bucket: Bucket) -> str:
    if bucket == "tag":
        return f"{start:%d.%m.%Y}"
    end = start + dt.timedelta(days=6)
    return f"{start:%d.%m.}–{end:%d.%m.%Y}"


# -- aggregation ---------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if value != value else float(value)  # NaN: no value


def aggregate(
    windows: Iterable[Window],
    section: Section,
    starts: Sequence[dt.date],
    bucket: Bucket,
) -> tuple[dict[str, list[float | None]], list[float | None]]:
    """Per district and for the city, one value per bucket (None: nothing was published)."""
    index = {start: i for i, start in enumerate(starts)}
    n = len(starts)
    sums: dict[str, list[float]] = {}
    weights: dict[str, list[float]] = {}
    latest: dict[int, int] = {}  # bucket → end of its latest window
    picked: dict[int, list[Window]] = {}
    for w in windows:
        value = _number(w.features.get(section.feature))
        if value is None:
            continue
        i = index.get(bucket_start(window_day(w), bucket))
        if i is None:
            continue
        if section.how == "latest":
            if w.end_ms > latest.get(i, -1):
                latest[i], picked[i] = w.end_ms, [w]
            elif w.end_ms == latest[i]:
                picked[i].append(w)
            continue
        weight = 1.0
        if section.weight is not None:
            weight = _number(w.features.get(section.weight)) or 0.0
            if weight <= 0:
                continue
        for key in (w.entity, CITY):
            sums.setdefault(key, [0.0] * n)[i] += value * (weight if section.how == "mean" else 1)
            weights.setdefault(key, [0.0] * n)[i] += weight
    if section.how == "latest":
        for i, chosen in picked.items():
            for w in chosen:
                value = _number(w.features.get(section.feature)) or 0.0
                for key in (w.entity, CITY):
                    sums.setdefault(key, [0.0] * n)[i] += value
                    weights.setdefault(key, [0.0] * n)[i] += 1
    out: dict[str, list[float | None]] = {}
    for key, values in sums.items():
        w = weights[key]
        if section.how == "mean":
            out[key] = [v / w[i] if w[i] > 0 else None for i, v in enumerate(values)]
        else:
            out[key] = [v if w[i] > 0 else None for i, v in enumerate(values)]
    city = out.pop(CITY, [None] * n)
    return dict(sorted(out.items())), city


def trend_word(values: Sequence[float | None], complete: int) -> str:
    """The last two complete buckets compared: steigend, fallend, gleichbleibend, or –."""
    done = [v for v in values[:complete]][-2:]
    if len(done) < 2 or done[0] is None or done[1] is None:
        return "–"
    before, now = done
    if before == 0:
        return "steigend" if now > 0 else "gleichbleibend"
    change = (now - before) / before
    if change > 0.1:
        return "steigend"
    if change < -0.1:
        return "fallend"
    return "gleichbleibend"


def _row(label: str, values: list[float | None], complete: int, digits: int) -> dict[str, Any]:
    return {
        "label": label,
        "values": [None if v is None else round(v, digits) for v in values],
        "trend": trend_word(values, complete),
    }


def section_facts(
    section: Section,
    windows: list[Window],
    entity_name: str | None,
    bucket: Bucket,
) -> dict[str, Any]:
    """One trend table: buckets up to the latest published window, a row per district."""
    base = {
        "slug": section.slug,
        "title": section.title,
        "view": section.view,
        "feature": section.feature,
        "unit": section.unit,
        "digits": section.digits,
        "mean": section.how == "mean",
        "explain": section.explain,
        "district_word": ENTITY_WORDS.get(entity_name or "", "Bezirk"),
    }
    if not windows:
        return {**base, "has_data": False, "buckets": [], "rows": [], "city": None}
    as_of = max(w.end_ms for w in windows)
    latest = max(windows, key=lambda w: w.end_ms)
    starts = buckets_until(window_day(latest), bucket, BUCKETS[bucket])
    # The bucket holding the latest window is still running unless that window ends it.
    last_end = dt.datetime.combine(starts[-1] + _step(bucket), dt.time(), CITY_TZ)
    running = as_of < last_end.timestamp() * 1000
    complete = len(starts) - (1 if running else 0)
    by_entity, city = aggregate(windows, section, starts, bucket)
    shown = by_entity if section.by_district else {}
    rows = [_row(entity, values, complete, section.digits) for entity, values in shown.items()]
    sparks = {entity: charts.sparkline(values) for entity, values in shown.items()}
    sparks[CITY] = charts.sparkline(city)
    return {
        **base,
        "has_data": True,
        "as_of": dt.datetime.fromtimestamp(as_of / 1000, dt.UTC).isoformat(),
        "buckets": [
            {
                "start": s.isoformat(),
                "label": bucket_label(s, bucket),
                "span": bucket_span(s, bucket),
                "running": running and i == len(starts) - 1,
            }
            for i, s in enumerate(starts)
        ],
        "rows": rows,
        "city": _row(CITY, city, complete, section.digits),
        "_sparks": sparks,
    }


# -- forecasts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastRow:
    """One entity's forecast as ``hub features forecast`` stored it (``<view>_forecast``)."""

    entity: str
    made_at: dt.datetime
    start: dt.datetime
    step_seconds: int
    feature: str
    values: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    mae_last_horizon: float | None
    training_windows: int
    model: str


def latest_forecasts(rows: Iterable[ForecastRow]) -> list[ForecastRow]:
    """The newest forecast of each entity (the offline log keeps every run)."""
    newest: dict[str, ForecastRow] = {}
    for r in rows:
        if r.entity not in newest or r.made_at > newest[r.entity].made_at:
            newest[r.entity] = r
    return [newest[e] for e in sorted(newest)]


def _published(windows: Iterable[Window], feature: str) -> dict[tuple[str, int], float]:
    out = {}
    for w in windows:
        value = _number(w.features.get(feature))
        if value is not None:
            out[(w.entity, w.start_ms)] = value
    return out


def realised_error(
    forecast: ForecastRow, published: Mapping[tuple[str, int], float]
) -> tuple[float | None, int]:
    """Mean absolute error of the forecast against the windows published since, over the
    steps that have a published window (a withheld one is not a zero), and how many."""
    step_ms = forecast.step_seconds * 1000
    start_ms = int(forecast.start.timestamp() * 1000)
    errors = []
    for i, value in enumerate(forecast.values):
        actual = published.get((forecast.entity, start_ms + i * step_ms))
        if actual is not None:
            errors.append(abs(value - actual))
    if not errors:
        return None, 0
    return round(sum(errors) / len(errors), 2), len(errors)


def forecast_facts(
    view: str, title: str, windows: list[Window], rows: list[ForecastRow]
) -> dict[str, Any] | None:
    """The newest forecast of ``view`` per district beside what was published: the horizon
    before it and, where windows arrived since, the error they show."""
    latest = latest_forecasts(rows)
    if not latest:
        return None
    made_at = max(r.made_at for r in latest)
    current = [r for r in latest if r.made_at == made_at]
    first = current[0]
    step = dt.timedelta(seconds=first.step_seconds)
    horizon = len(first.values)
    step_ms = first.step_seconds * 1000
    start_ms = int(first.start.timestamp() * 1000)
    feature = first.feature
    published = _published(windows, feature)
    before = [start_ms - (horizon - i) * step_ms for i in range(horizon)]
    after = [start_ms + i * step_ms for i in range(horizon)]

    def city(at: int) -> float | None:
        values = [v for (_, t), v in published.items() if t == at]
        return sum(values) if values else None

    districts = []
    for r in current:
        previous = [published.get((r.entity, t)) for t in before]
        known = [v for v in previous if v is not None]
        error, checked = realised_error(r, published)
        districts.append(
            {
                "entity": r.entity,
                "published_before": round(sum(known), 1) if known else None,
                "published_windows_before": len(known),
                "forecast": round(sum(r.values), 1),
                "low": round(sum(r.low), 1),
                "high": round(sum(r.high), 1),
                "mae_last_horizon": r.mae_last_horizon,
                "realised_error": error,
                "realised_windows": checked,
                "training_windows": r.training_windows,
            }
        )
    hours = []
    for i, t in enumerate(after):
        at = dt.datetime.fromtimestamp(t / 1000, dt.UTC)
        hours.append(
            {
                "start": at.isoformat(),
                "forecast": round(sum(r.values[i] for r in current if i < len(r.values)), 1),
                "low": round(sum(r.low[i] for r in current if i < len(r.low)), 1),
                "high": round(sum(r.high[i] for r in current if i < len(r.high)), 1),
                "published": city(t),
            }
        )
    actual = [(dt.datetime.fromtimestamp(t / 1000, dt.UTC), city(t)) for t in before]
    ahead = [
        (dt.datetime.fromisoformat(h["start"]), h["forecast"], h["low"], h["high"]) for h in hours
    ]
    return {
        "view": view,
        "title": title,
        "feature": feature,
        "model": first.model,
        "made_at": made_at.isoformat(),
        "start": first.start.isoformat(),
        "step_seconds": first.step_seconds,
        "horizon": horizon,
        "horizon_hours": round(horizon * step.total_seconds() / 3600, 1),
        "districts": districts,
        "steps": hours,
        "_chart": charts.forecast_chart(
            actual,
            ahead,
            title=f"{title}: veröffentlicht und Prognose, ganze Stadt",
            chart_id=f"prognose-{view}",
            tz=CITY_TZ,
        ),
    }


def page(
    fold: WindowFold,
    views: Iterable[str],
    forecasts: Mapping[str, list[ForecastRow]],
    *,
    bucket: Bucket,
    forecast_note: str | None,
    complete: bool,
) -> dict[str, Any]:
    """The Lagebild: every section whose view the catalog has, and each view's forecast."""
    known = set(views)
    sections = [
        section_facts(s, fold.windows(s.view), fold.entity_names.get(s.view), bucket)
        for s in SECTIONS
        if s.view in known
    ]
    # The drawings are for the HTML only: kept apart, so the JSON twin holds only the facts.
    sparks = {s["slug"]: s.pop("_sparks", {}) for s in sections}
    titles = {s.view: s.title for s in SECTIONS}
    predicted = []
    for view, rows in sorted(forecasts.items()):
        facts = forecast_facts(view, titles.get(view, view), fold.windows(view), rows)
        if facts is not None:
            predicted.append(facts)
    charts_of = {f["view"]: f.pop("_chart") for f in predicted}
    return {
        "page": "lagebild",
        "title": "Lagebild",
        "bucket": bucket,
        "buckets": [{"value": b, "label": "Wochen" if b == "woche" else "Tage"} for b in BUCKETS],
        "complete": complete,
        "sections": sections,
        "forecasts": predicted,
        "forecast_note": forecast_note,
        "windows_folded": fold.records,
        "_sparks": sparks,
        "_forecast_charts": charts_of,
    }
