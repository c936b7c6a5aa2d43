"""Broken setups give a one-line cause, not a stack trace (no broker needed for these)."""

from __future__ import annotations

import socket
import struct

import pytest
from ports import free_port

from hub.broker import local
from hub.broker.local import BrokerError, LocalBroker
from hub.broker.probe import PortState, api_versions_request, apis_in_response, probe


def test_api_versions_request_is_framed():
    frame = api_versions_request()
    (size,) = struct.unpack_from(">i", frame)
    assert size == len(frame) - 4
    api_key, version = struct.unpack_from(">hh", frame, 4)
    assert (api_key, version) == (18, 0)


def test_response_parsing():
    good = struct.pack(">ihi", 0x48414D4D, 0, 60) + b"rest"
    assert apis_in_response(good) == 60
    with pytest.raises(ValueError):
        apis_in_response(struct.pack(">ihi", 7, 0, 1))
    with pytest.raises(ValueError):
        apis_in_response(struct.pack(">ihi", 0x48414D4D, 35, 0))  # UNSUPPORTED_VERSION
    with pytest.raises(ValueError):
        apis_in_response(b"HTTP/1.1")


@pytest.fixture
def listening_socket():
    """A port held by something that is not Kafka."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def test_probe_free_port():
    assert probe("127.0.0.1", free_port()) is PortState.FREE


def test_probe_other_program(listening_socket):
    assert probe("127.0.0.1", listening_socket, timeout=0.5) is PortState.OTHER


def test_port_taken_is_one_line(tmp_path, listening_socket):
    broker = LocalBroker(home=tmp_path, port=listening_socket)
    with pytest.raises(BrokerError) as err:
        broker.start()
    assert "in use by another program" in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_java(tmp_path, monkeypatch):
    monkeypatch.setattr(local.shutil, "which", lambda name: None)
    with pytest.raises(BrokerError, match=r"^java not found: install Java 17\+"):
        LocalBroker(home=tmp_path, port=free_port()).start()


def test_missing_mvn(tmp_path, monkeypatch):
    monkeypatch.setattr(local.shutil, "which", lambda name: None)
    with pytest.raises(BrokerError, match=r"^mvn not found: install Maven"):
        LocalBroker(home=tmp_path, port=free_port()).fetch()


def test_old_java_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(local.shutil, "which", lambda name: "/usr/bin/" + name)

    class Done:
        returncode, stdout, stderr = 0, "", 'openjdk version "11.0.2" 2019-01-15'

    monkeypatch.setattr(local.subprocess, "run", lambda *a, **k: Done())
    with pytest.raises(BrokerError, match=r"java 11 found .* needs Java 17"):
        LocalBroker(home=tmp_path, port=free_port()).start()


def test_data_dir_not_kafka_but_not_empty(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("not kafka")
    broker = LocalBroker(home=tmp_path, data_dir=data)
    with pytest.raises(BrokerError, match="is not a Kafka log dir"):
        broker._ensure_formatted("java", tmp_path)


def test_corrupt_meta_properties(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "meta.properties").write_text("garbage")
    broker = LocalBroker(home=tmp_path, data_dir=data)
    with pytest.raises(BrokerError, match="is corrupt"):
        broker._ensure_formatted("java", tmp_path)


def test_missing_pom(tmp_path):
    broker = LocalBroker(home=tmp_path, deploy_dir=tmp_path / "nowhere")
    with pytest.raises(BrokerError, match=r"pom.xml not found"):
        broker.fetch()


def test_stale_pid_file_is_not_a_broker(tmp_path):
    broker = LocalBroker(home=tmp_path, port=free_port())
    broker.pid_file.write_text(f"999999 {broker.port}")
    assert broker.status().running is False
    assert broker.stop() is False
    assert not broker.pid_file.exists()


def test_a_cluster_id_never_reads_as_an_option(monkeypatch):
    """One id in 64 started with "-", and kafka-storage took it for an option (a CI failure)."""
    import base64
    import uuid as uuid_module

    dashed = uuid_module.UUID(bytes=base64.urlsafe_b64decode("-" + "A" * 21 + "=="))
    draws = iter([dashed, uuid_module.UUID(int=1)])
    monkeypatch.setattr(local.uuid, "uuid4", lambda: next(draws))
    assert local.new_cluster_id() == "AAAAAAAAAAAAAAAAAAAAAQ"
    monkeypatch.undo()
    for _ in range(2000):
        cluster_id = local.new_cluster_id()
        assert not cluster_id.startswith("-") and len(cluster_id) == 22
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


@pytest.mark.parametrize("insecure", [False, True])
def test_the_rendered_config_sets_each_key_once_and_the_password_only_in_its_logins(
    tmp_path, insecure
):
    """The template's header once named its placeholders, and the rendering filled them in there
    too: the security block (with the broker's password) twice, two keys with a sentence for
    their value (only a later line of the same key saved the broker)."""
    broker = LocalBroker(home=tmp_path, credentials_dir=tmp_path / "credentials", insecure=insecure)
    broker._security = broker._resolve_security()
    broker._write_config()
    text = broker.config_file.read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    keys = [line.split("=", 1)[0] for line in lines]
    assert all("=" in line for line in lines), lines
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == []
    assert "${" not in text
    password = broker._security.broker_password
    if not insecure:
        # the client listener's login, the controller's login and the user it accepts
        assert password and text.count(password) == 3
    assert broker.config_file.stat().st_mode & 0o777 == 0o600
