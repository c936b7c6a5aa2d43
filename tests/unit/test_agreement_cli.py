"""`hub agreements check|show` against a stand-in schema catalog."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_agreement_fixtures import resident_moved_v1, resident_moved_v2
from typer.testing import CliRunner

from hub.agreements import cli

GOOD = """\
id: ordnungsamt-resident-moved
subscriber: ordnungsamt
source: buergeramt.resident.moved
purpose: Zustellung von Bescheiden an die aktuelle Anschrift
legal_basis: "§ 34 Abs. 1 BMG"
valid_until: 2027-12-31
where: {new_address.city: {eq: Hamm}}
fields:
  resident_id: pseudonymize
  birth_date: {generalize: year}
  new_address.postcode: keep
  occurred_at: {truncate: day}
"""

BAD = """\
id: umweltamt-resident-moved
subscriber: umweltamt
source: buergeramt.resident.moved
purpose: Statistik
legal_basis: "§ 3 LStatG"
valid_until: 2027-12-31
fields:
  name: keep
  religion: {mask: 1}
  nope: keep
"""

UNKNOWN_TOPIC = GOOD.replace("id: ordnungsamt-resident-moved", "id: x").replace(
    "source: buergeramt.resident.moved", "source: buergeramt.resident.vanished"
)


@dataclass
class FakeVersion:
    schema: dict[str, Any]


@dataclass
class FakeSubject:
    versions: list[FakeVersion]

    @property
    def latest(self) -> FakeVersion:
        return self.versions[-1]


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for `hub.schemas.catalog` (written elsewhere), imported lazily by the CLI."""
    module = types.ModuleType("hub.schemas.catalog")
    subject = FakeSubject([FakeVersion(resident_moved_v1()), FakeVersion(resident_moved_v2())])
    module.load_catalog = lambda root: {"buergeramt.resident.moved": subject}  # type: ignore[attr-defined]
    module.default_schemas_dir = lambda: Path("schemas")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hub.schemas.catalog", module)


def agreements_dir(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.app, list(args))


def test_check_ok(catalog: None, tmp_path: Path) -> None:
    result = run("check", str(agreements_dir(tmp_path, good=GOOD)))
    assert result.exit_code == 0, result.output
    assert "1 agreement(s) OK" in result.output


def test_check_reports_every_error_on_its_own_line(catalog: None, tmp_path: Path) -> None:
    d = agreements_dir(tmp_path, good=GOOD, bad=BAD, unknown=UNKNOWN_TOPIC)
    result = run("check", str(d))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line]
    bad, unknown = str(d / "bad.yaml"), str(d / "unknown.yaml")
    assert len(lines) == 4, lines
    assert lines[0].startswith(f"{bad}: fields.nope: no such field")
    assert lines[1].startswith(f"{bad}: fields.name: direct identifier delivered as it is")
    assert lines[2].startswith(f"{bad}: fields.religion: special category data")
    assert lines[3] == f"{unknown}: source: unknown topic 'buergeramt.resident.vanished'"


def test_check_load_errors(catalog: None, tmp_path: Path) -> None:
    d = agreements_dir(tmp_path, a=GOOD.replace("{generalize: year}", "{generalize: week}"))
    result = run("check", str(d))
    assert result.exit_code == 1
    assert f"{d / 'a.yaml'}: fields.birth_date: generalize takes one of" in result.output


def test_check_missing_directory(catalog: None, tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nope"))
    assert result.exit_code == 1 and "no such directory" in result.output


def test_show(catalog: None, tmp_path: Path) -> None:
    d = agreements_dir(tmp_path, good=GOOD)
    result = run("show", "ordnungsamt-resident-moved", "--dir", str(d))
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in (
        "purpose:       Zustellung von Bescheiden an die aktuelle Anschrift",
        "legal basis:   § 34 Abs. 1 BMG",
        "valid:         - .. 2027-12-31",
        'filter:        {"new_address.city": {"eq": "Hamm"}}',
        "key:           pseudonymize",
        "  birth_date: generalize: year",
        "delivery:      deliver.ordnungsamt.buergeramt.resident.moved",
    ):
        assert expected in out
    schema = json.loads(out.split("output schema:\n", 1)[1])
    assert schema["name"].endswith("ResidentMovedForOrdnungsamt")


def test_show_unknown_id(catalog: None, tmp_path: Path) -> None:
    result = run("show", "nope", "--dir", str(agreements_dir(tmp_path, good=GOOD)))
    assert result.exit_code == 1 and "no agreement with id 'nope'" in result.output


def test_check_agreements_is_usable_without_the_cli() -> None:
    from hub.agreements.model import parse_agreement

    a = parse_agreement(__import__("yaml").safe_load(GOOD), "good.yaml")
    compiled, issues = cli.check_agreements([a], {"buergeramt.resident.moved": resident_moved_v2()})
    assert not issues and compiled[0].agreement is a


def test_check_refuses_an_unregistered_subscriber(catalog: None, tmp_path: Path) -> None:
    text = GOOD.replace("subscriber: ordnungsamt", "subscriber: schattenamt")
    (tmp_path / "departments.yaml").write_text(
        "departments: {buergeramt: {contact: it@hamm.de}}\n"
        "subscribers: {ordnungsamt: {contact: oa@hamm.de}}\n"
    )
    d = tmp_path / "agreements"
    d.mkdir()
    agreements_dir(d, good=text)
    result = run("check", str(d))
    assert result.exit_code == 1
    assert "subscriber: 'schattenamt' is not registered" in result.output
    ok = run("check", str(agreements_dir(d, good=GOOD)))
    assert ok.exit_code == 0, ok.output


def test_check_refuses_a_source_no_department_owns(catalog: None, tmp_path: Path) -> None:
    (tmp_path / "departments.yaml").write_text("departments: {ordnungsamt: {}}\n")
    d = tmp_path / "agreements"
    d.mkdir()
    result = run(
        "check",
        str(agreements_dir(d, good=GOOD)),
        "--principals",
        str(tmp_path / "departments.yaml"),
    )
    assert result.exit_code == 1
    assert "no department" in result.output and "buergeramt.resident.moved" in result.output
