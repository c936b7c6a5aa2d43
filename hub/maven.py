"""Maven fetches the project's Java artifacts from Maven Central (the local broker's jars,
Strimzi's CRD schemas): one way to run it, and to say why it failed."""

from __future__ import annotations

import shutil
import subprocess


class MavenError(RuntimeError):
    """mvn is not installed, or it could not fetch what was asked."""


def mvn(*args: str, what: str, timeout: float | None = None) -> None:
    """``mvn -B -q *args``, fetching ``what``; a failure names mvn's first ERROR line."""
    path = shutil.which("mvn")
    if path is None:
        raise MavenError(
            f"mvn not found: install Maven (e.g. apt-get install maven) to fetch {what}"
        )
    cmd = [path, "-B", "-q", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise MavenError(f"fetching {what} from Maven Central failed: {_cause(result)}")


def _cause(result: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in (result.stdout + result.stderr).splitlines() if "ERROR" in ln]
    return lines[0] if lines else f"mvn exited with {result.returncode}"
