"""The schema registry killed under a running gateway: its log says so once, not once a
request, and says when it is back, with how long it was away and how many requests failed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import orjson
from ports import free_port
from test_registry_instances import serving

from producers.gateway.departments import hash_token

REQUESTS_WHILE_AWAY = 25


def _lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return out


def test_a_registry_outage_is_two_lines_in_the_gateways_log(kafka_bootstrap, tmp_path):
    topic = f"_schemas-outage-{uuid.uuid4().hex[:8]}"
    registry_port, gateway_port = free_port(), free_port()
    departments = tmp_path / "departments.yaml"
    departments.write_text(f"departments:\n  tquiet:\n    tokens: ['{hash_token('hub_t-x')}']\n")
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "HUB_GATEWAY_DEPARTMENTS_FILE": str(departments),
        "HUB_LOG_FORMAT": "json",
    }
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    with serving(kafka_bootstrap, topic, registry_port) as (_, registry):
        gateway = subprocess.Popen(
            [sys.executable, "-m", "hub", "gateway", "serve", "--port", str(gateway_port)],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:  # /healthz asks the registry each time (no cache in between)
                assert gateway.poll() is None, gateway.stderr.read() if gateway.stderr else ""
                try:
                    if httpx.get(f"{gateway_url}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the gateway did not become healthy"
                time.sleep(0.2)
            registry.send_signal(signal.SIGKILL)
            registry.wait(timeout=10)
            for _ in range(REQUESTS_WHILE_AWAY):
                answer = httpx.get(f"{gateway_url}/healthz", timeout=10)
                assert answer.status_code == 503 and "registry" in answer.text
        except BaseException:
            gateway.kill()
            raise
    # the registry back on its port: the next health check finds it
    with serving(kafka_bootstrap, topic, registry_port):
        assert httpx.get(f"{gateway_url}/healthz", timeout=10).status_code == 200
        gateway.send_signal(signal.SIGTERM)
        _, err = gateway.communicate(timeout=30)
    said = [line for line in _lines(err) if "registry" in line.get("msg", "")]
    assert [line["msg"] for line in said] == [
        "schema registry unreachable",
        "schema registry reachable again",
    ], err[-3000:]
    assert said[0]["level"] == "warning" and said[0]["error"]
    assert said[1]["failures"] == REQUESTS_WHILE_AWAY and said[1]["down_s"] > 0
