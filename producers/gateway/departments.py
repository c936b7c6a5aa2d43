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

from hub.access.principals import (
    HASH_PREFIX,
    Department,
    PrincipalsError,
    RateLimit,
    load_principals,
    parse_principals,
)

__all__ = ["Department", "Departments", "DepartmentsError", "RateLimit", "hash_token", "new_token"]

TOKEN_PREFIX = "hub_"
DepartmentsError = PrincipalsError


def new_token() -> str:
    """A fresh random API token (256 bits, URL-safe)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What ``departments.yaml`` stores for ``token``: ``sha256:<hex>``."""
    return HASH_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


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
    """Validate the YAML data of ``departments.yaml`` (the register of principals)."""
    return Departments(parse_principals(data, source).departments, source)


def load_departments(path: Path) -> Departments:
    """Read and validate ``path``; DepartmentsError names the file and key."""
    return Departments(load_principals(path).departments, str(path))
