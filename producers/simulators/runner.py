"""Run a simulation: draw events from the seeded generators and publish them at a steady rate.

Pacing is a token bucket on the monotonic clock: every tick publishes the events that are due
(``rate`` per second since the start), so a slow tick is caught up in the next batch rather
than lost. Event times follow a simulated clock (``start + i / rate``), so a seed and a start
time give exactly the same events. Sends do not wait for each acknowledgement; the futures are
tracked and counted (acknowledged, failed) per topic and per department for a live view.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from producers.simulators.events import generate
from producers.simulators.mix import TopicMix, department

if TYPE_CHECKING:
    from producers.sdk import PublishedEvent, Publisher

log = logging.getLogger(__name__)

TICK_SECONDS = 0.05
MAX_BATCH = 5_000  # per tick, so a burst cannot hold the loop for long


@dataclass
class SimulationStats:
    """Live counts of a simulation (updated while it runs)."""

    planned: int = 0
    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)
    by_department: Counter[str] = field(default_factory=Counter)
    started_at: float = field(default_factory=time.monotonic)
    finished_at: float | None = None

    @property
    def elapsed(self) -> float:
        return (self.finished_at or time.monotonic()) - self.started_at

    @property
    def rate(self) -> float:
        """Acknowledged events per second so far."""
        return self.acknowledged / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "planned": self.planned,
            "sent": self.sent,
            "acknowledged": self.acknowledged,
            "failed": self.failed,
            "elapsed_s": round(self.elapsed, 3),
            "events_per_s": round(self.rate, 1),
            "by_department": dict(sorted(self.by_department.items())),
            "by_topic": dict(sorted(self.by_topic.items())),
        }


def plan(
    count: int,
    *,
    seed: int,
    rate: float,
    start: dt.datetime,
    topics: Iterable[str] | None = None,
    time_scale: float = 1.0,
) -> Iterable[tuple[str, str, dict]]:
    """The simulation's events, lazily: (topic, key, record), the same for the same arguments.

    Event ``i`` happens at ``start + i / rate × time_scale`` seconds: ``time_scale`` 60 turns
    each real second into a simulated minute (an hour of city life in a one-minute demo).
    """
    mix = TopicMix(topics)
    rng = random.Random(seed)
    step = time_scale / rate
    for index in range(count):
        topic = mix.draw(rng)
        key, record = generate(topic, rng, start + dt.timedelta(seconds=index * step))
        yield topic, key, record


async def run_simulation(
    publisher: Publisher,
    topics: Iterable[str] | None = None,
    rate: float = 50.0,
    duration: float = 60.0,
    seed: int = 42,
    *,
    start: dt.datetime | None = None,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[SimulationStats], None] | None = None,
    stats: SimulationStats | None = None,
    rename: Callable[[str], str] | None = None,
    time_scale: float = 1.0,
) -> SimulationStats:
    """Publish ``rate × duration`` simulated events over ``duration`` seconds.

    ``stop`` ends the run early (e.g. on SIGTERM): nothing more is generated, everything sent is
    awaited. ``stats`` (pass your own to watch it live) and ``on_progress`` (called every tick)
    give the counts. ``rename`` maps a catalog topic to the topic actually written (isolated
    test worlds, a shared cluster); counts stay by catalog topic. Returns when every sent event
    is acknowledged or has failed. ``time_scale``: simulated seconds per real second (see
    ``plan``); ``start`` (default: now) is the simulated clock's first reading.
    """
    if rate <= 0 or duration < 0 or time_scale <= 0:
        raise ValueError(
            "rate and time_scale must be > 0 and duration >= 0, "
            f"got rate={rate}, duration={duration}, time_scale={time_scale}"
        )
    mix = TopicMix(topics)
    target = rename or (lambda topic: topic)
    for topic in mix.topics:
        await publisher.prepare(target(topic))
    stats = stats or SimulationStats()
    stats.planned = round(rate * duration)
    stats.started_at = time.monotonic()
    start = start or dt.datetime.now(dt.UTC).replace(microsecond=0)
    events = iter(
        plan(
            stats.planned,
            seed=seed,
            rate=rate,
            start=start,
            topics=mix.topics,
            time_scale=time_scale,
        )
    )
    pending: set[asyncio.Future[PublishedEvent]] = set()

    def settled(topic: str, future: asyncio.Future[PublishedEvent]) -> None:
        pending.discard(future)
        if future.cancelled() or future.exception() is not None:
            stats.failed += 1
            return
        stats.acknowledged += 1
        stats.by_topic[topic] += 1
        stats.by_department[department(topic)] += 1

    try:
        while stats.sent < stats.planned and not (stop is not None and stop.is_set()):
            due = min(stats.planned, int((time.monotonic() - stats.started_at) * rate) + 1)
            for topic, key, record in _take(events, min(due - stats.sent, MAX_BATCH)):
                future = await publisher.send(target(topic), record, key=key)
                stats.sent += 1
                pending.add(future)
                future.add_done_callback(lambda f, t=topic: settled(t, f))
            if on_progress is not None:
                on_progress(stats)
            if stats.sent < stats.planned:
                await _sleep_until_due(stats, rate, stop)
        if pending:
            await asyncio.wait(list(pending))
    finally:
        stats.finished_at = time.monotonic()
        if on_progress is not None:
            on_progress(stats)
    return stats


def _take(events: Iterable[tuple[str, str, dict]], count: int) -> list[tuple[str, str, dict]]:
    batch = []
    for item in events:
        batch.append(item)
        if len(batch) >= count:
            break
    return batch


async def _sleep_until_due(stats: SimulationStats, rate: float, stop: asyncio.Event | None) -> None:
    next_due = stats.started_at + stats.sent / rate
    delay = max(0.0, min(TICK_SECONDS, next_due - time.monotonic()))
    if stop is None:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
