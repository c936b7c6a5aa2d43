"""A running portal against a small real hub (router_world's: broker, registry, router writing
its audit trail and dead letters), served by uvicorn in the test's event loop as hub-portal; the
hub's quality summaries and the feature views' published windows written with their contracts,
and a forecast file as `hub features forecast` leaves it in Feast's offline store."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import shutil
import types
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import uvicorn
from ports import free_port
from router_world import SECRET, World

from hub.kafka import KafkaSecurity
from hub.settings import load_settings
from portal.metrics import PortalMetrics
from portal.service import Portal, build_portal
from portal.settings import PortalSettings
from portal.staff import hash_password

REPO = Path(__file__).resolve().parents[2]
STAFF_LOGIN, STAFF_PASSWORD = "dsb", "Pruefung-der-Lieferungen-2026"


def prepare_catalog(world: World, *, features: bool = False) -> None:
    """The world's catalog gets the controller's file and one staff login; with ``features``
    the shipped feature views too (each naming a delivery topic of the world's instead of an
    agreement it does not have)."""
    catalog = world.agreements_dir.parent
    shutil.copy(REPO / "catalog" / "organisation.yaml", catalog / "organisation.yaml")
    if features:
        (catalog / "features").mkdir(exist_ok=True)
        for path in sorted((REPO / "catalog" / "features").glob("*.yaml")):
            text = re.sub(
                r"^agreement: .*$",
                f"source: deliver.ki-featurestore.{world.source}",
                path.read_text(),
                flags=re.M,
            )
            (catalog / "features" / path.name).write_text(text)
    (catalog / "portal.yaml").write_text(
        f"staff:\n  {STAFF_LOGIN}:\n    name: Datenschutzbeauftragte\n"
        f'    password_hash: "{hash_password(STAFF_PASSWORD)}"\n'
    )
    (world.root / "secret").write_bytes(SECRET)


@dataclass
class RunningPortal:
    portal: Portal
    url: str


@contextlib.asynccontextmanager
async def serving(
    world: World, security: KafkaSecurity, *, feast_repo: Path | None = None
) -> AsyncIterator[RunningPortal]:
    from consumers.features.settings import load_feature_settings

    features = load_feature_settings(
        output_prefix=world.features_prefix, feast_repo=feast_repo or world.root / "feast"
    )
    settings = load_settings(
        bootstrap_servers=world.bootstrap,
        registry_url=world.registry_url,
        catalog_dir=world.agreements_dir.parent,
        schemas_dir=world.schemas_dir,
        audit_topic=world.audit,
        dlq_topic=world.dlq,
        quality_topic=quality_topic(world),
        router_group=world.group,
        secret_file=world.root / "secret",
    )
    port = free_port()
    own = PortalSettings(portal_host="127.0.0.1", portal_port=port, portal_dlq_refresh=1.0)
    portal = build_portal(
        settings, own, metrics=PortalMetrics(), security=security, features=features
    )
    server = uvicorn.Server(
        uvicorn.Config(portal.app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the portal did not start"
        await asyncio.sleep(0.05)
    try:
        yield RunningPortal(portal, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


# -- what the portal folds besides the audit trail -------------------------------------------------

QUALITY_TOPIC = "hub.quality"


def quality_topic(world: World) -> str:
    """The world's own quality topic where it has one (its router writes there)."""
    return getattr(world, "quality", QUALITY_TOPIC)


