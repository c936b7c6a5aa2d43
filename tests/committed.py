"""Reading what subscribers can see: committed records, with confluent-kafka as the
independent client. Shared by the integration tests (tests/ is on sys.path via conftest.py)."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, Message
from identity import confluent_security


def read_committed(
    bootstrap: str,
    topics: str | list[str],
    expected: int,
    *,
    timeout: float = 60.0,
    settle: float = 1.0,
) -> list[Message]:
    """Committed records of ``topics`` from the start: waits for ``expected`` of them, then
    ``settle`` seconds more to catch any surplus (a duplicate would show up there)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            **confluent_security(),
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topics] if isinstance(topics, str) else list(topics))
    records: list[Message] = []
    deadline = time.monotonic() + timeout
    settle_until = None
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                records.append(msg)
            if len(records) >= expected and settle_until is None:
                settle_until = time.monotonic() + settle
            if settle_until is not None and time.monotonic() > settle_until:
                break
    finally:
        consumer.close()
    return records
