"""The backend helper of the browser tests: a skip elsewhere, a failure in CI."""

from __future__ import annotations

import pytest
from backends import require


def test_a_missing_backend_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("HUB_CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        require(False, "no chromium: apt-get install -y chromium")


def test_a_missing_backend_fails_in_ci(monkeypatch):
    monkeypatch.setenv("HUB_CI", "1")
    with pytest.raises(pytest.fail.Exception, match="HUB_CI is set"):
        require(False, "no chromium: apt-get install -y chromium")


def test_a_present_backend_is_used(monkeypatch):
    monkeypatch.setenv("HUB_CI", "1")
    require(True, "unused")
