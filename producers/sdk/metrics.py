"""Prometheus metrics of the publisher SDK (served by whichever service embeds it)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter

EVENTS = Counter(
    "hub_publisher_events_total", "Events the broker acknowledged, by topic", ["topic"]
)
REJECTED = Counter(
    "hub_publisher_rejected_total",
    "Records refused before sending because they do not match the topic's schema",
    ["topic"],
)
FAILED = Counter(
    "hub_publisher_failed_total", "Events sent but not acknowledged by the broker", ["topic"]
)


@dataclass(frozen=True, slots=True)
class TopicMetrics:
    """Label children bound once per topic, so the hot path only increments."""

    events: Counter
    rejected: Counter
    failed: Counter

    @classmethod
    def of(cls, topic: str) -> TopicMetrics:
        return cls(EVENTS.labels(topic), REJECTED.labels(topic), FAILED.labels(topic))
