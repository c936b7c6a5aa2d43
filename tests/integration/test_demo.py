"""`hub demo` runs to the end: registry, router, gateway and simulators on the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from ports import free_port


def test_demo_runs_to_the_end(kafka_bootstrap, tmp_path):
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        # its own registry, on a port of its own, with its own state topic
        "HUB_REGISTRY_URL": f"http://127.0.0.1:{free_port()}",
        "HUB_REGISTRY_TOPIC": f"_schemas-demo-{uuid.uuid4().hex[:8]}",
        "HUB_ROUTER_METRICS_PORT": str(free_port()),
        "HUB_ROUTER_GROUP": f"demo-{uuid.uuid4().hex[:8]}",
        # a ledger of its own: what this demo applies, it alone may take back
        "HUB_ACCESS_TOPIC": f"hub.access.demo-{uuid.uuid4().hex[:8]}",
        "HUB_SECRET_FILE": str(tmp_path / "secret"),
        "COLUMNS": "160",
    }
    # Not the test's identity: the demo runs each service as its own principal under its ACLs.
    env.pop("HUB_KAFKA_USERNAME", None)
    (tmp_path / "secret").write_bytes(os.urandom(32))
    repo = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    result = subprocess.run(
        [sys.executable, "-m", "hub", "demo", "--duration", "6", "--rate", "30", "--no-features"],
        env=env,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "published by department" in out
    assert "delivered by subscriber" in out
    assert "audit report" in out and "legal basis" in out
    assert "where to look" in out
    assert "principals, each its own SCRAM user" in out
