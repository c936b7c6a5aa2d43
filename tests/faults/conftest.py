"""Fault tests: a broker of their own, killed and restarted; they share the integration tests'
helpers (isolated departments, read_committed readers)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from broker_faults import own_broker_in  # (needs the path above)

from hub.broker.local import LocalBroker


@pytest.fixture
def own_broker(tmp_path: Path, kafka_bootstrap: str) -> Iterator[LocalBroker]:
    """A broker of this test's own (``kafka_bootstrap``: the session's runs, for the registry
    and the admin credential)."""
    with own_broker_in(tmp_path / "kafka") as broker:
        yield broker
