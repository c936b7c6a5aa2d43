"""Prometheus metrics of the publisher SDK (served by whichever service embeds it)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
QUALITY_REJECTED = Counter(
    "hub_publisher_quality_rejected_total",
    "Records refused because they break a reject quality rule of the contract, by topic and rule",
    ["topic", "rule"],
)
QUALITY_FLAGGED = Counter(
    "hub_publisher_quality_flagged_total",
    "Acknowledged events that break a flag quality rule of the contract, by topic and rule",
    ["topic", "rule"],
)


@dataclass(frozen=True, slots=True)
class TopicMetrics:
    """Label children bound once per topic, so the hot path only increments."""

    events: Counter
    rejected: Counter
    failed: Counter
    topic: str = ""
    _rules: dict[tuple[str, str], Counter] = field(default_factory=dict)

    @classmethod
    def of(cls, topic: str) -> TopicMetrics:
        return cls(EVENTS.labels(topic), REJECTED.labels(topic), FAILED.labels(topic), topic)

    def quality(self, severity: str, rule: str) -> Counter:
        """The counter of one rule (``reject``: refused, ``flag``: flagged), bound once."""
        child = self._rules.get((severity, rule))
        if child is None:
            family = QUALITY_REJECTED if severity == "reject" else QUALITY_FLAGGED
            child = self._rules[(severity, rule)] = family.labels(self.topic, rule)
        return child

    def count_flags(self, flagged: tuple[str, ...], n: int = 1) -> None:
        for rule in flagged:
            self.quality("flag", rule).inc(n)
