"""Settings of the webhook dispatcher (``HUB_WEBHOOKS_*``), beside the hub's common ones."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.settings import ENV_PREFIX, SettingsError


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    webhooks_subscriptions_dir: Path | None = None
    """The subscriptions; default ``<HUB_CATALOG_DIR>/subscriptions``."""
    webhooks_dlq_topic: str = "hub.webhooks.dlq"
    """Given-up deliveries (hub-webhooks may read, write and create it)."""
    webhooks_metrics_port: int = Field(default=9105, ge=0, le=65535)
    """Port of /metrics and /healthz; 0: none."""
    webhooks_retry_scale: float = Field(default=1.0, gt=0, le=1)
    """Factor on the Standard Webhooks retry schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
    10 h): 0.001 makes it 5 ms .. 36 s, for tests and demos."""
    webhooks_max_attempts: int = Field(default=8, ge=1, le=8)
    """Attempts before a delivery is given up (the schedule has 8)."""
    webhooks_max_buffered: int = Field(default=10_000, ge=1)
    """Deliveries a subscription holds read but not finished; beyond that it stops fetching
    (one key retrying for hours holds the commit point, not the other keys)."""
    webhooks_commit_interval: float = Field(default=1.0, gt=0)
    """Seconds between offset commits (and at every stop)."""
    webhooks_ca_file: Path | None = None
    """CA bundle for https endpoints with a city CA; unset: the system's."""


def load_webhook_settings(**overrides: object) -> WebhookSettings:
    """Read the settings; raise SettingsError naming the variable."""
    try:
        return WebhookSettings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {error['msg']}")
        raise SettingsError("invalid setting: " + "; ".join(problems)) from None
