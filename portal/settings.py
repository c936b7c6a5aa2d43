"""Settings of the portal (``HUB_PORTAL_*``), beside the hub's common ones."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PRINCIPAL = "hub-portal"
DEFAULT_PORT = 8003


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_file=".env", extra="ignore", frozen=True
    )

    portal_host: str = "127.0.0.1"
    """Interface to listen on (0.0.0.0 in a container)."""
    portal_port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    portal_base_url: str | None = None
    """The address people and harvesters reach the portal at (DCAT URIs); default
    ``http://<host>:<port>``."""
    portal_gateway_url: str = "http://127.0.0.1:8000"
    """The ingest gateway, as the DCAT catalog names it (``dcat:DataService``)."""
    portal_staff_file: Path | None = None
    """Staff logins with Argon2id hashes; default ``<HUB_CATALOG_DIR>/portal.yaml``."""
    portal_session_hours: float = Field(default=8.0, gt=0, le=24)
    """How long a staff login lasts."""
    portal_cookie_secure: bool = True
    """Session cookies only over HTTPS (browsers treat http://127.0.0.1 and localhost as secure)."""
    portal_login_attempts: int = Field(default=5, ge=1)
    """Failed logins per client address or login name within the window before 429."""
    portal_login_window: float = Field(default=300.0, gt=0)
    """The window of the login limit, seconds."""
    portal_dlq_refresh: float = Field(default=15.0, gt=0)
    """How often the replay state of the dead letters is asked (seconds)."""

    def base_url(self) -> str:
        return (self.portal_base_url or f"http://{self.portal_host}:{self.portal_port}").rstrip("/")
