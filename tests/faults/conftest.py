"""Fault tests: a broker of their own, killed and restarted; they share the integration tests'
helpers (isolated departments, read_committed readers) and one three-node cluster."""

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


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, kafka_bootstrap):
    """Three KRaft nodes (``hub broker start --nodes 3``), shared by the fault tests (~30 s to
    start); a test that stops a node starts it again before it ends."""
    from hub.broker.cluster import LocalCluster
    from hub.settings import get_settings

    settings = get_settings()
    nodes = LocalCluster(
        home=tmp_path_factory.mktemp("cluster"),
        port=free_run(),
        credentials_dir=settings.credentials_dir,
        jars_from=Path(settings.broker_dir),
    )
    nodes.start()
    try:
        yield nodes
    finally:
        nodes.stop(timeout=20)


def free_run(width: int = 6) -> int:
    """A port with ``width`` free ports from it (three nodes, client and controller each)."""
    from hub.broker.probe import PortState, probe

    for base in range(20000, 40000, 97):
        if all(probe("127.0.0.1", base + i) is PortState.FREE for i in range(width)):
            return base
    raise RuntimeError("no run of free ports")
