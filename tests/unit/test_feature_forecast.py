"""The forecast end to end without a broker: simulated noise complaints → the shipped
agreement → the view's windows and k-gate → Feast (a local repository) → a baseline model per
postcode on Feast's point-in-time history → the forecast view, read with get_online_features."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from consumers.features import kgate
from consumers.features.binding import load_feature_catalog
from consumers.features.feast_repo import FeastConfig, apply, push, results_frame
from consumers.features.forecast import (
    forecast_entity,
    forecast_view,
    forecast_view_name,
    online_forecast,
)
from consumers.features.pipeline import result_record
from consumers.features.views import build_runtime

REPO = Path(__file__).resolve().parents[2]
VIEW = "noise_complaints_hourly"
START = dt.datetime(2026, 11, 16, 0, 0, tzinfo=dt.UTC)
DAYS = 5


def evening_peak(hour: int) -> float:
    """More complaints in the evening and at night (local time is near enough here)."""
    return 1.0 if hour >= 18 or hour < 1 else 0.35


@pytest.fixture(scope="module")
def catalog():
    return load_feature_catalog(
        REPO / "catalog" / "features", REPO / "catalog" / "agreements", REPO / "schemas"
    )


@pytest.fixture(scope="module")
def store_config(catalog, tmp_path_factory) -> FeastConfig:
    """A Feast repository with DAYS of published noise windows from the simulated city."""
    from hub.agreements import compile_agreement
    from hub.schemas.catalog import load_catalog
    from hub.serde import AvroSerde
    from producers.simulators import generate

    view = catalog.view(VIEW)
    schemas = {t: s.latest.schema for t, s in load_catalog(REPO / "schemas").items()}
    compiled = compile_agreement(view.agreement, schemas[view.agreement.source], b"f" * 32)
    serde = AvroSerde()
    serde.add_schema(1, compiled.output_schema)
    runtime = build_runtime(view)
    rng = random.Random(11)
    moment = START
    while moment < START + dt.timedelta(days=DAYS):
        moment += dt.timedelta(seconds=10)
        if rng.random() > evening_peak(moment.hour):
            continue
        key, record = generate(view.agreement.source, rng, moment)
        out_key, value = compiled.transform(key, record)
        runtime.aggregator.add(runtime.extract(out_key, serde.decode(serde.encode(1, value))))
    published, _ = kgate.gate(runtime.aggregator.advance(10**15), view.definition.k)
    cfg = FeastConfig(tmp_path_factory.mktemp("feast") / "repo")
    store = apply(cfg, catalog)
    rows = [result_record(r, runtime, r.end_ms) for r in published]
    push(store, VIEW, results_frame(view, rows))
    return cfg


def test_the_simulated_history_is_published_and_k_anonymous(store_config, catalog) -> None:
    import pandas as pd

    log = pd.read_parquet(store_config.offline_dir / f"{VIEW}.parquet")
    assert log["postcode"].nunique() == 8
    assert len(log) > 8 * 24 * DAYS * 0.5  # most postcode-hours pass k = 5


def test_forecast_is_deterministic_and_readable_online(store_config, catalog) -> None:
    from feast import FeatureStore

    view = catalog.view(VIEW)
    run = {
        "feature": "complaints",
        "horizon": dt.timedelta(hours=24),
        "history": dt.timedelta(days=DAYS),
    }
    first = forecast_view(store_config, view, seed=42, **run)
    again = forecast_view(store_config, view, seed=42, **run)
    assert first == again
    assert len(first) == 8
    forecast = first[0]
    assert forecast.start == START + dt.timedelta(days=DAYS)
    assert len(forecast.values) == 24
    assert all(lo <= hi for lo, hi in zip(forecast.low, forecast.high, strict=True))
    assert forecast.mae_last_horizon is not None and forecast.training_windows > 24
    # the model learnt the evening: 20:00 above 10:00 (UTC hours of the horizon's day)
    assert forecast.values[20] > forecast.values[10]

    store = FeatureStore(repo_path=str(store_config.repo.resolve()))
    online = store.get_online_features(
        features=[f"{forecast_view_name(VIEW)}:values", f"{forecast_view_name(VIEW)}:model"],
        entity_rows=[{"postcode": forecast.entity}],
    ).to_dict()
    assert list(online["values"][0]) == list(forecast.values)
    assert online["model"][0] == "poisson-hour-of-day"
    read = online_forecast(store, view, forecast.entity)
    assert read["forecast_start"].startswith("2026-11-21T00:00")
    assert read["values"] == list(forecast.values)


def test_forecast_entity_is_pure_and_seeded() -> None:
    start = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    step = dt.timedelta(hours=1)
    rng = random.Random(3)
    history = [
        (start - (i + 1) * step, float(rng.randint(3, 9)) if i % 7 else None) for i in range(96)
    ]
    args = {"start": start, "step": step, "horizon": 6}
    one = forecast_entity("59065", history, seed=1, **args)
    assert one == forecast_entity("59065", history, seed=1, **args)
    assert one.values == forecast_entity("59065", history, seed=2, **args).values
    assert forecast_entity("59065", [], seed=1, **args).values == (0.0,) * 6
    flat = forecast_entity("59065", [(start - step, 4.0)] * 5, seed=1, **args)
    assert flat.values == (4.0,) * 6


def test_the_command_forecasts_and_get_reads_the_forecast(store_config) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "HUB_FEATURES_FEAST_REPO": str(store_config.repo)}
    command = [sys.executable, "-m", "hub", "features"]
    made = subprocess.run(
        [*command, "forecast", "--view", VIEW, "--horizon", "24h", "--history", f"{DAYS}d"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    assert (
        "8 forecast(s) written to the feature view noise_complaints_hourly_forecast" in made.stdout
    )
    assert "postcode=59065: from 2026-11-21 00:00 UTC" in made.stdout
    got = subprocess.run(
        [*command, "get", "postcode=59065", "--view", forecast_view_name(VIEW)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert got.returncode == 0, got.stderr[-2000:]
    row = json.loads(got.stdout)[forecast_view_name(VIEW)]
    assert len(row["values"]) == 24 and row["model"] == "poisson-hour-of-day"
    bad = subprocess.run(
        [*command, "forecast", "--view", "nope"], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert bad.returncode == 1 and "no feature view 'nope'" in bad.stderr
