"""What a webhook request carries: the delivered record as JSON (the hub's one JSON form,
``hub/serde/json.py``; consumers/webhooks/README.md is the subscribers' copy of its table) and
the CloudEvents headers in HTTP binary mode."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from consumers.rights.contract import ERASURE_TYPE
from hub.serde.json import AGREEMENT_HEADER, DELIVERY_HEADER, ENVELOPE, dumps
from hub.serde.json import delivery_id as hub_delivery_id

# CloudEvents context attributes that pass from the delivery's Kafka headers to HTTP headers.
_CE_HEADERS = tuple(ENVELOPE)
# The data-protection officer's erasure request (ERASURE_TYPE) travels the delivery topics like
# a delivery and is pushed like one; it is no delivery, so its own ce_id is its id.
__all__ = ["AGREEMENT_HEADER", "DELIVERY_HEADER", "cloudevent_headers", "json_body"]


def json_body(record: Any) -> bytes:
    """The request body for a decoded delivery."""
    return dumps(record)


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
    if headers.get("ce_type") == ERASURE_TYPE and headers.get("ce_id"):
        return headers["ce_id"]
    if agreement:
        return hub_delivery_id(agreement, topic, partition, offset)
    return f"{topic}/{partition}/{offset}"


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
    if headers.get("ce_type") != ERASURE_TYPE:
        out["ce-hubdelivery"] = header_value(msg_id)
    return out
