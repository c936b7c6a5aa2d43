"""The master secret from which every agreement's pseudonymization key is derived (HKDF)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger("hub.secret")

DEMO_SECRET_FILE = Path(".hub/secret")
MIN_BYTES = 32


class SecretError(ValueError):
    """The master secret file is missing, unreadable or too short."""


def load_master_secret(path: Path | None) -> bytes:
    """Read HUB_SECRET_FILE; without one, create a random demo secret once under .hub/.

    Production sets HUB_SECRET_FILE and backs the file up: a lost secret changes every
    pseudonym, a leaked one lets its holder link pseudonyms back to ids.
    """
    if path is None:
        path = DEMO_SECRET_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(MIN_BYTES) + "\n")
            log.warning(
                "created a demo master secret; set HUB_SECRET_FILE in production",
                extra={"file": str(path)},
            )
    try:
        secret = _content(path.read_bytes())
    except OSError as exc:
        raise SecretError(f"HUB_SECRET_FILE {path}: cannot read: {exc.strerror}") from None
    if len(secret) < MIN_BYTES:
        raise SecretError(
            f"HUB_SECRET_FILE {path}: {len(secret)} bytes, need at least {MIN_BYTES} random bytes"
        )
    return secret


def _content(raw: bytes) -> bytes:
    """A text secret (hex, base64, a passphrase) loses its surrounding whitespace, such as the
    newline editors add; random binary bytes are taken as they are."""
    if raw.isascii() and all(32 <= b < 127 or b in b"\t\r\n" for b in raw):
        return raw.strip()
    return raw
