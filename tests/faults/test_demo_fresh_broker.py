"""`hub demo` on a broker that has just been created, as a new user's first `make demo` runs:
it runs to the end (registry, router, gateway and simulators on the real broker) and prints
its report, and its log has no warning or error of a Kafka client (no NotEnoughReplicas
retries while topics are created, no leader-not-available bursts). The demo with the feature
store runs in tests/integration/test_demo.py."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
from ports import free_port

KAFKA_LOGGERS = ("aiokafka", "kafka", "confluent_kafka", "rdkafka", "librdkafka")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_a_first_demo_says_nothing_of_the_kafka_clients(own_broker, tmp_path):
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": own_broker.bootstrap,
        "HUB_BROKER_DIR": str(own_broker.home),
        "HUB_REGISTRY_URL": f"http://127.0.0.1:{free_port()}",
        "HUB_ROUTER_METRICS_PORT": str(free_port()),
        "HUB_SECRET_FILE": str(tmp_path / "secret"),
        "HUB_LOG_FORMAT": "json",
        "COLUMNS": "160",
    }
    env.pop("HUB_KAFKA_USERNAME", None)  # the demo runs each service as its own principal
    (tmp_path / "secret").write_bytes(os.urandom(32))
    result = subprocess.run(
        [sys.executable, "-m", "hub", "demo", "--duration", "6", "--rate", "30", "--no-features"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "published by department" in out
    assert "delivered by subscriber" in out
    assert "audit report" in out and "legal basis" in out
    assert "where to look" in out
    assert "principals, each its own SCRAM user" in out
    # every data set's quality of the day, also those no agreement reads
    assert "data quality on" in out and "no data" in out
    log = own_broker.home.parent / "demo.log"
    lines = [orjson.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines, "the demo wrote no structured log"
    noisy = [
        line
        for line in lines
        if line.get("level") in ("warning", "error", "critical")
        and str(line.get("logger", "")).startswith(KAFKA_LOGGERS)
    ]
    assert not noisy, "\n".join(orjson.dumps(line).decode()[:300] for line in noisy[:20])
