"""Settings of the gateway (``HUB_GATEWAY_*``), beside the hub's common ones."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    gateway_departments_file: Path | None = None
    """Department principals; default ``<HUB_CATALOG_DIR>/departments.yaml``."""
    gateway_source: str = "/hamm/hub/gateway"
    """CloudEvents ``source`` of what the gateway publishes."""
    gateway_max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    """Largest request body in bytes; a larger one is 413 (refused before it is read whole)."""
    gateway_max_batch: int = Field(default=10_000, ge=1, le=10_000)
    """Most events in one request (a larger batch is 400); the OpenAPI document says it."""
    gateway_openapi_ttl: float = Field(default=10.0, ge=0)
    """Seconds ``/openapi.json`` is reused before the registry is asked for new topics."""
    gateway_broker_timeout: float = Field(default=5.0, gt=0)
    """Seconds a publish waits for the broker before the answer is 503 with Retry-After; what
    was not acknowledged by then is dropped, never published later."""
    gateway_idempotency_topic: str = "hub.gateway.idempotency"
    """Compacted topic of the Idempotency-Keys of the last 24 h, shared by every instance."""
