"""``hub broker start|stop|status|logs``: the local single-node Kafka broker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from hub.broker.cluster import LocalCluster
from hub.broker.local import BrokerError, LocalBroker
from hub.broker.tls import files_in
from hub.settings import get_settings

app = typer.Typer(
    help="Run a local Apache Kafka broker (KRaft, one node) fetched from Maven Central."
)

Port = Annotated[int, typer.Option(help="Port of the client listener on 127.0.0.1.")]
DataDir = Annotated[Path | None, typer.Option(help="Kafka's log dir (default: <broker dir>/data).")]


def _broker(
    port: int, data_dir: Path | None = None, insecure: bool = False, tls: Path | None = None
) -> LocalBroker:
    settings = get_settings()
    return LocalBroker(
        home=settings.broker_dir,
        port=port,
        data_dir=data_dir,
        credentials_dir=settings.credentials_dir,
        insecure=insecure,
        tls=files_in(tls).tls() if tls else None,
    )


def _cluster(port: int = 9092, nodes: int = 3) -> LocalCluster:
    settings = get_settings()
    return LocalCluster(
        home=settings.broker_dir.parent / "kafka-cluster",
        nodes=nodes,
        port=port,
        credentials_dir=settings.credentials_dir,
        jars_from=settings.broker_dir,
    )


def _tls_dir() -> Path:
    return get_settings().broker_dir.parent / "tls"


def _fail(error: BrokerError) -> typer.Exit:
    cause, _, detail = str(error).partition("\n")
    typer.secho(f"hub broker: {cause}", err=True, fg="red")
    if detail:
        typer.echo(detail, err=True)
    return typer.Exit(1)


Nodes = Annotated[
    int,
    typer.Option(
        "--nodes",
        help="1: one node; 3: a cluster of three KRaft nodes on ports PORT, PORT+2, PORT+4 "
        "(replication 3, min.insync.replicas 2), authenticated like the single node.",
    ),
]


@app.command()
def start(
    port: Port = 9092,
    nodes: Nodes = 1,
    data_dir: DataDir = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the broker.")] = 90.0,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="PLAINTEXT without authentication or ACLs: anyone on the network reads "
            "everything. Only for experiments; clients then need HUB_KAFKA_SECURITY_PROTOCOL=PLAINTEXT.",
        ),
    ] = False,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="SASL_SSL instead of SASL_PLAINTEXT, with the certificate of `hub broker certs`; "
            "clients set HUB_KAFKA_SECURITY_PROTOCOL=SASL_SSL and HUB_KAFKA_SSL_CA_LOCATION.",
        ),
    ] = False,
) -> None:
    """Start the broker (fetching it on first use), or reuse one already running.

    By default clients authenticate with SASL/SCRAM-SHA-512 and the StandardAuthorizer denies
    what no ACL allows; the super user hub-admin's credential is created at the first start in
    HUB_CREDENTIALS_DIR (.hub/credentials/hub-admin.properties, mode 0600).
    """
    if tls and insecure:
        typer.secho("hub broker: --tls and --insecure exclude each other", err=True, fg="red")
        raise typer.Exit(2)
    if tls and not files_in(_tls_dir()).keystore.is_file():
        typer.secho(
            f"hub broker: no certificate in {_tls_dir()}: make one with `hub broker certs`",
            err=True,
            fg="red",
        )
        raise typer.Exit(1)
    if nodes != 1:
        if insecure or tls or data_dir is not None:
            typer.secho(
                "hub broker: --nodes takes no --insecure, --tls or --data-dir",
                err=True,
                fg="red",
            )
            raise typer.Exit(2)
        cluster = _cluster(port, nodes)
        cluster.start_timeout = timeout
        try:
            statuses = cluster.start()
        except BrokerError as error:
            raise _fail(error) from None
        for i, state in enumerate(statuses, start=1):
            typer.echo(f"node {i} on {state.bootstrap} (pid {state.pid or '?'}): {state.note}")
        typer.echo(f"bootstrap servers: {cluster.bootstrap} (HUB_BOOTSTRAP_SERVERS)")
        return
    broker = _broker(port, data_dir, insecure, _tls_dir() if tls else None)
    broker.start_timeout = timeout
    try:
        status = broker.start()
    except BrokerError as error:
        raise _fail(error) from None
    typer.echo(f"broker running on {status.bootstrap} (pid {status.pid or '?'}): {status.note}")
    if status.note == "started":
        if insecure:
            typer.secho(
                "warning: no authentication and no ACLs (--insecure)", err=True, fg="yellow"
            )
        else:
            typer.echo(
                f"clients authenticate with SCRAM-SHA-512; admin credential: "
                f"{broker.credentials.path('hub-admin')} (run `hub access apply` next)"
            )


@app.command()
def certs(
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="Host names and addresses clients use (repeatable)."),
    ] = None,
) -> None:
    """Make a private CA and a certificate for the broker (for `hub broker start --tls`)."""
    from hub.broker.tls import make_certificates

    hosts = host or ["localhost", "127.0.0.1"]
    files = make_certificates(_tls_dir(), hosts)
    typer.echo(f"CA for clients:  {files.ca}  (HUB_KAFKA_SSL_CA_LOCATION)")
    typer.echo(f"broker keystore: {files.keystore}  (key encrypted, mode 0600)")
    typer.echo(f"for: {', '.join(hosts)}; start with `hub broker start --tls`")


@app.command()
def stop() -> None:
    """Stop the broker that `hub broker start` started from this broker dir (SIGTERM, wait)."""
    try:
        stopped = _broker(9092).stop()
        cluster = _cluster()
        nodes = cluster.stop() if cluster.home.exists() else 0
    except BrokerError as error:
        raise _fail(error) from None
    if nodes:
        typer.echo(f"cluster stopped ({nodes} node(s))")
    if stopped or not nodes:
        typer.echo("broker stopped" if stopped else "no broker started by hub is running")


@app.command()
def status(port: Port = 9092, nodes: Nodes = 1) -> None:
    """Say whether a broker (or each node of the cluster) answers; exit 1 when one does not."""
    if nodes != 1:
        states = _cluster(port, nodes).status()
        for i, state in enumerate(states, start=1):
            word = "running" if state.running else "not running"
            typer.echo(
                f"node {i}: {word} on {state.bootstrap}"
                + (f" ({state.note})" if state.note else "")
            )
        if not all(s.running for s in states):
            raise typer.Exit(1)
        return
    state = _broker(port).status()
    if state.running:
        owner = f"pid {state.pid}" if state.managed else "not started by hub"
        typer.echo(f"running on {state.bootstrap} ({owner})")
        return
    typer.echo(f"not running on {state.bootstrap}" + (f": {state.note}" if state.note else ""))
    raise typer.Exit(1)


@app.command()
def logs(
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines.")] = 50,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
) -> None:
    """Print the end of the broker's log."""
    log = _broker(9092).log_dir / "server.log"
    if not log.is_file():
        typer.echo(f"no broker log at {log}", err=True)
        raise typer.Exit(1)
    with log.open(errors="replace") as handle:
        for line in handle.readlines()[-lines:]:
            typer.echo(line, nl=False)
        while follow:
            line = handle.readline()
            if line:
                typer.echo(line, nl=False)
            else:
                time.sleep(0.3)
