"""Settings of the feature store subscriber (env prefix ``HUB_FEATURES_``, also from ``.env``);
the shared ones (bootstrap servers, registry, catalog and schema folders) come from
``hub.settings``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.settings import SettingsError

ENV_PREFIX = "HUB_FEATURES_"


class FeatureSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    dir: Path | None = None
    """Feature view definitions; default ``<HUB_CATALOG_DIR>/features``."""
    feast_repo: Path = Path(".hub/feast")
    """The generated Feast repository (feature_store.yaml, registry, SQLite and Parquet data)."""
    feast_project: str = "hamm_hub"
    online_store: dict[str, Any] | None = None
    """Feast online store as JSON, e.g. ``{"type": "redis", "connection_string": "redis:6379"}``
    or ``{"type": "postgres", "host": ..., ...}``; default SQLite inside the repository."""
    offline_store: dict[str, Any] | None = None
    """Feast offline store as JSON; default ``{"type": "file"}`` (Parquet inside the repository)."""
    registry: str | None = None
    """Feast registry path or URL; default ``data/registry.db`` inside the repository."""
    group: str = "hub-features"
    """Consumer group of the pipeline; the transactional id is ``<group>-<instance>``."""
    instance: str = "0"
    changelog_topic: str = "hub.features.state"
    output_prefix: str = "hub.features."
    """Published window results go to ``<prefix><view>``."""
    clock_watermark_lag: float | None = None
    """If set (seconds), the watermark also follows the wall clock minus this lag, so windows
    close when no more events come (a demo with live simulators); unset: event time only."""
    metrics_port: int = 9104
    api_host: str = "127.0.0.1"
    api_port: int = 8094
    max_batch: int = 5000


def load_feature_settings(**overrides: Any) -> FeatureSettings:
    """Read the settings; a wrong value raises SettingsError naming the variable."""
    try:
        return FeatureSettings(**overrides)
    except ValidationError as exc:
        problems = [
            f"{ENV_PREFIX}{str(e['loc'][0]).upper() if e['loc'] else '?'}: {e['msg']}"
            for e in exc.errors()
        ]
        raise SettingsError("invalid setting: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_feature_settings() -> FeatureSettings:
    return load_feature_settings()
