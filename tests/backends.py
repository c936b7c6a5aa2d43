"""Test backends from Debian's packages (Chromium for the portal's browser tests): a test that
needs one calls ``require``; it skips with one line that says how to install what is missing,
and fails instead where ``HUB_CI`` is set (``.ci/run``), so CI never passes by skipping."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_HINT = (
    "Debian's Chromium is not installed: `apt-get install -y chromium` as root "
    "(`make test` does it where it runs as root)"
)


def in_ci() -> bool:
    return os.environ.get("HUB_CI", "").strip().lower() not in ("", "0", "false", "no")


def require(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) unless ``condition`` holds."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"HUB_CI is set, so this may not be skipped: {reason}", pytrace=False)
    pytest.skip(reason)


def require_chromium() -> None:
    found = CHROMIUM.exists() or shutil.which("chromium") is not None
    require(found, CHROMIUM_HINT)
    try:
        import playwright.async_api  # noqa: F401
    except ModuleNotFoundError:
        require(False, "the Python package playwright is missing: make install")
