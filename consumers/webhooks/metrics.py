"""Prometheus metrics of the webhook dispatcher, per subscription."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter(
    "hub_webhooks_attempts",
    "HTTP attempts, by subscription and outcome (2xx..5xx, timeout, connection).",
    ["subscription", "status"],
)
ACKNOWLEDGED = Counter(
    "hub_webhooks_acknowledged", "Deliveries a receiver acknowledged (2xx).", ["subscription"]
)
GIVEN_UP = Counter(
    "hub_webhooks_given_up",
    "Deliveries given up after the last retry (or undecodable), sent to the webhook DLQ.",
    ["subscription"],
)
RETRY_BACKLOG = Gauge(
    "hub_webhooks_retry_backlog",
    "Deliveries that failed at least once and wait for their next attempt.",
    ["subscription"],
)
BUFFERED = Gauge(
    "hub_webhooks_buffered",
    "Deliveries read and not yet acknowledged or given up (waiting, in flight, retrying).",
    ["subscription"],
)
DISABLED = Gauge(
    "hub_webhooks_disabled",
    "1 when the receiver answered 410 Gone and the subscription was stopped.",
    ["subscription"],
)
LATENCY = Histogram(
    "hub_webhooks_latency_seconds",
    "From writing the delivery to Kafka (its record timestamp) to the receiver's acknowledgement.",
    ["subscription"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
)
