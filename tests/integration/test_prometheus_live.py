"""Prometheus, for real: Debian's `prometheus` runs the project's deploy/prometheus/prometheus.yml
(its targets rewritten to this test's ports, a 1 s scrape and evaluation interval, storage in a
tmp dir) and its alert rules against real hub services: the router, webhooks, feature pipeline,
gateway and pull API as the commands run them, the portal and the registry in this process.
Through Prometheus' HTTP API: every target is up, every series the alert rules and the Grafana
dashboards query exists (by metric name), and every rule evaluates without error.

The series that only appear once something happens are made to happen first: a dead letter
(not Avro), an event an agreement's filter holds back and a quality rule flags (moved to Soest).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import yaml
from backends import require
from connect_world import running_gateway
from portal_world import prepare_catalog, serving
from ports import free_port
from promql import RULES, queried_series
from router_world import ORDNUNGSAMT, REPO, STATISTIK, World, resident

from consumers.webhooks.receiver import Receiver, ReceiverThread, Reply
from consumers.webhooks.signing import generate_secret
from hub.kafka import KafkaSecurity
from producers.gateway.departments import hash_token

PROMETHEUS_YML = REPO / "deploy" / "prometheus" / "prometheus.yml"
PROMETHEUS_HINT = (
    "Debian's prometheus is not installed: `apt-get install -y prometheus` as root "
    "(`make test` and .ci/run do)"
)
GATEWAY_TOKEN = "hub_prometheus-live-gateway"
PULL_TOKEN = "hub_prometheus-live-pull"
HOOK_SECRET_VAR = "HUB_TEST_PROMETHEUS_HOOK_SECRET"
# Jobs of prometheus.yml this test does not run, and why: each runs elsewhere in the tests.
NOT_RUN = {
    "hub-connect": "a connector runs per department file or outbox (test_connect_cli.py)",
    "hub-features-api": "the online-feature API needs a Feast store (test_feature_pipeline.py)",
}
FEATURE_AGREEMENT = """\
id: {aid}
subscriber: ki-featurestore
source: ordnungsamt.noise-complaint.filed
delivery_topic: {topic}
purpose: Test der Lärm-Merkmale
legal_basis: "§ 3 DSG NRW i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
valid_until: 2099-12-31
key: drop
fields:
  occurred_at: keep
  postcode: keep
  complainant_name: pseudonymize
"""
FEATURE_VIEW = """\
name: {view}
agreement: {aid}
entity: {{name: postcode, field: postcode}}
event_time: occurred_at
window: {{type: tumbling, size: 1h}}
k: 5
contributor: complainant_name
aggregations:
  - {{name: complaints, fn: count}}
"""


class Services:
    """The hub's commands as subprocesses, each logging to a file of its own, stopped after."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path = REPO) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [sys.executable, *args], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def check(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} exited: {self.log(name)}"

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def prometheus_config(targets: dict[str, str], rules: Path) -> dict:
    """prometheus.yml as the project ships it, scraping ``targets`` (job → host:port) every
    second; the jobs not run here must be the ones NOT_RUN names."""
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs == set(targets) | set(NOT_RUN), "prometheus.yml and this test disagree on jobs"
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    config["rule_files"] = [str(rules)]
    config["scrape_configs"] = [
        {**job, "static_configs": [{"targets": [targets[job["job_name"]]]}]}
        for job in config["scrape_configs"]
        if job["job_name"] in targets
    ]
    return config


