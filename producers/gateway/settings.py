"""Settings of the gateway (``HUB_GATEWAY_*``), beside the hub's common ones."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    gateway_departments_file: Path | None = None
    """Department principals; default ``<HUB_CATALOG_DIR>/departments.yaml``."""
    gateway_source: str = "/hamm/hub/gateway"
    """CloudEvents ``source`` of what the gateway publishes."""
