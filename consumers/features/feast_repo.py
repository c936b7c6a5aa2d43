"""The Feast side: generate the repository from the feature catalog, apply it, push window
results, read online features.

One Feast feature view per hub view, fed by a ``PushSource`` over a ``FileSource`` (one Parquet
file per view), so ``PushMode.ONLINE_AND_OFFLINE`` writes the online store *and* the offline
log that point-in-time joins read. The feature timestamp is ``window_end``: a window's value
becomes known when the window closes, never earlier (no leakage into training data).
Feast is imported lazily: it takes seconds to import and only these functions need it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from consumers.features.binding import BoundView, FeatureCatalog

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from feast import FeatureStore

TIMESTAMP_FIELD = "window_end"


@dataclass(frozen=True)
class FeastConfig:
    repo: Path
    project: str = "hamm_hub"
    online_store: dict[str, Any] | None = None
    offline_store: dict[str, Any] | None = None
    registry: str | None = None

    @classmethod
    def from_settings(cls, s: Any) -> FeastConfig:
        return cls(s.feast_repo, s.feast_project, s.online_store, s.offline_store, s.registry)

    @property
    def offline_dir(self) -> Path:
        return self.repo.resolve() / "data" / "offline"


def feature_store_yaml(cfg: FeastConfig) -> dict[str, Any]:
    """The repository's ``feature_store.yaml``: local provider, SQLite + Parquet by default."""
    return {
        "project": cfg.project,
        "provider": "local",
        "registry": cfg.registry or "data/registry.db",
        "online_store": cfg.online_store or {"type": "sqlite", "path": "data/online_store.db"},
        "offline_store": cfg.offline_store or {"type": "file"},
        "entity_key_serialization_version": 3,
    }


def feature_kind(view: BoundView, fn: str, field: str | None) -> str:
    """Feast/Arrow type of an aggregate: int64, float64, string or bool."""
    if fn in ("count", "distinct_count"):
        return "int64"
    kind = view.kind(field) if field else "long"
    if fn == "mean":
        return "float64"
    if fn == "sum":
        return "int64" if kind in ("int", "long", "boolean") else "float64"
    return {
        "int": "int64",
        "long": "int64",
        "timestamp": "int64",
        "float": "float64",
        "double": "float64",
        "boolean": "bool",
    }.get(kind, "string")


def feature_kinds(view: BoundView) -> dict[str, str]:
    return {a.name: feature_kind(view, a.fn, a.field) for a in view.definition.aggregations}


def _arrow_schema(view: BoundView) -> Any:
    import pyarrow as pa

    arrow = {
        "int64": pa.int64(),
        "float64": pa.float64(),
        "string": pa.string(),
        "bool": pa.bool_(),
    }
    ts = pa.timestamp("us", tz="UTC")
    fields = [
        (view.definition.entity.name, pa.string()),
        ("window_start", ts),
        (TIMESTAMP_FIELD, ts),
    ]
    fields += [(name, arrow[kind]) for name, kind in feature_kinds(view).items()]
    return pa.schema(fields)


def feast_objects(cfg: FeastConfig, catalog: FeatureCatalog) -> list[Any]:
    """Entities, file and push sources, feature views for every view of ``catalog``."""
    from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
    from feast.types import Bool, Float64, Int64, String, UnixTimestamp

    dtypes = {"int64": Int64, "float64": Float64, "string": String, "bool": Bool}
    entities: dict[str, Any] = {}
    objects: list[Any] = []
    for view in catalog.views:
        d = view.definition
        name = d.entity.name
        if name not in entities:
            entities[name] = Entity(
                name=name,
                join_keys=[name],
                value_type=ValueType.STRING,
                description=d.entity.description,
            )
        batch = FileSource(
            name=f"{d.name}_offline",
            path=str(cfg.offline_dir / f"{d.name}.parquet"),
            timestamp_field=TIMESTAMP_FIELD,
        )
        push = PushSource(name=f"{d.name}_push", batch_source=batch)
        schema = [Field(name="window_start", dtype=UnixTimestamp)]
        schema += [Field(name=n, dtype=dtypes[k]) for n, k in feature_kinds(view).items()]
        objects += [
            batch,
            push,
            FeatureView(
                name=d.name,
                entities=[entities[name]],
                ttl=dt.timedelta(milliseconds=d.ttl_ms),
                schema=schema,
                source=push,
                online=True,
                description=d.description,
                tags={"agreement": view.agreement.id, "k": str(d.k), "hub": "datendrehscheibe"},
            ),
        ]
    return [*entities.values(), *objects]


def write_repo(cfg: FeastConfig, catalog: FeatureCatalog) -> Path:
    """Write ``feature_store.yaml`` and an empty Parquet log per view (Feast appends to it)."""
    import pyarrow.parquet as pq

    cfg.repo.mkdir(parents=True, exist_ok=True)
    (cfg.repo / "data").mkdir(exist_ok=True)
    cfg.offline_dir.mkdir(parents=True, exist_ok=True)
    (cfg.repo / "feature_store.yaml").write_text(
        "# Generated by `hub features apply` from catalog/features/: do not edit, do not run\n"
        "# `feast apply` here (it would remove the hub's views); query with FeatureStore(repo_path).\n"
        + yaml.safe_dump(feature_store_yaml(cfg), sort_keys=False)
    )
    for view in catalog.views:
        path = cfg.offline_dir / f"{view.name}.parquet"
        schema = _arrow_schema(view)
        if path.exists() and pq.read_schema(path).equals(schema, check_metadata=False):
            continue
        pq.write_table(schema.empty_table(), path)  # new, or the view's features changed
    return cfg.repo


def apply(cfg: FeastConfig, catalog: FeatureCatalog) -> FeatureStore:
    """Generate the repository and register every view (``feast apply``); returns the store."""
    from feast import FeatureStore

    write_repo(cfg, catalog)
    store = FeatureStore(repo_path=str(cfg.repo.resolve()))
    store.apply(feast_objects(cfg, catalog))
    return store


def open_store(cfg: FeastConfig) -> FeatureStore:
    from feast import FeatureStore

    return FeatureStore(repo_path=str(cfg.repo.resolve()))


def results_frame(view: BoundView, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Published window results (as on ``hub.features.<view>``) as the push DataFrame."""
    import pyarrow as pa

    schema = _arrow_schema(view)
    entity = view.definition.entity.name
    table = {
        entity: [str(r["entity"]) for r in rows],
        "window_start": [_ts(r["window_start_ms"]) for r in rows],
        TIMESTAMP_FIELD: [_ts(r["window_end_ms"]) for r in rows],
    }
    for name in feature_kinds(view):
        table[name] = [r["features"].get(name) for r in rows]
    return pa.Table.from_pydict(table, schema=schema).to_pandas()


def _ts(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def push(store: FeatureStore, view: str, frame: pd.DataFrame) -> None:
    """Write to the online store and append to the offline log."""
    from feast.data_source import PushMode

    store.push(f"{view}_push", frame, to=PushMode.ONLINE_AND_OFFLINE)


def online_features(store: FeatureStore, view: BoundView, entity_value: str) -> dict[str, Any]:
    """The latest published window of ``view`` for one entity (None values: nothing yet)."""
    names = ["window_start", *feature_kinds(view)]
    entity = view.definition.entity.name
    response = store.get_online_features(
        features=[f"{view.name}:{n}" for n in names], entity_rows=[{entity: str(entity_value)}]
    ).to_dict()
    return {n: _jsonable(response.get(n, [None])[0]) for n in [entity, *names]}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
