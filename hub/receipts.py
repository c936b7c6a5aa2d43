"""Receipts: who received data about whom, kept for the audit retention, holding no personal data.

Per batch and agreement the router writes one ``DeliveryReceipt`` to ``hub.receipts`` in the
transaction of the deliveries: for each delivered event its source offset (the delivery id is
``<agreement>/<source topic>/<partition>/<offset>``), its event time and a keyed hash of each
``direct`` identifier of the source event. Nothing else of the event.

The hash is HMAC-SHA256 (first 16 bytes) under a receipts key derived from the master secret
with an HKDF ``info`` that no agreement id can take (agreement ids are slugs, never contain a
NUL byte), so no subscriber's key leads to it. Without the key the topic says nothing about a
person; with it, the data-protection officer hashes a resident's identifier and finds every
delivery that carried it (``hub rights access``).

What is hashed is the identifier's value exactly as the event carried it: a string as UTF-8,
an int or long as its decimal digits. The record's ``identifiers`` names the field paths in the
order of each entry's ``hashes``; an absent (null) identifier has a null hash.

Both engines build the entries' bytes the same way (``encode_entries`` is the specification of
``hub_core``'s receipts); the router frames a whole record as header fields (fastavro) followed
by the entries array, which is what Avro's binary encoding of the full record is.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fastavro
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RECEIPTS_INFO = b"\x00hub receipts v1"
HASH_BYTES = 16
DEFAULT_RETENTION_DAYS = 3653  # ten years, the city's audit retention (Art. 30 record)

ENTRY_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "ReceiptEntry",
    "namespace": "de.hamm.hub",
    "doc": "One delivered event.",
    "fields": [
        {"name": "offset", "type": "long", "doc": "Source offset.", "x-pii": "none"},
        {
            "name": "event_time",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "occurred_at of the event, else its Kafka timestamp.",
            "x-pii": "none",
        },
        {
            "name": "hashes",
            "doc": "Keyed hash of each identifier, in the order of the record's identifiers.",
            "x-pii": "none",
            "type": {
                "type": "array",
                "items": ["null", {"type": "fixed", "name": "IdentifierHash", "size": HASH_BYTES}],
            },
        },
    ],
}

RECEIPT_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "DeliveryReceipt",
    "namespace": "de.hamm.hub",
    "doc": "Which events of one batch of one source partition went to a recipient under one "
    "agreement, by keyed hashes of their direct identifiers.",
    "fields": [
        {"name": "agreement_id", "type": "string", "doc": "Agreement id.", "x-pii": "none"},
        {
            "name": "agreement_hash",
            "type": "string",
            "doc": "Content hash of the agreement version applied (hub.agreements).",
            "x-pii": "none",
        },
        {"name": "subscriber", "type": "string", "doc": "Recipient.", "x-pii": "none"},
        {"name": "source_topic", "type": "string", "doc": "Raw topic read.", "x-pii": "none"},
        {"name": "source_partition", "type": "int", "doc": "Its partition.", "x-pii": "none"},
        {"name": "delivery_topic", "type": "string", "doc": "Topic written.", "x-pii": "none"},
        {
            "name": "identifiers",
            "type": {"type": "array", "items": "string"},
            "doc": "Field paths of the source event's direct identifiers that are hashed.",
            "x-pii": "none",
        },
        {
            "name": "recorded_at",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "When the batch was committed.",
            "x-pii": "none",
        },
        {
            "name": "entries",
            "doc": "The delivered events.",
            "x-pii": "none",
            "type": {"type": "array", "items": ENTRY_SCHEMA},
        },
    ],
}

_HEADER_SCHEMA = fastavro.parse_schema(
    {**RECEIPT_SCHEMA, "fields": RECEIPT_SCHEMA["fields"][:-1], "name": "DeliveryReceiptHeader"}
)
_ENTRIES_SCHEMA = fastavro.parse_schema({"type": "array", "items": ENTRY_SCHEMA})
_SCALARS = {"string", "int", "long"}


def receipts_key(master_secret: bytes) -> bytes:
    """The receipts key: HKDF-SHA256 of the master secret, apart from every agreement's keys."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=RECEIPTS_INFO).derive(
        master_secret
    )


