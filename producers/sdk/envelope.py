"""CloudEvents 1.0 envelope in the Kafka protocol binding, binary mode: the event's metadata as
``ce_*`` headers, the Avro payload as the value. Only metadata: never personal data here."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import Any

SPECVERSION = b"1.0"
CONTENT_TYPE = b"application/avro"
TYPE_PREFIX = "de.hamm."
TIME_FIELD = "occurred_at"
QUALITY_HEADER = "ce_hubquality"
"""CloudEvents extension: the ``flag`` quality rules an event breaks, comma-separated rule
names (never values). It stays on the raw topic: the router passes only the envelope on, since
a flag can say something about a field a subscriber does not receive."""

Headers = list[tuple[str, bytes]]


def event_type(topic: str) -> str:
    """``ce_type`` of a topic: ``buergeramt.resident.moved`` → ``de.hamm.buergeramt.resident.moved``."""
    return TYPE_PREFIX + topic


class _EventIds:
    """Random (version 4) UUIDs in canonical text form, from ``os.urandom`` read 4 KiB at a time.

    One system call per 256 ids instead of one per id (what ``uuid.uuid4`` costs); the pool is
    dropped in a forked child so parent and child never hand out the same ids.
    """

    POOL_BYTES = 4096

    def __init__(self) -> None:
        self._pool = b""
        self._next = 0

    def reset(self) -> None:
        self._pool, self._next = b"", 0

    def __call__(self) -> str:
        if self._next >= len(self._pool):
            self._pool, self._next = os.urandom(self.POOL_BYTES), 0
        raw = bytearray(self._pool[self._next : self._next + 16])
        self._next += 16
        raw[6] = raw[6] & 0x0F | 0x40
        raw[8] = raw[8] & 0x3F | 0x80
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


new_event_id = _EventIds()
os.register_at_fork(after_in_child=new_event_id.reset)


def rfc3339(moment: dt.datetime) -> str:
    """UTC, millisecond precision, ``Z`` suffix; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    elif moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def event_time(record: Mapping[str, Any], time: dt.datetime | None) -> dt.datetime:
    """The event's time: given, else the record's ``occurred_at`` (datetime or epoch millis), else now."""
    if time is not None:
        return time
    occurred = record.get(TIME_FIELD)
    if isinstance(occurred, dt.datetime):
        return occurred
    if isinstance(occurred, int) and not isinstance(occurred, bool):
        return dt.datetime.fromtimestamp(occurred / 1000, dt.UTC)
    return dt.datetime.now(dt.UTC)


def headers(
    *,
    event_id: str,
    source: bytes,
    type_: bytes,
    time: dt.datetime,
    flagged: tuple[str, ...] = (),
) -> Headers:
    """The binary-mode headers, in the order the spec lists them; then the flagged rules."""
    out = [
        ("ce_specversion", SPECVERSION),
        ("ce_id", event_id.encode()),
        ("ce_source", source),
        ("ce_type", type_),
        ("ce_time", rfc3339(time).encode()),
        ("content-type", CONTENT_TYPE),
    ]
    if flagged:
        out.append((QUALITY_HEADER, ",".join(flagged).encode()))
    return out


def flagged_rules(headers: Headers) -> tuple[str, ...]:
    """The flagged rule names an event carries (``ce_hubquality``), for readers of raw topics."""
    for key, value in headers:
        if key == QUALITY_HEADER:
            return tuple(name for name in value.decode().split(",") if name)
    return ()
