"""The benchmarks delete the topics they made (`bench/_topics.py`), and only those: a dev
broker that kept every run's millions of records filled its disk."""

from __future__ import annotations

import importlib.util
import time
import uuid
from collections.abc import Callable
from types import ModuleType

from confluent_kafka.admin import AdminClient, NewTopic
from router_world import REPO

from hub.kafka import KafkaSecurity


def _bench_module(name: str) -> ModuleType:
    """A module of bench/ by its file: bench/ on sys.path would shadow packages of the project
    for every test after this one (bench/portal.py is not the portal)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


removed_afterwards = _bench_module("_topics").removed_afterwards


def _admin(bootstrap: str, security: KafkaSecurity) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, **security.confluent()})


def _until(admin: AdminClient, holds: Callable[[set[str]], bool], what: str) -> set[str]:
    """The topics, once ``holds(topics)`` (the broker creates and deletes asynchronously)."""
    for _ in range(60):
        topics = set(admin.list_topics(timeout=30).topics)
        if holds(topics):
            return topics
        time.sleep(0.5)
    raise AssertionError(f"{what} after 30 s")


def _create(admin: AdminClient, *names: str) -> None:
    """Made, and in the metadata (a listing right after the creation may not show it yet)."""
    for future in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        future.result(30)
    _until(admin, lambda topics: set(names) <= topics, f"{names} not in the metadata")


def test_a_run_deletes_the_bench_topics_it_made_and_nothing_else(kafka_bootstrap, kafka_security):
    run = uuid.uuid4().hex[:8]
    admin = _admin(kafka_bootstrap, kafka_security)
    older, made, city = f"bench{run}.older", f"bench{run}.resident.moved", f"dept{run}.events"
    _create(admin, older)
    with removed_afterwards(kafka_bootstrap):
        _create(admin, made, city)
    topics = _until(admin, lambda topics: made not in topics, f"{made} still there")
    assert {older, city} <= topics  # there before the run; not a benchmark's
    for future in admin.delete_topics([older, city]).values():
        future.result(30)


def test_no_broker_is_one_line_and_the_benchmark_still_runs(capsys):
    ran = []
    with removed_afterwards("127.0.0.1:1", timeout=1):
        ran.append(True)
    assert ran == [True]
    assert capsys.readouterr().err.count("\n") == 1
