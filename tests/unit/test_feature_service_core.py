"""The pipeline's batch logic without a broker, settings, Feast repository config, and the HTTP
API over a fake store (Feast itself is exercised in the integration tests)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from consumers.features import changelog
from consumers.features.api import create_app
from consumers.features.binding import load_feature_catalog
from consumers.features.feast_repo import FeastConfig, feature_kinds, feature_store_yaml
from consumers.features.pipeline import FeaturePipeline, PipelineConfig, result_headers
from consumers.features.settings import load_feature_settings
from consumers.features.views import BadEvent, build_runtime
from hub.settings import SettingsError

REPO = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
T0_MS = int(T0.timestamp() * 1000)


@pytest.fixture(scope="module")
def catalog():
    return load_feature_catalog(
        REPO / "catalog" / "features", REPO / "catalog" / "agreements", REPO / "schemas"
    )


@pytest.fixture
def pipeline(catalog) -> FeaturePipeline:
    config = PipelineConfig(
        bootstrap="127.0.0.1:1",
        registry_url="http://127.0.0.1:1",
        agreements_dir=REPO / "catalog" / "agreements",
        schemas_dir=REPO / "schemas",
        features_dir=REPO / "catalog" / "features",
    )
    return FeaturePipeline(config, catalog)


def noise(minute: int, postcode: str, who: str | None) -> dict[str, Any]:
    return {
        "occurred_at": T0 + dt.timedelta(minutes=minute),
        "postcode": postcode,
        "noise_source": "TRAFFIC",
        "night_time": False,
        "complainant_name": who,
    }


def test_extract_reads_paths_key_and_timestamps(catalog):
    moves = build_runtime(catalog.view("moves_in_daily"))
    record = {
        "occurred_at": T0,
        "old_address": {"postcode": "59063"},
        "new_address": {"postcode": "59077"},
        "residence_type": "MAIN",
    }
    event = moves.extract("pseudonym-1", record)
    assert (event.entity, event.time_ms, event.contributor) == ("59077", T0_MS, "pseudonym-1")
    assert event.values == (None, "59063")


def test_extract_names_what_is_missing(catalog):
    rt = build_runtime(catalog.view("noise_complaints_hourly"))
    with pytest.raises(BadEvent, match="entity postcode is missing"):
        rt.extract(None, {**noise(1, "x", "p"), "postcode": None})
    with pytest.raises(BadEvent, match="event time occurred_at is missing"):
        rt.extract(None, {**noise(1, "x", "p"), "occurred_at": None})


def test_close_windows_publishes_gated_results_and_writes_state(pipeline):
    rt = pipeline.runtimes["noise_complaints_hourly"]
    for i in range(6):
        rt.aggregator.add(rt.extract(None, noise(i, "59063", f"p{i}")))
    for i in range(2):
        rt.aggregator.add(rt.extract(None, noise(i, "59065", f"p{i}")))
    open_batch = pipeline.close_windows()
    assert open_batch.outputs == [] and len(open_batch.changelog) == 3  # 2 windows + watermark

    closed = pipeline.close_windows(T0_MS + 2 * 3_600_000)
    assert [r.entity for r in closed.published] == ["59063"]
    assert [r.entity for r in closed.suppressed] == ["59065"]
    ((topic, key, value, headers),) = closed.outputs
    assert topic == "hub.features.noise_complaints_hourly" and key == b"59063"
    record = orjson.loads(value)
    assert record["features"]["complaints"] == 6 and record["window_start_ms"] == T0_MS
    assert record["agreement"] == "ki-featurestore-noise-complaints" and record["k"] == 5
    tombstones = [k for k, v in closed.changelog if v is None]
    assert sorted(orjson.loads(k)[2] for k in tombstones) == ["59063", "59065"]
    assert dict(headers)["content-type"] == b"application/json"


def test_result_ids_are_deterministic(pipeline):
    rt = pipeline.runtimes["air_quality_hourly"]
    rt.aggregator.add(rt.extract(None, {"station_id": "S1", "occurred_at": T0, "pm10_ug_m3": 1.0}))
    (r,) = rt.aggregator.advance(T0_MS + 10 * 3_600_000)
    first, again = dict(result_headers(r)), dict(result_headers(r))
    assert first["ce_id"] == again["ce_id"]
    uuid.UUID(first["ce_id"].decode())


def test_pipeline_topics_are_the_ki_featurestore_deliveries(pipeline):
    assert pipeline.topics == sorted(
        {
            "deliver.ki-featurestore.ordnungsamt.noise-complaint.filed",
            "deliver.ki-featurestore.tiefbauamt.roadworks.started",
            "deliver.ki-featurestore.umweltamt.air-quality.measured",
            "deliver.ki-featurestore.buergeramt.resident.moved",
        }
    )


def test_fingerprints_are_stable(pipeline, catalog):
    again = FeaturePipeline(pipeline.config, catalog)
    assert pipeline._fps == again._fps
    assert len(set(pipeline._fps.values())) == len(pipeline._fps)
    assert changelog.fingerprint(pipeline.runtimes["moves_in_daily"].aggregator)


def test_feast_types_per_aggregation(catalog):
    assert feature_kinds(catalog.view("air_quality_hourly")) == {
        "pm10_mean": "float64",
        "pm10_max": "float64",
        "pm25_mean": "float64",
        "no2_mean": "float64",
        "measurements": "int64",
    }
    assert feature_kinds(catalog.view("roadworks_per_h3_7d"))["latest_lane_closure"] == "string"


def test_feature_store_yaml_defaults_and_overrides(tmp_path):
    default = feature_store_yaml(FeastConfig(tmp_path))
    assert default["provider"] == "local"
    assert default["online_store"] == {"type": "sqlite", "path": "data/online_store.db"}
    assert default["offline_store"] == {"type": "file"}
    redis = {"type": "redis", "connection_string": "redis:6379"}
    assert feature_store_yaml(FeastConfig(tmp_path, online_store=redis))["online_store"] == redis


def test_settings_from_env_and_errors_name_the_variable(monkeypatch):
    monkeypatch.setenv(
        "HUB_FEATURES_ONLINE_STORE", '{"type": "redis", "connection_string": "r:6379"}'
    )
    monkeypatch.setenv("HUB_FEATURES_CLOCK_WATERMARK_LAG", "30")
    s = load_feature_settings()
    assert s.online_store == {"type": "redis", "connection_string": "r:6379"}
    assert s.clock_watermark_lag == 30.0
    monkeypatch.setenv("HUB_FEATURES_METRICS_PORT", "many")
    with pytest.raises(SettingsError, match="HUB_FEATURES_METRICS_PORT"):
        load_feature_settings()


class FakeResponse:
    def __init__(self, data: dict[str, list]) -> None:
        self._data = data

    def to_dict(self) -> dict[str, list]:
        return self._data


class FakeStore:
    def __init__(self) -> None:
        self.calls: list = []

    def get_online_features(self, features: list[str], entity_rows: list[dict]) -> FakeResponse:
        self.calls.append((features, entity_rows))
        (row,) = entity_rows
        found = row.get("postcode") == "59063"
        data = {k: [v] for k, v in row.items()}
        for f in features:
            name = f.split(":")[1]
            data[name] = [7 if found and name != "window_start" else (T0 if found else None)]
        return FakeResponse(data)


def test_api_online_features(catalog):
    store = FakeStore()
    client = TestClient(create_app(catalog, store))
    body = client.get("/v1/features/noise_complaints_hourly?postcode=59063").json()
    assert body["found"] and body["features"]["complaints"] == 7
    assert body["features"]["window_start"] == T0.isoformat()
    assert store.calls[0][0][0] == "noise_complaints_hourly:window_start"
    miss = client.get("/v1/features/noise_complaints_hourly", params={"entity": "59999"}).json()
    assert not miss["found"] and miss["features"]["complaints"] is None
    assert client.get("/v1/features/noise_complaints_hourly").status_code == 400
    assert client.get("/v1/features/unknown?postcode=1").status_code == 404
    assert {v["view"] for v in client.get("/v1/features").json()} >= {"air_quality_hourly"}
    assert client.get("/healthz").json()["status"] == "ok"
    assert "hub_features_api_lookups" in client.get("/metrics/").text


def test_aggregate_decodes_once_and_interleaves_partitions(pipeline, catalog):
    from types import SimpleNamespace

    from hub.agreements import compile_agreement
    from hub.schemas.catalog import load_catalog
    from hub.serde import AvroSerde

    view = catalog.view("noise_complaints_hourly")
    schemas = {t: s.latest.schema for t, s in load_catalog(REPO / "schemas").items()}
    schema = compile_agreement(
        view.agreement, schemas[view.agreement.source], b"k" * 32
    ).output_schema
    serde = AvroSerde()
    serde.add_schema(7, schema)
    pipeline._serde = serde

    def rec(partition: int, offset: int, value: bytes | None) -> Any:
        return SimpleNamespace(
            topic=view.topic, partition=partition, offset=offset, key=None, value=value, headers=()
        )

    from aiokafka import TopicPartition

    ahead = [rec(0, i, serde.encode(7, noise(300 + i, "59063", f"p{i}"))) for i in range(3)]
    behind = [rec(1, i, serde.encode(7, noise(i, "59065", f"q{i}"))) for i in range(6)]
    broken = [rec(1, 6, b"\x00\x00\x00\x00\x07garbage"), rec(1, 7, None)]
    pipeline.aggregate(
        {TopicPartition(view.topic, 0): ahead, TopicPartition(view.topic, 1): behind + broken}
    )
    agg = pipeline.runtimes["noise_complaints_hourly"].aggregator
    # partition 1 was announced before partition 0's later events moved the watermark
    assert agg.windows[("59065", T0_MS)].events == 6
    assert agg.watermark == T0_MS + 5 * 60_000
    from prometheus_client import REGISTRY

    rejected = REGISTRY.get_sample_value(
        "hub_features_rejected_events_total", {"view": "*", "reason": "DecodeError"}
    )
    assert rejected and rejected >= 1
    # ... and not lost: both unusable deliveries wait as dead letters for this batch's commit
    from consumers.router.deadletter import parse_dead_letter

    reasons = [parse_dead_letter(headers)[0] for _, _, headers in pipeline._dead]
    assert [(r.error_class, r.topic, r.offset) for r in reasons] == [
        ("DecodeError", view.topic, 6),
        ("SerdeError", view.topic, 7),
    ]


def test_simulated_events_flow_through_the_agreements_into_every_view(catalog):
    """Simulator events → the shipped ki-featurestore agreement (as the router applies it) →
    Avro round trip → every view extracts them: the catalog fits the real event streams."""
    import random

    from hub.agreements import compile_agreement
    from hub.schemas.catalog import load_catalog
    from hub.serde import AvroSerde
    from producers.simulators import generate

    schemas = {t: s.latest.schema for t, s in load_catalog(REPO / "schemas").items()}
    rng = random.Random(7)
    for view in catalog.views:
        compiled = compile_agreement(view.agreement, schemas[view.agreement.source], b"s" * 32)
        serde = AvroSerde()
        serde.add_schema(1, compiled.output_schema)
        rt = build_runtime(view)
        delivered = 0
        for i in range(300):
            key, record = generate(view.agreement.source, rng, T0 + dt.timedelta(minutes=i))
            if not compiled.matches(record):
                continue
            out_key, value = compiled.transform(key, record)
            event = rt.extract(out_key, serde.decode(serde.encode(1, value)))
            rt.aggregator.add(event)
            delivered += 1
        assert delivered > 200, view.name
        results = rt.aggregator.advance(10**15)
        assert sum(r.events for r in results) >= delivered, view.name
