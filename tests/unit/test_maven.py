"""Running mvn: a missing mvn and a failed fetch each say what was to be fetched and why."""

from __future__ import annotations

import os
import stat

import pytest

from hub.maven import MavenError, mvn


def _fake_mvn(tmp_path, monkeypatch, script: str) -> None:
    path = tmp_path / "mvn"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")


def test_no_mvn_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MavenError, match=r"^mvn not found: install Maven .* to fetch the jar$"):
        mvn("dependency:get", what="the jar")


def test_a_failed_fetch_names_mvns_first_error_line(monkeypatch, tmp_path):
    _fake_mvn(tmp_path, monkeypatch, 'echo "[INFO] x"; echo "[ERROR] no such artifact"; exit 1\n')
    with pytest.raises(MavenError, match=r"^fetching the jar from .*: \[ERROR\] no such artifact$"):
        mvn("dependency:get", what="the jar")


def test_a_failure_without_error_lines_gives_the_exit_code(monkeypatch, tmp_path):
    _fake_mvn(tmp_path, monkeypatch, "exit 3\n")
    with pytest.raises(MavenError, match=r"mvn exited with 3$"):
        mvn("dependency:get", what="the jar")


def test_the_arguments_reach_mvn_in_batch_and_quiet_mode(monkeypatch, tmp_path):
    seen = tmp_path / "args"
    _fake_mvn(tmp_path, monkeypatch, f'echo "$@" > {seen}\n')
    mvn("dependency:get", "-Dtransitive=false", what="the jar")
    assert seen.read_text().split() == ["-B", "-q", "dependency:get", "-Dtransitive=false"]
