"""The router's engines against the real broker: the native core delivers what the Python
engine computes for the same records, byte for byte; an agreement the core refuses runs on the
Python engine beside the others and still delivers; `hub router run` without the core (or told
HUB_ROUTER_ENGINE=python) routes with the Python engine and says so."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx
import pytest
from ports import free_port
from router_world import ORDNUNGSAMT, SECRET, STATISTIK, World, resident
from test_router import decode_all, read, running

from consumers.router import metrics
from consumers.router.engine import load_core
from consumers.router.process import route_events

native = pytest.mark.skipif(load_core() is None, reason="hub_core is not installed (make install)")

# A mask length beyond 64 bits: the Python engine masks the whole id, the core refuses the plan.
REFUSED = STATISTIK.replace("resident_id: pseudonymize", "resident_id: {{mask: " + f"{10**30}}}}}")


@pytest.fixture
def world(kafka_bootstrap, registry_url, tmp_path, kafka_security, router_security) -> World:
    return World(kafka_bootstrap, registry_url, tmp_path).govern(kafka_security, router_security)


def comparable(messages: list) -> list:
    return [(m.key(), m.value(), list(m.headers() or [])) for m in messages]


@native
async def test_native_deliveries_equal_the_python_engine_byte_for_byte(world):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", STATISTIK)
    records = [resident(i) for i in range(30)] + [resident(99, city="Unna")]
    await asyncio.to_thread(world.produce, records)
    async with running(world) as router:
        assert router.engine == "native"
        ordnung = await read(world, world.delivery_topic("ordnungsamt"), 30)
        statistik = await read(world, world.delivery_topic("statistik"), 31)
        # the same source records through the Python engine, under the router's own table
        source = await read(world, world.source, 31)
        table = router.table.sources[world.source]

        class Event:
            def __init__(self, m) -> None:
                self.topic, self.partition, self.offset = m.topic(), m.partition(), m.offset()
                self.key, self.value = m.key(), m.value()
                self.headers, self.timestamp = list(m.headers() or []), m.timestamp()[1]

        events = [Event(m) for m in source]
        await router.learn_schemas(events)
        expected = route_events(table, ((e, e) for e in events), router.serde, _now(), "r")
    by_topic: dict[str, list] = {}
    for topic, key, value, headers in expected.deliveries:
        by_topic.setdefault(topic, []).append((key, value, headers))
    assert comparable(ordnung) == by_topic[world.delivery_topic("ordnungsamt")]
    assert comparable(statistik) == by_topic[world.delivery_topic("statistik")]


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


@native
async def test_an_agreement_the_core_refuses_runs_on_python_and_delivers(world):
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", REFUSED)
    await asyncio.to_thread(world.produce, [resident(i) for i in range(12)])
    await asyncio.to_thread(world.produce_raw, b"\x01poison", b"poison")
    async with running(world) as router:
        refused = router._native.refused
        assert list(refused) == [f"{world.dept}-statistik"]
        assert "plan" in refused[f"{world.dept}-statistik"]
        assert metrics.ENGINE_REFUSED._value.get() == 1
        ordnung = await read(world, world.delivery_topic("ordnungsamt"), 12)
        statistik = await read(world, world.delivery_topic("statistik"), 12)
        dead = await read(world, world.dlq, 1)
    assert len(ordnung) == 12 and len(statistik) == 12
    values = decode_all(world, world.delivery_topic("statistik"), statistik)
    assert all(set(v["resident_id"]) == {"*"} for v in values)
    assert len(dead) == 1  # the poison once, not once per engine


def _run_router(world: World, extra: dict[str, str]) -> tuple[str, str]:
    """`hub router run` until it delivered 20 events; (its /metrics text, its stderr)."""
    world.agree("statistik", STATISTIK)
    port = free_port()
    secret = world.root / "secret"
    secret.write_bytes(SECRET)
    env = {
        **os.environ,
        **world.env(),
        "HUB_SECRET_FILE": str(secret),
        "HUB_LOG_FORMAT": "json",
        "HUB_ROUTER_METRICS_PORT": str(port),
        **extra,
    }
    router = subprocess.Popen(
        [sys.executable, "-m", "hub", "router", "run"],
        env=env,
        cwd=world.root,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        world.produce([resident(i) for i in range(20)])
        assert len(world.read(world.delivery_topic("statistik"), 20, timeout=60)) == 20
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        router.send_signal(signal.SIGTERM)
        _, stderr = router.communicate(timeout=30)
    assert router.returncode == 0, stderr
    return text, stderr


def test_hub_router_run_with_the_python_engine_says_so(world):
    text, stderr = _run_router(world, {"HUB_ROUTER_ENGINE": "python"})
    assert 'hub_router_engine_info{engine="python"} 1.0' in text
    assert 'hub_router_engine_info{engine="native"} 0.0' in text
    assert '"msg":"router engine"' in stderr and '"engine":"python"' in stderr


def test_hub_router_run_without_the_core_routes_with_python(world, tmp_path):
    """As installed without Rust: hub_core cannot be imported (a failing stub comes first)."""
    stub = tmp_path / "no-core"
    stub.mkdir()
    (stub / "hub_core.py").write_text("raise ImportError('installed without Rust')\n")
    path = os.pathsep.join([str(stub), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    text, stderr = _run_router(world, {"PYTHONPATH": path, "HUB_ROUTER_ENGINE": "auto"})
    assert 'hub_router_engine_info{engine="python"} 1.0' in text
    assert "hub_core is not installed" in stderr


@native
def test_hub_router_run_uses_the_native_core_when_installed(world):
    env = {"HUB_ROUTER_ENGINE": "auto"}
    env.pop("HUB_ROUTER_WORKERS", None)
    text, stderr = _run_router(world, env)
    assert 'hub_router_engine_info{engine="native"} 1.0' in text
    assert '"engine":"native"' in stderr
