"""``hub demo``: the whole hub on this machine with one command, on embedded defaults.

Starts (or reuses) the local broker and the schema registry, publishes the schemas, starts the
router, the feature-store pipeline and the ingest gateway, runs the department simulators for
``--duration`` seconds with a live view, and ends with what a data-protection officer would
read: the audit report. Ctrl-C stops everything cleanly at any point.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import typer
from prometheus_client import REGISTRY, start_http_server
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from hub.access.service import (
    admin_security,
    apply_catalog,
    broker_access,
    ensure_local_credentials,
)
from hub.broker.local import BrokerError, LocalBroker
from hub.credentials import CredentialStore
from hub.logs import configure_logging
from hub.settings import Settings, get_settings

console = Console()
FEATURES_METRICS_PORT = int(os.environ.get("HUB_FEATURES_METRICS_PORT", "9104"))
GATEWAY_PORT = 8000
PORTAL_PORT = 8003
WEBHOOK_RECEIVER_PORT = 8010
log = logging.getLogger("hub.demo")


@dataclass(frozen=True)
class DemoOptions:
    duration: float = 90.0
    rate: float = 40.0
    seed: int = 42
    # Simulated seconds per real second: 90 s are four and a half hours of city life, an
    # evening and a night from 22:00 UTC, so the hourly feature windows fill and the daily and
    # weekly ones close after midnight (producers/simulators/clock.py).
    time_scale: float = 180.0
    features: bool = True
    keep_broker: bool = False


def _say(step: str, text: str) -> None:
    console.print(f"[bold cyan]{step:>10}[/] {text}")


def run_demo(options: DemoOptions) -> int:
    settings = get_settings()
    # The terminal belongs to the live view; the services' structured logs go to a file.
    log_path = settings.broker_dir.parent / "demo.log"
    if log_path.exists():  # this run's log alone; the one before it kept beside
        log_path.replace(log_path.with_name("demo.log.1"))
    configure_logging(settings.log_level, settings.log_format, log_path)
    _say("logs", f"structured logs of this run: {log_path}")
    port = int(settings.bootstrap_servers.split(",")[0].rsplit(":", 1)[1])
    broker = LocalBroker(
        home=settings.broker_dir, port=port, credentials_dir=settings.credentials_dir
    )
    _say("broker", "starting the local Kafka broker (the first run fetches it from Maven)...")
    try:
        status = broker.start()
    except BrokerError as error:
        console.print(f"[red]hub demo: {str(error).splitlines()[0]}[/]")
        return 1
    _say("broker", f"{status.note} on {status.bootstrap}")
    try:
        return asyncio.run(_demo(settings, options))
    finally:
        if status.note == "started" and not options.keep_broker:
            broker.stop()
            _say("broker", "stopped (the demo had started it; --keep-broker leaves it running)")


async def _registry_answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


def _any_port(host: str) -> int:
    """A port the system has free right now (0: none)."""
    with socket.socket() as s:
        try:
            s.bind((host, 0))
        except OSError:
            return 0
        return s.getsockname()[1]


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


async def _demo(settings: Settings, options: DemoOptions) -> int:
    from consumers.audit.cli import read_audit
    from consumers.audit.report import render, summarize
    from consumers.router.service import Router, RouterConfig
    from hub.access.principals import load_principals
    from hub.kafka import KafkaSecurity
    from hub.registry.auth import authenticator_for
    from hub.registry.config import RegistrySettings
    from hub.registry.publish import publish_catalog
    from hub.registry.server import RegistryServer
    from hub.schemas.catalog import load_catalog
    from hub.secret import load_master_secret
    from hub.topics import ensure_topics
    from producers.simulators.publishers import DepartmentPublishers
    from producers.simulators.runner import SimulationStats, run_simulation

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bootstrap = settings.bootstrap_servers

    async with contextlib.AsyncExitStack() as stack:
        # -- access: every principal, its credential and its ACLs, from the catalog ------------
        admin = admin_security(settings)
        if admin is None:
            console.print(
                "[red]hub demo: no hub-admin credential (HUB_CREDENTIALS_DIR): cannot set up "
                "access[/]"
            )
            return 1
        if admin.sasl:
            planned = await asyncio.to_thread(apply_catalog, settings, admin)
            principals = planned.catalog.principals
            # Every service of the demo runs here, as its own principal: it needs its password.
            await ensure_local_credentials(
                broker_access(settings, admin),
                CredentialStore(settings.credentials_dir),
                principals.names(),
            )
            _say(
                "access",
                f"{len(principals.names())} principals, each its own SCRAM user; "
                f"{len(planned.plan.add)} ACL(s) added, {len(planned.plan.remove)} removed "
                "(hub access plan / show <principal>)",
            )
        else:
            _say("access", "[yellow]the broker runs without authentication (--insecure)[/]")

        # -- registry and contracts --------------------------------------------------------
        registry_url = settings.registry_url
        if await _registry_answers(registry_url):
            _say("registry", f"reusing the registry at {registry_url}")
        else:
            url = urlparse(registry_url)
            # The registry runs as hub-registry and authenticates its clients against Kafka.
            registry_security = KafkaSecurity.from_settings(settings, principal="hub-registry")
            server = RegistryServer(
                bootstrap,
                topic=RegistrySettings().registry_topic,
                host=url.hostname or "127.0.0.1",
                port=url.port or 8081,
                security=registry_security,
                principals=load_principals(settings.catalog_dir / "departments.yaml"),
                authenticator=authenticator_for(bootstrap, registry_security),
            )
            await stack.enter_async_context(server)
            _say("registry", f"Confluent-compatible API at {registry_url} (state in _schemas)")
        catalog = load_catalog(settings.schemas_dir)
        lines = await asyncio.to_thread(
            publish_catalog, catalog, registry_url, auth=admin.credentials
        )
        _say("schemas", f"{len(catalog)} event types: {lines[-1]}")
        await ensure_topics(bootstrap, sorted(catalog), security=admin)

        # -- metrics: one /metrics for everything in this process --------------------------
        metrics_url = f"http://{settings.metrics_host}:{settings.router_metrics_port}/metrics"
        if _port_free(settings.metrics_host, settings.router_metrics_port):
            start_http_server(settings.router_metrics_port, addr=settings.metrics_host)
        else:
            metrics_url = "(port taken: no /metrics)"

        # -- router ------------------------------------------------------------------------
        router = Router(
            RouterConfig.from_settings(settings), load_master_secret(settings.secret_file)
        )
        await stack.enter_async_context(router)
        routing = asyncio.create_task(router.run(), name="router")
        stack.push_async_callback(_finish, router.stop, routing)
        table = router.table
        _say("router", f"{len(table.routes)} agreements on {len(table.sources)} source topics")
        for problem in table.problems:
            _say("router", f"[yellow]not applied: {problem}[/]")

        # -- feature store (own process: importing Feast takes seconds) --------------------
        features = None
        if options.features:
            features = await _start_features(settings, stack)

        # -- gateway -----------------------------------------------------------------------
        gateway_url, token = await _start_gateway(settings, stack)

        # -- receiving: a vendor system by signed webhooks, a statistics office by the SDK ------
        receiving = await _start_receiving(settings, stack)

        # -- the transparency portal: what is shared, with whom, why, how often --------------
        portal, portal_line = await _start_portal(settings, stack)

        console.print(
            Panel.fit(
                f"portal         {portal_line}\n"
                f"metrics        {metrics_url}\n"
                f"registry       {registry_url}/subjects\n"
                f"gateway docs   {gateway_url}/docs  (demo token for buergeramt: {token})\n"
                f"feature store  http://{settings.metrics_host}:{FEATURES_METRICS_PORT}/metrics\n"
                "deliveries     topics deliver.<subscriber>.<source>, e.g. "
                "deliver.ordnungsamt.buergeramt.resident.moved",
                title="where to look",
            )
        )

        # -- the city at work ----------------------------------------------------------------
        stats = SimulationStats()
        # Each simulated department publishes as itself, through its own ACLs.
        publisher = DepartmentPublishers(source_system="simulator")
        await stack.enter_async_context(publisher)
        start = await _simulated_start(settings, admin, sorted(catalog), table)
        _say(
            "city",
            f"simulated time from {start:%Y-%m-%d %H:%M} UTC, {options.time_scale:g}× real time",
        )
        simulation = asyncio.create_task(
            run_simulation(
                publisher,
                rate=options.rate,
                duration=options.duration,
                seed=options.seed,
                stop=stop,
                stats=stats,
                time_scale=options.time_scale,
                start=start,
            )
        )
        subscribers = {r.agreement_id: r.compiled.agreement.subscriber for r in table.routes}
        simulated = options.time_scale != 1.0
        with Live(
            _view(stats, subscribers, {}, simulated, receiving, portal),
            console=console,
            refresh_per_second=2,
        ) as live:
            while not simulation.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(simulation), timeout=1.0)
                live.update(
                    _view(
                        stats,
                        subscribers,
                        await _feature_counts(features),
                        simulated,
                        receiving,
                        portal,
                    )
                )
            # Let the router catch up with what was published (a few seconds at most).
            deadline = time.monotonic() + 20
            while _counter_total("hub_router_events_total") < stats.acknowledged:
                if time.monotonic() > deadline or stop.is_set():
                    break
                await asyncio.sleep(0.5)
                live.update(
                    _view(
                        stats,
                        subscribers,
                        await _feature_counts(features),
                        simulated,
                        receiving,
                        portal,
                    )
                )
        await simulation
        lookup = "hub features get postcode=59063"
        if features is not None and not stop.is_set():
            lookup = await _features_published(settings, admin, stop) or lookup
            # Once the pipeline has stopped (Feast's registry is a file: one writer at a time),
            # a forecast for the Lagebild from what it published.
            await _stop_process(features)
            await _forecast_once(stop)
        if not stop.is_set():
            try:
                console.print(await _quality_table(settings))
            except Exception as error:  # the audit report below still counts
                _say("quality", f"[yellow]no quality report: {error}[/]")
            records = await read_audit(bootstrap, settings.registry_url, settings.audit_topic)
            console.print(
                Panel(render(summarize(records)), title="audit report (hub audit report)")
            )
            if portal is not None:
                _say(
                    "portal",
                    f"data quality: {portal.url}/qualitaet; Lagebild (staff): "
                    f"{portal.url}/intern/lagebild (the forecast made just now shows there in "
                    "the next run and with `hub portal serve`)",
                )
    _say(
        "next",
        f"hub quality report · hub audit report · hub dlq list · {lookup} · "
        "hub features forecast --view noise_complaints_hourly --horizon 24h · "
        "hub agreements show ordnungsamt-resident-moved · make test",
    )
    return 0


async def _finish(stop_router: object, task: asyncio.Task) -> None:
    stop_router()  # type: ignore[operator]
    await asyncio.wait_for(task, 30)


async def _start_features(settings: Settings, stack: contextlib.AsyncExitStack) -> object | None:
    log_path = Path(settings.broker_dir).parent / "features.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HUB_FEATURES_METRICS_PORT": str(FEATURES_METRICS_PORT)}
    log = log_path.open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "features",
        "run",
        env=env,
        stdout=log,
        stderr=log,
        stdin=asyncio.subprocess.DEVNULL,
    )

    async def stop_features() -> None:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
        log.close()

    stack.push_async_callback(stop_features)
    _say("features", f"feature pipeline started (log: {log_path})")
    return proc


async def _stop_process(proc: Any) -> None:
    """SIGTERM and wait (the pipeline finishes its transaction); the stack's own stop then
    finds it ended."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            proc.kill()


