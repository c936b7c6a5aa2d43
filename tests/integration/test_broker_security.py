"""The broker's doors: TLS with SASL for clients off loopback, and a refused credential that
ends a command with one line naming the principal (never a retry loop)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from ports import free_port_pair

from hub.broker.local import LocalBroker
from hub.broker.tls import make_certificates
from hub.kafka import KafkaSecurity

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls")
    files = make_certificates(root / "tls", ["localhost", "127.0.0.1"])
    broker = LocalBroker(
        home=root / "kafka",
        port=free_port_pair(),
        credentials_dir=root / "credentials",
        tls=files.tls(),
        heap="384m",
    )
    broker.start()
    try:
        yield broker, files
    finally:
        broker.stop()


async def test_sasl_ssl_with_the_generated_ca(tls_broker):
    broker, files = tls_broker
    security = KafkaSecurity(
        protocol="SASL_SSL", given=broker.admin_credentials(), ca_location=files.ca
    )
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, **security.aiokafka())
    await producer.start()
    try:
        sent = await producer.send_and_wait("tls.check.sent", b"over TLS")
        assert sent.offset >= 0
    finally:
        await producer.stop()
    assert "CLIENT:SASL_SSL" in broker.config_file.read_text()


async def test_sasl_without_tls_is_refused_on_a_tls_listener(tls_broker):
    broker, _ = tls_broker
    plain = KafkaSecurity(given=broker.admin_credentials())  # SASL_PLAINTEXT
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap, **plain.aiokafka(), request_timeout_ms=5000
    )
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()


def test_a_wrong_password_stops_a_command_with_one_line(kafka_bootstrap):
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_KAFKA_USERNAME": "hub-router",
        "HUB_KAFKA_PASSWORD": "certainly-not-the-password",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "hub", "dlq", "list"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("hub:")]
    assert len(lines) == 1 and "'hub-router'" in lines[0], result.stderr
    assert "certainly-not-the-password" not in result.stderr + result.stdout
    assert time.monotonic() - started < 60  # no retry loop


def test_a_missing_credential_names_the_principal(kafka_bootstrap, tmp_path):
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_KAFKA_USERNAME": "",
        "HUB_CREDENTIALS_DIR": str(tmp_path),
    }
    env.pop("HUB_KAFKA_USERNAME")
    result = subprocess.run(
        [sys.executable, "-m", "hub", "audit", "report"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "'hub-audit'" in result.stderr and "hub access users add hub-audit" in result.stderr
