"""Department principals of the gateway: ``catalog/departments.yaml``.

Each department publishes only to topics under its prefix (``<department>.``), authenticates
with a bearer token of which the file keeps only the SHA-256 hash (tokens are 256-bit random
values, so a fast hash is enough: there is nothing to brute-force), and has a rate limit.

```yaml
departments:
  ordnungsamt:
    topic_prefix: ordnungsamt        # optional, default: the department's name
    tokens:                          # sha256 hex of each valid token (several: rotation)
      - sha256:3f5c...
    rate_limit: {events_per_second: 500, burst: 2000}
```
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TOKEN_PREFIX = "hub_"
HASH_PREFIX = "sha256:"


class DepartmentsError(ValueError):
    """``departments.yaml`` is unreadable or invalid; the message names the file and key."""


def new_token() -> str:
    """A fresh random API token (256 bits, URL-safe)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What ``departments.yaml`` stores for ``token``: ``sha256:<hex>``."""
    return HASH_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    events_per_second: float = Field(gt=0)
    burst: int = Field(gt=0)


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    topic_prefix: str
    tokens: tuple[str, ...] = ()
    rate_limit: RateLimit = RateLimit(events_per_second=1000, burst=5000)

    @field_validator("tokens")
    @classmethod
    def _check_hashes(cls, hashes: tuple[str, ...]) -> tuple[str, ...]:
        for index, value in enumerate(hashes):
            hexpart = value.removeprefix(HASH_PREFIX)
            if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
                raise ValueError(
                    f"tokens[{index}]: expected 'sha256:' and 64 lowercase hex digits "
                    "(the hash printed by `hub gateway token`, never the token itself)"
                )
        return tuple(HASH_PREFIX + h.removeprefix(HASH_PREFIX) for h in hashes)

    def may_publish(self, topic: str) -> bool:
        """Whether this department owns ``topic`` (``<prefix>.<entity>.<event>``)."""
        return topic.startswith(self.topic_prefix + ".")


@dataclass(frozen=True)
class Departments:
    """All departments, and a lookup from token hash to department."""

    by_name: dict[str, Department]
    source: str = "<memory>"

    def __post_init__(self) -> None:
        index: dict[str, Department] = {}
        for department in self.by_name.values():
            for token_hash in department.tokens:
                other = index.get(token_hash)
                if other is not None and other.name != department.name:
                    raise DepartmentsError(
                        f"{self.source}: departments.{department.name}.tokens: the same token "
                        f"hash is also listed for {other.name}"
                    )
                index[token_hash] = department
        object.__setattr__(self, "_by_hash", index)

    def authenticate(self, token: str | None) -> Department | None:
        """The department whose token this is, or None."""
        if not token:
            return None
        wanted = hash_token(token)
        found = self._by_hash.get(wanted)  # type: ignore[attr-defined]
        # compare_digest: belt and braces, the dict lookup already matched the full hash
        if found is not None and any(hmac.compare_digest(wanted, h) for h in found.tokens):
            return found
        return None


def parse_departments(data: Any, source: str = "<memory>") -> Departments:
    """Validate the YAML data of ``departments.yaml``."""
    if not isinstance(data, dict) or not isinstance(data.get("departments"), dict):
        raise DepartmentsError(f"{source}: expected a mapping with the key 'departments'")
    unknown = set(data) - {"departments"}
    if unknown:
        raise DepartmentsError(f"{source}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    by_name: dict[str, Department] = {}
    for name, body in data["departments"].items():
        where = f"{source}: departments.{name}"
        if not isinstance(body, dict):
            raise DepartmentsError(f"{where}: expected a mapping")
        try:
            by_name[str(name)] = Department(name=str(name), **{"topic_prefix": str(name), **body})
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            raise DepartmentsError(f"{where}.{key}: {message}") from None
        except TypeError as exc:
            raise DepartmentsError(f"{where}: {exc}") from None
    return Departments(by_name, source)


def load_departments(path: Path) -> Departments:
    """Read and validate ``path``; DepartmentsError names the file and key."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DepartmentsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise DepartmentsError(f"{path}: not valid YAML: {exc}") from None
    return parse_departments(data, str(path))
