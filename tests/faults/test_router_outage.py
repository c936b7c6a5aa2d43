"""Quiet when things break: the broker SIGKILLed for about 5 s under a running router (`hub router
run`, as in production, logging JSON). The router says so once ("broker unreachable"), once
more when it is back ("broker reachable again", with how long it was away), counts the rest in
its metrics (``hub_broker_up``, ``hub_broker_errors_total``, ``hub_log_suppressed_total``), and
still delivers every event once. Before, the same outage wrote hundreds of lines (aiokafka's
connection errors, the router's retries).

The broker is this test's own; the registry runs on the session's broker, so it stays up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import orjson
from broker_faults import sigkill
from ports import free_port
from router_world import SECRET, STATISTIK, World, resident

from hub.broker.local import LocalBroker
from hub.outage import REACHABLE_AGAIN, UNREACHABLE

OUTAGE_S = 5.0
MAX_LINES = 5  # about the outage, in the router's log
MAX_INFO_LINES = 4  # the rest: "router stopped", a rebalance's two lines
OUTAGE_LINES = (UNREACHABLE, REACHABLE_AGAIN)


def scrape(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def sample(text: str, series: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_broker_outage_is_two_lines_and_nothing_is_lost(
    own_broker: LocalBroker, registry_url: str, tmp_path: Path
):
    world = World(own_broker.bootstrap, registry_url, tmp_path / "world")
    world.agree("statistik", STATISTIK)
    port = free_port()
    secret = world.root / "secret"
    secret.write_bytes(SECRET)
    env = {
        **os.environ,
        **world.env(),
        "HUB_LOG_FORMAT": "json",
        "HUB_ROUTER_METRICS_PORT": str(port),
        "HUB_SECRET_FILE": str(secret),
    }
    log = tmp_path / "router.log"
    router = subprocess.Popen(
        [sys.executable, "-m", "hub", "router", "run"],
        env=env,
        cwd=world.root,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    topic = world.delivery_topic("statistik")
    try:
        world.produce([resident(i) for i in range(200)])
        assert len(world.read(topic, 200, timeout=60, settle=0)) == 200, log.read_text()
        # A batch under way when the broker goes: the router is busy, not idle.
        world.produce([resident(i) for i in range(200, 400)])
        # counted before the kill: the router may notice (and say so) within milliseconds
        before = len(log.read_text().splitlines())
        sigkill(own_broker)
        killed = time.monotonic()
        wait_for(
            lambda: sample(scrape(port), 'hub_broker_up{service="router"}') == 0.0,
            OUTAGE_S + 5,
            "hub_broker_up did not fall to 0 while the broker was gone",
        )
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed)))
        own_broker.start()
        down_s = time.monotonic() - killed
        world.produce([resident(i) for i in range(400, 600)])
        delivered = world.read(topic, 600, timeout=90, settle=2)
        wait_for(
            lambda: "broker reachable again" in log.read_text(),
            20,
            "no 'broker reachable again' line",
        )
        metrics = scrape(port)
    finally:
        router.send_signal(signal.SIGTERM)
        try:
            router.wait(30)
        except subprocess.TimeoutExpired:
            router.kill()

    ids = Counter(dict(m.headers())["ce_hubdelivery"] for m in delivered)
    assert len(ids) == 600, f"{600 - len(ids)} events lost"
    assert max(ids.values()) == 1, "duplicates delivered"

    lines = log.read_text().splitlines()[before:]
    records = [orjson.loads(line) for line in lines if line.startswith("{")]
    # What an operator is alerted by: the warnings and errors, and the two lines of the outage
    # (info lines besides, such as a rebalance's when the restart outlasted the group session).
    about = [r for r in records if r["level"] != "info" or r["msg"] in OUTAGE_LINES]
    shown = "\n".join(lines)
    print(f"outage of {down_s:.1f} s: {len(about)} line(s) about it\n{shown}")
    assert len(lines) == len(records), f"lines that are not the hub's JSON:\n{shown}"
    assert len(about) <= MAX_LINES, f"{len(about)} lines about a {down_s:.0f} s outage:\n{shown}"
    assert len(records) - len(about) <= MAX_INFO_LINES, f"chatty after the outage:\n{shown}"
    said = [r["msg"] for r in about]
    assert said.count("broker unreachable") == 1 and said.count("broker reachable again") == 1
    again = next(r for r in about if r["msg"] == "broker reachable again")
    assert again["service"] == "router" and 0 < again["down_s"] <= down_s + 5
    assert sample(metrics, 'hub_broker_up{service="router"}') == 1.0
    assert (sample(metrics, 'hub_broker_errors_total{service="router"}') or 0) >= 1
    print("suppressed:", sample(metrics, 'hub_log_suppressed_total{logger="aiokafka"}'))