async def _forecast_once(stop: asyncio.Event) -> None:
    """`hub features forecast --view noise_complaints_hourly --horizon 24h` on what the run
    published, in a process of its own (Feast and scikit-learn take seconds to import); without
    the extra [ai] it says so once."""
    import importlib.util

    if importlib.util.find_spec("sklearn") is None:
        _say(
            "forecast",
            "[yellow]no forecast: scikit-learn is missing (the extra [ai]: "
            ".venv/bin/pip install -e '.[ai]')[/]",
        )
        return
    command = ["features", "forecast", "--view", "noise_complaints_hourly", "--horizon", "24h"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    waiting = asyncio.create_task(proc.communicate())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({waiting, stopping}, timeout=300, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not waiting.done():
        proc.kill()
        await waiting
        _say("forecast", "[yellow]no forecast: stopped before it was made[/]")
        return
    out, err = waiting.result()
    lines = out.decode(errors="replace").strip().splitlines()
    if proc.returncode == 0 and lines:
        _say("forecast", lines[-1])
    else:
        why = (err.decode(errors="replace").strip().splitlines() or ["(no output)"])[-1]
        _say("forecast", f"[yellow]no forecast: {why}[/]")


async def _quality_table(settings: Settings) -> Table:
    """Every data set's quality today, as `hub quality report` reads it from hub.quality."""
    import datetime as dt

    from consumers.quality.reader import PRINCIPAL, read_summaries
    from consumers.quality.report import build_report, percent
    from hub.kafka import KafkaSecurity
    from hub.quality.summary import BERLIN, combine
    from hub.schemas.catalog import load_catalog

    today = dt.datetime.now(BERLIN).date()
    found = await read_summaries(
        settings.bootstrap_servers,
        settings.registry_url,
        settings.quality_topic,
        security=KafkaSecurity.from_settings(settings, principal=PRINCIPAL),
    )
    report = build_report(
        combine(found.records), list(load_catalog(settings.schemas_dir)), since=today
    )
    table = Table(title=f"data quality on {today} (hub quality report)", title_justify="left")
    for column in ("data set", "events", "flag rate", "dead letters", "late", "duplicates"):
        table.add_column(column, justify="left" if column == "data set" else "right")
    for d in report.datasets:
        if not d.has_data:
            table.add_row(d.dataset, "no data", "", "", "", "")
            continue
        total = d.total()
        rate = total.flagged_events / total.events if total.events else None
        table.add_row(
            d.dataset,
            f"{total.events:,}",
            percent(rate),
            f"{total.dead_letters:,}",
            f"{total.late:,}",
            f"{total.duplicates:,}",
        )
    return table


async def _start_gateway(settings: Settings, stack: contextlib.AsyncExitStack) -> tuple[str, str]:
    import uvicorn

    from producers.gateway.app import create_app
    from producers.gateway.departments import (
        Departments,
        hash_token,
        load_departments,
        new_token,
    )
    from producers.sdk import Publisher

    departments = load_departments(settings.catalog_dir / "departments.yaml")
    token = new_token()  # lives only as long as the demo; never written to a file
    by_name = dict(departments.by_name)
    buergeramt = by_name["buergeramt"]
    by_name["buergeramt"] = buergeramt.model_copy(
        update={"tokens": (*buergeramt.tokens, hash_token(token))}
    )
    publisher = Publisher(source="/hamm/hub/gateway", principal="hub-gateway")
    app = create_app(publisher, Departments(by_name, "demo"), manage_lifecycle=True)
    host = settings.metrics_host
    if not _port_free(host, GATEWAY_PORT):
        _say("gateway", f"[yellow]port {GATEWAY_PORT} is taken: no gateway in this demo[/]")
        return "(not started)", "-"
    config = uvicorn.Config(app, host=host, port=GATEWAY_PORT, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve(), name="gateway")
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)

    async def stop_gateway() -> None:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)

    stack.push_async_callback(stop_gateway)
    url = f"http://{host}:{GATEWAY_PORT}"
    _say("gateway", f"ingest gateway at {url}")
    return url, token


