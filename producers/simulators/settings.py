"""Settings of the simulator service beyond ``hub.settings`` (env prefix ``HUB_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class SimulatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    simulator_metrics_port: int = 9105
    """Port of the simulator's Prometheus /metrics (0: do not serve)."""
    simulator_source: str = "/hamm/simulator/demo"
    """CloudEvents ``ce_source`` of simulated events."""
