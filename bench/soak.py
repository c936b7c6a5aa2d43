"""Soak: the whole hub at a steady rate for a long time, watched each minute. Prints one JSON.

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 40] [--sample-seconds 60]

Runs ``hub demo`` (broker, registry, router, feature pipeline, gateway, portal, webhook
receiver, subscriber SDK, simulators publishing through the SDK and the gateway) for
``--minutes`` and samples every process of it each ``--sample-seconds``: RSS, threads and open
files per process (from /proc), and the router's delivery lag (p50/p99 of
``hub_router_delivery_lag_seconds`` over the last interval, from its /metrics). The verdict:
memory flat (the last third's RSS within 10 % + 20 MB of the first third's, per process), no
growth of threads or open files, and the lag per interval. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAG = "hub_router_delivery_lag_seconds"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += parents.get(p, [])
    return out


def _name(pid: int) -> str:
    """A stable name for a process of the demo: what it runs."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    words = [w.decode(errors="replace") for w in cmd if w]
    if any("kafka.Kafka" in w for w in words):
        return "kafka-broker"
    text = " ".join(words)
    for marker in ("gateway", "portal", "features", "registry", "webhooks", "deliveries"):
        if marker in text and "demo" not in text:
            return marker
    if "demo" in text:
        return "demo (router, simulators, SDK)"
    return Path(words[0]).name if words else str(pid)


def _sample(pid: int) -> dict[str, int] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024 if "VmRSS" in status else 0
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    return {"rss_mb": rss, "threads": threads, "open_files": fds}


def _lag_buckets(url: str) -> dict[float, float]:
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return {}
    out = {}
    for m in re.finditer(rf'^{LAG}_bucket{{le="([^"]+)"}} (\S+)$', text, re.M):
        out[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] = float(m.group(2))
    return out


def _quantile(before: dict[float, float], after: dict[float, float], q: float) -> float | None:
    """The q-quantile of what a histogram observed between two scrapes (bucket upper bound)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    for bound, count in zip(bounds, counts, strict=True):
        if count >= q * counts[-1]:
            return bound
    return None


def _flat(values: list[int], slack: float, absolute: int) -> bool:
    third = max(1, len(values) // 3)
    first, last = statistics.mean(values[:third]), statistics.mean(values[-third:])
    return last <= first * (1 + slack) + absolute


def main(args: argparse.Namespace) -> dict:
    port = _free_port()
    env = {**os.environ, "HUB_ROUTER_METRICS_PORT": str(port), "HUB_LOG_LEVEL": "WARNING"}
    seconds = args.minutes * 60
    demo = subprocess.Popen(
        [
            sys.executable,
            *("-m", "hub", "demo", "--duration", str(seconds), "--rate", str(args.rate)),
            # real time: event times are now, so the router's lag is the lag (the demo's
            # default runs a simulated clock days behind)
            *("--time-scale", "1"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    samples: list[dict] = []
    started = time.monotonic()
    buckets = _lag_buckets(url)
    try:
        while demo.poll() is None and time.monotonic() - started < seconds + 120:
            time.sleep(args.sample_seconds)
            if demo.poll() is not None:
                break
            now = _lag_buckets(url)
            processes = {}
            for pid in _children(demo.pid):
                figures = _sample(pid)
                if figures is not None:
                    processes.setdefault(_name(pid), figures)
            samples.append(
                {
                    "minute": round((time.monotonic() - started) / 60, 1),
                    "router_lag_p50_s": _quantile(buckets, now, 0.5),
                    "router_lag_p99_s": _quantile(buckets, now, 0.99),
                    "processes": processes,
                }
            )
            buckets = now
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGTERM)
        _, stderr = demo.communicate(timeout=300)
    names = sorted({n for s in samples for n in s["processes"]})
    verdict = {}
    for name in names:
        series = [s["processes"][name] for s in samples if name in s["processes"]]
        if len(series) < 3:
            continue
        verdict[name] = {
            "rss_mb_first_last": [series[0]["rss_mb"], series[-1]["rss_mb"]],
            "rss_flat": _flat([s["rss_mb"] for s in series], 0.10, 20),
            "threads_flat": _flat([s["threads"] for s in series], 0.0, 2),
            "open_files_flat": _flat([s["open_files"] for s in series], 0.0, 5),
        }
    return {
        "benchmark": "soak",
        "minutes": args.minutes,
        "rate_events_per_s": args.rate,
        "demo_exit_code": demo.returncode,
        "demo_stderr_tail": stderr[-2000:] if demo.returncode else "",
        "samples": samples,
        "verdict": verdict,
        "all_flat": bool(verdict)
        and all(
            v["rss_flat"] and v["threads_flat"] and v["open_files_flat"] for v in verdict.values()
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--sample-seconds", type=float, default=60)
    print(json.dumps(main(parser.parse_args())))
