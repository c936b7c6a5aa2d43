"""`hub broker start|status|stop` on a port of its own: an independent client sees the broker,
and after stop no broker process is left."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer
from ports import free_port_pair

from hub.credentials import read_credentials_file
from hub.kafka import KafkaSecurity
from hub.settings import get_settings

HUB = [sys.executable, "-m", "hub"]


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(HUB + args, env=env, capture_output=True, text=True, timeout=240)


def test_broker_lifecycle(tmp_path: Path):
    home = tmp_path / "kafka"
    home.mkdir()
    shared_lib = get_settings().broker_dir.absolute() / "lib"
    if shared_lib.is_dir():  # the jars are already fetched: do not fetch twice
        (home / "lib").symlink_to(shared_lib)
    credentials = tmp_path / "credentials"  # its own super user, not the session's
    env = {
        **os.environ,
        "HUB_BROKER_DIR": str(home),
        "HUB_CREDENTIALS_DIR": str(credentials),
        "HUB_LOG_FORMAT": "text",
    }
    port = free_port_pair()
    bootstrap = f"127.0.0.1:{port}"
    try:
        started = run(["broker", "start", "--port", str(port)], env)
        assert started.returncode == 0, started.stderr
        assert "started" in started.stdout
        admin_file = credentials / "hub-admin.properties"
        assert "SCRAM-SHA-512" in started.stdout and str(admin_file) in started.stdout
        assert oct(admin_file.stat().st_mode & 0o777) == "0o600"
        admin = KafkaSecurity(given=read_credentials_file(admin_file)).confluent()
        again = run(["broker", "start", "--port", str(port)], env)
        assert "reused" in again.stdout
        assert run(["broker", "status", "--port", str(port)], env).returncode == 0

        topic = f"test.cli.{uuid.uuid4().hex[:8]}"
        producer = Producer({"bootstrap.servers": bootstrap, **admin})
        producer.produce(topic, b"hello from Hamm")
        assert producer.flush(30) == 0
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                **admin,
                "group.id": "cli",
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe([topic])
        values = []
        for _ in range(30):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                values.append(msg.value())
                break
        consumer.close()
        assert values == [b"hello from Hamm"]
        # without a credential, the same broker gives nothing
        anonymous = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "anon", "auto.offset.reset": "earliest"}
        )
        anonymous.subscribe([topic])
        assert all((m := anonymous.poll(0.5)) is None or m.error() is not None for _ in range(6))
        anonymous.close()
        pid = int((home / "broker.pid").read_text().split()[0])
    finally:
        stopped = run(["broker", "stop"], env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    status = run(["broker", "status", "--port", str(port)], env)
    assert status.returncode == 1 and "not running" in status.stdout
