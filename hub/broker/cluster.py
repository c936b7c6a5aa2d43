"""A local cluster: ``nodes`` KRaft nodes on loopback, each broker and controller, one quorum,
authenticated like the single node (``hub broker start --nodes 3``).

Node ``i`` (from 1) lives in ``<home>/node-<i>`` and listens on ``port + 2(i-1)`` for clients
and the port after it for the controller quorum. The nodes share the cluster id, the broker's
password (``security.properties``, copied into each node) and the jars; the admin credential
is the one of HUB_CREDENTIALS_DIR, as for the single node.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hub.broker.local import HOST, BrokerError, BrokerStatus, LocalBroker, new_cluster_id
from hub.broker.security import new_security, read_state, write_state
from hub.credentials import Credentials, CredentialStore, new_password

MAX_NODES = 5


@dataclass
class LocalCluster:
    home: Path = Path(".hub/kafka-cluster")
    nodes: int = 3
    port: int = 9092
    credentials_dir: Path = Path(".hub/credentials")
    jars_from: Path | None = None  # a broker dir whose lib/ holds the jars already
    heap: str = "512m"
    start_timeout: float = 120.0
    _brokers: list[LocalBroker] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= MAX_NODES:
            raise BrokerError(f"a local cluster has 1 to {MAX_NODES} nodes, not {self.nodes}")
        self.home = Path(self.home).absolute()
        self.credentials_dir = Path(self.credentials_dir).absolute()

    # -- places -------------------------------------------------------------------------------
    def node_port(self, node: int) -> int:
        return self.port + 2 * (node - 1)

    @property
    def voters(self) -> str:
        return ",".join(f"{i}@{HOST}:{self.node_port(i) + 1}" for i in range(1, self.nodes + 1))

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{HOST}:{self.node_port(i)}" for i in range(1, self.nodes + 1))

    @property
    def cluster_id_file(self) -> Path:
        return self.home / "cluster.id"

    def _cluster_id(self) -> str:
        if self.cluster_id_file.is_file():
            return self.cluster_id_file.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        cluster_id = new_cluster_id()
        self.cluster_id_file.write_text(cluster_id)
        return cluster_id

    def brokers(self) -> list[LocalBroker]:
        if not self._brokers:
            cluster_id = self._cluster_id()
            self._brokers = [
                LocalBroker(
                    home=self.home / f"node-{i}",
                    port=self.node_port(i),
                    controller_port=self.node_port(i) + 1,
                    credentials_dir=self.credentials_dir,
                    heap=self.heap,
                    start_timeout=self.start_timeout,
                    node_id=i,
                    voters=self.voters,
                    cluster_id=cluster_id,
                    replicas=min(self.nodes, 3),
                )
                for i in range(1, self.nodes + 1)
            ]
        return self._brokers

    def node(self, node: int) -> LocalBroker:
        return self.brokers()[node - 1]

    # -- lifecycle ----------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Jars once for all nodes; one broker password and one admin credential for all."""
        lib = self.home / "lib"
        if not lib.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            if self.jars_from is not None and (Path(self.jars_from) / "lib").is_dir():
                lib.symlink_to((Path(self.jars_from) / "lib").absolute())
            else:
                LocalBroker(home=self.home).fetch()
        shared = self.home / "security.properties"
        try:
            state = read_state(shared)
        except ValueError as exc:
            raise BrokerError(str(exc)) from None
        if state is None:
            state = new_security(False, None)
            write_state(shared, state)
        store = CredentialStore(self.credentials_dir)
        if not store.exists("hub-admin"):
            store.write(Credentials("hub-admin", new_password()))
        for broker in self.brokers():
            broker.home.mkdir(parents=True, exist_ok=True)
            node_lib = broker.home / "lib"
            if not node_lib.exists():
                node_lib.symlink_to(lib)
            if not broker.state_file.is_file():
                shutil.copy2(shared, broker.state_file)

    def start(self) -> list[BrokerStatus]:
        """Start every node not running, then wait until each answers (a node answers once the
        quorum has a leader, so all are started before any is waited for)."""
        self._prepare()
        started = [broker.start(wait=False) for broker in self.brokers()]
        for broker in self.brokers():
            broker.wait_ready()
        return started

    def start_node(self, node: int) -> BrokerStatus:
        """Start one node again (after a kill) and wait until it answers."""
        self._prepare()
        return self.node(node).start()

    def stop(self, timeout: float = 60.0) -> int:
        """Stop every node, all at once (each shuts down in seconds; one after another they
        would wait for each other's controller); how many were running."""
        brokers = list(reversed(self.brokers()))
        with ThreadPoolExecutor(max_workers=len(brokers)) as pool:
            return sum(pool.map(lambda broker: broker.stop(timeout), brokers))

    def status(self) -> list[BrokerStatus]:
        return [broker.status() for broker in self.brokers()]
