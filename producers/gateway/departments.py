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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.access.principals import (
    Department,
    PrincipalsError,
    RateLimit,
    load_principals,
    parse_principals,
)
from hub.access.tokens import TokenIndex, hash_token, new_token

__all__ = ["Department", "Departments", "DepartmentsError", "RateLimit", "hash_token", "new_token"]

DepartmentsError = PrincipalsError


@dataclass(frozen=True)
class Departments:
    """All departments, and a lookup from token hash to department."""

    by_name: dict[str, Department]
    source: str = "<memory>"
    _index: TokenIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        owners = {d.name: d.tokens for d in self.by_name.values()}
        try:
            index = TokenIndex(owners, where="tokens")
        except ValueError as exc:
            raise DepartmentsError(f"{self.source}: departments.{exc}") from None
        object.__setattr__(self, "_index", index)

    def authenticate(self, token: str | None) -> Department | None:
        """The department whose token this is, or None."""
        name = self._index.owner(token)
        return self.by_name[name] if name is not None else None


def parse_departments(data: Any, source: str = "<memory>") -> Departments:
    """Validate the YAML data of ``departments.yaml`` (the register of principals)."""
    return Departments(parse_principals(data, source).departments, source)


def load_departments(path: Path) -> Departments:
    """Read and validate ``path``; DepartmentsError names the file and key."""
    return Departments(load_principals(path).departments, str(path))
