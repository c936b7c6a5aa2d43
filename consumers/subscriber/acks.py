"""Which offsets a subscription may commit: pure bookkeeping, no Kafka.

Kafka stores one position per partition, so an acknowledgement can only be committed once every
delivery before it on the same partition is acknowledged too. The tracker keeps, per partition,
the offsets handed to the application in order and the ones acknowledged out of order; the
commit point is the offset after the longest acknowledged prefix. A crash therefore redelivers
exactly the unacknowledged deliveries (and those behind them on the same partition), never
skips one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

Partition = Hashable  # aiokafka's TopicPartition in the SDK, anything hashable in tests


@dataclass(slots=True)
class _Partition:
    outstanding: deque[int] = field(default_factory=deque)  # handed out, not yet committable
    acked: set[int] = field(default_factory=set)  # acknowledged out of order, still outstanding
    commit_point: int | None = None  # next offset to read after a restart
    last: int | None = None  # the offset handed out last
    committed: int | None = None  # the commit point last committed


class AckTracker:
    """Outstanding and acknowledged offsets per partition; offsets are handed out ascending."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: dict[Partition, _Partition] = {}

    def delivered(self, partition: Partition, offset: int) -> None:
        """``offset`` was handed to the application and awaits its acknowledgement."""
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = _Partition()
        elif part.last is not None and offset <= part.last:
            raise ValueError(f"{partition}: offset {offset} handed out after {part.last}")
        part.outstanding.append(offset)
        part.last = offset

    def ack(self, partition: Partition, offset: int) -> bool:
        """Acknowledge one delivery; False if it is not outstanding (acknowledged before, or its
        partition was revoked and forgotten, when another consumer now owns it)."""
        part = self._parts.get(partition)
        if part is None or not part.outstanding or offset < part.outstanding[0]:
            return False
        outstanding = part.outstanding
        if offset == outstanding[0]:  # the common case: in order, no set
            outstanding.popleft()
            part.commit_point = offset + 1
            acked = part.acked
            while acked and outstanding and outstanding[0] in acked:
                done = outstanding.popleft()
                acked.discard(done)
                part.commit_point = done + 1
            return True
        if offset in part.acked or offset > outstanding[-1]:
            return False
        part.acked.add(offset)  # ahead of an unacknowledged one: committable later
        return True

    def skipped(self, partition: Partition, offset: int) -> None:
        """A record the application decided not to read: handed out and acknowledged at once."""
        self.delivered(partition, offset)
        self.ack(partition, offset)

    def committable(self) -> dict[Partition, int]:
        """Partition → commit point, where it moved since the last ``committed``."""
        return {
            tp: part.commit_point
            for tp, part in self._parts.items()
            if part.commit_point is not None and part.commit_point != part.committed
        }

    def committed(self, offsets: dict[Partition, int]) -> None:
        """The broker stored these commit points."""
        for tp, offset in offsets.items():
            part = self._parts.get(tp)
            if part is not None:
                part.committed = offset

    def forget(self, partitions: Iterable[Partition]) -> None:
        """The partitions went to another consumer: their acknowledgements no longer count."""
        for tp in partitions:
            self._parts.pop(tp, None)

    def outstanding(self, partition: Partition | None = None) -> int:
        """Deliveries handed out and not yet acknowledged (of one partition, or all)."""
        parts = self._parts.values() if partition is None else [self._parts.get(partition)]
        return sum(len(p.outstanding) - len(p.acked) for p in parts if p is not None)
