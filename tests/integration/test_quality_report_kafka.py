"""`hub quality report` against a real broker: summaries in the quality topic (Confluent-framed
Avro under <topic>-value, as the router writes them), read to the end as hub-audit under the ACLs
the catalog implies, partitions summed, a data set without summaries listed as "no data", and
the rejections at the door asked from a real Prometheus that scraped a producer's counter."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from backends import require
from portal_world import publish_summaries, quality_topic
from ports import free_port
from prometheus_client import CollectorRegistry, Counter, start_http_server
from router_world import World

from consumers.quality.reader import read_summaries
from consumers.quality.report import build_report
from hub.quality.summary import BERLIN, combine

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def world(kafka_bootstrap, registry_url, kafka_security, router_security, tmp_path):
    world = World(kafka_bootstrap, registry_url, tmp_path)
    await asyncio.to_thread(world.govern, kafka_security, router_security)
    return world


async def test_the_report_reads_hub_quality_as_hub_audit_and_sums_the_partitions(
    world, kafka_security, kafka_principal
):
    audit = kafka_principal("hub-audit")
    day = date(2026, 11, 30)
    await asyncio.to_thread(
        publish_summaries,
        world,
        kafka_security,
        day,
        [
            {"events": 10, "flagged": {"bisherige-plz-in-hamm": 1}},  # superseded below
            {"events": 40, "flagged": {"bisherige-plz-in-hamm": 2}, "late": 3, "nulls": {"x": 8}},
        ],
    )
    # the cumulative summary of partition 0 later that day: the latest of a key counts
    await asyncio.to_thread(
        publish_summaries,
        world,
        kafka_security,
        day,
        [{"events": 60, "flagged": {"bisherige-plz-in-hamm": 4}, "dead_letters": 1}],
    )
    found = await read_summaries(
        world.bootstrap, world.registry_url, quality_topic(world), security=audit
    )
    assert found.undecodable == 0
    report = build_report(combine(found.records), [world.source, "other.data.set"])
    ours = {d.dataset: d for d in report.datasets}
    (row,) = ours[world.source].days
    assert (row.day, row.events, row.figures.dead_letters, row.figures.late) == (day, 100, 1, 3)
    assert row.figures.flagged == {"bisherige-plz-in-hamm": 6} and row.flag_rate == 0.06
    assert row.null_shares() == {"x": 0.08}
    assert not ours["other.data.set"].has_data


@pytest.fixture
def prometheus(tmp_path):
    """A real Prometheus (Debian's) scraping a producer's /metrics every second."""
    binary = shutil.which("prometheus")
    require(binary is not None, "prometheus not found: `apt-get install -y prometheus` as root")
    registry = CollectorRegistry()
    rejected = Counter(
        "hub_publisher_quality_rejected",
        "Records refused because they break a reject quality rule",
        ["topic", "rule"],
        registry=registry,
    )
    target = free_port()
    server, thread = start_http_server(target, addr="127.0.0.1", registry=registry)
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: producer\n    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n"
    )
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("prometheus did not start")
        yield url, rejected
    finally:
        proc.terminate()
        proc.wait(30)
        server.shutdown()
        thread.join(5)


def scraped(url: str, query: str, want: float, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = httpx.get(f"{url}/api/v1/query", params={"query": query}).json()["data"]["result"]
        if result and float(result[0]["value"][1]) >= want:
            return
        time.sleep(0.3)
    raise AssertionError(f"{query} never reached {want}")


async def test_the_command_adds_the_rejections_at_the_door_from_prometheus(
    world, kafka_security, kafka_principal, prometheus
):
    url, rejected = prometheus
    kafka_principal("hub-audit")  # its credential, in the store the command reads
    today = datetime.now(BERLIN).date()
    await asyncio.to_thread(
        publish_summaries, world, kafka_security, today, [{"events": 12}, {"events": 8}]
    )
    counter = rejected.labels(world.source, "neue-plz-in-hamm")
    metric = f'hub_publisher_quality_rejected_total{{topic="{world.source}"}}'
    await asyncio.to_thread(scraped, url, metric, 0)  # seen at 0 first: increase() needs two
    counter.inc(5)
    await asyncio.to_thread(scraped, url, metric, 5)
    await asyncio.sleep(3)  # a few samples at 5, so the estimate is near what happened
    env = {
        **os.environ,
        **{k: v for k, v in world.env().items() if not k.startswith("HUB_KAFKA_")},
        "HUB_PROMETHEUS_URL": url,
        "HUB_QUALITY_TOPIC": quality_topic(world),
    }
    env.pop("HUB_KAFKA_USERNAME", None)  # the report is hub-audit, from the credential store
    command = [sys.executable, "-m", "hub", "quality", "report", "--dataset", world.source]
    result = await asyncio.to_thread(
        subprocess.run,
        [*command, "--format", "json", "--since", (today - timedelta(days=1)).isoformat()],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    (ours,) = data["datasets"]
    assert ours["dataset"] == world.source and ours["status"] == "ok"
    (row,) = ours["days"]
    assert row["day"] == today.isoformat() and row["events"] == 20
    # increase() extrapolates between scrapes: an estimate near the 5 refused
    assert 5 <= row["rejected"]["neue-plz-in-hamm"] <= 7, row
    assert data["rejected_at_the_door"]["included"] is True
    text = await asyncio.to_thread(
        subprocess.run,
        [*command, "--since", "2020-01-01"],
        env={**env, "HUB_PROMETHEUS_URL": ""},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert text.returncode == 0, text.stderr[-2000:]
    assert f"{world.source}\n  day" in text.stdout and "set HUB_PROMETHEUS_URL" in text.stdout
    unknown = await asyncio.to_thread(
        subprocess.run,
        [*command[:-1], "no.such.dataset"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 2 and "--dataset" in unknown.stderr
