"""`hub webhooks` commands that need no broker, and the dispatcher's settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from consumers.webhooks.cli import app, parse_since
from consumers.webhooks.service import WebhookConfig
from consumers.webhooks.settings import load_webhook_settings
from consumers.webhooks.signing import signing_key
from hub.settings import SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_secret_prints_a_usable_whsec_secret():
    result = runner.invoke(app, ["secret"])
    assert result.exit_code == 0
    assert len(signing_key(result.stdout.strip())) == 32


def test_check_the_sample_catalog(monkeypatch):
    monkeypatch.setenv(
        "HUB_WEBHOOK_SECRET_BUSSGELDSTELLE", runner.invoke(app, ["secret"]).stdout.strip()
    )
    result = runner.invoke(app, ["check", "--catalog", str(REPO / "catalog")])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "bussgeldstelle-fachverfahren: https://owi.bussgeldstelle.hamm.local/hub/events <- "
        "deliver.bussgeldstelle.ordnungsamt.parking-violation.recorded\n"
    )


def test_check_names_file_and_key_of_each_problem(monkeypatch, tmp_path):
    monkeypatch.delenv("HUB_WEBHOOK_SECRET_BUSSGELDSTELLE", raising=False)
    (tmp_path / "agreements").symlink_to(REPO / "catalog" / "agreements")
    subs = tmp_path / "subscriptions"
    subs.mkdir()
    text = (REPO / "catalog" / "subscriptions" / "bussgeldstelle-fachverfahren.yaml").read_text()
    (subs / "a.yaml").write_text(text)
    (subs / "b.yaml").write_text(
        text.replace("id: bussgeldstelle-fachverfahren", "id: other").replace(
            "[bussgeldstelle-parking-violation]", "[ordnungsamt-resident-moved]"
        )
    )
    result = runner.invoke(app, ["check", "--catalog", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        f"{subs / 'a.yaml'}: secret: env:HUB_WEBHOOK_SECRET_BUSSGELDSTELLE: the environment variable"
        in result.output
    )
    assert (
        f"{subs / 'b.yaml'}: agreements: 'ordnungsamt-resident-moved' is ordnungsamt's"
        in result.output
    )


def test_since_is_iso_and_local_to_hamm_without_an_offset():
    assert parse_since("2026-11-01T08:00") == dt.datetime(
        2026, 11, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert parse_since("2026-07-01").utcoffset() == dt.timedelta(hours=2)
    assert parse_since("2026-11-01T08:00Z").utcoffset() == dt.timedelta(0)
    with pytest.raises(typer.BadParameter, match="ISO"):
        parse_since("yesterday")


def test_settings_defaults_and_errors_name_the_variable(monkeypatch):
    settings = load_webhook_settings()
    assert settings.webhooks_metrics_port == 9105
    assert settings.webhooks_dlq_topic == "hub.webhooks.dlq"
    config = WebhookConfig.from_settings(load_settings(catalog_dir=Path("cat")), settings)
    assert config.subscriptions_dir == Path("cat/subscriptions")
    assert config.agreements_dir == Path("cat/agreements")
    assert config.security.principal in ("hub-webhooks", load_settings().kafka_username)
    monkeypatch.setenv("HUB_WEBHOOKS_RETRY_SCALE", "0")
    with pytest.raises(SettingsError, match="HUB_WEBHOOKS_RETRY_SCALE"):
        load_webhook_settings()
    monkeypatch.setenv("HUB_WEBHOOKS_RETRY_SCALE", "0.001")
    monkeypatch.setenv("HUB_WEBHOOKS_MAX_ATTEMPTS", "9")
    with pytest.raises(SettingsError, match="HUB_WEBHOOKS_MAX_ATTEMPTS"):
        load_webhook_settings()
