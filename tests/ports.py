"""Free ports on loopback for services the tests start themselves.

A port is taken below the kernel's ephemeral range: the operating system hands ports of that
range to every outgoing connection (the tests' Kafka clients make hundreds), so a port from
it that was free a moment ago can be some client's local port by the time a broker binds it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _candidates() -> range:
    try:
        low, high = (int(x) for x in _RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    if low > 12000:
        return range(10000, low)
    return range(high + 1, 65536)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    candidates = _candidates()
    while True:
        port = random.choice(candidates)
        if _bindable(port):
            return port


def free_port_pair() -> int:
    """A free port whose successor is free too (a broker's client and controller listeners)."""
    while True:
        port = free_port()
        if _bindable(port + 1):
            return port
