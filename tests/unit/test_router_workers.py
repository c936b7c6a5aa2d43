"""Routing in slices and in worker processes gives what one in-process pass gives."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram
from test_router_core import NOW, TOPIC, FakeEvent, make_source, resident

from consumers.router import runtime
from consumers.router.engine import load_core
from consumers.router.metrics import observe_lags, observe_many
from consumers.router.process import Outcome, route_events
from consumers.router.routes import RoutingTable
from consumers.router.workers import RouteWorkers, TableSpec, WorkerDied, WorkerError

SECRET = b"unit-test-master-secret-0123456789"  # as make_source uses
POISON = [None, b"\x01abc", b"\x00\x00\x00\x00\x63abc", b"\x00\x00\x00\x00\x01\x02"]


def batch(serde, kinds: list[int]) -> list[FakeEvent]:
    """Events of one partition: 0 delivered, 1 filtered (Unna), 2 transform failure, 3+ poison."""
    out = []
    for offset, kind in enumerate(kinds):
        if kind == 0:
            value = serde.encode(1, resident())
        elif kind == 1:
            value = serde.encode(1, resident("Unna"))
        elif kind == 2:
            value = serde.encode(1, resident(birth=date(2090, 1, 1)))  # age band fails
        else:
            value = POISON[kind - 3]
        headers = [("ce_id", f"e-{offset}".encode()), ("x-user", b"u7")]
        out.append(FakeEvent(value, key=f"R-{offset}".encode(), headers=headers, offset=offset))
    return out


def comparable(outcome: Outcome) -> tuple:
    audit = sorted(
        ({k: v for k, v in a.items() if k != "fields"} for a in outcome.audit),
        key=lambda a: a["agreement_id"],
    )
    return (
        outcome.deliveries,
        outcome.dead_letters,
        audit,
        outcome.event_times,
        outcome.delivered,
        outcome.filtered,
        outcome.dead,
        outcome.events,
    )


@pytest.fixture(scope="module")
def source_and_serde(tmp_path_factory):
    return make_source(tmp_path_factory.mktemp("agreements"), "a", "b")


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(st.integers(0, 3 + len(POISON) - 1), min_size=1, max_size=30),
    cuts=st.lists(st.integers(1, 29), max_size=4),
)
def test_slices_merged_equal_one_pass(source_and_serde, kinds, cuts):
    source, serde = source_and_serde
    events = batch(serde, kinds)
    whole = route_events(source, ((e, e) for e in events), serde, NOW, "r")
    bounds = sorted({0, len(events), *(c for c in cuts if c < len(events))})
    merged = Outcome()
    for lo, hi in itertools.pairwise(bounds):
        part = events[lo:hi]
        merged.merge(route_events(source, ((e, e) for e in part), serde, NOW, "r"))
    assert comparable(merged) == comparable(whole)


def test_audit_of_slices_spans_the_joint_offset_range(source_and_serde):
    source, serde = source_and_serde
    events = batch(serde, [0, 1, 0, 0, 1, 0])
    merged = Outcome()
    for part in (events[:2], events[2:5], events[5:]):
        merged.merge(route_events(source, ((e, e) for e in part), serde, NOW, "r"))
    by_agreement = {a["agreement_id"]: a for a in merged.audit}
    assert set(by_agreement) == {"a", "b"}
    for record in by_agreement.values():
        assert (record["first_offset"], record["last_offset"]) == (0, 5)
        assert (record["delivered"], record["filtered"]) == (4, 2)


def test_a_table_rebuilt_from_its_spec_delivers_the_same_bytes(source_and_serde):
    source, serde = source_and_serde
    events = batch(serde, [0, 1, 2, 3, 4, 0])
    table, worker_serde = TableSpec.of(RoutingTable({TOPIC: source}), SECRET).build()
    worker_serde.add_schema(1, serde.schema(1))
    here = route_events(source, ((e, e) for e in events), serde, NOW, "r")
    there = route_events(table.sources[TOPIC], ((e, e) for e in events), worker_serde, NOW, "r")
    assert comparable(there) == comparable(here)


def test_worker_processes_route_like_the_router(source_and_serde):
    source, serde = source_and_serde
    events = batch(serde, [0, 1, 2, 3, 4, 5, 6] * 150)  # > one slice a worker
    writers = {1: serde.schema(1).canonical}

    async def routed() -> Outcome:
        async with RouteWorkers(2, RoutingTable({TOPIC: source}), SECRET) as workers:
            return await workers.route(TOPIC, events, writers, NOW, "r")

    here = route_events(source, ((e, e) for e in events), serde, NOW, "r")
    assert comparable(asyncio.run(routed())) == comparable(here)


def test_a_dead_worker_is_said_loudly_and_the_pool_still_stops(source_and_serde):
    """The router restarts the pool and reads the batch again; it never loses the batch."""
    source, serde = source_and_serde
    events = batch(serde, [0] * 50)

    async def kill_one_then_route() -> None:
        async with RouteWorkers(2, RoutingTable({TOPIC: source}), SECRET) as workers:
            os.kill(workers.pids[0], signal.SIGKILL)
            await asyncio.sleep(0.5)
            await workers.route(TOPIC, events, {1: serde.schema(1).canonical}, NOW, "r")

    with pytest.raises(WorkerDied, match="hub-router-worker-0"):
        asyncio.run(asyncio.wait_for(kill_one_then_route(), 30))


@given(st.lists(st.floats(0, 4000, allow_nan=False) | st.sampled_from([0.01, 0.1, 1.0])))
def test_observe_many_records_what_observe_records(values):
    buckets = (0.01, 0.025, 0.1, 0.5, 1, 10, 300)
    one, many = CollectorRegistry(), CollectorRegistry()
    h1 = Histogram("lag", "l", buckets=buckets, registry=one)
    h2 = Histogram("lag", "l", buckets=buckets, registry=many)
    for v in values:
        h1.observe(v)
    observe_many(h2, values)

    def samples(registry: CollectorRegistry) -> list:
        (metric,) = registry.collect()
        return [(s.name, s.labels, s.value) for s in metric.samples if s.name != "lag_created"]

    observed, bulk = samples(one), samples(many)
    assert [s[:2] for s in observed] == [s[:2] for s in bulk]
    for (_, _, a), (_, _, b) in zip(observed, bulk, strict=True):
        assert a == pytest.approx(b)


@pytest.mark.skipif(load_core() is None, reason="hub_core is not installed (make install)")
@given(
    st.floats(0, 1e10, allow_nan=False),
    st.lists(st.floats(-1e10, 1e10, allow_nan=False) | st.sampled_from([0.0, 0.01, 0.1, 1.0])),
)
def test_native_lags_record_what_the_python_ones_record(now, times):
    """hub_core.lag_buckets fills the histogram as observe_many does: the same bucket counts
    (lags at a bound, negative lags as 0), the same sum."""
    buckets = (0.01, 0.025, 0.1, 0.5, 1, 10, 300)
    native, python = CollectorRegistry(), CollectorRegistry()
    h1 = Histogram("lag", "l", buckets=buckets, registry=native)
    h2 = Histogram("lag", "l", buckets=buckets, registry=python)
    observe_lags(now, times, h1)
    observe_lags(now, times, h2, native=False)

    def samples(registry: CollectorRegistry) -> list:
        (metric,) = registry.collect()
        return [(s.name, s.labels, s.value) for s in metric.samples if s.name != "lag_created"]

    got, expected = samples(native), samples(python)
    assert [s for s in got if s[0] != "lag_sum"] == [s for s in expected if s[0] != "lag_sum"]
    (got_sum,) = [s[2] for s in got if s[0] == "lag_sum"]
    (expected_sum,) = [s[2] for s in expected if s[0] == "lag_sum"]
    assert got_sum == pytest.approx(expected_sum, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize(("cores", "expected"), [(1, 0), (2, 2), (3, 3), (64, 4)])
def test_default_workers_one_a_core_up_to_four(monkeypatch, tmp_path, cores, expected):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    monkeypatch.setattr(runtime, "CGROUP_CPU_MAX", tmp_path / "none")
    assert runtime.default_workers("python") == expected


def test_no_routing_processes_with_the_native_core(monkeypatch):
    from consumers.router import engine

    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda _pid: set(range(8)))
    if engine.load_core() is None:
        pytest.skip("hub_core is not installed (make install)")
    assert runtime.default_workers("native") == 0
    assert runtime.default_workers("auto") == 0


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("max 100000", 32),
        ("200000 100000", 2),
        ("150000 100000", 2),
        ("50000 100000", 1),
        ("x", 32),
    ],
)
def test_a_container_cpu_limit_bounds_the_cores(monkeypatch, tmp_path, cpu_max, expected):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda _pid: set(range(32)))
    limit = tmp_path / "cpu.max"
    limit.write_text(cpu_max + "\n")
    assert runtime.usable_cores(limit) == expected


def test_malloc_arenas_are_limited_unless_the_environment_says(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert runtime.limit_malloc_arenas() is False  # the operator's word holds
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert runtime.limit_malloc_arenas() is True  # glibc, as on every machine we run on


def test_a_worker_that_cannot_build_the_table_says_why(source_and_serde):
    source, _serde = source_and_serde
    spec = TableSpec.of(RoutingTable({TOPIC: source}), SECRET)
    (topic, canonical, routes), *_ = spec.sources
    broken = TableSpec(SECRET, ((topic, canonical.replace('"string"', '"strong"', 1), routes),))

    async def start() -> None:
        workers = RouteWorkers(1, RoutingTable({TOPIC: source}), SECRET)
        workers._spec = broken  # as if the schema had changed under the router's feet
        await workers.start()

    with pytest.raises(WorkerError, match=r"AgreementCheckError: .*de\.hamm\.buergeramt\.strong"):
        asyncio.run(asyncio.wait_for(start(), 60))


def test_workers_stop_and_leave_no_process_behind(source_and_serde):
    source, _serde = source_and_serde

    async def start_stop() -> list[int]:
        workers = RouteWorkers(2, RoutingTable({TOPIC: source}), SECRET)
        await workers.start()
        pids = workers.pids
        await workers.stop()
        return pids

    pids = asyncio.run(start_stop())
    assert len(pids) == 2
    for pid in pids:  # gone (reaped by join)
        assert not Path(f"/proc/{pid}").exists()
