"""The register of principals: ``catalog/departments.yaml``.

Every party that talks to the hub is a principal with a Kafka user of the same name:

- a **publishing department** owns the topics under its prefix (``<prefix>.<entity>.<event>``),
  may send through the gateway with a token (the file keeps only SHA-256 hashes) and has a
  rate limit;
- a **subscriber** is a unit that receives deliveries under agreements (``statistikstelle``,
  ``bussgeldstelle``, ``ki-featurestore``, ...); a department may subscribe as well;
- the hub's own **services** (``hub-router``, ``hub-registry``, ...) are built in.

Names, contacts and roles live here; passwords never do (``hub access users``).

```yaml
departments:
  ordnungsamt:
    contact: ordnungsamt-it@stadt.hamm.de
    topic_prefix: ordnungsamt        # optional, default: the department's name
    tokens: [sha256:3f5c...]         # gateway tokens, hashes only; several: rotation
    rate_limit: {events_per_second: 500, burst: 2000}
subscribers:
  statistikstelle:
    contact: statistik@stadt.hamm.de
    description: Kommunale Statistikstelle
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.access.tokens import check_hashes

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

# The hub's own services, each its own principal: what they are for, in words.
SERVICES: dict[str, str] = {
    "hub-router": "Router: reads the source topics that have agreements, writes the deliveries, "
    "dead letters and the audit trail",
    "hub-registry": "Schema registry: keeps its state in _schemas",
    "hub-features": "Feature store: reads the deliveries to ki-featurestore, writes anonymous "
    "aggregates",
    "hub-gateway": "HTTP ingest gateway: publishes for the departments it accepts",
    "hub-connect": "Connector operations: reads the connectors' progress",
    "hub-audit": "Data-protection officer: reads the audit trail hub.audit and the quality "
    "summaries hub.quality",
    "hub-webhooks": "Webhook push: reads the deliveries of the webhook subscriptions and POSTs "
    "them to the subscribers' endpoints",
    "hub-deliveries": "Pull API: reads the deliveries of subscribers that fetch them over HTTP",
    "hub-rights": "Data-protection officer's tool for data-subject requests: reads the "
    "receipts, the agreement versions and the deliveries, writes the trail hub.rights and "
    "erasure requests to the recipients' delivery topics, reads their confirmations",
    "hub-portal": "Transparency portal: reads the audit trail hub.audit and the dead letters "
    "hub.dlq (shows their origin and reason, never their content), the quality summaries "
    "hub.quality, the feature views' published windows, the topics' retention",
    "hub-admin": "Administrator: super user of the broker and the registry (ACLs, credentials, "
    "configuration)",
}


class PrincipalsError(ValueError):
    """``departments.yaml`` is unreadable or invalid; the message names the file and key."""


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    events_per_second: float = Field(gt=0)
    burst: int = Field(gt=0)


class Department(BaseModel):
    """A publishing department: owner of the topics ``<topic_prefix>.*``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    topic_prefix: str
    contact: str = ""
    description: str = ""
    tokens: tuple[str, ...] = ()
    rate_limit: RateLimit = RateLimit(events_per_second=1000, burst=5000)
    gateway: bool = True
    """Whether the gateway may publish for this department (``hub-gateway`` gets Write)."""
    pull_tokens: tuple[str, ...] = ()
    """As a subscriber's: a department that receives deliveries may pull them over HTTP."""

    @field_validator("tokens", "pull_tokens")
    @classmethod
    def _check_hashes(cls, hashes: tuple[str, ...]) -> tuple[str, ...]:
        return check_hashes(hashes)

    @field_validator("topic_prefix")
    @classmethod
    def _check_prefix(cls, prefix: str) -> str:
        if not _NAME.match(prefix):
            raise ValueError("lowercase letters, digits and '-' only (it starts topic names)")
        return prefix

    def may_publish(self, topic: str) -> bool:
        """Whether this department owns ``topic`` (``<prefix>.<entity>.<event>``)."""
        return topic.startswith(self.topic_prefix + ".")


