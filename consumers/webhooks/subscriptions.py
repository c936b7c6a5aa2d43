"""Webhook subscriptions: ``catalog/subscriptions/*.yaml``, one endpoint each.

.. code-block:: yaml

    id: bussgeldstelle-fachverfahren
    subscriber: bussgeldstelle
    agreements: [bussgeldstelle-parking-violation]
    endpoint: https://owi.bussgeldstelle.hamm.local/hub/events
    secret: env:HUB_WEBHOOK_SECRET_BUSSGELDSTELLE   # or file:/path; the secret is whsec_<base64>
    previous_secrets: []    # while rotating: the old secret(s), also signed with
    timeout: 10s
    concurrency: 16
    allow_insecure_http: false   # http:// only on loopback or with this set

The file holds references to secrets, never secrets. Errors name the file and the key. That
the agreements exist, are the subscriber's and are in force is checked against the agreements
folder when the dispatcher starts (``resolve_topics``), as ``hub access`` does for the ACLs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from consumers.webhooks.signing import SecretFormatError, signing_key
from hub.agreements.errors import AgreementError
from hub.agreements.model import Agreement, load_agreements

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}
MAX_TIMEOUT = 300.0
MAX_CONCURRENCY = 1024


class SubscriptionError(ValueError):
    """Subscription files that cannot be used; each line names the file and the key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _seconds(value: Any) -> float:
    """``10s``, ``500ms``, ``2m`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 10s or 500ms, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(f"expected a duration like 10s or 500ms, got {value!r}")
    if not 0 < seconds <= MAX_TIMEOUT:
        raise ValueError(f"must be more than 0 and at most {MAX_TIMEOUT:.0f}s, got {value!r}")
    return seconds


Seconds = Annotated[float, BeforeValidator(_seconds)]


@dataclass(frozen=True)
class SecretRef:
    """Where a signing secret is: ``env:NAME`` or ``file:/path`` (a path relative to the
    subscription file's folder). ``str()`` is the reference, never the secret."""

    kind: str  # "env" | "file"
    target: str

    @classmethod
    def parse(cls, text: Any) -> SecretRef:
        if isinstance(text, SecretRef):
            return text
        if not isinstance(text, str):
            raise ValueError("expected env:NAME or file:/path (a reference, not the secret)")
        kind, sep, target = text.partition(":")
        if text.startswith("whsec_"):
            raise ValueError(
                "holds a secret itself: put it in the environment or a file and write "
                "env:NAME or file:/path here"
            )
        if not sep or kind not in ("env", "file") or not target.strip():
            raise ValueError(f"expected env:NAME or file:/path, got {text[:40]!r}")
        target = target.strip()
        if kind == "env" and not _ENV_NAME.match(target):
            raise ValueError(f"{target!r} is not an environment variable name")
        return cls(kind, target)

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"

    def read(self, base: Path, environ: Mapping[str, str]) -> str:
        """The secret text; raises ValueError saying what is missing (never the value)."""
        if self.kind == "env":
            value = environ.get(self.target)
            if value is None or not value.strip():
                raise ValueError(f"the environment variable {self.target} is not set")
            return value.strip()
        path = Path(self.target)
        if not path.is_absolute():
            path = base / path
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None


SecretReference = Annotated[SecretRef, BeforeValidator(SecretRef.parse)]


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (names other than localhost are not resolved: what
    they resolve to may change)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Subscription(BaseModel):
    """One webhook endpoint and what is pushed to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StrictStr
    subscriber: StrictStr
    agreements: list[StrictStr] = Field(min_length=1)
    endpoint: StrictStr
    secret: SecretReference
    previous_secrets: list[SecretReference] = Field(default_factory=list)
    timeout: Seconds = 10.0
    concurrency: int = Field(default=16, ge=1, le=MAX_CONCURRENCY, strict=True)
    allow_insecure_http: StrictBool = False

    _file: Path | None = PrivateAttr(default=None)

    @field_validator("id", "subscriber")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError(f"{v!r} must be lowercase letters, digits, '-' or '_'")
        return v

    @field_validator("agreements")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in v:
            if not _SLUG.match(name):
                raise ValueError(f"{name!r} is not an agreement id")
            if name in seen:
                raise ValueError(f"{name!r} is named twice")
            seen.add(name)
        return v

    @field_validator("endpoint")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"expected an https:// URL, got {v!r}")
        if parts.username or parts.password:
            raise ValueError("must not carry a user or password (the signature authenticates)")
        if parts.fragment:
            raise ValueError("must not have a #fragment")
        try:
            parts.port  # noqa: B018  (raises for a port outside 0..65535)
        except ValueError as exc:
            raise ValueError(f"bad port: {exc}") from None
        return v

    @model_validator(mode="after")
    def _transport(self) -> Subscription:
        parts = urlsplit(self.endpoint)
        if (
            parts.scheme == "http"
            and not self.allow_insecure_http
            and not is_loopback(parts.hostname or "")
        ):
            # Deliveries are personal data: never in clear text over a network by accident.
            raise ValueError(
                "endpoint: http:// is allowed only on loopback (localhost, 127.0.0.1, ::1) or "
                "with allow_insecure_http: true; use https://"
            )
        return self

    @property
    def origin(self) -> str:
        return str(self._file) if self._file is not None else f"<subscription {self.id}>"

    @property
    def endpoint_for_logs(self) -> str:
        """The endpoint without its query (a vendor may put a token there)."""
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")

    @property
    def group(self) -> str:
        """Its consumer group under the service's prefix (hub-webhooks may use only those)."""
        return f"hub-webhooks.{self.id}"

    def signing_keys(self, environ: Mapping[str, str] | None = None) -> list[bytes]:
        """The HMAC keys, current first; raises SubscriptionError naming file, key and
        reference when one cannot be read or is not a ``whsec_`` secret."""
        env = os.environ if environ is None else environ
        base = self._file.parent if self._file is not None else Path.cwd()
        keys: list[bytes] = []
        problems: list[str] = []
        refs = [("secret", self.secret)] + [
            (f"previous_secrets.{i}", r) for i, r in enumerate(self.previous_secrets)
        ]
        for where, ref in refs:
            try:
                keys.append(signing_key(ref.read(base, env)))
            except SecretFormatError as exc:
                problems.append(f"{self.origin}: {where}: {ref}: {exc}")
            except ValueError as exc:
                problems.append(f"{self.origin}: {where}: {ref}: {exc}")
        if problems:
            raise SubscriptionError(problems)
        return keys


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(subscription)"


def parse_subscription(raw: Any, file: str | Path) -> Subscription:
    """Validate one parsed YAML document; errors name the file and the key."""
    if not isinstance(raw, dict):
        raise SubscriptionError([f"{file}: a subscription must be a YAML mapping"])
    try:
        subscription = Subscription.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            message = str(cause) if cause is not None else error["msg"]
            where = _loc(error["loc"])
            if message.startswith("endpoint: "):  # the model-level check names its key itself
                where, message = "endpoint", message[len("endpoint: ") :]
            problems.append(f"{file}: {where}: {message}")
        raise SubscriptionError(problems) from None
    subscription._file = Path(file)
    return subscription


def load_subscription(path: Path) -> Subscription:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SubscriptionError([f"{path}: invalid YAML: {exc}"]) from None
    except OSError as exc:
        raise SubscriptionError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    return parse_subscription(raw, path)


def subscription_files(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_subscriptions(directory: Path) -> list[Subscription]:
    """Every subscription of ``directory``; one SubscriptionError with every problem."""
    if not directory.is_dir():
        raise SubscriptionError([f"{directory}: no such directory"])
    problems: list[str] = []
    found: list[Subscription] = []
    for path in subscription_files(directory):
        try:
            found.append(load_subscription(path))
        except SubscriptionError as exc:
            problems.extend(exc.problems)
    by_id: dict[str, Subscription] = {}
    for s in found:
        if s.id in by_id:
            problems.append(f"{s.origin}: id: {s.id!r} is also the id in {by_id[s.id].origin}")
        by_id[s.id] = s
    if problems:
        raise SubscriptionError(problems)
    return found


@dataclass(frozen=True)
class Route:
    """A delivery topic a subscription reads, and the agreement behind it."""

    topic: str
    agreement: str


def resolve_topics(
    subscription: Subscription, agreements: list[Agreement], today: dt.date
) -> tuple[list[Route], list[str]]:
    """The delivery topics of the subscription's agreements in force ``today``; and problems:
    an unknown agreement or another subscriber's stops the subscription, one not (or no longer)
    in force is only left out (hub-webhooks may not read its topic then)."""
    by_id = {a.id: a for a in agreements}
    routes: list[Route] = []
    problems: list[str] = []
    for name in subscription.agreements:
        agreement = by_id.get(name)
        if agreement is None:
            problems.append(f"{subscription.origin}: agreements: {name!r} is not an agreement")
        elif agreement.subscriber != subscription.subscriber:
            problems.append(
                f"{subscription.origin}: agreements: {name!r} is {agreement.subscriber}'s, "
                f"not {subscription.subscriber}'s"
            )
        elif (agreement.valid_from or today) <= today <= agreement.valid_until:
            routes.append(Route(agreement.topic, agreement.id))
    return routes, problems


def load_agreements_for(directory: Path) -> list[Agreement]:
    """The agreements folder, as SubscriptionError when it cannot be read."""
    try:
        return load_agreements(directory)
    except AgreementError as exc:
        raise SubscriptionError([str(i) for i in exc.issues]) from None