def identifier_bytes(value: Any) -> bytes | None:
    """What is hashed of an identifier's value; None for null and for types never hashed."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode("ascii")
    return None


def identifier_hash(key: bytes, value: Any) -> bytes | None:
    """The keyed hash of one identifier value (None when there is nothing to hash)."""
    data = identifier_bytes(value)
    if data is None:
        return None
    return hmac.new(key, data, hashlib.sha256).digest()[:HASH_BYTES]


@dataclass(frozen=True)
class Identifier:
    """A direct identifier of a source schema: its dotted path and its field names on the way."""

    path: str
    names: tuple[str, ...]

    def get(self, record: Any) -> Any:
        at = record
        for name in self.names:
            if not isinstance(at, dict):
                return None
            at = at.get(name)
        return at


def identifiers(schema: dict[str, Any]) -> list[Identifier]:
    """The ``direct`` scalar leaves (string, int, long, or nullable thereof) of a record schema,
    in schema order, reached through records only (not arrays or maps), named types resolved.

    A leaf counts when it is ``direct`` itself, or has no ``x-pii`` of its own inside a record
    marked ``direct``; a leaf's own class wins (an address's postcode is ``quasi``)."""
    named: dict[str, dict[str, Any]] = {}
    out: list[Identifier] = []

    def register(t: Any, namespace: str | None) -> None:
        if isinstance(t, list):
            for branch in t:
                register(branch, namespace)
        elif isinstance(t, dict):
            kind = t.get("type")
            if kind in ("record", "enum", "fixed") and "name" in t:
                ns = t.get("namespace", namespace)
                name = t["name"] if "." in t["name"] or not ns else f"{ns}.{t['name']}"
                named[name] = t
                named.setdefault(t["name"], t)
                if kind == "record":
                    for f in t.get("fields", []):
                        register(f.get("type"), ns)
            elif kind == "array":
                register(t.get("items"), namespace)
            elif kind == "map":
                register(t.get("values"), namespace)

    def resolve(t: Any) -> Any:
        if isinstance(t, str) and t in named:
            return named[t]
        return t

    def leaf(t: Any) -> Any:
        t = resolve(t)
        if isinstance(t, list):
            branches = [resolve(b) for b in t if b != "null"]
            if len(branches) != 1 or len(branches) == len(t):
                return None
            t = branches[0]
        return t

    def walk(record: dict[str, Any], names: tuple[str, ...], direct: bool, seen: set) -> None:
        if id(record) in seen:  # a recursive type: identifiers come from its first level
            return
        seen = seen | {id(record)}
        for f in record.get("fields", []):
            own = f.get("x-pii")
            is_direct = own == "direct" or (direct and own in (None, "direct"))
            t = leaf(f.get("type"))
            here = (*names, f["name"])
            if isinstance(t, dict) and t.get("type") == "record":
                walk(t, here, is_direct, seen)
            elif is_direct:
                scalar = t.get("type") if isinstance(t, dict) and "logicalType" not in t else t
                if isinstance(scalar, str) and scalar in _SCALARS:
                    out.append(Identifier(".".join(here), here))

    register(schema, None)
    walk(schema, (), False, set())
    return out


def _long(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z & ~0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def encode_entry(offset: int, millis: int, hashes_: Sequence[bytes | None]) -> bytes:
    """One ``ReceiptEntry`` in Avro binary (an item of the ``entries`` array)."""
    parts = [_long(offset), _long(millis)]
    if hashes_:
        parts.append(_long(len(hashes_)))
        parts += [b"\x00" if h is None else b"\x02" + h for h in hashes_]
    parts.append(b"\x00")
    return b"".join(parts)


def encode_entries(count: int, items: bytes) -> bytes:
    """The ``entries`` array: one block of ``count`` encoded entries, then the end marker."""
    return _long(count) + items + b"\x00" if count else b"\x00"


def decode_entries(count: int, items: bytes) -> list[dict[str, Any]]:
    """The entries of ``count`` encoded items (as fastavro reads them)."""
    return fastavro.schemaless_reader(io.BytesIO(encode_entries(count, items)), _ENTRIES_SCHEMA)


def encode_receipt(header: dict[str, Any], entries: bytes) -> bytes:
    """A whole ``DeliveryReceipt`` (schemaless Avro): the header fields, then the entries."""
    out = io.BytesIO()
    fastavro.schemaless_writer(out, _HEADER_SCHEMA, header)
    return out.getvalue() + entries


def receipt_header(
    *,
    agreement_id: str,
    agreement_hash: str,
    subscriber: str,
    source_topic: str,
    source_partition: int,
    delivery_topic: str,
    identifier_paths: Iterable[str],
    recorded_at: datetime,
) -> dict[str, Any]:
    return {
        "agreement_id": agreement_id,
        "agreement_hash": agreement_hash,
        "subscriber": subscriber,
        "source_topic": source_topic,
        "source_partition": source_partition,
        "delivery_topic": delivery_topic,
        "identifiers": list(identifier_paths),
        "recorded_at": recorded_at,
    }


def event_millis(value: Any, timestamp_ms: int) -> int:
    """The entry's event time: ``occurred_at`` (an aware datetime: timestamp-millis/micros) in
    epoch ms, rounded down, else the record's Kafka timestamp."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        return (
            delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds
        ) // 1000
    return timestamp_ms


def delivery_id(receipt: dict[str, Any], entry: dict[str, Any]) -> str:
    """The delivery id (``ce_hubdelivery``) of one entry of a decoded receipt."""
    return (
        f"{receipt['agreement_id']}/{receipt['source_topic']}/"
        f"{receipt['source_partition']}/{entry['offset']}"
    )


def matches(
    receipt: dict[str, Any], entry: dict[str, Any], wanted: dict[str, set[bytes]]
) -> list[str]:
    """The identifier paths of ``entry`` whose hash is among ``wanted`` (by identifier name:
    a path's last segment or the whole path, e.g. ``resident_id`` or ``guardian.email``)."""
    found = []
    for path, h in zip(receipt["identifiers"], entry["hashes"], strict=False):
        if h is None:
            continue
        for name in (path, path.rsplit(".", 1)[-1]):
            if h in wanted.get(name, ()):
                found.append(path)
                break
    return found
