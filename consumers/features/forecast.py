"""A baseline forecast per entity from a feature view's history, written back to Feast.

``hub features forecast --view noise_complaints_hourly --horizon 24h``:

1. the history comes from Feast's point-in-time correct ``get_historical_features``: for every
   entity and every hour of the history, the window that had closed by then (a window the
   k-gate withheld, or one that had no events, is missing: the model never learns from what
   was not published, and never sees a person: only the k-anonymous aggregates);
2. per entity, a Poisson regression on the hour of day in Hamm and the weekend (scikit-learn,
   the extra ``[ai]``), its 80 % band from a seeded bootstrap, and the error of the last
   horizon (trained without it, compared with what was published);
3. the forecasts are their own Feast feature view, ``<view>_forecast``, one row per entity
   (the next ``horizon`` values as lists), pushed online and offline like the hub's views, so
   ``get_online_features`` reads them.

The core (``forecast_entity``) is pure: the same history and seed give the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from consumers.features.binding import BoundView
from consumers.features.feast_repo import TIMESTAMP_FIELD, FeastConfig, feature_kinds

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from feast import FeatureStore

CITY_TZ = ZoneInfo("Europe/Berlin")
MODEL = "poisson-hour-of-day"
BOOTSTRAP = 30
BAND = (0.1, 0.9)
FORECAST_TIME = "forecast_made_at"
"""The forecast view's timestamp: the end of the last window it knew (its value is known then)."""


class ForecastError(ValueError):
    """A forecast cannot be made (unknown view or feature, no history, no scikit-learn)."""


@dataclass(frozen=True)
class Forecast:
    """The next ``len(values)`` windows of one entity from ``start``, one value a step."""

    entity: str
    start: dt.datetime
    step: dt.timedelta
    values: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    mae_last_horizon: float | None
    training_windows: int


# --- the pure core --------------------------------------------------------------------------


def calendar(starts: Sequence[dt.datetime]) -> list[list[float]]:
    """Features of windows by their start: the hour of day in Hamm (one-hot), the weekend."""
    rows = []
    for start in starts:
        local = start.astimezone(CITY_TZ)
        row = [0.0] * 25
        row[local.hour] = 1.0
        row[24] = 1.0 if local.weekday() >= 5 else 0.0
        rows.append(row)
    return rows


def _fit(features: Any, values: Any) -> Any:
    """A Poisson regression (Newton-Cholesky: exact and fast for a few dozen features)."""
    try:
        from sklearn.linear_model import PoissonRegressor
    except ImportError:  # pragma: no cover - the [ai] extra is missing
        raise ForecastError(
            "the forecast needs scikit-learn: .venv/bin/pip install -e '.[ai]'"
        ) from None
    model = PoissonRegressor(alpha=0.1, max_iter=300, solver="newton-cholesky")
    model.fit(features, values)
    return model


def _predict(model: Any, features: Any) -> list[float]:
    return [max(0.0, float(v)) for v in model.predict(features)]


def forecast_entity(
    entity: str,
    history: Sequence[tuple[dt.datetime, float | None]],
    *,
    start: dt.datetime,
    step: dt.timedelta,
    horizon: int,
    seed: int,
) -> Forecast:
    """Forecast ``horizon`` windows from ``start`` from ``history`` (window start, value or
    None for a window that was not published). Deterministic for a seed."""
    import numpy as np

    known = sorted((t, float(v)) for t, v in history if v is not None and not math.isnan(v))
    targets = [start + i * step for i in range(horizon)]
    if not known:
        zeros = tuple(0.0 for _ in targets)
        return Forecast(entity, start, step, zeros, zeros, zeros, None, 0)
    times, values = [t for t, _ in known], [v for _, v in known]
    if len(set(values)) == 1 or len(known) < 3:  # nothing a regression could add to the mean
        mean = sum(values) / len(values)
        flat = tuple(mean for _ in targets)
        return Forecast(entity, start, step, flat, flat, flat, None, len(known))
    x, y, ahead = np.array(calendar(times)), np.array(values), np.array(calendar(targets))
    point = _predict(_fit(x, y), ahead)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(known), len(known))
        if len(set(y[pick])) == 1:
            draws.append([float(y[pick][0])] * horizon)
            continue
        draws.append(_predict(_fit(x[pick], y[pick]), ahead))
    low = np.quantile(np.array(draws), BAND[0], axis=0)
    high = np.quantile(np.array(draws), BAND[1], axis=0)
    return Forecast(
        entity,
        start,
        step,
        tuple(round(v, 4) for v in point),
        tuple(round(float(v), 4) for v in low),
        tuple(round(float(v), 4) for v in high),
        _last_horizon_error(times, values, start - horizon * step, step, horizon),
        len(known),
    )


