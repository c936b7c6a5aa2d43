"""Erasure requests as a subscriber receives them: not deliveries, but the data-protection
officer's request (Art. 17 DSGVO, notified under Art. 19) to erase what the subscriber received
about one person, who is named only by the pseudonyms this subscriber already holds.

A request arrives on a delivery topic as an event of type ``de.hamm.hub.erasure-requested``
(header ``ce_type``) under its own schema (``de.hamm.hub.ErasureRequested``). The SDK never
hands it out as a ``Delivery``: it calls the subscription's ``on_erasure`` hook with an
``ErasureRequest``, whose ``confirm()`` answers the hub once the data is gone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from consumers.rights.contract import ERASURE_TYPE

TYPE_HEADER = "ce_type"


def is_erasure(headers: Sequence[tuple[str, bytes]]) -> bool:
    """Whether a delivery topic's record is an erasure request (its ``ce_type``)."""
    for name, value in headers:
        if name == TYPE_HEADER:
            return value == _ERASURE_TYPE
    return False


_ERASURE_TYPE = ERASURE_TYPE.encode()


@dataclass(frozen=True, slots=True)
class ErasureScope:
    """What to erase under one agreement: the person's pseudonyms per delivered field (as this
    subscriber received them), its pseudonymized message keys, the delivery ids concerned."""

    agreement_id: str
    agreement_version: str
    delivery_topic: str
    pseudonyms: tuple[tuple[str, str], ...]  # (field path, pseudonym)
    key_pseudonyms: tuple[str, ...]
    delivery_ids: tuple[str, ...]
    first_delivered: dt.datetime
    last_delivered: dt.datetime

    def pseudonyms_of(self, path: str) -> list[str]:
        return [p for f, p in self.pseudonyms if f == path]


@dataclass(eq=False)
class ErasureRequest:
    """An erasure request: ``case`` (quote it), what to erase (``agreements``), why
    (``legal_ground``); ``await request.confirm()`` when it is done."""

    request_id: str
    case: str
    subscriber: str
    agreements: tuple[ErasureScope, ...]
    legal_ground: str
    confirm_topic: str
    requested_at: dt.datetime
    topic: str
    partition: int
    offset: int
    cloudevent: dict[str, str] = field(default_factory=dict)
    _confirm: Callable[[ErasureRequest, str | None], Awaitable[None]] | None = field(
        default=None, repr=False
    )

    @property
    def delivery_ids(self) -> list[str]:
        return [d for a in self.agreements for d in a.delivery_ids]

    @property
    def pseudonyms(self) -> set[str]:
        """Every pseudonym of the person in this request (fields and keys)."""
        return {p for a in self.agreements for _, p in a.pseudonyms} | {
            k for a in self.agreements for k in a.key_pseudonyms
        }

    async def confirm(self, note: str | None = None) -> None:
        """Tell the hub the data is erased: a confirmation on this subscriber's own topic
        (``confirm_topic``), written as the subscription's principal. ``note``: free text such
        as your file number (no personal data)."""
        if self._confirm is None:
            raise RuntimeError(f"erasure request {self.request_id}: not from a subscription")
        await self._confirm(self, note)


def erasure_request(
    record: Any,
    value: dict[str, Any],
    cloudevent: dict[str, str],
    confirm: Callable[[ErasureRequest, str | None], Awaitable[None]] | None = None,
) -> ErasureRequest:
    """The typed request of a decoded ``ErasureRequested`` (``record``: where it was read)."""
    scopes = tuple(
        ErasureScope(
            agreement_id=a["agreement_id"],
            agreement_version=a["agreement_version"],
            delivery_topic=a["delivery_topic"],
            pseudonyms=tuple((p["field"], p["pseudonym"]) for p in a["pseudonyms"]),
            key_pseudonyms=tuple(a["key_pseudonyms"]),
            delivery_ids=tuple(a["delivery_ids"]),
            first_delivered=a["first_delivered"],
            last_delivered=a["last_delivered"],
        )
        for a in value["agreements"]
    )
    return ErasureRequest(
        request_id=value["request_id"],
        case=value["case"],
        subscriber=value["subscriber"],
        agreements=scopes,
        legal_ground=value["legal_ground"],
        confirm_topic=value["confirm_topic"],
        requested_at=value["requested_at"],
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        cloudevent=cloudevent,
        _confirm=confirm,
    )


ErasureHook = Callable[[ErasureRequest], Awaitable[None]]
"""``on_erasure``: called with each request, in order with the deliveries around it."""
