"""Delivered records as JSON: the one form the hub's HTTP ways out (webhooks, pull API) write.

The record is what fastavro decodes from a delivery (the agreement's derived schema), written
by these rules (the gateway takes the same on the way in):

| Avro type | JSON |
|---|---|
| null, boolean, string | null, true/false, string |
| int, long | number (a long beyond ±2^53 loses precision in JavaScript) |
| float, double | number; NaN and ±Infinity as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (protobuf's JSON mapping: ``null`` would break a non-null field) |
| enum | its symbol, a string |
| record, map / array | object / array |
| union | the value of the branch itself (``"x"`` or null), not Avro JSON's ``{"string": "x"}`` |
| bytes, fixed | base64 string (RFC 4648, with padding) |
| decimal | string in plain notation with all the scale's digits: ``"12.50"``, ``"0.0000001"`` |
| date | ``"2026-11-25"`` |
| time-millis, time-micros | ``"09:30:00"``, ``.ffffff`` when the fraction is not zero |
| timestamp-millis, timestamp-micros | RFC 3339 in UTC: ``"2026-11-25T08:30:00Z"``, ``.ffffff`` when the fraction is not zero |
| local-timestamp-millis/-micros | the same without the ``Z`` (a wall-clock time) |
| uuid | canonical string |

Also here: the router's delivery headers and the delivery id, the idempotency key everywhere.
"""

from __future__ import annotations

import base64
import math
from decimal import Decimal
from typing import Any

import orjson

AGREEMENT_HEADER = "ce_hubagreement"
DELIVERY_HEADER = "ce_hubdelivery"
# Kafka header → CloudEvents attribute, for the envelope the router passes through.
ENVELOPE = {
    "ce_specversion": "specversion",
    "ce_id": "id",
    "ce_source": "source",
    "ce_type": "type",
    "ce_time": "time",
}
_OPTIONS = orjson.OPT_UTC_Z


def _default(value: Any) -> Any:
    """What orjson cannot write itself (it does datetime, date, time, UUID, enums)."""
    if isinstance(value, Decimal):
        return format(value, "f")  # plain notation: str() would write 1E-7
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
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


def dumps(value: Any) -> bytes:
    """``value`` (a decoded record, an event, a batch of events) as JSON by the rules above."""
    if _has_nonfinite(value):  # rare: only then is the value copied
        value = _finite(value)
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def delivery_id(agreement_id: str, topic: str, partition: int, offset: int) -> str:
    """The id of a delivery without a ``ce_hubdelivery`` header (not written by the router):
    its own place in the delivery topic, in the router's form."""
    return f"{agreement_id}/{topic}/{partition}/{offset}"
