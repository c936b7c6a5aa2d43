"""Prometheus metrics of the pull API, in a registry of their own (one per app instance, so tests
and benchmarks can build several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from hub import outage

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)


class DeliveriesMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "hub_deliveries_requests",
            "Pull requests by subscriber, agreement and HTTP status.",
            ["subscriber", "agreement", "status"],
            registry=self.registry,
        )
        self.served = Counter(
            "hub_deliveries_served",
            "Deliveries handed out by pulls, by subscriber and agreement.",
            ["subscriber", "agreement"],
            registry=self.registry,
        )
        self.empty = Counter(
            "hub_deliveries_empty_pulls",
            "Pulls that found nothing new (the subscriber is caught up), by agreement.",
            ["subscriber", "agreement"],
            registry=self.registry,
        )
        self.undecodable = Counter(
            "hub_deliveries_undecodable",
            "Deliveries handed out without data because they could not be decoded.",
            ["agreement"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_deliveries_request_seconds",
            "Time from request to answer of pulls, by subscriber.",
            ["subscriber"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        outage.expose(self.registry)  # hub_broker_up{service="deliveries"} and its kin
