"""``hub schemas`` commands through typer's CliRunner: output and exit codes 0/1/2."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.schemas.cli import app

runner = CliRunner()
REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
V1 = {"type": "record", "name": "R", "fields": [{"name": "id", "type": "string"}]}
V2 = {
    "type": "record",
    "name": "R",
    "fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "int", "default": 0}],
}
V2_BREAKING = {
    "type": "record",
    "name": "R",
    "fields": [{"name": "id", "type": "int"}, {"name": "n", "type": "int"}],
}


def write(directory: Path, name: str, content) -> str:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def test_lint_real_tree_passes():
    result = runner.invoke(app, ["lint", str(REPO_SCHEMAS)])
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.output


def test_lint_defaults_to_the_repository_schemas():
    result = runner.invoke(app, ["lint"])
    assert result.exit_code == 0, result.output


def test_lint_broken_tree_lists_errors_and_exits_1(tmp_path):
    write(tmp_path, "buergeramt/resident.moved/v1.avsc", "{nope")
    write(tmp_path, "buergeramt/resident.moved/v2.avsc", V1)
    result = runner.invoke(app, ["lint", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert any("v1.avsc: invalid-json:" in line for line in lines)
    assert any("v2.avsc: namespace:" in line for line in lines)
    assert lines[-1].endswith("file(s)") and "problem(s)" in lines[-1]


def test_compat_compatible_exits_0(tmp_path):
    result = runner.invoke(
        app, ["compat", write(tmp_path, "v1.avsc", V1), write(tmp_path, "v2.avsc", V2)]
    )
    assert result.exit_code == 0 and result.output.strip() == "compatible"


def test_compat_incompatible_lists_changes_and_exits_1(tmp_path):
    old, new = write(tmp_path, "v1.avsc", V1), write(tmp_path, "v2.avsc", V2_BREAKING)
    result = runner.invoke(app, ["compat", old, new, "--level", "BACKWARD"])
    assert result.exit_code == 1
    assert "incompatible at BACKWARD: 2 breaking change(s)" in result.output
    assert "TYPE_MISMATCH against" in result.output
    assert "field 'id' at /fields/0/type" in result.output
    assert "READER_FIELD_MISSING_DEFAULT_VALUE against" in result.output
    assert "field 'n' at /fields/1:" in result.output
    assert "v1.avsc" in result.output


def test_compat_level_is_applied(tmp_path):
    old, new = write(tmp_path, "v1.avsc", V2), write(tmp_path, "v2.avsc", V1)  # drops n
    assert runner.invoke(app, ["compat", old, new]).exit_code == 0
    assert runner.invoke(app, ["compat", old, new, "--level", "full"]).exit_code == 0
    dropped_required = write(
        tmp_path,
        "v0.avsc",
        V2_BREAKING | {"fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "int"}]},
    )
    result = runner.invoke(app, ["compat", dropped_required, new, "--level", "FORWARD"])
    assert result.exit_code == 1 and "READER_FIELD_MISSING_DEFAULT_VALUE" in result.output


def test_compat_transitive_names_the_old_file(tmp_path):
    v1 = write(tmp_path, "v1.avsc", V1)
    v2 = write(tmp_path, "v2.avsc", V2)
    v3 = write(
        tmp_path,
        "v3.avsc",
        V2_BREAKING | {"fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "int"}]},
    )
    assert runner.invoke(app, ["compat", v1, v2, v3, "--level", "BACKWARD"]).exit_code == 0
    result = runner.invoke(app, ["compat", v1, v2, v3, "--level", "BACKWARD_TRANSITIVE"])
    assert result.exit_code == 1 and "against " + v1 in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{nope", "bad JSON"),
        (
            json.dumps(
                {"type": "record", "name": "R", "fields": [{"name": "a", "type": "Adress"}]}
            ),
            "unknown type name 'Adress'",
        ),
        (
            json.dumps(
                {
                    "type": "record",
                    "name": "R",
                    "fields": [{"name": "a", "type": "int", "default": "x"}],
                }
            ),
            "bad default",
        ),
    ],
)
def test_compat_invalid_schema_exits_2_naming_the_file(tmp_path, content, message):
    bad = write(tmp_path, "bad.avsc", content)
    result = runner.invoke(app, ["compat", write(tmp_path, "v1.avsc", V1), bad])
    assert result.exit_code == 2
    assert bad in result.output and message in result.output


def test_compat_missing_file_exits_2(tmp_path):
    result = runner.invoke(
        app, ["compat", write(tmp_path, "v1.avsc", V1), str(tmp_path / "absent.avsc")]
    )
    assert result.exit_code == 2 and "absent.avsc" in result.output


def test_compat_needs_two_files_and_a_known_level(tmp_path):
    v1 = write(tmp_path, "v1.avsc", V1)
    assert runner.invoke(app, ["compat", v1]).exit_code == 2
    result = runner.invoke(app, ["compat", v1, v1, "--level", "SIDEWAYS"])
    assert result.exit_code == 2 and "unknown compatibility level" in result.output


@pytest.fixture
def fake_publish(monkeypatch):
    calls = []
    module = types.ModuleType("hub.registry.publish")

    def publish_catalog(catalog, registry_url):
        calls.append((sorted(catalog), registry_url))
        return [f"registered {topic}" for topic in sorted(catalog)]

    module.publish_catalog = publish_catalog
    module.PublishError = type("PublishError", (Exception,), {})
    monkeypatch.setitem(sys.modules, "hub.registry.publish", module)
    return calls


def test_publish_prints_what_publish_catalog_did(tmp_path, fake_publish):
    result = runner.invoke(
        app, ["publish", str(REPO_SCHEMAS), "--registry", "http://registry:8081"]
    )
    assert result.exit_code == 0, result.output
    assert "registered buergeramt.resident.moved" in result.output
    ((topics, url),) = fake_publish
    assert url == "http://registry:8081" and "umweltamt.tree.inspected" in topics


def test_publish_defaults_to_the_settings_registry_url(fake_publish, monkeypatch):
    monkeypatch.setenv("HUB_REGISTRY_URL", "http://from-settings:8081")
    try:
        from hub.settings import get_settings
    except ImportError:
        pytest.skip("hub.settings not there yet")
    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["publish"])
    finally:
        if hasattr(get_settings, "cache_clear"):
            get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert fake_publish[0][1] == "http://from-settings:8081"


def test_publish_invalid_tree_exits_2(tmp_path, fake_publish):
    write(tmp_path, "buergeramt/resident.moved/v1.avsc", "{nope")
    result = runner.invoke(app, ["publish", str(tmp_path)])
    assert result.exit_code == 2 and "v1.avsc" in result.output and fake_publish == []
