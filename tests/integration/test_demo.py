"""`hub demo` with the feature store, twice on the same state (the demo without it, on a
fresh broker: tests/faults/test_demo_fresh_broker.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from ports import free_port

VIEWS = (
    "air_quality_hourly",
    "moves_in_daily",
    "moves_out_daily",
    "noise_complaints_hourly",
    "roadworks_per_h3_7d",
)


def test_every_feature_view_is_alive_and_a_second_run_publishes_more(
    kafka_bootstrap, kafka_security, tmp_path
):
    """The demo with the feature store, shortened to the same simulated span as its defaults
    (90 s x 180 = 30 s x 540: an evening and a night) and as many events a simulated hour
    (40/s x 3600/180 = 120/s x 3600/540), run twice on the same state: every view publishes
    windows that passed its k-gate, the second run more, and the suggested lookup prints
    numbers."""
    import asyncio
    import re

    from consumers.features.published import published_windows

    tag = uuid.uuid4().hex[:8]
    prefix = f"hub.features.demo-{tag}."
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_REGISTRY_URL": f"http://127.0.0.1:{free_port()}",
        "HUB_REGISTRY_TOPIC": f"_schemas-demo-{tag}",
        "HUB_ROUTER_METRICS_PORT": str(free_port()),
        "HUB_ROUTER_GROUP": f"demo-{tag}",
        "HUB_ACCESS_TOPIC": f"hub.access.demo-{tag}",
        "HUB_SECRET_FILE": str(tmp_path / "secret"),
        # the feature store's state of its own, kept across both runs
        "HUB_FEATURES_FEAST_REPO": str(tmp_path / "feast"),
        "HUB_FEATURES_GROUP": f"hub-features-demo-{tag}",
        "HUB_FEATURES_CHANGELOG_TOPIC": f"{prefix}state",
        "HUB_FEATURES_OUTPUT_PREFIX": prefix,
        "HUB_FEATURES_METRICS_PORT": str(free_port()),
        "COLUMNS": "200",
    }
    env.pop("HUB_KAFKA_USERNAME", None)
    (tmp_path / "secret").write_bytes(os.urandom(32))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    shortened = ["--duration", "30", "--rate", "120", "--time-scale", "540"]

    def run() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "hub", "demo", *shortened],
            env=env,
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    def windows() -> dict[str, int]:
        found = asyncio.run(
            published_windows(kafka_bootstrap, VIEWS, prefix, security=kafka_security)
        )
        return {view: sum(counts.values()) for view, counts in found.items()}

    first_out = run()
    first = windows()
    assert all(first[view] >= 1 for view in VIEWS), first
    second_out = run()
    second = windows()
    assert all(second[view] > first[view] for view in VIEWS), (first, second)
    starts = [
        re.search(r"simulated time from (\S+ \S+) UTC", o).group(1) for o in (first_out, second_out)
    ]
    assert starts[0] < starts[1] and starts[1].endswith("22:00")
    # the Lagebild's forecast, made once the pipeline stopped
    assert "forecast(s) written to the feature view noise_complaints_hourly_forecast" in second_out

    lookup = re.search(r"hub features get (postcode=\d{5})", second_out)
    assert lookup, second_out[-2000:]
    got = subprocess.run(
        [sys.executable, "-m", "hub", "features", "get", lookup.group(1)],
        env=env,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert got.returncode == 0, got.stderr[-2000:]
    values = json.loads(got.stdout)
    assert values["noise_complaints_hourly"]["complaints"] >= 1
    assert values["moves_in_daily"]["moves_in"] >= 1 or values["moves_out_daily"]["moves_out"] >= 1
