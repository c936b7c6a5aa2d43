"""Per-agreement keys for pseudonyms and date shifts, derived from the hub's master secret.

HKDF-SHA256 with the agreement id as `info` gives every agreement its own key, so two
subscribers cannot join their pseudonyms. The date-shift key is derived separately: were the
shift taken from the same HMAC as the pseudonym, a subscriber could compute it from the
pseudonymized key and undo the shift.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET_BYTES = 16
PSEUDONYM_BYTES = 16  # 128 bits of the HMAC: collisions are out of reach for city-sized data
_BLOCK = 64  # SHA-256 block size
_URLSAFE = bytes.maketrans(b"+/", b"-_")


@dataclass(frozen=True, slots=True, repr=False)
class AgreementKeys:
    """Key material of one agreement (repr hides the keys)."""

    key_id: str
    pseudonym_key: bytes
    shift_key: bytes

    def __repr__(self) -> str:
        return f"AgreementKeys(key_id={self.key_id!r})"


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def derive_keys(master_secret: bytes, agreement_id: str) -> AgreementKeys:
    """Derive the keys of one agreement; the key id is a short fingerprint of its pseudonym key."""
    if not isinstance(master_secret, bytes) or len(master_secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the master secret must be at least {MIN_SECRET_BYTES} bytes")
    info = agreement_id.encode("utf-8")
    pseudonym_key = _hkdf(master_secret, info)
    shift_key = _hkdf(master_secret, info + b"\x00date_shift")
    key_id = hashlib.sha256(pseudonym_key).hexdigest()[:8]
    return AgreementKeys(key_id=key_id, pseudonym_key=pseudonym_key, shift_key=shift_key)


def _hmac_sha256(key: bytes) -> Callable[[bytes], bytes]:
    """HMAC-SHA256 (RFC 2104) with the padded key hashed once; twice as fast as `hmac.digest`.

    Equal to `hmac.digest(key, data, "sha256")` (the tests check it).
    """
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy

    def mac(data: bytes) -> bytes:
        i = inner()
        i.update(data)
        o = outer()
        o.update(i.digest())
        return o.digest()

    return mac


def pseudonymizer(keys: AgreementKeys) -> Callable[[bytes], str]:
    """`bytes → "<key_id>.<base64url(HMAC-SHA256)[:16 bytes]>"`, deterministic per agreement."""
    mac = _hmac_sha256(keys.pseudonym_key)
    prefix = keys.key_id + "."
    b64 = binascii.b2a_base64
    chars = (PSEUDONYM_BYTES * 4 + 2) // 3  # unpadded base64 length
    urlsafe = _URLSAFE
    # The key and the id field usually carry the same entity id: remember the last one.
    last: list[tuple[bytes | None, str]] = [(None, "")]

    def pseudonym(data: bytes) -> str:
        seen, out = last[0]
        if seen == data:
            return out
        digest = mac(data)[:PSEUDONYM_BYTES]
        # [:chars] cuts the padding and the newline b2a_base64 appends
        out = prefix + b64(digest)[:chars].translate(urlsafe).decode("ascii")
        last[0] = (data, out)
        return out

    return pseudonym


def shift_days(keys: AgreementKeys, max_days: int) -> Callable[[bytes], int]:
    """`entity key → offset in [-max_days, max_days]`, the same for every record of the entity."""
    mac = _hmac_sha256(keys.shift_key)
    span = 2 * max_days + 1

    def offset(entity: bytes) -> int:
        # 64 bits mod a few hundred: the bias is far below anything observable
        return int.from_bytes(mac(entity)[:8], "big") % span - max_days

    return offset


def key_bytes(key: str | bytes | None) -> bytes | None:
    """The message key as bytes (str keys as UTF-8), so str and bytes keys pseudonymize alike."""
    if key is None or isinstance(key, bytes):
        return key
    return key.encode("utf-8")
