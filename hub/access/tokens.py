"""Bearer tokens of principals (the gateway's and the pull API's): 256-bit random values, of
which the catalog keeps only the SHA-256 hash (a fast hash is enough: nothing to brute-force).
Several hashes a principal allow rotation: add the new one, switch the system over, remove the
old one."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping

TOKEN_PREFIX = "hub_"
HASH_PREFIX = "sha256:"


def new_token() -> str:
    """A fresh random API token (256 bits, URL-safe)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the catalog stores for ``token``: ``sha256:<hex>``."""
    return HASH_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_hashes(hashes: tuple[str, ...]) -> tuple[str, ...]:
    """Validate token hashes as written in the catalog; ValueError names the bad one."""
    for index, value in enumerate(hashes):
        hexpart = value.removeprefix(HASH_PREFIX)
        if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
            raise ValueError(
                f"tokens[{index}]: expected 'sha256:' and 64 lowercase hex digits "
                "(the hash a `... token` command printed, never the token itself)"
            )
    return tuple(HASH_PREFIX + h.removeprefix(HASH_PREFIX) for h in hashes)


class TokenIndex:
    """Whose token is this: a lookup from token hash to the principal that owns it."""

    def __init__(self, owners: Mapping[str, Iterable[str]], *, where: str = "tokens") -> None:
        """``owners``: principal -> its token hashes. A hash listed for two principals is a
        ValueError naming both (``where`` says which key of the catalog)."""
        self._owner: dict[str, str] = {}
        for name, hashes in owners.items():
            for token_hash in hashes:
                other = self._owner.get(token_hash)
                if other is not None and other != name:
                    raise ValueError(
                        f"{where} of {name}: the same token hash is also listed for {other}"
                    )
                self._owner[token_hash] = name

    def owner(self, token: str | None) -> str | None:
        """The principal whose token this is, or None."""
        if not token:
            return None
        # A lookup by the SHA-256 of the token: its timing says nothing about the token.
        return self._owner.get(hash_token(token))