def _last_horizon_error(
    times: list[dt.datetime],
    values: list[float],
    cut: dt.datetime,
    step: dt.timedelta,
    horizon: int,
) -> float | None:
    """Mean absolute error on the last horizon of the history, trained on what came before."""
    before = [(t, v) for t, v in zip(times, values, strict=True) if t < cut]
    after = [(t, v) for t, v in zip(times, values, strict=True) if t >= cut]
    if len(before) < 3 or not after or len({v for _, v in before}) == 1:
        return None
    model = _fit(calendar([t for t, _ in before]), [v for _, v in before])
    predicted = _predict(model, calendar([t for t, _ in after]))
    errors = [abs(p - v) for p, (_, v) in zip(predicted, after, strict=True)]
    return round(sum(errors) / len(errors), 4)


# --- Feast ------------------------------------------------------------------------------------


def forecast_view_name(view: str) -> str:
    return f"{view}_forecast"


def _forecast_parquet(cfg: FeastConfig, view: str) -> str:
    return str(cfg.offline_dir / f"{forecast_view_name(view)}.parquet")


def _arrow_schema(view: BoundView) -> Any:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    floats = pa.list_(pa.float64())
    return pa.schema(
        [
            (view.definition.entity.name, pa.string()),
            (FORECAST_TIME, ts),
            ("forecast_start", ts),
            ("step_seconds", pa.int64()),
            ("feature", pa.string()),
            ("values", floats),
            ("low", floats),
            ("high", floats),
            ("mae_last_horizon", pa.float64()),
            ("training_windows", pa.int64()),
            ("model", pa.string()),
        ]
    )


def forecast_feast_objects(cfg: FeastConfig, view: BoundView) -> list[Any]:
    """The forecast view of ``view``: entity, sources, feature view (registered additively)."""
    from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
    from feast.types import Array, Float64, Int64, String, UnixTimestamp

    d = view.definition
    name = forecast_view_name(d.name)
    entity = Entity(
        name=d.entity.name,
        join_keys=[d.entity.name],
        value_type=ValueType.STRING,
        description=d.entity.description,
    )
    batch = FileSource(
        name=f"{name}_offline", path=_forecast_parquet(cfg, d.name), timestamp_field=FORECAST_TIME
    )
    push = PushSource(name=f"{name}_push", batch_source=batch)
    schema = [
        Field(name="forecast_start", dtype=UnixTimestamp),
        Field(name="step_seconds", dtype=Int64),
        Field(name="feature", dtype=String),
        Field(name="values", dtype=Array(Float64)),
        Field(name="low", dtype=Array(Float64)),
        Field(name="high", dtype=Array(Float64)),
        Field(name="mae_last_horizon", dtype=Float64),
        Field(name="training_windows", dtype=Int64),
        Field(name="model", dtype=String),
    ]
    feature_view = FeatureView(
        name=name,
        entities=[entity],
        ttl=dt.timedelta(days=7),
        schema=schema,
        source=push,
        online=True,
        description=f"Prognose zu {d.name}: Grundmodell je {d.entity.name} aus den "
        "veröffentlichten, k-anonymen Fenstern (nie aus Einzeldaten).",
        tags={"forecast_of": d.name, "model": MODEL, "hub": "datendrehscheibe"},
    )
    return [entity, batch, push, feature_view]


def history_frame(store: FeatureStore, view: BoundView, feature: str, hours: Any) -> Any:
    """Feast's point-in-time correct history: per entity and window end, the window that had
    closed by then (a stale one, from before a missing window, is dropped)."""
    import pandas as pd

    d = view.definition
    entities, ends = hours
    entity_df = pd.DataFrame(
        [(e, t) for e in entities for t in ends], columns=[d.entity.name, "event_timestamp"]
    )
    frame = store.get_historical_features(
        entity_df=entity_df,
        features=[f"{d.name}:window_start", f"{d.name}:{feature}"],
    ).to_df()
    size = pd.Timedelta(milliseconds=d.window.size)
    start = pd.to_datetime(frame["window_start"], utc=True)
    fresh = start == pd.to_datetime(frame["event_timestamp"], utc=True) - size
    frame.loc[~fresh, feature] = None
    frame["window_start"] = pd.to_datetime(frame["event_timestamp"], utc=True) - size
    return frame


