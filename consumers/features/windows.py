"""Windowed aggregation by event time with a watermark: the pure core of the pipeline.

``Aggregator`` holds one view's open windows as plain data. ``add(event, partition)`` puts an
event into every window that contains its time and is still open, and moves the watermark
forward; ``advance(watermark)`` closes the windows the watermark has passed by more than the
allowed lateness and returns their results. A window [start, end) is open until
``end + allowed_lateness <= watermark``: an event older than the watermark whose window is
still open is *late* and counts; one whose windows are all closed is *too late* and is dropped
(the caller counts it).

The watermark is the smallest of the latest event times per input partition (a slow partition
holds it back instead of seeing its events dropped), and never goes back; ``advance`` may push
it further (the wall clock, when configured). It moves per event, so with one partition the
outcome depends only on the order of events in the log, never on how they were batched.

Contributors are kept per window only up to k: the k-anonymity gate needs to know whether there
are at least k, not who they all are (less personal data in the changelog).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from consumers.features.aggregations import FUNCTIONS, AggregationFunction, count_field_add

ANONYMOUS = "\x00anonymous"
"""Contributor of events that name none: all of them together count as one (conservative)."""


class Arrival(Enum):
    ON_TIME = "on_time"
    LATE = "late"  # behind the watermark, but its window was still open
    TOO_LATE = "too_late"  # every window it belongs to had closed: dropped


@dataclass(frozen=True, slots=True)
class FeatureEvent:
    """One delivered event as a view sees it: entity, event time, contributor, values."""

    entity: str
    time_ms: int
    contributor: str | None
    values: tuple[Any, ...]  # one per aggregation, in definition order (None where no field)


@dataclass(frozen=True, slots=True)
class AggregationDef:
    name: str
    fn: str
    has_field: bool = True


@dataclass(frozen=True, slots=True)
class WindowResult:
    view: str
    entity: str
    start_ms: int
    end_ms: int
    features: dict[str, Any]
    events: int
    contributors: int  # distinct contributors, counted up to k


class WindowState:
    """The aggregation state of one (entity, window): plain data, JSON-able via changelog."""

    __slots__ = ("accs", "contributors", "events")

    def __init__(self, accs: list[Any], contributors: set[str] | None = None, events: int = 0):
        self.accs = accs
        self.contributors = contributors if contributors is not None else set()
        self.events = events

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WindowState) and (self.accs, self.contributors, self.events) == (
            other.accs,
            other.contributors,
            other.events,
        )

    def __repr__(self) -> str:
        return f"WindowState(events={self.events}, contributors={len(self.contributors)}, accs={self.accs!r})"


def window_starts(time_ms: int, size: int, slide: int) -> range:
    """Starts of the windows [s, s + size) that contain ``time_ms``; s is a multiple of slide."""
    last = time_ms - time_ms % slide
    return range(last - size + slide, last + 1, slide)


class Aggregator:
    """Open windows of one view. Not thread-safe; one per view per pipeline."""

    def __init__(
        self,
        view: str,
        size_ms: int,
        slide_ms: int,
        lateness_ms: int,
        k: int,
        aggregations: Sequence[AggregationDef],
    ) -> None:
        if size_ms <= 0 or slide_ms <= 0 or size_ms % slide_ms:
            raise ValueError("window size must be a positive multiple of the slide")
        self.view = view
        self.size = size_ms
        self.slide = slide_ms
        self.lateness = lateness_ms
        self.k = k
        self.aggregations = tuple(aggregations)
        self._fns: tuple[AggregationFunction, ...] = tuple(FUNCTIONS[a.fn] for a in aggregations)
        self._adds = tuple(
            count_field_add if a.fn == "count" and a.has_field else FUNCTIONS[a.fn].add
            for a in aggregations
        )
        self.windows: dict[tuple[str, int], WindowState] = {}
        self.watermark: int | None = None
        self.marks: dict[int, int] = {}  # latest event time per input partition
        self._closing: list[int] = []  # heap of close times
        self._by_close: dict[int, set[tuple[str, int]]] = {}
        self.dirty: set[tuple[str, int]] = set()
        self.watermark_moved = False

    # -- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything (before restoring the committed state again)."""
        self.windows.clear()
        self._closing.clear()
        self._by_close.clear()
        self.dirty = set()
        self.watermark = None
        self.marks = {}
        self.watermark_moved = False

    def new_state(self) -> WindowState:
        return WindowState([f.init() for f in self._fns])

    def close_time(self, start: int) -> int:
        return start + self.size + self.lateness

    def put(self, entity: str, start: int, state: WindowState) -> None:
        """Install a window (restore from the changelog)."""
        key = (entity, start)
        if key not in self.windows:
            self._schedule(key)
        self.windows[key] = state

    def _schedule(self, key: tuple[str, int]) -> None:
        close = self.close_time(key[1])
        keys = self._by_close.get(close)
        if keys is None:
            keys = self._by_close[close] = set()
            heapq.heappush(self._closing, close)
        keys.add(key)

    def seed(self, partition: int, time_ms: int) -> None:
        """Announce a partition before its first event: it holds the watermark back from then."""
        if partition not in self.marks:
            self.marks[partition] = time_ms

    # -- the two operations -------------------------------------------------------------------
    def add(self, event: FeatureEvent, partition: int = 0) -> Arrival:
        """Add ``event`` (read from ``partition``) to its open windows; then move the watermark."""
        t = event.time_ms
        wm = self.watermark
        added = False
        contributor = event.contributor if event.contributor is not None else ANONYMOUS
        windows = self.windows
        for start in window_starts(t, self.size, self.slide):
            if wm is not None and start + self.size + self.lateness <= wm:
                continue  # closed (logically, even if advance() has not removed it yet)
            key = (event.entity, start)
            state = windows.get(key)
            if state is None:
                state = windows[key] = self.new_state()
                self._schedule(key)
            state.events += 1
            if len(state.contributors) < self.k:
                state.contributors.add(contributor)
            accs = state.accs
            for i, add in enumerate(self._adds):
                accs[i] = add(accs[i], event.values[i], t)
            self.dirty.add(key)
            added = True
        marks = self.marks
        if t > marks.get(partition, t - 1):
            marks[partition] = t
            low = min(marks.values())
            if wm is None or low > wm:
                self.watermark = low
            self.watermark_moved = True  # the marks are state too
        if not added:
            return Arrival.TOO_LATE
        return Arrival.LATE if wm is not None and t < wm else Arrival.ON_TIME

    def advance(self, watermark: int | None = None) -> list[WindowResult]:
        """Move the watermark to ``watermark`` (if later) and close every window it has passed
        by the allowed lateness; returns their results in close-time order."""
        if watermark is not None and (self.watermark is None or watermark > self.watermark):
            self.watermark = watermark
            self.watermark_moved = True
        wm = self.watermark
        closed: list[WindowResult] = []
        if wm is None:
            return closed
        while self._closing and self._closing[0] <= wm:
            close = heapq.heappop(self._closing)
            for key in sorted(self._by_close.pop(close, ())):
                state = self.windows.pop(key, None)
                if state is None:
                    continue
                self.dirty.add(key)  # gone: the changelog gets a tombstone
                closed.append(self.result(key, state))
        return closed

    def result(self, key: tuple[str, int], state: WindowState) -> WindowResult:
        entity, start = key
        features = {
            a.name: f.result(acc)
            for a, f, acc in zip(self.aggregations, self._fns, state.accs, strict=True)
        }
        return WindowResult(
            self.view,
            entity,
            start,
            start + self.size,
            features,
            state.events,
            len(state.contributors),
        )

    def take_changes(self) -> dict[tuple[str, int], WindowState | None]:
        """Windows changed since the last call: their state, or None for a closed one."""
        changes = {key: self.windows.get(key) for key in self.dirty}
        self.dirty = set()
        return changes

    def dump_accs(self, state: WindowState) -> list[Any]:
        return [f.dump(acc) for f, acc in zip(self._fns, state.accs, strict=True)]

    def load_accs(self, accs: list[Any]) -> list[Any]:
        if len(accs) != len(self._fns):
            raise ValueError(f"{len(accs)} accumulators for {len(self._fns)} aggregations")
        return [f.load(acc) for f, acc in zip(self._fns, accs, strict=True)]
