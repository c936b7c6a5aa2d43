"""Two `hub registry serve` instances on one `_schemas` topic, one SIGKILLed: the other keeps
serving its clients (reads and registrations), and ids stay stable: the same schema has the
same id on both, before the kill, after it, and on the killed instance once it is back (its
state is the fold of the same log)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from ports import free_port

from hub.serde import RegistryClient


def _schema(n: int) -> dict:
    return {
        "type": "record",
        "name": "Fault",
        "namespace": "de.hamm.test",
        "fields": [{"name": f"f{i}", "type": ["null", "long"], "default": None} for i in range(n)],
    }


@contextmanager
def serving(
    bootstrap: str, topic: str, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    port = port or free_port()
    env = {**os.environ, "HUB_BOOTSTRAP_SERVERS": bootstrap, "HUB_LOG_FORMAT": "json"}
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "registry", "serve", "--port", str(port), "--topic", topic],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the registry did not become healthy"
            time.sleep(0.2)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)


def test_one_instance_killed_the_other_serves_and_ids_stay_stable(kafka_bootstrap):
    topic = f"_schemas-two-{uuid.uuid4().hex[:8]}"
    subject = f"fault.{uuid.uuid4().hex[:8]}-value"
    with (
        serving(kafka_bootstrap, topic) as (a_url, a),
        serving(kafka_bootstrap, topic) as (b_url, _),
        RegistryClient(a_url) as on_a,
        RegistryClient(b_url) as on_b,
    ):
        first = on_a.register(subject, _schema(1))
        second = on_b.register(subject, _schema(2))
        assert first != second
        assert on_b.register(subject, _schema(1)) == first  # the same schema, the same id
        assert on_a.register(subject, _schema(2)) == second

        a.send_signal(signal.SIGKILL)
        a.wait(timeout=10)
        # the other instance goes on: reads and new registrations
        assert on_b.lookup(subject, _schema(1)).id == first
        third = on_b.register(subject, _schema(3))
        assert third not in (first, second)
        assert on_b.versions(subject) == [1, 2, 3]

    # the killed instance back: the same ids, folded from the same log
    with serving(kafka_bootstrap, topic) as (again_url, _), RegistryClient(again_url) as again:
        assert [again.lookup(subject, _schema(n)).id for n in (1, 2, 3)] == [first, second, third]
