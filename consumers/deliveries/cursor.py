"""Stateless, signed cursors of the pull API (pure: no I/O, no clock).

A cursor is where a subscriber stands in one agreement's delivery topic: for each partition the
offset of the next delivery it has not been given. The service keeps nothing; the client sends
the cursor back with its next pull. So a client cannot read what its agreement does not cover by
editing offsets or by replaying a cursor of another agreement, each cursor carries an HMAC-SHA256
tag over the agreement id, the delivery topic and the offsets, keyed by a key derived from the
hub's master secret (HKDF, as the per-agreement pseudonymization keys are).

Wire form (opaque to clients): base64url without padding of

    version (1 byte) · partition count (varint) · per partition, ascending:
    partition delta (varint) · offset (varint) · tag (first 16 bytes of the HMAC)

A 128-bit tag is out of reach for guessing; the offsets are not secret (they are the client's
own position), only unforgeable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = 1
TAG_BYTES = 16
MAX_CURSOR_CHARS = 8192  # far above any real topic's partitions; refuses abuse before decoding
MAX_PARTITIONS = 4096
# The HKDF info of the cursor key. Agreement ids (the info of the pseudonymization keys) are
# lowercase slugs without spaces, so no agreement can ever be given this key.
_KEY_INFO = b"hub-deliveries cursor signing key v1"

Positions = dict[int, int]
"""Partition → offset of the next delivery to hand out."""


class CursorError(ValueError):
    """The cursor is malformed, altered, forged or not issued for this agreement."""


def derive_cursor_key(master_secret: bytes) -> bytes:
    """The signing key of cursors, from the hub's master secret (HKDF-SHA256)."""
    if not isinstance(master_secret, bytes) or len(master_secret) < 16:
        raise ValueError("the master secret must be at least 16 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
        master_secret
    )


def _varint(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise CursorError("cursor: truncated")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise CursorError("cursor: a number in it is too long")


def _scope(agreement_id: str, topic: str) -> bytes:
    # NUL cannot occur in an agreement id or a topic name: the parts cannot run into each other.
    return agreement_id.encode("utf-8") + b"\0" + topic.encode("utf-8") + b"\0"


class CursorCodec:
    """Signs and verifies cursors with one key (``CursorCodec.from_master_secret(secret)``)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a cursor key has at least 16 bytes")
        self._key = key

    @classmethod
    def from_master_secret(cls, master_secret: bytes) -> CursorCodec:
        return cls(derive_cursor_key(master_secret))

    def __repr__(self) -> str:
        return "CursorCodec(<key>)"

    def _tag(self, agreement_id: str, topic: str, body: bytes) -> bytes:
        mac = hmac.new(self._key, _scope(agreement_id, topic), hashlib.sha256)
        mac.update(body)
        return mac.digest()[:TAG_BYTES]

    def encode(self, agreement_id: str, topic: str, positions: Mapping[int, int]) -> str:
        """The cursor of ``positions`` in ``topic``, valid only for ``agreement_id``."""
        if len(positions) > MAX_PARTITIONS:
            raise ValueError(f"at most {MAX_PARTITIONS} partitions fit a cursor")
        body = bytearray([VERSION])
        _varint(len(positions), body)
        previous = -1
        for partition in sorted(positions):
            offset = positions[partition]
            if partition < 0 or offset < 0:
                raise ValueError(f"partition {partition}, offset {offset}: must not be negative")
            _varint(partition - previous - 1, body)
            _varint(offset, body)
            previous = partition
        raw = bytes(body) + self._tag(agreement_id, topic, bytes(body))
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def decode(self, agreement_id: str, topic: str, cursor: str) -> Positions:
        """The positions of ``cursor``; CursorError (with a reason for the client) unless it was
        issued by this hub for ``agreement_id`` on ``topic`` and is unaltered."""
        if not cursor:
            raise CursorError("cursor: empty (leave the parameter out to start at the beginning)")
        if len(cursor) > MAX_CURSOR_CHARS:
            raise CursorError(f"cursor: longer than {MAX_CURSOR_CHARS} characters")
        if not cursor.isascii():
            raise CursorError("cursor: not a cursor of this API (not base64url)")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise CursorError("cursor: not a cursor of this API (not base64url)") from None
        if len(raw) < 1 + TAG_BYTES + 1:
            raise CursorError("cursor: too short to be a cursor of this API")
        body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        # The tag first: nothing of an unsigned cursor is interpreted (and no reason beyond
        # "not valid here" is given, so a forger learns nothing).
        if not hmac.compare_digest(tag, self._tag(agreement_id, topic, body)):
            raise CursorError(
                f"cursor: not valid for agreement {agreement_id}: altered, forged, or issued "
                "for another agreement or delivery topic (start again without a cursor)"
            )
        if body[0] != VERSION:
            raise CursorError(f"cursor: unknown version {body[0]}")
        count, at = _read_varint(body, 1)
        if count > MAX_PARTITIONS:
            raise CursorError(f"cursor: more than {MAX_PARTITIONS} partitions")
        positions: Positions = {}
        partition = -1
        for _ in range(count):
            delta, at = _read_varint(body, at)
            offset, at = _read_varint(body, at)
            partition += delta + 1
            positions[partition] = offset
        if at != len(body):
            raise CursorError("cursor: trailing bytes")
        return positions