async def _start_portal(settings: Settings, stack: contextlib.AsyncExitStack) -> tuple[Any, str]:
    """The portal as ``hub-portal``, with a staff login that lives only as long as the demo."""
    import secrets

    import uvicorn

    from portal.metrics import PortalMetrics
    from portal.service import build_portal
    from portal.settings import PortalSettings
    from portal.staff import load_staff

    host = settings.metrics_host
    port = PORTAL_PORT if _port_free(host, PORTAL_PORT) else _any_port(host)
    if not port:
        _say("portal", "[yellow]no free port: no portal in this demo[/]")
        return None, "(not started)"
    password = secrets.token_urlsafe(12)  # printed once, below; never written to a file
    staff = load_staff(settings.catalog_dir / "portal.yaml").with_member(
        "demo", "Demo-Zugang", password
    )
    own = PortalSettings(portal_host=host, portal_port=port)
    portal = build_portal(settings, own, staff=staff, metrics=PortalMetrics())
    config = uvicorn.Config(portal.app, host=host, port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve(), name="portal")
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)

    async def stop_portal() -> None:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)

    stack.push_async_callback(stop_portal)
    _say(
        "portal",
        f"transparency portal at {portal.url} (as hub-portal, from {settings.audit_topic})",
    )
    line = f"{portal.url}  (staff pages: login demo, password {password})"
    return portal, line


