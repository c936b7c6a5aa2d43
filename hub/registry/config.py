"""Settings of the schema registry server (env prefix ``HUB_``), beside the hub's shared ones."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    """Kafka bootstrap servers (shared with every hub service)."""
    registry_host: str = "127.0.0.1"
    registry_port: int = 8081
    registry_topic: str = "_schemas"
    """The compacted topic holding the registry's state."""
    registry_replication_factor: int = 1
    """Replication factor used when the registry creates its topic (3 on a real cluster)."""
    registry_default_compatibility: str = "BACKWARD"
    """Compatibility level while none is configured with PUT /config."""
