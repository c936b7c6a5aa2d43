from pathlib import Path

import pytest

from hub.settings import SettingsError, load_settings


def test_defaults(monkeypatch):
    for var in ("HUB_BOOTSTRAP_SERVERS", "HUB_REGISTRY_URL", "HUB_BROKER_DIR"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.registry_url == "http://127.0.0.1:8081"
    assert settings.broker_dir == Path(".hub/kafka")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("127.0.0.1:9092", "127.0.0.1:9092"),
        ("kafka-0:9092, kafka-1:9092", "kafka-0:9092,kafka-1:9092"),
        ("[::1]:9092", "[::1]:9092"),
    ],
)
def test_bootstrap_servers_accepted(monkeypatch, value, expected):
    monkeypatch.setenv("HUB_BOOTSTRAP_SERVERS", value)
    assert load_settings(_env_file=None).bootstrap_servers == expected


@pytest.mark.parametrize("value", ["", "localhost", "host:port", "host:70000", "a:1,b"])
def test_invalid_bootstrap_servers_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("HUB_BOOTSTRAP_SERVERS", value)
    with pytest.raises(SettingsError, match="HUB_BOOTSTRAP_SERVERS"):
        load_settings(_env_file=None)


@pytest.mark.parametrize("value", ["registry:8081", "ftp://x", ""])
def test_invalid_registry_url_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("HUB_REGISTRY_URL", value)
    with pytest.raises(SettingsError, match="HUB_REGISTRY_URL"):
        load_settings(_env_file=None)


def test_invalid_log_level_names_the_variable(monkeypatch):
    monkeypatch.setenv("HUB_LOG_LEVEL", "LOUD")
    with pytest.raises(SettingsError, match="HUB_LOG_LEVEL"):
        load_settings(_env_file=None)


def test_dotenv_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_REGISTRY_URL", raising=False)
    env = tmp_path / ".env"
    env.write_text("HUB_REGISTRY_URL=http://registry.hamm.local:8081/\n")
    assert load_settings(_env_file=env).registry_url == "http://registry.hamm.local:8081"


@pytest.mark.parametrize("value", ["-1", "two"])
def test_invalid_router_workers_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("HUB_ROUTER_WORKERS", value)
    with pytest.raises(SettingsError, match="HUB_ROUTER_WORKERS"):
        load_settings(_env_file=None)


def test_router_workers_default_to_the_cores_unless_set(monkeypatch):
    from consumers.router import service

    monkeypatch.delenv("HUB_ROUTER_WORKERS", raising=False)
    monkeypatch.setattr(service, "default_workers", lambda: 3)
    assert service.RouterConfig.from_settings(load_settings(_env_file=None)).workers == 3
    monkeypatch.setenv("HUB_ROUTER_WORKERS", "0")
    assert service.RouterConfig.from_settings(load_settings(_env_file=None)).workers == 0
