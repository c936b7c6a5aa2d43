"""Settings of the connectors (``HUB_CONNECT_*``), beside the hub's common ones."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ConnectSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    connect_progress_topic: str | None = None
    """Default: ``hub.connect.progress.<department>``, one topic a department (its ACLs)."""
    """Compacted topic holding each connector's committed progress."""
    connect_metrics_port: int = 9102
    """Port of /metrics of a running connector (0: no metrics endpoint)."""
