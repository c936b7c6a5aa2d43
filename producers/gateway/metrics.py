"""Prometheus metrics of the gateway, in a registry of its own (one per app instance, so tests
and benchmarks can build several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from hub import outage

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        outage.expose(self.registry)  # hub_broker_up{service="gateway"} and its kin
        self.requests = Counter(
            "hub_gateway_requests",
            "Publish requests by department, topic and HTTP status.",
            ["department", "topic", "status"],
            registry=self.registry,
        )
        self.events = Counter(
            "hub_gateway_events_accepted",
            "Events acknowledged by the broker, by department and topic.",
            ["department", "topic"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "hub_gateway_events_rejected",
            "Events refused as invalid (422), by department and topic.",
            ["department", "topic"],
            registry=self.registry,
        )
        self.replays = Counter(
            "hub_gateway_idempotent_replays",
            "Requests answered with the first answer to their Idempotency-Key, by department.",
            ["department"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_gateway_request_seconds",
            "Time from request to answer of publish requests, by department.",
            ["department"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
