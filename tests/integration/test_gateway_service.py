"""The gateway as a service (a subprocess, as `hub gateway serve` runs it): SIGTERM while
requests are in flight answers them all, and every acknowledged event is on the topic."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx
from connect_world import REPO, Dept, parking
from ports import free_port

from producers.gateway.departments import hash_token

TOKEN = "hub_service-test-token"


async def test_sigterm_finishes_in_flight_requests_and_flushes(
    kafka_bootstrap, registry_url, tmp_path
):
    dept = Dept(kafka_bootstrap, registry_url)
    topic = await dept.register()
    departments = tmp_path / "departments.yaml"
    departments.write_text(
        f"departments:\n  {dept.name}:\n    tokens: ['{hash_token(TOKEN)}']\n"
        "    rate_limit: {events_per_second: 100000, burst: 100000}\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_REGISTRY_URL": registry_url,
        "HUB_GATEWAY_DEPARTMENTS_FILE": str(departments),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from producers.gateway.cli import app; app()",
            "serve",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
            for _ in range(300):  # up to 30 s for the service to come up
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the gateway did not become healthy")

            async def post(i: int) -> httpx.Response | None:
                batch = [parking(i * 100 + j) for j in range(100)]
                try:
                    return await client.post(f"/v1/topics/{topic}/events", json=batch)
                except httpx.TransportError:
                    return None  # refused: it arrived after the gateway stopped listening

            first = await post(0)
            assert first is not None and first.status_code == 201
            requests = [asyncio.create_task(post(i)) for i in range(1, 21)]
            await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            responses = await asyncio.gather(*requests)
        exit_code = await asyncio.to_thread(process.wait, 60)
    finally:
        if process.poll() is None:
            process.kill()
    output = process.stdout.read().decode() if process.stdout else ""
    assert exit_code == 0, output
    answered = [r for r in responses if r is not None]
    assert answered, "no request was in flight at SIGTERM: the test proved nothing"
    assert all(r.status_code == 201 for r in answered), [r.status_code for r in answered]
    acknowledged = 100 * (1 + len(answered))
    messages = await asyncio.to_thread(dept.read, topic, acknowledged)
    keys = [m.key() for m in messages]
    assert len(keys) == len(set(keys)) == acknowledged
