"""A local Apache Kafka broker (KRaft, one node) from Maven Central, for machines without Docker.

Lifecycle: ``fetch`` the jars once with Maven (cached, offline afterwards), ``format`` storage on
first start, run ``kafka.Kafka`` in the background with a bounded heap, and wait until a
Metadata request succeeds. Every failure is a ``BrokerError`` whose first line says the cause.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from hub.broker.probe import PortState, probe
from hub.broker.security import (
    ADMIN_PRINCIPAL,
    BrokerSecurity,
    TlsFiles,
    new_security,
    read_state,
    scram_bootstrap_args,
    security_properties,
    write_state,
)
from hub.credentials import Credentials, CredentialStore, new_password, write_private
from hub.maven import MavenError, mvn

HOST = "127.0.0.1"
MIN_JAVA = 17
REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy" / "kafka"
_MAIN_CLASS = "kafka.Kafka"


class BrokerError(RuntimeError):
    """The local broker cannot be fetched, started or stopped; the first line is the cause."""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    bootstrap: str
    pid: int | None = None
    managed: bool = False  # started by `hub broker` (we have its pid), not someone else's
    note: str = ""


@dataclass
class LocalBroker:
    home: Path = Path(".hub/kafka")
    port: int = 9092
    controller_port: int | None = None
    data_dir: Path | None = None
    heap: str = "768m"
    start_timeout: float = 90.0
    deploy_dir: Path = DEPLOY_DIR
    credentials_dir: Path = Path(".hub/credentials")
    insecure: bool = False  # PLAINTEXT, no authorizer: only when asked for explicitly
    tls: TlsFiles | None = None
    # One node of a cluster (LocalCluster): its id, the quorum, the cluster's id and replicas.
    node_id: int = 1
    voters: str | None = None
    cluster_id: str | None = None
    replicas: int = 1
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _security: BrokerSecurity | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.home = Path(self.home).absolute()
        self.credentials_dir = Path(self.credentials_dir).absolute()
        self.controller_port = self.controller_port or self.port + 1
        self.data_dir = Path(self.data_dir).absolute() if self.data_dir else self.home / "data"

    # -- places -------------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def lib_dir(self) -> Path:
        return self.home / "lib"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def config_file(self) -> Path:
        return self.home / "config" / "server.properties"

    @property
    def state_file(self) -> Path:
        """Mode and broker password of the data dir (secret, 0600)."""
        return self.home / "security.properties"

    @property
    def credentials(self) -> CredentialStore:
        return CredentialStore(self.credentials_dir)

    def _tls_ca(self) -> Path | None:
        """The CA of a TLS client listener (as started now, or as the data dir was)."""
        if self.tls is not None:
            return self.tls.ca
        try:
            state = self._security or read_state(self.state_file)
        except ValueError:
            return None
        return state.tls.ca if state and state.tls else None

    def admin_credentials(self) -> Credentials:
        """The super user ``hub-admin`` bootstrapped at format time."""
        return self.credentials.read(ADMIN_PRINCIPAL)

    # -- fetch --------------------------------------------------------------------------------
    def fetch(self) -> Path:
        """Resolve the broker's jars from Maven Central into ``lib/`` once; reuse them after."""
        pom = self.deploy_dir / "pom.xml"
        if not pom.is_file():
            raise BrokerError(f"{pom} not found: run hub from a checkout of the project")
        stamp = self.lib_dir / ".pom-sha256"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        if stamp.is_file() and stamp.read_text() == digest:
            return self.lib_dir
        tmp = self.lib_dir.with_name("lib.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            mvn(
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp}",
                what="the Kafka broker",
            )
        except MavenError as error:
            raise BrokerError(str(error)) from None
        if not any(tmp.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"fetching the Kafka broker from Maven Central left no jar in {tmp}")
        shutil.rmtree(self.lib_dir, ignore_errors=True)
        tmp.rename(self.lib_dir)
        stamp.write_text(digest)
        return self.lib_dir

    # -- status -------------------------------------------------------------------------------
    def _managed(self) -> tuple[int, int] | None:
        """(pid, port) of the broker this home runs, if its process is alive."""
        try:
            pid, port = (int(part) for part in self.pid_file.read_text().split())
        except (OSError, ValueError):
            return None
        return (pid, port) if _is_broker_process(pid) else None

    def _managed_pid(self) -> int | None:
        managed = self._managed()
        return managed[0] if managed and managed[1] == self.port else None

    def status(self) -> BrokerStatus:
        pid = self._managed_pid()
        state = probe(HOST, self.port, tls_ca=self._tls_ca())
        if state is PortState.KAFKA:
            return BrokerStatus(True, self.bootstrap, pid, managed=pid is not None)
        if pid is not None:
            return BrokerStatus(
                False, self.bootstrap, pid, True, "process alive, not answering yet"
            )
        if state is PortState.OTHER:
            return BrokerStatus(
                False, self.bootstrap, note="port held by a program that is not Kafka"
            )
        return BrokerStatus(False, self.bootstrap)

    # -- start --------------------------------------------------------------------------------
    def start(self, wait: bool = True) -> BrokerStatus:
        """Start the broker, or reuse one that already answers on the port. ``wait=False``:
        return once the process runs (a cluster's nodes answer only when a quorum is up)."""
        java = _java()
        managed = self._managed()
        if managed and managed[1] != self.port:
            raise BrokerError(
                f"the broker of {self.home} already runs on port {managed[1]} (pid {managed[0]}): "
                f"use that port, or stop it first (hub broker stop)"
            )
        current = self.status()
        if current.running:
            note = (
                "reused the running broker"
                if current.managed
                else "reused a broker not started by hub"
            )
            return BrokerStatus(True, self.bootstrap, current.pid, current.managed, note)
        if current.pid is not None:  # ours, still starting
            if wait:
                self._wait_ready(current.pid)
            return BrokerStatus(
                True, self.bootstrap, current.pid, True, "reused the starting broker"
            )
        for port in (self.port, self.controller_port):
            if probe(HOST, port) is not PortState.FREE:
                raise BrokerError(
                    f"port {port} on {HOST} is in use by another program: stop it or choose "
                    f"another port (hub broker start --port N)"
                )
        lib = self.fetch()
        self._security = self._resolve_security()
        self._write_config()
        self._ensure_formatted(java, lib)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = (self.log_dir / "broker.out").open("ab")
        cmd = [
            java,
            f"-Xmx{self.heap}",
            "-Xms256m",
            # kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS: without its pause goal G1 aims at
            # 200 ms, and each young collection paused every client (~15 ms on average here)
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:MaxInlineLevel=15",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.log_dir}",
            f"-Dlog4j2.configurationFile={self.deploy_dir / 'log4j2.yaml'}",
            "-cp",
            f"{lib}/*",
            _MAIN_CLASS,
            str(self.config_file),
        ]
        # A session of its own: Ctrl-C in the terminal that started it does not kill the broker.
        self._process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()
        self.pid_file.write_text(f"{self._process.pid} {self.port}")
        if wait:
            self._wait_ready(self._process.pid)
            self._warm_coordinators()
        return BrokerStatus(True, self.bootstrap, self._process.pid, True, "started")

    def _warm_coordinators(self, timeout: float = 30.0) -> None:
        """Ask for a transactional producer id once, quietly, right after a start: a fresh
        broker creates and loads ``__transaction_state`` on that first request, and every
        client asking meanwhile is told "coordinator load in progress" (librdkafka and
        aiokafka log each retry as a warning). Best effort: the clients retry by themselves."""
        import logging

        from confluent_kafka import KafkaException, Producer

        assert self._security is not None
        config: dict[str, object] = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": self._security.client_protocol,
            "transactional.id": f"hub-broker-warm-up-{uuid.uuid4().hex[:8]}",
            "logger": logging.getLogger("hub.broker.warm-up"),  # its retries are expected
            "log_level": 0,
        }
        if self._security.secure:
            admin = self.admin_credentials()
            config |= {
                "sasl.mechanisms": "SCRAM-SHA-512",
                "sasl.username": admin.username,
                "sasl.password": admin.password,
            }
        ca = self._tls_ca()
        if ca is not None:
            config["ssl.ca.location"] = str(ca)
        try:
            producer = Producer(config)
            producer.init_transactions(timeout)
        except (KafkaException, OSError, ValueError):
            return
        producer.flush(1)

    def wait_ready(self) -> None:
        """Wait until the broker started with ``start(wait=False)`` answers."""
        pid = self._managed_pid()
        if pid is None:
            raise BrokerError(f"no broker of {self.home} runs on port {self.port}")
        self._wait_ready(pid)

    def _resolve_security(self) -> BrokerSecurity:
        """The security of this data dir: as it was formatted, or new for a fresh one."""
        assert self.data_dir is not None
        formatted = (self.data_dir / "meta.properties").is_file()
        try:
            state = read_state(self.state_file)
        except ValueError as exc:
            raise BrokerError(str(exc)) from None
        if formatted and state is None:
            if self.insecure:
                return BrokerSecurity("insecure")
            raise BrokerError(
                f"data dir {self.data_dir} was formatted without authentication (before access "
                "control): remove it to start afresh (hub broker stop; rm -rf "
                f"{self.data_dir}), or run it as it is with `hub broker start --insecure`"
            )
        if formatted and state is not None:
            if state.secure == self.insecure:
                wanted = "--insecure" if self.insecure else "authentication"
                had = "with authentication" if state.secure else "with --insecure"
                raise BrokerError(
                    f"data dir {self.data_dir} was formatted {had}; it cannot start with "
                    f"{wanted}: remove it to start afresh, or choose another --data-dir"
                )
            if state.secure and not self.credentials.exists(ADMIN_PRINCIPAL):
                raise BrokerError(
                    f"the admin credential {self.credentials.path(ADMIN_PRINCIPAL)} of the "
                    f"authenticated data dir {self.data_dir} is missing: restore it, or remove "
                    "the data dir to start afresh"
                )
            if self.tls is not None and self.tls != state.tls:
                state = BrokerSecurity(state.mode, state.broker_password, self.tls)
                write_state(self.state_file, state)
            return state
        if state is not None and state.secure != self.insecure and state.tls == self.tls:
            pass  # a fresh data dir keeps the broker password given (a cluster's nodes share it)
        else:
            state = new_security(self.insecure, self.tls)
            write_state(self.state_file, state)
        # A fresh storage keeps the admin credential the store already holds (a data dir
        # removed to start afresh, a second broker on the same machine): one admin password.
        if state.secure and not self.credentials.exists(ADMIN_PRINCIPAL):
            self.credentials.write(Credentials(ADMIN_PRINCIPAL, new_password()))
        return state

    def _write_config(self) -> None:
        assert self._security is not None and self.controller_port is not None
        template = Template((self.deploy_dir / "server.properties").read_text())
        security = security_properties(self.port, self.controller_port, self._security)
        text = template.substitute(
            node_id=self.node_id,
            voters=self.voters or f"{self.node_id}@{HOST}:{self.controller_port}",
            data_dir=self.data_dir,
            security=security,
            replication=replication_properties(self.replicas),
        )
        # The rendered file holds the broker's password: 0600 from the first byte.
        write_private(self.config_file, text)

    def _ensure_formatted(self, java: str, lib: Path) -> None:
        data = self.data_dir
        assert data is not None
        meta = data / "meta.properties"
        if meta.is_file():
            text = meta.read_text(errors="replace")
            if "cluster.id=" not in text or "node.id=" not in text:
                raise BrokerError(
                    f"data dir {data} is corrupt ({meta} lacks cluster.id/node.id): "
                    "remove the folder to start afresh, or choose another --data-dir"
                )
            return
        if data.exists() and any(data.iterdir()):
            raise BrokerError(
                f"data dir {data} is not a Kafka log dir (no meta.properties) but is not empty: "
                "remove the folder to start afresh, or choose another --data-dir"
            )
        data.mkdir(parents=True, exist_ok=True)
        cluster_id = self.cluster_id or new_cluster_id()
        cmd = [
            java,
            "-cp",
            f"{lib}/*",
            f"-Dlog4j2.configurationFile={self.deploy_dir / 'log4j2.yaml'}",
            f"-Dkafka.logs.dir={self.log_dir}",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self.config_file),
        ]
        assert self._security is not None
        admin = self.admin_credentials() if self._security.secure else None
        if admin is not None:
            cmd += scram_bootstrap_args(self._security, admin)
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            # Never echo the command line: it carries the bootstrapped passwords.
            lines = [
                _without_secrets(ln, self._security, admin)
                for ln in (result.stdout + result.stderr).splitlines()
                if ln.strip()
            ]
            self.log_dir.mkdir(parents=True, exist_ok=True)
            write_private(self.log_dir / "format.log", "\n".join(lines) + "\n")
            cause = _telling_line(lines) or (lines[-1] if lines else f"exit {result.returncode}")
            raise BrokerError(
                f"formatting {data} failed: {cause} (all of it in {self.log_dir / 'format.log'})"
            )

    def _wait_ready(self, pid: int) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if probe(HOST, self.port, timeout=1.0, tls_ca=self._tls_ca()) is PortState.KAFKA:
                return
            if not _is_alive(pid):
                self._reap()
                raise BrokerError(
                    f"the broker exited during start: {self._cause()}\n{self._tail()}"
                )
            time.sleep(0.25)
        raise BrokerError(
            f"the broker did not answer on {self.bootstrap} within {self.start_timeout:.0f} s: "
            f"{self._cause()}\n{self._tail()}"
        )

    # -- stop ---------------------------------------------------------------------------------
    def stop(self, timeout: float = 60.0) -> bool:
        """SIGTERM the broker this home runs (whatever its port) and wait; True if one was stopped."""
        managed = self._managed()
        if managed is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        pid = managed[0]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_alive(pid) and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.1)
        if _is_alive(pid):  # a clean shutdown takes seconds; past the timeout, stop it hard
            os.kill(pid, signal.SIGKILL)
            while _is_alive(pid):
                self._reap()
                time.sleep(0.05)
        self._reap()
        self.pid_file.unlink(missing_ok=True)
        return True

    def _reap(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            self._process = None

    # -- logs ---------------------------------------------------------------------------------
    def log_files(self) -> list[Path]:
        return [
            p for p in (self.log_dir / "broker.out", self.log_dir / "server.log") if p.is_file()
        ]

    def _tail(self, lines: int = 20) -> str:
        out = []
        for path in self.log_files():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            if tail:
                out.append(f"--- last lines of {path} ---")
                out.extend(tail)
        return "\n".join(out) if out else f"(no broker log in {self.log_dir})"

    def _cause(self) -> str:
        """The most telling line of the logs: the last ERROR or exception message."""
        lines = [
            line
            for path in self.log_files()
            for line in path.read_text(errors="replace").splitlines()
        ]
        return _telling_line(lines) or "no error in the broker log"


def _telling_line(lines: list[str]) -> str | None:
    """The last ERROR or exception message of a Java program's output, without its timestamp."""
    candidates = [
        ln.strip() for ln in lines if re.search(r"\b(ERROR|FATAL)\b|Exception:|Error:", ln)
    ]
    if not candidates:
        return None
    return re.sub(r"^\[[^\]]*\]\s*", "", candidates[-1])[:300]


def new_cluster_id() -> str:
    """A random cluster id as Kafka makes one (URL-safe base64 of 16 bytes), never starting
    with ``-``: the storage tool would read such an id as an option (Kafka's own Uuid
    generator draws again for the same reason)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def replication_properties(replicas: int) -> str:
    """Replication of the internal topics and the default for new ones: a single node keeps one
    copy of everything; a cluster three, of which two must acknowledge a write (acks=all)."""
    min_isr = 1 if replicas < 3 else 2
    return "\n".join(
        (
            f"# {replicas} node(s): {replicas} replica(s), {min_isr} in sync for acks=all.",
            f"offsets.topic.replication.factor={replicas}",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={min_isr}",
            f"share.coordinator.state.topic.replication.factor={replicas}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            f"default.replication.factor={replicas}",
            f"min.insync.replicas={min_isr}",
        )
    )


def _without_secrets(line: str, security: BrokerSecurity, admin: Credentials | None) -> str:
    for secret in (security.broker_password, admin.password if admin else ""):
        if secret:
            line = line.replace(secret, "***")
    return line


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise BrokerError(
            f"java not found: install Java {MIN_JAVA}+ (e.g. apt-get install openjdk-17-jre-headless)"
        )
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8" style
            major = int(match.group(2))
        if major < MIN_JAVA:
            raise BrokerError(f"java {major} found at {java}: Kafka 4 needs Java {MIN_JAVA}+")
    return java


def _is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _is_broker_process(pid: int) -> bool:
    """The pid is alive and runs kafka.Kafka (a pid file can outlive its process)."""
    if not _is_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the pid file
    return _MAIN_CLASS.encode() in cmdline
