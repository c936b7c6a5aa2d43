"""Fault tests: a broker of their own, killed and restarted; they share the integration tests'
helpers (isolated departments, read_committed readers)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
