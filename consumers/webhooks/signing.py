"""Standard Webhooks signatures (https://www.standardwebhooks.com/), both sides.

The sender signs ``<webhook-id>.<webhook-timestamp>.<body>`` with HMAC-SHA256 under each secret
in force and sends ``webhook-signature: v1,<base64> [v1,<base64> ...]``; during a rotation that
is one signature per secret, so a receiver holding either the old or the new secret accepts.
A secret is ``whsec_`` followed by the base64 of 24 to 64 random bytes (the specification's
recommendation). ``verify`` is the receiver's side for Python; any language does the same in a
few lines (consumers/webhooks/README.md), and the reference ``standardwebhooks`` library
interoperates both ways (tests/unit/test_webhooks_signing.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
# How far a webhook-timestamp may be from the receiver's clock (replayed captures are refused).
DEFAULT_TOLERANCE = 300


class SecretFormatError(ValueError):
    """A signing secret is not ``whsec_<base64 of 24..64 bytes>`` (the message never holds it)."""


class WebhookVerificationError(ValueError):
    """A received webhook is not signed by the secret, or is too old or too new."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise SecretFormatError(f"a signing secret starts with {SECRET_PREFIX!r}")
    text = secret[len(SECRET_PREFIX) :].strip()
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SecretFormatError(f"the part after {SECRET_PREFIX!r} is not base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise SecretFormatError(
            f"a signing secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, "
            f"this one {len(key)}"
        )
    return key


def generate_secret(size: int = 32) -> str:
    """A fresh ``whsec_`` secret of ``size`` random bytes."""
    if not MIN_SECRET_BYTES <= size <= MAX_SECRET_BYTES:
        raise ValueError(f"size must be {MIN_SECRET_BYTES}..{MAX_SECRET_BYTES}")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(size)).decode()


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    mac = hmac.new(key, b"%s.%d.%s" % (msg_id.encode(), timestamp, body), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def sign(msg_id: str, timestamp: int, body: bytes, keys: Sequence[bytes]) -> str:
    """The ``webhook-signature`` header: one signature per key, space-separated."""
    if not keys:
        raise ValueError("at least one signing key is needed")
    return " ".join(signature(key, msg_id, timestamp, body) for key in keys)


def signed_headers(
    msg_id: str, body: bytes, keys: Sequence[bytes], timestamp: int | None = None
) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` (now, unless given) and ``webhook-signature``."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(msg_id, ts, body, keys),
    }


def verify(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Any:
    """Check a received webhook and return its JSON body.

    ``headers``: the request's headers (any mapping; names are matched case-insensitively).
    ``secret``: the subscription's ``whsec_`` secret, or several while rotating. Raises
    WebhookVerificationError when a header is missing, the timestamp is more than ``tolerance``
    seconds off, or no ``v1`` signature matches. Dedupe by ``webhook-id``: a retried or
    replayed delivery carries the same one.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    given = lower.get("webhook-signature")
    if not (msg_id and stamp and given):
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp {stamp!r} is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {current - timestamp:+.0f} s off this clock "
            f"(tolerance {tolerance} s)"
        )
    data = body.encode() if isinstance(body, str) else bytes(body)
    secrets_ = [secret] if isinstance(secret, str) else list(secret)
    try:
        expected = [
            signature(signing_key(s), msg_id, timestamp, data).partition(",")[2].encode()
            for s in secrets_
        ]
    except SecretFormatError as error:
        raise WebhookVerificationError(f"the receiver's secret is unusable: {error}") from None
    for candidate in given.split():
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        if any(hmac.compare_digest(value.encode(), e) for e in expected):
            return orjson.loads(data) if data else None
    raise WebhookVerificationError("no v1 signature matches the secret")
