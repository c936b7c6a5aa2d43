"""How the router process uses the machine: routing processes and the garbage collector."""

from __future__ import annotations

import ctypes
import gc
import math
import os
from pathlib import Path

MAX_DEFAULT_WORKERS = 4  # beyond ~4, the router's own process (fetch, produce) is the limit


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
M_ARENA_MAX = -8  # glibc's mallopt parameter
MALLOC_ARENAS = 2


def default_workers(engine: str | None = None) -> int:
    """One routing process a core the router may use, at most four; none on a single core,
    where a worker would only add the cost of handing events over. More throughput beyond
    that comes from more router instances (and partitions).

    None with the native core (``engine``: as ``HUB_ROUTER_ENGINE``): it routes a batch in a
    thread of the router's own, in less time than handing it to a process would cost."""
    from consumers.router.engine import select_engine

    if select_engine(engine).name == "native":
        return 0
    cores = usable_cores()
    return min(cores, MAX_DEFAULT_WORKERS) if cores > 1 else 0


def usable_cores(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """Cores this process may run on, and no more than a container's CPU limit (cgroup v2
    ``cpu.max``: a pod limited to 2 CPUs on a 32-core node gets 2, not 32)."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):  # no cgroup v2 limit here
        pass
    return cores


def tune_gc() -> None:
    """Fewer, cheaper garbage collections for a long-running router process.

    Each event allocates a handful of short-lived dicts and tuples; with CPython's default
    gen-0 threshold (700) the collector runs every few events and costs ~15 % of the hot loop.
    Objects alive at start (modules, schemas, compiled agreements) are frozen out of it.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """At most ``arenas`` glibc malloc arenas for this process, unless ``MALLOC_ARENA_MAX``
    already says how many; True if set.

    glibc gives a thread that finds the arenas busy one of its own, up to eight a core, and an
    arena rarely gives its free pages back. librdkafka allocates in its own threads (one a
    broker connection, for both clients) and frees in others, so the router's RSS grew by
    ~40 MB over 1M events in many half-empty arenas; two keep it flat at no measurable cost.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, macOS): nothing to limit
        return False
    return bool(libc.mallopt(M_ARENA_MAX, arenas))
