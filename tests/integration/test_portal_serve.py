"""`hub portal serve` as an operator runs it: as hub-portal, folding a real audit trail, with
/healthz, /metrics and structured logs, and a clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import httpx
from portal_world import prepare_catalog
from ports import free_port
from router_world import ORDNUNGSAMT, World, resident
from test_router import read, running


async def test_serve_folds_the_trail_and_stops_cleanly_on_sigterm(
    kafka_bootstrap, registry_url, kafka_security, router_security, kafka_principal, tmp_path
):
    kafka_principal("hub-portal")  # its credential, in the store the service reads
    world = World(kafka_bootstrap, registry_url, tmp_path)
    world.govern(kafka_security, router_security)
    world.agree("ordnungsamt", ORDNUNGSAMT)
    prepare_catalog(world)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(3)])
    async with running(world):
        await read(world, world.delivery_topic("ordnungsamt"), 3)
    port = free_port()
    env = {
        **os.environ,
        **{k: v for k, v in world.env().items() if not k.startswith("HUB_KAFKA_")},
        "HUB_SECRET_FILE": str(world.root / "secret"),
        "HUB_PORTAL_PORT": str(port),
        "HUB_LOG_FORMAT": "json",
    }
    env.pop("HUB_KAFKA_USERNAME", None)  # the portal is its own principal, hub-portal
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "portal", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        health = None
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                try:
                    health = await client.get(f"{url}/healthz")
                    if health.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, proc.stderr.read()
                await asyncio.sleep(0.3)
            assert health is not None and health.status_code == 200, health and health.text
            start = (await client.get(f"{url}/index.json")).json()
            assert start["figures"]["deliveries_total"] == 3
            metrics = (await client.get(f"{url}/metrics")).text
            assert "hub_portal_deliveries_counted 3.0" in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr[-2000:]
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "portal configured" in messages and "portal stopped" in messages
    assert (
        next(line for line in lines if line["msg"] == "portal configured")["principal"]
        == "hub-portal"
    )