def _counter_total(name: str, label: str | None = None) -> float | dict[str, float]:
    """Sum of a counter in this process (by ``label`` value when given)."""
    by_label: dict[str, float] = {}
    total = 0.0
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name:
                total += sample.value
                if label:
                    key = sample.labels.get(label, "")
                    by_label[key] = by_label.get(key, 0.0) + sample.value
    return by_label if label else total


def _lag_quantile(q: float) -> float | None:
    """A quantile of the router's delivery lag, read off its histogram buckets."""
    buckets: list[tuple[float, float]] = []
    for family in REGISTRY.collect():
        if family.name == "hub_router_delivery_lag_seconds":
            buckets = [
                (float(s.labels["le"]), s.value)
                for s in family.samples
                if s.name.endswith("_bucket")
            ]
    if not buckets or buckets[-1][1] == 0:
        return None
    wanted = q * buckets[-1][1]
    return next(le for le, count in buckets if count >= wanted)


async def _feature_counts(features: object | None) -> dict[str, float]:
    if features is None:
        return {}
    url = f"http://127.0.0.1:{FEATURES_METRICS_PORT}/metrics"
    try:
        async with httpx.AsyncClient(timeout=1) as client:
            text = (await client.get(url)).text
    except httpx.HTTPError:
        return {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("hub_features_") and sample.name.endswith("_total"):
                counts[sample.name] = counts.get(sample.name, 0.0) + sample.value
    return counts


def _view(
    stats: object,
    subscribers: dict[str, str],
    features: dict[str, float],
    simulated: bool,
    receiving: Receiving | None = None,
    portal: Any = None,
) -> Group:
    published = Table(title="published by department", expand=True)
    published.add_column("department")
    published.add_column("events", justify="right")
    for department, n in sorted(stats.by_department.items()):  # type: ignore[attr-defined]
        published.add_row(department, str(n))
    published.add_row("[bold]total[/]", f"[bold]{stats.acknowledged}[/]")  # type: ignore[attr-defined]

    delivered = Table(title="delivered by subscriber", expand=True)
    delivered.add_column("subscriber")
    delivered.add_column("events", justify="right")
    by_agreement = _counter_total("hub_router_deliveries_total", "agreement")
    by_subscriber: dict[str, float] = {}
    for agreement, n in by_agreement.items():  # type: ignore[union-attr]
        name = subscribers.get(agreement, agreement)
        by_subscriber[name] = by_subscriber.get(name, 0.0) + n
    for name, n in sorted(by_subscriber.items()):
        delivered.add_row(name, str(int(n)))

    health = Table(title="router and feature store", expand=True)
    health.add_column("measure")
    health.add_column("value", justify="right")
    health.add_row("events routed", str(int(_counter_total("hub_router_events_total"))))
    health.add_row("filtered out", str(int(_counter_total("hub_router_filtered_total"))))
    health.add_row(
        "dead letters (hub.dlq)", str(int(_counter_total("hub_router_dead_letters_total")))
    )
    for q in (0.5, 0.99):
        lag = None if simulated else _lag_quantile(q)
        # With --time-scale the events' times run ahead of the clock: no lag to show then.
        shown = (
            "(simulated time)" if simulated else "-" if lag is None else f"≤ {lag * 1000:.0f} ms"
        )
        health.add_row(f"lag p{int(q * 100)}", shown)
    for name, label in (
        ("hub_features_windows_published_total", "feature windows published"),
        ("hub_features_windows_suppressed_total", "withheld (fewer than k)"),
    ):
        if name in features:
            health.add_row(label, str(int(features[name])))
    if receiving is not None:
        for label, value in receiving.rows():
            health.add_row(label, value)
    if portal is not None:
        health.add_row("deliveries counted by the portal", str(portal.state.audit.delivered))
    grid = Table.grid(expand=True)
    grid.add_row(published, delivered, health)
    return Group(grid)


@dataclass
class Receiving:
    """What the demo's receivers got: the Bußgeldstelle's vendor system by signed webhook
    (a local receiver that checks every signature), the Statistikstelle by the SDK."""

    receiver: Any = None
    sdk_read: int = 0
    sdk_error: str = ""

    def rows(self) -> list[tuple[str, str]]:
        rows = []
        if self.receiver is not None:
            rows.append(("webhooks acknowledged (bussgeldstelle)", str(self.receiver.acknowledged)))
            attempts = _counter_total("hub_webhooks_attempts_total")
            acknowledged = _counter_total("hub_webhooks_acknowledged_total")
            given_up = _counter_total("hub_webhooks_given_up_total")
            rows.append(("webhook retries", str(max(0, int(attempts - acknowledged - given_up)))))
            rows.append(("webhooks given up (DLQ)", str(int(given_up))))
            rows.append(("webhook signatures refused", str(len(self.receiver.rejected))))
        rows.append(("read by the SDK (statistikstelle)", self.sdk_error or str(self.sdk_read)))
        return rows


async def _start_receiving(settings: Settings, stack: contextlib.AsyncExitStack) -> Receiving:
    """A webhook subscription to a local receiver, and an SDK reader, each as its principal."""
    from consumers.subscriber import Subscription
    from consumers.webhooks.receiver import Receiver, ReceiverThread
    from consumers.webhooks.service import WebhookConfig, WebhookDispatcher
    from consumers.webhooks.signing import generate_secret
    from hub.kafka import KafkaSecurity

    receiving = Receiving()
    host = "127.0.0.1"
    port = WEBHOOK_RECEIVER_PORT if _port_free(host, WEBHOOK_RECEIVER_PORT) else _any_port(host)
    if port:
        secret = generate_secret()  # lives only as long as the demo
        receiver = Receiver(secret, keep=False)
        stack.enter_context(ReceiverThread(receiver, port))
        folder = Path(settings.broker_dir).parent / "demo-subscriptions"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bussgeldstelle-demo.yaml").write_text(
            "id: bussgeldstelle-demo\n"
            "subscriber: bussgeldstelle\n"
            "agreements: [bussgeldstelle-parking-violation]\n"
            f"endpoint: http://{host}:{port}/hub/events\n"
            "secret: env:HUB_DEMO_WEBHOOK_SECRET\n"
        )
        config = WebhookConfig(
            bootstrap=settings.bootstrap_servers,
            registry_url=settings.registry_url,
            subscriptions_dir=folder,
            agreements_dir=settings.catalog_dir / "agreements",
            environ={"HUB_DEMO_WEBHOOK_SECRET": secret},
            security=KafkaSecurity.from_settings(settings, principal="hub-webhooks"),
        )
        dispatcher = WebhookDispatcher(config)
        await stack.enter_async_context(dispatcher)
        pushing = asyncio.create_task(dispatcher.run(), name="webhooks")
        stack.push_async_callback(_finish, dispatcher.stop, pushing)
        receiving.receiver = receiver
        _say("webhooks", f"signed pushes to a local receiver at http://{host}:{port}/hub/events")
    else:
        _say("webhooks", "[yellow]no free port: no webhook receiver in this demo[/]")

    async def read() -> None:
        try:
            async with Subscription("statistikstelle", name="demo") as subscription:
                async for _delivery in subscription:
                    receiving.sdk_read += 1
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the demo goes on; the view says why
            receiving.sdk_error = f"stopped: {type(error).__name__}"
            log.warning("demo SDK reader stopped", extra={"error": str(error)})

    reading = asyncio.create_task(read(), name="sdk-reader")

    async def stop_reading() -> None:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading

    stack.push_async_callback(stop_reading)
    _say("sdk", "the Statistikstelle reads its deliveries with the subscriber SDK")
    return receiving