def publish_summaries(
    world: World, admin: KafkaSecurity, day: dt.date, figures: list[dict]
) -> None:
    """Daily quality summaries of the world's data set, one a partition, in the contract's
    record and Confluent framing under ``<quality topic>-value`` (as the router writes them)."""
    from confluent_kafka import Producer
    from identity import confluent_security

    from hub.quality.summary import SUMMARY_SCHEMA, Figures, summary_key, to_record
    from hub.serde import AvroSerde, RegistryClient
    from hub.topics import TopicSpec, ensure_topics

    topic = quality_topic(world)
    # as the router creates it: compacted, the latest summary of a key is what counts
    spec = TopicSpec(topic, config={"cleanup.policy": "compact"})
    asyncio.run(ensure_topics(world.bootstrap, [spec], security=admin))
    with RegistryClient(world.registry_url, auth=admin.credentials) as registry:
        schema_id = registry.register(f"{topic}-value", SUMMARY_SCHEMA)
    serde = AvroSerde()
    serde.add_schema(schema_id, SUMMARY_SCHEMA)
    producer = Producer({"bootstrap.servers": world.bootstrap, **confluent_security()})
    at = dt.datetime.now(dt.UTC)
    for partition, f in enumerate(figures):
        record = to_record(
            world.source,
            day.isoformat(),
            partition,
            Figures(
                events=f["events"],
                flagged=Counter(f.get("flagged", {})),
                dead_letters=f.get("dead_letters", 0),
                late=f.get("late", 0),
                duplicates=f.get("duplicates", 0),
                nulls=Counter(f.get("nulls", {})),
            ),
            at,
        )
        producer.produce(
            topic,
            serde.encode(schema_id, record),
            key=summary_key(world.source, day.isoformat(), partition),
        )
    assert producer.flush(30) == 0


VIEWS = {
    "noise_complaints_hourly": ("postcode", 3600, {"complaints": 6}),
    "moves_in_daily": ("postcode", 86400, {"moves_in": 7, "moves_in_from_districts": 3}),
    "moves_out_daily": ("postcode", 86400, {"moves_out": 5, "moves_out_to_districts": 2}),
    "air_quality_hourly": (
        "station",
        3600,
        {"no2_mean": 21.5, "pm10_mean": 14.0, "measurements": 4},
    ),
    "roadworks_per_h3_7d": ("h3_cell", 7 * 86400, {"roadworks": 2, "works_types": 1}),
}


def publish_windows(world: World, end: dt.datetime, hours: int = 48) -> None:
    """Published windows of every shipped view, as the pipeline writes them (its own
    ``result_record``), under the world's prefix; the last ends at ``end``."""
    from confluent_kafka import Producer
    from identity import confluent_security

    from consumers.features.pipeline import result_headers, result_record
    from consumers.features.windows import WindowResult

    producer = Producer({"bootstrap.servers": world.bootstrap, **confluent_security()})
    for view, (entity_name, size_s, features) in VIEWS.items():
        runtime = types.SimpleNamespace(
            view=types.SimpleNamespace(
                definition=types.SimpleNamespace(
                    entity=types.SimpleNamespace(name=entity_name), k=5
                ),
                agreement=types.SimpleNamespace(id="ki-featurestore-test"),
            )
        )
        entities = {"postcode": ["59063", "59065"], "station": ["HAM-MI-01"]}.get(
            entity_name, ["8a1f0000000ffff"]
        )
        step = min(size_s, 86400)
        count = max(1, hours * 3600 // step)
        for i in range(count):
            end_ms = int(end.timestamp() * 1000) - i * step * 1000
            for n, entity in enumerate(entities):
                values = {k: v + (i + n) % 3 for k, v in features.items()}
                result = WindowResult(view, entity, end_ms - size_s * 1000, end_ms, values, 9, 5)
                producer.produce(
                    f"{world.features_prefix}{view}",
                    orjson.dumps(result_record(result, runtime, end_ms)),
                    key=entity.encode(),
                    headers=result_headers(result),
                )
    assert producer.flush(30) == 0


def write_forecast(feast_repo: Path, start: dt.datetime) -> Path:
    """The forecast of noise complaints as `hub features forecast` writes it to Feast's
    offline store (its own model and frame), without Feast."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from consumers.features.feast_repo import FeastConfig
    from consumers.features.forecast import forecast_entity, forecasts_frame

    history = [(start - dt.timedelta(hours=h), float(6 + (h % 24 < 4) * 3)) for h in range(1, 72)]
    made = [
        forecast_entity(pc, history, start=start, step=dt.timedelta(hours=1), horizon=24, seed=42)
        for pc in ("59063", "59065")
    ]
    view = types.SimpleNamespace(
        definition=types.SimpleNamespace(entity=types.SimpleNamespace(name="postcode"))
    )
    frame = forecasts_frame(view, "complaints", made, start)
    offline = FeastConfig(feast_repo).offline_dir
    offline.mkdir(parents=True, exist_ok=True)
    path = offline / "noise_complaints_hourly_forecast.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path
