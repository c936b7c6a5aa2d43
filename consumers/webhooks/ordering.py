"""Order per key, progress per partition: which delivery may go now, which offsets may commit.

Pure bookkeeping, no I/O. Deliveries arrive in offset order per partition. Each key is a lane:
only the lane's head is being delivered; the next event of that key waits until the head was
acknowledged or given up, so a receiver never sees a later state of an entity before an
earlier one. Different keys go concurrently. A delivery without a key (its agreement drops the
key) has nothing to be ordered by and waits for nobody.

A partition's commit point is the offset after the longest run of finished deliveries from the
start: offsets are committed only past events that were acknowledged or given up, so a crash
redelivers exactly the unfinished ones (and possibly some finished after them; receivers dedupe
by ``webhook-id``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

Slot = tuple[str, int]
"""A topic and partition whose offsets are committed."""


class Ordered(Protocol):
    @property
    def lane(self) -> Hashable | None: ...
    @property
    def slot(self) -> Slot: ...
    @property
    def position(self) -> int: ...


T = TypeVar("T", bound=Ordered)


@dataclass
class _Marks:
    """Offsets of one partition read but not finished, and its commit point."""

    open: deque[int] = field(default_factory=deque)
    done: set[int] = field(default_factory=set)
    commit: int | None = None  # the next offset to read after a restart
    reported: int | None = None

    def finish(self, offset: int) -> None:
        self.done.add(offset)
        while self.open and self.open[0] in self.done:
            first = self.open.popleft()
            self.done.discard(first)
            self.commit = first + 1


class Ordering(Generic[T]):
    """``add`` what was read, ``finish`` what was acknowledged or given up; ``commit_points``
    says which offsets may be committed."""

    def __init__(self) -> None:
        self._lanes: dict[Hashable, deque[T]] = {}
        self._marks: dict[Slot, _Marks] = {}
        self.buffered = 0  # read and not finished

    def add(self, item: T) -> bool:
        """Take ``item`` in; True when it may be delivered now (the head of its lane)."""
        marks = self._marks.get(item.slot)
        if marks is None:
            marks = self._marks[item.slot] = _Marks()
        if marks.open and item.position <= marks.open[-1]:
            raise ValueError(f"{item.slot} offset {item.position} arrived out of order")
        marks.open.append(item.position)
        self.buffered += 1
        lane = item.lane
        if lane is None:
            return True
        queue = self._lanes.get(lane)
        if queue is None:
            self._lanes[lane] = deque((item,))
            return True
        queue.append(item)
        return False

    def finish(self, item: T) -> T | None:
        """``item`` was acknowledged or given up; returns the next of its lane, now free to go."""
        self._marks[item.slot].finish(item.position)
        self.buffered -= 1
        lane = item.lane
        if lane is None:
            return None
        queue = self._lanes[lane]
        if queue[0] is not item:
            raise ValueError(f"{item.slot} offset {item.position} finished before its lane's head")
        queue.popleft()
        if not queue:
            del self._lanes[lane]
            return None
        return queue[0]

    def waiting(self, lane: Hashable) -> int:
        """Deliveries of ``lane`` behind its head."""
        queue = self._lanes.get(lane)
        return len(queue) - 1 if queue else 0

    def commit_points(self, *, all_: bool = False) -> dict[Slot, int]:
        """The commit point of each partition that moved since the last call (``all_``: every
        partition that has one)."""
        out = {}
        for slot, marks in self._marks.items():
            if marks.commit is not None and (all_ or marks.commit != marks.reported):
                out[slot] = marks.commit
                marks.reported = marks.commit
        return out

    def forget(self, slots: Iterable[Slot]) -> int:
        """Drop everything of ``slots`` (partitions given to another instance, or a stop): their
        unfinished deliveries are read again by whoever reads them next. Returns how many."""
        gone = set(slots)
        dropped = 0
        for slot in gone:
            marks = self._marks.pop(slot, None)
            if marks is not None:
                dropped += len(marks.open) - len(marks.done)
        for lane in list(self._lanes):
            kept = deque(i for i in self._lanes[lane] if i.slot not in gone)
            if kept:
                self._lanes[lane] = kept
            else:
                del self._lanes[lane]
        self.buffered -= dropped
        return dropped