def demo_command(
    duration: float = typer.Option(90.0, help="Seconds the simulators run."),
    rate: float = typer.Option(40.0, help="Events per second from all departments."),
    seed: int = typer.Option(42, help="Seed of the simulators (same seed, same events)."),
    time_scale: float = typer.Option(180.0, help="Simulated seconds per real second."),
    features: bool = typer.Option(True, help="Run the feature-store pipeline (Feast)."),
    keep_broker: bool = typer.Option(False, help="Leave the broker running afterwards."),
) -> None:
    """Run the whole hub locally: broker, registry, router, feature store, gateway, simulators."""
    options = DemoOptions(duration, rate, seed, time_scale, features, keep_broker)
    raise typer.Exit(run_demo(options))


async def _simulated_start(
    settings: Settings, admin: Any, raw_topics: list[str], table: Any
) -> Any:
    """The city's clock goes on after the latest event already in the log (raw topics and the
    feature store's deliveries), so a feature pipeline's watermark is never behind a run."""
    import datetime as dt

    from producers.simulators.clock import latest_event_time, next_evening

    deliveries = [
        f"deliver.{r.compiled.agreement.subscriber}.{r.compiled.agreement.source}"
        for r in table.routes
    ]
    latest = await latest_event_time(
        settings.bootstrap_servers, [*raw_topics, *deliveries], security=admin
    )
    return next_evening(latest, dt.datetime.now(dt.UTC).date())


