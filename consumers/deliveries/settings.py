"""Settings of the pull API (``HUB_DELIVERIES_*``), beside the hub's common ones."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeliveriesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    deliveries_departments_file: Path | None = None
    """The register of principals with the subscribers' pull tokens; default
    ``<HUB_CATALOG_DIR>/departments.yaml``."""
    deliveries_wait: float = Field(default=0.5, ge=0.0, le=10.0)
    """Longest a pull waits for new deliveries before it answers (possibly with none), seconds."""
    deliveries_consumers: int = Field(default=4, ge=1, le=64)
    """Kafka consumers kept open for pulls; this many pulls are served at the same time."""
    deliveries_reload_interval: float = Field(default=5.0, ge=0.0)
    """How often, at most, the catalog files are checked for changes (new tokens, agreements)."""
