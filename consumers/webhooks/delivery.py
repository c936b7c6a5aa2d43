"""One delivery on its way to a webhook endpoint."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from consumers.webhooks.ordering import Slot


@dataclass(eq=False, slots=True)
class Delivery:
    """A record of a delivery topic (or, replayed, of the webhook DLQ).

    ``topic``/``partition``/``offset`` say where the delivery was written; ``slot`` and
    ``position`` where its progress is committed: the same place when dispatching, the DLQ
    record when replaying one.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp_ms: int
    slot: Slot = ("", 0)
    position: int = -1
    attempts: int = 0
    lane: Hashable | None = field(default=None)

    def __post_init__(self) -> None:
        if self.slot == ("", 0):
            self.slot = (self.topic, self.partition)
        if self.position < 0:
            self.position = self.offset
        if self.key is not None and self.lane is None:
            self.lane = (self.slot, self.topic, self.key)

    @property
    def place(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"
