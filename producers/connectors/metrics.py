"""Prometheus metrics of the connectors (process-wide, registered once at import)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ROWS_PUBLISHED = Counter(
    "hub_connect_rows_published",
    "Rows/outbox entries published (committed in a Kafka transaction), by connector and topic.",
    ["connector", "topic"],
)
ROWS_REJECTED = Counter(
    "hub_connect_rows_rejected",
    "Rows/outbox entries refused as invalid (reject file or error column), by connector and topic.",
    ["connector", "topic"],
)
FILES_DONE = Counter(
    "hub_connect_files_done", "Export files fully processed and moved to done/.", ["outcome"]
)
OUTBOX_LAST_ID = Gauge(
    "hub_connect_outbox_last_id", "Highest outbox id committed to Kafka.", ["outbox"]
)