@contextlib.contextmanager
def running_prometheus(config: dict, root: Path):
    """Prometheus on a free port with its own storage; its HTTP API's base URL."""
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (root / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


async def eventually(check: Callable[[], object], timeout: float, what: Callable[[], str]) -> None:
    """Until ``check()`` (awaited if need be) is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, what()
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def api(url: str) -> AsyncIterator[Callable]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:

        async def get(path: str, **params: str) -> object:
            response = await client.get(f"/api/v1/{path}", params=params)
            response.raise_for_status()
            return response.json()["data"]

        yield get


def world_with_everything(world: World) -> None:
    """Agreements with and without a filter, and the catalog the portal, the gateway and the
    pull API read (tokens for one department and one subscriber)."""
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", STATISTIK)
    prepare_catalog(world)
    (world.agreements_dir.parent / "departments.yaml").write_text(
        f"departments:\n  {world.dept}:\n    contact: it@hamm.de\n"
        f"    tokens: ['{hash_token(GATEWAY_TOKEN)}']\n"
        "subscribers:\n  ordnungsamt: {contact: oa@hamm.de}\n"
        f"  statistik: {{contact: st@hamm.de, pull_tokens: ['{hash_token(PULL_TOKEN)}']}}\n"
    )


def features_catalog(root: Path, uid: str) -> Path:
    """A catalog of one feature view on a delivery topic of its own (nobody delivers to it:
    the view's window series exist from the start, at 0)."""
    catalog = root / "features-catalog"
    (catalog / "agreements").mkdir(parents=True)
    (catalog / "features").mkdir()
    aid = f"ki-featurestore-live-{uid}"
    agreement = FEATURE_AGREEMENT.format(aid=aid, topic=f"deliver.ki-featurestore.live-{uid}")
    (catalog / "agreements" / f"{aid}.yaml").write_text(agreement)
    (catalog / "features" / "noise.yaml").write_text(
        FEATURE_VIEW.format(view=f"noise_{uid}", aid=aid)
    )
    return catalog


async def test_prometheus_scrapes_every_service_and_finds_every_series(
    kafka_bootstrap: str, registry_url: str, kafka_security: KafkaSecurity, tmp_path: Path
):
    require(shutil.which("prometheus") is not None, PROMETHEUS_HINT)
    started = time.monotonic()
    world = World(kafka_bootstrap, registry_url, tmp_path / "world")
    world_with_everything(world)
    secret = world.root / "secret"  # prepare_catalog wrote it
    catalog = world.agreements_dir.parent
    ports = {job: free_port() for job in ("router", "webhooks", "features", "deliveries")}
    base = {**os.environ, **world.env(), "HUB_LOG_FORMAT": "json", "HUB_SECRET_FILE": str(secret)}
    hook_secret = generate_secret()
    (catalog / "subscriptions").mkdir()
    services = Services(tmp_path)
    with ReceiverThread(Receiver(hook_secret, lambda got: Reply(204)), free_port()) as receiver:
        (catalog / "subscriptions" / "live.yaml").write_text(
            f"id: {world.dept}-hook\nsubscriber: ordnungsamt\n"
            f"agreements: [{world.dept}-ordnungsamt]\nendpoint: {receiver.url}\n"
            f"secret: env:{HOOK_SECRET_VAR}\n"
        )
        try:
            services.start(
                "router",
                ["-m", "hub", "router", "run"],
                {**base, "HUB_ROUTER_METRICS_PORT": str(ports["router"])},
                cwd=world.root,
            )
            services.start(
                "webhooks",
                ["-m", "hub", "webhooks", "run"],
                {
                    **base,
                    HOOK_SECRET_VAR: hook_secret,
                    "HUB_WEBHOOKS_DLQ_TOPIC": f"{world.dept}.webhooks.dlq",
                    "HUB_WEBHOOKS_METRICS_PORT": str(ports["webhooks"]),
                },
                cwd=world.root,
            )
            features = features_catalog(tmp_path, world.dept)
            services.start(
                "features",
                [
                    *("-m", "hub", "features", "run", "--no-feast"),
                    *("--metrics-port", str(ports["features"])),
                    *("--features", str(features / "features"), "--catalog", str(features)),
                ],
                {
                    **base,
                    "HUB_SCHEMAS_DIR": str(REPO / "schemas"),
                    "HUB_FEATURES_GROUP": f"features-{world.dept}",
                    "HUB_FEATURES_CHANGELOG_TOPIC": f"test.features.state.{world.dept}",
                    "HUB_FEATURES_OUTPUT_PREFIX": f"test.features.{world.dept}.",
                },
            )
            services.start(
                "deliveries",
                ["-m", "consumers.deliveries", "serve", "--port", str(ports["deliveries"])],
                {**base, "HUB_SCHEMAS_DIR": str(REPO / "schemas")},
            )
            gateway_env = {
                **base,
                "HUB_GATEWAY_IDEMPOTENCY_TOPIC": f"hub.gateway.idempotency.{world.dept}",
            }
            async with (
                running_gateway(gateway_env, GATEWAY_TOKEN, log=tmp_path / "gateway.log") as gw,
                serving(world, kafka_security) as portal,
            ):
                # What only exists once it happened: routed, filtered and flagged (moved to
                # Soest: the publisher's SDK names the broken flag rule in ce_hubquality),
                # dead-lettered (not Avro).
                soest = {"ce_hubquality": b"neuer-wohnort-hamm"}
                await asyncio.to_thread(
                    world.produce,
                    [resident(i) for i in range(20)] + [resident(20, city="Soest")],
                    headers=[{}] * 20 + [soest],
                )
                await asyncio.to_thread(world.produce_raw, b"not avro")
                targets = {
                    "hub-registry": registry_url.removeprefix("http://"),
                    "hub-router": f"127.0.0.1:{ports['router']}",
                    "hub-gateway": f"127.0.0.1:{gw.base_url.port}",
                    "hub-features": f"127.0.0.1:{ports['features']}",
                    "hub-webhooks": f"127.0.0.1:{ports['webhooks']}",
                    "hub-deliveries": f"127.0.0.1:{ports['deliveries']}",
                    "hub-portal": portal.url.removeprefix("http://"),
                }
                config = prometheus_config(targets, RULES)
                with running_prometheus(config, tmp_path) as url:
                    async with api(url) as get:
                        await check(get, services, targets, world)
        finally:
            services.stop()
    print(f"the live Prometheus check took {time.monotonic() - started:.1f} s")


async def check(get: Callable, services: Services, targets: dict[str, str], world: World) -> None:
    async def health() -> dict[str, str]:
        services.check()
        try:
            found = await get("targets", state="active")
        except httpx.HTTPError:  # Prometheus still starting
            return {}
        return {t["labels"]["job"]: t["health"] for t in found["activeTargets"]}

    seen: dict[str, str] = {}

    async def all_up() -> bool:
        seen.update(await health())
        return set(seen) == set(targets) and all(h == "up" for h in seen.values())

    await eventually(all_up, 45, lambda: f"targets not all up: {seen}")

    wanted = queried_series()
    missing: dict[str, set[str]] = {}

    async def every_series() -> bool:
        missing.clear()
        for name, where in wanted.items():
            if not (await get("query", query=f'count({{__name__="{name}"}})'))["result"]:
                missing[name] = where
        return not missing

    await eventually(every_series, 45, lambda: f"series nobody exports: {missing}")

    # Each service reports the broker reachable (in-process services share one registry's
    # collectors, so a job may show another's too: look for its own). Eventually: a scrape that
    # timed out on a busy machine marks a job's series stale until the next one (1 s later).
    own = {
        "hub-registry": "registry",
        "hub-router": "router",
        "hub-gateway": "gateway",
        "hub-features": "features",
        "hub-webhooks": "webhooks",
        "hub-deliveries": "deliveries",
        "hub-portal": "portal",
    }
    broker_up: dict[str, list[float]] = {}

    async def every_service_reaches_the_broker() -> bool:
        for job, service in own.items():
            query = f'hub_broker_up{{job="{job}",service="{service}"}}'
            up = (await get("query", query=query))["result"]
            broker_up[job] = [float(s["value"][1]) for s in up]
        return all(values == [1.0] for values in broker_up.values())

    await eventually(every_service_reaches_the_broker, 30, lambda: f"hub_broker_up: {broker_up}")

    # The router's validity gauge: the end of 2099-12-31 in Hamm, for both agreements.
    end = dt.datetime(2100, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    expected = {f"{world.dept}-ordnungsamt": end, f"{world.dept}-statistik": end}
    valid: dict[str, float] = {}

    async def valid_until_exported() -> bool:
        found = (await get("query", query="hub_router_agreement_valid_until_seconds"))["result"]
        valid.clear()
        valid.update({s["metric"]["agreement"]: float(s["value"][1]) for s in found})
        return valid == expected

    await eventually(valid_until_exported, 30, lambda: f"valid until: {valid} != {expected}")

    async def rules_evaluated() -> list:
        groups = (await get("rules", type="alert"))["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if not rules or any(rule.get("lastEvaluation", "").startswith("0001") for rule in rules):
            return []  # not every rule evaluated yet
        return rules

    rules: list = []

    async def evaluated() -> bool:
        rules[:] = await rules_evaluated()
        return bool(rules)

    await eventually(evaluated, 15, lambda: "the alert rules were not evaluated")
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not broken, f"rules that do not evaluate: {broken}"
    firing = {r["name"] for r in rules if r["state"] == "firing"}
    assert "HubAgreementExpiring" not in firing and "HubBrokerUnreachable" not in firing
