"""The topics a benchmark made are deleted when it ends.

A run writes millions of records (the router's: its source, three delivery topics, audit and
receipts), and a development broker that kept every run's filled its disk within days (58 GB,
then "No space left on device" and a stopped broker). Only topics made during the run whose
name carries the benchmarks' mark (``bench``) go: a city's topics, the demo's and the tests'
are never touched.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

MARK = "bench"
TIMEOUT_S = 30.0


def _admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    from hub.kafka import KafkaSecurity

    return AdminClient(
        {"bootstrap.servers": bootstrap, **KafkaSecurity.from_settings().confluent()}
    )


def _topics(admin, timeout: float) -> set[str]:
    return set(admin.list_topics(timeout=timeout).topics)


@contextlib.contextmanager
def removed_afterwards(
    bootstrap: str | None = None, mark: str = MARK, timeout: float = TIMEOUT_S
) -> Iterator[None]:
    """Delete, on the way out, every topic named with ``mark`` that was made meanwhile. A
    cleanup that fails says so on stderr (one line) and leaves the benchmark's figures be."""
    if bootstrap is None:
        from hub.settings import get_settings

        bootstrap = get_settings().bootstrap_servers
    try:
        admin = _admin(bootstrap)
        before = _topics(admin, timeout)
    except Exception as error:  # no broker: the benchmark says so itself
        print(f"bench: not cleaning up topics afterwards: {error}", file=sys.stderr)
        yield
        return
    try:
        yield
    finally:
        try:
            made = sorted(t for t in _topics(admin, timeout) - before if mark in t)
            if made:
                for future in admin.delete_topics(made, operation_timeout=timeout).values():
                    with contextlib.suppress(Exception):  # already gone
                        future.result(timeout)
                print(f"bench: deleted the {len(made)} topics this run made", file=sys.stderr)
        except Exception as error:
            print(f"bench: could not delete this run's topics: {error}", file=sys.stderr)
