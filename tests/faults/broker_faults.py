"""Helpers (no tests) of the fault tests: a broker of a test's own (its own port and data dir,
the session's admin credential), so killing it disturbs no other test."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ports import free_port

from hub.broker.local import BrokerError, LocalBroker
from hub.settings import get_settings


@contextmanager
def own_broker_in(home: Path) -> Iterator[LocalBroker]:
    """A single broker in ``home`` (its jars those of the session's broker), stopped after."""
    try:
        broker = _started_in(home)
    except BrokerError as exc:
        if "Address already in use" not in str(exc):
            raise
        # Another program took the port between the choice and the bind: choose again.
        broker = _started_in(home.with_name(home.name + "-again"))
    try:
        yield broker
    finally:
        broker.stop(timeout=20)


def _started_in(home: Path) -> LocalBroker:
    settings = get_settings()
    home.mkdir()
    (home / "lib").symlink_to(Path(settings.broker_dir).absolute() / "lib")
    broker = LocalBroker(home=home, port=free_port(), credentials_dir=settings.credentials_dir)
    broker.start()
    return broker


def sigkill(broker: LocalBroker) -> None:
    """Kill the broker as a power cut would, and wait until it is gone."""
    pid = int(broker.pid_file.read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
