"""Which event types a simulation draws, how often: the demo's mix of a city day.

Weights are events per 100 of the stream; the absolute rate is the runner's. At the demo's
50 events/s that is ~9 noise complaints a second across the seven districts (far more than
"several per district per hour"), and an air-quality value every ~0.3 s (each of the six
stations every couple of seconds), so the feature store has full windows after a minute.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from producers.simulators.events import GENERATORS

WEIGHTS: dict[str, float] = {
    "ordnungsamt.noise-complaint.filed": 18,
    "ordnungsamt.parking-violation.recorded": 16,
    "umweltamt.air-quality.measured": 12,
    "buergeramt.resident.moved": 10,
    "buergeramt.resident.registered": 5,
    "buergeramt.resident.deregistered": 4,
    "tiefbauamt.street-damage.reported": 6,
    "tiefbauamt.roadworks.started": 3,
    "tiefbauamt.roadworks.finished": 2,
    "umweltamt.tree.inspected": 5,
    "bauordnungsamt.building-permit.applied": 3,
    "bauordnungsamt.building-permit.decided": 3,
    "feuerwehr.hydrant.inspected": 4,
    "feuerwehr.incident.closed": 3,
    "jugendamt.daycare-place.requested": 3,
    "jugendamt.daycare-place.allocated": 3,
}


def department(topic: str) -> str:
    return topic.split(".", 1)[0]


class TopicMix:
    """Draws topics by weight from a chosen subset (unknown topics are refused up front)."""

    def __init__(self, topics: Iterable[str] | None = None) -> None:
        chosen: Sequence[str] = sorted(set(topics)) if topics else sorted(GENERATORS)
        unknown = [t for t in chosen if t not in GENERATORS]
        if unknown:
            raise ValueError(
                f"no simulator for topic(s) {', '.join(unknown)}; known: {', '.join(sorted(GENERATORS))}"
            )
        self.topics = list(chosen)
        self._weights = [WEIGHTS.get(t, 1.0) for t in self.topics]

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.topics, self._weights)[0]
