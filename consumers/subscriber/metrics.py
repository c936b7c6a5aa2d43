"""Prometheus metrics of the subscriber SDK (served by whichever process embeds it, e.g. with
``prometheus_client.start_http_server``)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter

RECEIVED = Counter(
    "hub_subscriber_deliveries_total",
    "Deliveries decoded and handed to the application, by subscriber and agreement",
    ["subscriber", "agreement"],
)
ACKS = Counter(
    "hub_subscriber_acks_total",
    "Deliveries the application acknowledged, by subscriber and agreement",
    ["subscriber", "agreement"],
)
DECODE_FAILURES = Counter(
    "hub_subscriber_decode_failures_total",
    "Records of a delivery topic that could not be decoded (each counted once), by reason",
    ["subscriber", "topic", "reason"],
)
SKIPPED = Counter(
    "hub_subscriber_skipped_total",
    "Undecodable records the application chose to skip, by subscriber and topic",
    ["subscriber", "topic"],
)
ERASURES = Counter(
    "hub_subscriber_erasure_requests_total",
    "Erasure requests received, by subscriber and whether an on_erasure hook handled them",
    ["subscriber", "handled"],
)
COMMITS = Counter(
    "hub_subscriber_commits_total",
    "Offset commits of acknowledged deliveries, by subscriber",
    ["subscriber"],
)


@dataclass(frozen=True, slots=True)
class AgreementMetrics:
    """Label children bound once per agreement, so the hot path only increments."""

    received: Counter
    acks: Counter

    @classmethod
    def of(cls, subscriber: str, agreement: str) -> AgreementMetrics:
        return cls(RECEIVED.labels(subscriber, agreement), ACKS.labels(subscriber, agreement))
