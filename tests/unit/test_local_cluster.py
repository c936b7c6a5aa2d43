"""The local cluster's layout and settings (pure; the cluster itself runs in tests/faults)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.broker.cluster import LocalCluster
from hub.broker.local import BrokerError, replication_properties


def test_three_nodes_on_consecutive_port_pairs(tmp_path: Path) -> None:
    cluster = LocalCluster(home=tmp_path, nodes=3, port=19092)
    assert cluster.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert cluster.voters == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    brokers = cluster.brokers()
    assert [b.node_id for b in brokers] == [1, 2, 3]
    assert [b.controller_port for b in brokers] == [19093, 19095, 19097]
    assert {b.cluster_id for b in brokers} == {cluster.cluster_id_file.read_text()}
    assert all(b.replicas == 3 and b.voters == cluster.voters for b in brokers)
    assert [b.home.name for b in brokers] == ["node-1", "node-2", "node-3"]


def test_the_cluster_id_is_kept(tmp_path: Path) -> None:
    first = LocalCluster(home=tmp_path).brokers()[0].cluster_id
    assert LocalCluster(home=tmp_path).brokers()[0].cluster_id == first


@pytest.mark.parametrize("nodes", [0, 6, -1])
def test_the_number_of_nodes_is_bounded(tmp_path: Path, nodes: int) -> None:
    with pytest.raises(BrokerError, match="1 to 5 nodes"):
        LocalCluster(home=tmp_path, nodes=nodes)


@pytest.mark.parametrize(("replicas", "min_isr"), [(1, 1), (2, 1), (3, 2)])
def test_replication_follows_the_number_of_nodes(replicas: int, min_isr: int) -> None:
    lines = dict(
        line.split("=", 1)
        for line in replication_properties(replicas).splitlines()
        if line and not line.startswith("#")
    )
    assert lines["default.replication.factor"] == str(replicas)
    assert lines["offsets.topic.replication.factor"] == str(replicas)
    assert lines["transaction.state.log.replication.factor"] == str(replicas)
    assert lines["min.insync.replicas"] == str(min_isr)
    assert lines["transaction.state.log.min.isr"] == str(min_isr)
