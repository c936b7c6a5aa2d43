"""The feature pipeline's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "hub_features_events", "Delivered events aggregated, by view and arrival.", ["view", "arrival"]
)
REJECTED = Counter(
    "hub_features_rejected_events",
    "Delivered events a view could not use, by reason.",
    ["view", "reason"],
)
WINDOWS_CLOSED = Counter(
    "hub_features_windows_closed", "Windows closed by the watermark.", ["view"]
)
PUBLISHED = Counter(
    "hub_features_windows_published", "Closed windows published (k reached).", ["view"]
)
SUPPRESSED = Counter(
    "hub_features_windows_suppressed", "Closed windows withheld by the k-anonymity gate.", ["view"]
)
LATE = Counter(
    "hub_features_late_events",
    "Events behind the watermark that still updated their window.",
    ["view"],
)
TOO_LATE = Counter(
    "hub_features_too_late_events", "Events dropped because all their windows had closed.", ["view"]
)
TRANSACTIONS = Counter("hub_features_transactions", "Kafka transactions, by result.", ["result"])
OPEN_WINDOWS = Gauge("hub_features_open_windows", "Windows open now.", ["view"])
WATERMARK = Gauge("hub_features_watermark_seconds", "Watermark (event time) per view.", ["view"])
PUSHED = Counter("hub_features_pushed_rows", "Window results pushed to Feast.", ["view"])
PUSH_SECONDS = Histogram(
    "hub_features_push_seconds",
    "Duration of one push to Feast (online and offline store).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PUSH_LAG = Histogram(
    "hub_features_push_lag_seconds",
    "From closing a window (committed) to its push to Feast.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
