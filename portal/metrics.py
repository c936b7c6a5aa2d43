"""Prometheus metrics of the portal, in a registry of their own per app (tests and the benchmark
build several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from hub import outage

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class PortalMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        outage.expose(self.registry)  # hub_broker_up{service="portal"} and its kin
        self.requests = Counter(
            "hub_portal_requests",
            "Page requests by page and HTTP status.",
            ["page", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_portal_request_seconds",
            "Time to answer a page, by page.",
            ["page"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.records = Counter(
            "hub_portal_records_folded",
            "Records of the hub's logs folded into the portal's counts, by topic.",
            ["topic"],
            registry=self.registry,
        )
        self.deliveries = Gauge(
            "hub_portal_deliveries_counted",
            "Deliveries the portal has counted from the audit trail.",
            registry=self.registry,
        )
        self.caught_up = Gauge(
            "hub_portal_caught_up",
            "1 once the portal has read a topic to the end it had at start.",
            ["topic"],
            registry=self.registry,
        )
        self.unreadable = Counter(
            "hub_portal_records_unreadable",
            "Records of the hub's logs left out because they could not be decoded, by topic "
            "(e.g. written under another schema registry); the first is logged.",
            ["topic"],
            registry=self.registry,
        )
        self.logins = Counter(
            "hub_portal_logins",
            "Staff login attempts by outcome (ok, refused, limited, csrf).",
            ["outcome"],
            registry=self.registry,
        )
