"""Agreement versions, kept by content: what was in force when a delivery happened.

Every audit record and receipt names the agreement version it applied by a content hash of the
agreement (its model in JSON, keys sorted). The router writes each version it applies to the
compacted topic ``hub.agreements`` under that hash, so an access request years later can say
which fields went out in which form, after the file in ``catalog/agreements`` has changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hub.agreements.model import Agreement, parse_agreement

HASH_CHARS = 16  # 64 bits of SHA-256: versions of a city's agreements never collide


def agreement_document(agreement: Agreement) -> dict[str, Any]:
    """The agreement as plain JSON data (what its hash covers)."""
    return agreement.model_dump(mode="json")


def agreement_bytes(agreement: Agreement) -> bytes:
    # json, not orjson: an argument may be an integer beyond 64 bits (a bucket width)
    document = agreement_document(agreement)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(agreement: Agreement) -> str:
    """The version's name: the first 16 hex digits of SHA-256 of its sorted JSON."""
    return hashlib.sha256(agreement_bytes(agreement)).hexdigest()[:HASH_CHARS]


def agreement_from_bytes(data: bytes, where: str = "hub.agreements") -> Agreement:
    """A version as stored in ``hub.agreements`` (``where`` names it in errors)."""
    return parse_agreement(json.loads(data), where)
