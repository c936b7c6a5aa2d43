"""What a webhook request carries: the delivered record as JSON and the CloudEvents headers.

The body is the record fastavro decodes from the delivery (the agreement's derived schema), in
JSON as follows; consumers/webhooks/README.md is the subscribers' copy of this table:

==========================================  ==================================================
Avro type                                   JSON
==========================================  ==================================================
null, boolean, int, long, string            null, true/false, number, number, string
float, double                               number; NaN and ±Infinity as the strings
                                            ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
enum                                        its symbol, a string
record, map / array                         object / array
union                                       the plain value of the branch (no type wrapper)
bytes, fixed                                base64 string (RFC 4648, with padding)
decimal (bytes or fixed)                    string in plain notation with all the scale's
                                            digits, e.g. ``"55.00"``, ``"0.0000001"``
timestamp-millis / -micros                  ISO 8601 in UTC: ``"2026-11-02T10:30:00.123000Z"``
                                            (fraction only when not zero)
local-timestamp-millis / -micros            ISO 8601 without offset
date                                        ``"2026-11-02"``
time-millis / -micros                       ``"10:30:00.250000"``
uuid                                        ``"8c9b…"`` (canonical form)
==========================================  ==================================================

Numbers stay numbers (a long above 2^53 loses precision in JavaScript; no hub schema has one).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import orjson

_OPTIONS = orjson.OPT_UTC_Z
# CloudEvents context attributes that pass from the delivery's Kafka headers to HTTP headers.
_CE_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time")
AGREEMENT_HEADER = "ce_hubagreement"
DELIVERY_HEADER = "ce_hubdelivery"


def _default(value: Any) -> Any:
    """What orjson cannot write itself (it does datetime, date, time, UUID, enums)."""
    if isinstance(value, Decimal):
        return format(value, "f")  # plain notation: str() would write 1E-7
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode()
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats as strings (JSON has no NaN; orjson would write null)."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _has_nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_nonfinite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nonfinite(v) for v in value)
    return False


def json_body(record: Any) -> bytes:
    """The request body for a decoded delivery (see the table above)."""
    if _has_nonfinite(record):  # rare: only then is the record copied
        record = _finite(record)
    return orjson.dumps(record, default=_default, option=_OPTIONS)


def header_value(value: str) -> str:
    """A CloudEvents attribute as an HTTP header value: percent-encoded where the HTTP binding
    says so (space, double quote, percent, and everything outside printable ASCII)."""
    if value.isascii() and value.isprintable() and not any(c in value for c in ' "%'):
        return value
    return quote(value, safe="!#$&'()*+,-./:;<=>?@[]^_`{|}~")


def header_map(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    """A delivery's Kafka headers as text (the last one wins, as for HTTP)."""
    return {k: (v or b"").decode("utf-8", "replace") for k, v in headers}


def delivery_id(
    headers: dict[str, str], topic: str, partition: int, offset: int, agreement: str | None = None
) -> str:
    """The idempotency key: the router's ``ce_hubdelivery``; for a record without one (not
    written by the router) its own place in the delivery topic, in the form the pull API uses
    too (``<agreement>/<delivery topic>/<partition>/<offset>``), which is stable as well."""
    found = headers.get(DELIVERY_HEADER)
    if found:
        return found
    place = f"{topic}/{partition}/{offset}"
    return f"{agreement}/{place}" if agreement else place


def cloudevent_headers(
    headers: dict[str, str], msg_id: str, agreement: str | None = None
) -> dict[str, str]:
    """The CloudEvents HTTP binary-mode headers of one delivery (without the signature);
    ``agreement``: the one the delivery topic belongs to, when the record does not say."""
    out = {"content-type": "application/json"}
    for name in _CE_HEADERS:
        value = headers.get(name)
        if value:
            out["ce-" + name[3:]] = header_value(value)
    out.setdefault("ce-specversion", "1.0")
    out.setdefault("ce-id", header_value(msg_id))
    agreement = headers.get(AGREEMENT_HEADER) or agreement
    if agreement:
        out["ce-hubagreement"] = header_value(agreement)
    out["ce-hubdelivery"] = header_value(msg_id)
    return out