class Subscriber(BaseModel):
    """A unit that receives deliveries under agreements."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    contact: str = ""
    description: str = ""
    pull_tokens: tuple[str, ...] = ()
    """SHA-256 hashes of its bearer tokens for the pull API (``hub deliveries serve``); a
    subscriber with none does not pull, and ``hub-deliveries`` may not read its deliveries."""

    @field_validator("pull_tokens")
    @classmethod
    def _check_hashes(cls, hashes: tuple[str, ...]) -> tuple[str, ...]:
        return check_hashes(hashes)


@dataclass(frozen=True)
class Principals:
    """Every registered principal by role."""

    departments: dict[str, Department]
    subscribers: dict[str, Subscriber]
    source: str = "<memory>"

    @property
    def services(self) -> dict[str, str]:
        return dict(SERVICES)

    def names(self) -> list[str]:
        """Every principal that gets a Kafka user."""
        return sorted({*self.departments, *self.subscribers, *SERVICES})

    def may_subscribe(self, name: str) -> bool:
        """A subscriber of an agreement must be registered: as a subscriber or a department."""
        return name in self.subscribers or name in self.departments

    def pull_tokens(self, name: str) -> tuple[str, ...]:
        """The pull-API token hashes of a subscriber (or a subscribing department)."""
        if name in self.subscribers:
            return self.subscribers[name].pull_tokens
        if name in self.departments:
            return self.departments[name].pull_tokens
        return ()

    def owner_of(self, topic: str) -> Department | None:
        """The department that owns a raw topic, or None (deliveries, the hub's own topics)."""
        for department in self.departments.values():
            if department.may_publish(topic):
                return department
        return None

    def role(self, name: str) -> str:
        roles = []
        if name in self.departments:
            roles.append("publishing department")
        if name in self.subscribers:
            roles.append("subscriber")
        if name in SERVICES:
            roles.append("hub service")
        return ", ".join(roles) or "not registered"

    def contact(self, name: str) -> str:
        if name in self.departments and self.departments[name].contact:
            return self.departments[name].contact
        if name in self.subscribers:
            return self.subscribers[name].contact
        return ""


def _model(kind: type[BaseModel], where: str, name: str, body: Any, **defaults: Any) -> Any:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise PrincipalsError(f"{where}: expected a mapping")
    try:
        return kind(name=name, **{**defaults, **body})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise PrincipalsError(f"{where}.{key}: {message}") from None
    except TypeError as exc:
        raise PrincipalsError(f"{where}: {exc}") from None


def parse_principals(data: Any, source: str = "<memory>") -> Principals:
    """Validate the YAML data of ``departments.yaml``."""
    if not isinstance(data, dict) or not isinstance(data.get("departments"), dict):
        raise PrincipalsError(f"{source}: expected a mapping with the key 'departments'")
    unknown = set(data) - {"departments", "subscribers"}
    if unknown:
        raise PrincipalsError(f"{source}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    subscribers_data = data.get("subscribers")
    subscribers_data = {} if subscribers_data is None else subscribers_data
    if not isinstance(subscribers_data, dict):
        raise PrincipalsError(f"{source}: subscribers: expected a mapping")
    departments: dict[str, Department] = {}
    subscribers: dict[str, Subscriber] = {}
    for section, items in (("departments", data["departments"]), ("subscribers", subscribers_data)):
        for raw_name, body in items.items():
            name = str(raw_name)
            where = f"{source}: {section}.{name}"
            if not _NAME.match(name):
                raise PrincipalsError(
                    f"{where}: a principal's name is lowercase letters, digits and '-'"
                )
            if name in SERVICES:
                raise PrincipalsError(f"{where}: {name} is a built-in hub service")
            if section == "departments":
                departments[name] = _model(Department, where, name, body, topic_prefix=name)
            else:
                subscribers[name] = _model(Subscriber, where, name, body)
    prefixes: dict[str, str] = {}
    for department in departments.values():
        other = prefixes.get(department.topic_prefix)
        if other is not None:
            raise PrincipalsError(
                f"{source}: departments.{department.name}.topic_prefix: "
                f"{department.topic_prefix!r} is also the prefix of {other}"
            )
        prefixes[department.topic_prefix] = department.name
        if department.topic_prefix in ("hub", "deliver"):
            raise PrincipalsError(
                f"{source}: departments.{department.name}.topic_prefix: "
                f"{department.topic_prefix!r} is reserved for the hub"
            )
    return Principals(departments, subscribers, source)


def load_principals(path: Path) -> Principals:
    """Read and validate ``path``; PrincipalsError names the file and key."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PrincipalsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise PrincipalsError(f"{path}: not valid YAML: {exc}") from None
    return parse_principals(data, str(path))
