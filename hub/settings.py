"""Settings of every hub service: one model, env prefix ``HUB_``, also read from ``.env``.

Invalid values fail at start with a message that names the variable, so an operator
sees ``HUB_BOOTSTRAP_SERVERS`` rather than a pydantic traceback.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "HUB_"
_HOST_PORT = re.compile(r"^[A-Za-z0-9._\-\[\]:]+:\d{1,5}$")


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    bootstrap_servers: str = "127.0.0.1:9092"
    """Kafka bootstrap servers, comma-separated host:port."""
    registry_url: str = "http://127.0.0.1:8081"
    """Base URL of the Confluent-compatible schema registry."""
    broker_dir: Path = Path(".hub/kafka")
    """Where the local broker keeps its jars, config, data, pid file and logs."""
    secret_file: Path | None = None
    """File holding the master secret from which per-agreement pseudonymization keys derive.
    Unset: a random secret is created once under ``.hub/secret`` (fine for a demo, not for
    production, where the secret must be backed up: losing it breaks every pseudonym)."""
    schemas_dir: Path = Path("schemas")
    """The Avro contracts (schemas as code)."""
    catalog_dir: Path = Path("catalog")
    """Agreements (``agreements/``), topic settings and department principals."""
    router_group: str = "hub-router"
    """Consumer group of the router; every router instance joins it."""
    router_instance: str = "0"
    """Stable, unique name of this router instance: its transactional id is
    ``<router_group>-<router_instance>``, so a restarted instance fences its own zombie."""
    router_max_batch: int = Field(default=5000, ge=1, le=100_000)
    """Events the router takes from Kafka at most for one batch (one transaction): larger
    batches route more cheaply, smaller ones commit sooner (lower delivery lag)."""
    router_workers: int | None = Field(default=None, ge=0)
    """Processes that decode, transform and encode for the router; unset: one per core (none on
    a single core). 0 routes in the router's own process."""
    router_native_produce: bool = True
    """With the native core, the core produces its deliveries into the router's producer itself
    (false: each through Python, as the router did before; the same records, more CPU)."""
    router_producers: int = Field(default=2, ge=1, le=8)
    """Transactional producers of a router instance, taking turns by transaction (ids
    ``<name>``, ``<name>.1``, ...): a transaction need not wait for the one before it to be
    completed on the broker (lower delivery lag). Still one transaction at a time. Lowered
    after a crash, the dropped id's open transaction ends by its timeout (60 s)."""
    router_apply_access: bool = True
    """``hub router run`` applies the access plan at start when this machine holds the
    ``hub-admin`` credential (new agreements open their topics, removed ones close them)."""
    router_metrics_port: int = 9101
    metrics_host: str = "127.0.0.1"
    """Where services serve /metrics; 0.0.0.0 in a container so Prometheus can scrape."""
    registry_topic: str = "_schemas"
    """The registry's compacted state topic (hub-registry's ACLs name it)."""
    access_topic: str = "hub.access"
    """The ledger of the ACLs and users ``hub access apply`` created (compacted)."""
    dlq_topic: str = "hub.dlq"
    audit_topic: str = "hub.audit"
    receipts_topic: str = "hub.receipts"
    """Per delivered event, keyed hashes of the direct identifiers (data-subject rights)."""
    receipts_retention_days: int = Field(default=3653, ge=1)
    """How long ``hub.receipts`` keeps what it knows: the city's audit retention (ten years),
    not the raw topics'. Named in the Art. 30 record."""
    agreements_topic: str = "hub.agreements"
    """Every agreement version the router applied, by content hash (compacted)."""
    rights_topic: str = "hub.rights"
    """The trail of data-subject requests (``hub rights``): who asked about whom (keyed hashes
    only), when, for which case; append-only, kept as long as the receipts."""
    rights_confirmations_prefix: str = "hub.rights.confirmations."
    """Each recipient confirms erasures on ``<prefix><subscriber>``, the one topic it may write."""
    quality_topic: str = "hub.quality"
    """Daily quality summaries per data set (compacted)."""
    quality_late_after_s: float = Field(default=3600.0, gt=0)
    """An event whose event time is this far behind its arrival counts as late."""
    prometheus_url: str | None = None
    """The Prometheus that scrapes the hub (``http://prometheus:9090``): ``hub quality report``
    asks it what the producers rejected at the door. Unset: the report says where they are."""
    # -- how every client authenticates (named as librdkafka names them) ---------------------
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL", "PLAINTEXT", "SSL"] = (
        "SASL_PLAINTEXT"
    )
    """``security.protocol``: SASL_PLAINTEXT on loopback, SASL_SSL across a network; PLAINTEXT
    only against a broker started with ``hub broker start --insecure``."""
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    """``sasl.mechanism``."""
    kafka_username: str | None = None
    """``sasl.username``: the principal this process is. Unset: each service is its own
    principal (``hub-router``, ``hub-registry``, ..., a connector its department)."""
    kafka_password: SecretStr | None = None
    """``sasl.password``. Unset: read from HUB_KAFKA_CREDENTIALS_FILE or from
    ``<credentials dir>/<principal>.properties``."""
    kafka_credentials_file: Path | None = None
    """A librdkafka properties file with ``sasl.username`` and ``sasl.password`` (mode 0600),
    as ``hub access users add`` writes it; ``kcat -F`` reads the same file."""
    kafka_ssl_ca_location: Path | None = None
    """``ssl.ca.location``: the CA that signed the broker's certificate (SASL_SSL)."""
    credentials_dir: Path = Path(".hub/credentials")
    """Where generated credentials live, one ``<principal>.properties`` a principal, mode 0600."""
    registry_basic_auth_user_info: SecretStr | None = None
    """``basic.auth.user.info`` (``user:password``) for the schema registry. Unset: the same
    principal and password as for Kafka."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        bad = [
            s
            for s in servers
            if not _HOST_PORT.match(s) or not 0 < int(s.rsplit(":", 1)[1]) < 65536
        ]
        if not servers or bad:
            raise ValueError(f"expected host:port[,host:port...], got {value!r}")
        return ",".join(servers)

    @field_validator("registry_url")
    @classmethod
    def _check_registry_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("prometheus_url")
    @classmethod
    def _check_prometheus_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise SettingsError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {error['msg']}")
        raise SettingsError("invalid setting: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