def spine(cfg: FeastConfig, view: BoundView, history: dt.timedelta) -> tuple[list[str], list[Any]]:
    """The entities the view has published, and the window ends of the history up to its
    latest window (read from the view's own offline log)."""
    import pandas as pd

    d = view.definition
    log = pd.read_parquet(
        cfg.offline_dir / f"{d.name}.parquet", columns=[d.entity.name, TIMESTAMP_FIELD]
    )
    if log.empty:
        raise ForecastError(f"{d.name} has published no window yet: nothing to learn from")
    last = pd.to_datetime(log[TIMESTAMP_FIELD], utc=True).max()
    step = pd.Timedelta(milliseconds=d.window.step)
    count = max(1, int(pd.Timedelta(history) / step))
    ends = [last - i * step for i in range(count - 1, -1, -1)]
    return sorted(log[d.entity.name].astype(str).unique()), ends


def forecast_view(
    cfg: FeastConfig,
    view: BoundView,
    *,
    feature: str | None,
    horizon: dt.timedelta,
    history: dt.timedelta,
    seed: int,
) -> list[Forecast]:
    """Train per entity on Feast's history, forecast ``horizon``, write ``<view>_forecast``."""
    from feast.data_source import PushMode

    from consumers.features.feast_repo import open_store

    d = view.definition
    kinds = feature_kinds(view)
    feature = feature or next(iter(kinds))
    if feature not in kinds or kinds[feature] not in ("int64", "float64"):
        numeric = [n for n, k in kinds.items() if k in ("int64", "float64")]
        raise ForecastError(f"{d.name} has no numeric feature {feature!r}; one of {numeric}")
    step = dt.timedelta(milliseconds=d.window.step)
    if horizon < step:
        raise ForecastError(f"the horizon must be at least one window ({step})")
    steps = int(horizon / step)
    store = open_store(cfg)
    entities, ends = spine(cfg, view, history)
    frame = history_frame(store, view, feature, (entities, ends))
    origin = max(ends).to_pydatetime()
    forecasts = []
    for entity, rows in frame.groupby(d.entity.name):
        series = [
            (t.to_pydatetime(), None if value is None or value != value else float(value))
            for t, value in zip(rows["window_start"], rows[feature], strict=True)
        ]
        forecasts.append(
            forecast_entity(str(entity), series, start=origin, step=step, horizon=steps, seed=seed)
        )
    forecasts.sort(key=lambda f: f.entity)
    prepare_forecast_file(cfg, view)
    store.apply(forecast_feast_objects(cfg, view))
    store.push(
        f"{forecast_view_name(d.name)}_push",
        forecasts_frame(view, feature, forecasts, origin),
        to=PushMode.ONLINE_AND_OFFLINE,
    )
    return forecasts


def forecasts_frame(
    view: BoundView, feature: str, forecasts: list[Forecast], made_at: dt.datetime
) -> pd.DataFrame:
    import pyarrow as pa

    schema = _arrow_schema(view)
    table = {
        view.definition.entity.name: [f.entity for f in forecasts],
        FORECAST_TIME: [made_at for _ in forecasts],
        "forecast_start": [f.start for f in forecasts],
        "step_seconds": [int(f.step.total_seconds()) for f in forecasts],
        "feature": [feature for _ in forecasts],
        "values": [list(f.values) for f in forecasts],
        "low": [list(f.low) for f in forecasts],
        "high": [list(f.high) for f in forecasts],
        "mae_last_horizon": [f.mae_last_horizon for f in forecasts],
        "training_windows": [f.training_windows for f in forecasts],
        "model": [MODEL for _ in forecasts],
    }
    return pa.Table.from_pydict(table, schema=schema).to_pandas()


def prepare_forecast_file(cfg: FeastConfig, view: BoundView) -> None:
    """An empty offline log for the forecast view (Feast appends to it)."""
    import pyarrow.parquet as pq

    path = cfg.offline_dir / f"{forecast_view_name(view.name)}.parquet"
    schema = _arrow_schema(view)
    if not path.exists() or not pq.read_schema(path).equals(schema, check_metadata=False):
        cfg.offline_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(schema.empty_table(), path)


FORECAST_FEATURES = (
    "forecast_start",
    "step_seconds",
    "feature",
    "values",
    "low",
    "high",
    "mae_last_horizon",
    "training_windows",
    "model",
)


def online_forecast(store: FeatureStore, view: BoundView, entity_value: str) -> dict[str, Any]:
    """The latest forecast of one entity from the online store (None values: none yet)."""
    from consumers.features.feast_repo import _jsonable

    name = forecast_view_name(view.name)
    entity = view.definition.entity.name
    response = store.get_online_features(
        features=[f"{name}:{n}" for n in FORECAST_FEATURES],
        entity_rows=[{entity: str(entity_value)}],
    ).to_dict()
    out = {n: response.get(n, [None])[0] for n in [entity, *FORECAST_FEATURES]}
    return {n: list(v) if isinstance(v, list | tuple) else _jsonable(v) for n, v in out.items()}