async def _features_published(settings: Settings, admin: Any, stop: asyncio.Event) -> str | None:
    """Wait (bounded) until the feature pipeline has taken in what the router delivered and
    pushed what it published; print the windows per view; the lookup worth suggesting."""
    from consumers.features.binding import load_feature_catalog
    from consumers.features.published import published_windows, suggest_entity
    from consumers.features.settings import get_feature_settings

    fs = get_feature_settings()
    deadline, last, quiet = time.monotonic() + 60, None, 0
    while time.monotonic() < deadline and not stop.is_set():
        counts = await _feature_counts(True)
        seen = (
            counts.get("hub_features_events_total"),
            counts.get("hub_features_windows_published_total"),
        )
        pushed = counts.get("hub_features_pushed_rows_total", 0.0)
        quiet = quiet + 1 if seen == last and pushed >= (seen[1] or 0) else 0
        if quiet >= 4:  # two seconds without a new event, window or push
            break
        last = seen
        await asyncio.sleep(0.5)
    catalog = load_feature_catalog(
        fs.dir or settings.catalog_dir / "features",
        settings.catalog_dir / "agreements",
        settings.schemas_dir,
    )
    entity_of = {v.name: v.definition.entity.name for v in catalog.views}
    windows = await published_windows(
        settings.bootstrap_servers, sorted(entity_of), fs.output_prefix, security=admin
    )
    summary = ", ".join(f"{view} {sum(c.values())}" for view, c in sorted(windows.items()))
    _say("features", f"windows published (k-gate passed) so far: {summary}")
    best = suggest_entity(windows, entity_of)
    return None if best is None else f"hub features get {best[0]}={best[1]}"
