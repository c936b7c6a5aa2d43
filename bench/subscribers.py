"""The three ways a subscriber receives, each against its target, in one run: the SDK (typed
deliveries decoded in one process, target 20k/s), webhook push to a local receiver (2k/s, p99
added latency 50 ms) and the pull API with limit=1000 (10k/s). Prints one JSON object.

Runs against the broker at HUB_BOOTSTRAP_SERVERS as the local super user, with a registry of
its own in a thread (or HUB_REGISTRY_URL). The parts are in ``bench/_subscribers_*.py`` and run
alone too (``--help`` each).

    .venv/bin/python bench/subscribers.py [--only sdk|webhooks|pull]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

# Benchmarks run as the local super user (hub-admin, .hub/credentials): authenticated, no ACL setup.
os.environ.setdefault("HUB_KAFKA_USERNAME", "hub-admin")
os.environ["HUB_CREDENTIALS_DIR"] = os.path.abspath(
    os.environ.get("HUB_CREDENTIALS_DIR", ".hub/credentials")
)

from _subscribers_pull import bench_pull
from _subscribers_sdk import bench_sdk, registry
from _subscribers_webhooks import bench_webhooks
from _topics import removed_afterwards

from hub.settings import get_settings

PARTS = ("sdk", "webhooks", "pull")


async def measure(bootstrap: str, url: str, parts: tuple[str, ...]) -> dict:
    results: dict = {"benchmark": "subscribers", "cpus": os.cpu_count()}
    if "sdk" in parts:
        results["sdk"] = await bench_sdk(bootstrap, url)
    if "webhooks" in parts:
        results["webhooks"] = await bench_webhooks(bootstrap, url)
    if "pull" in parts:
        results["pull"] = await bench_pull(bootstrap, url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=PARTS, action="append", help="one part (repeatable)")
    args = parser.parse_args()
    bootstrap = get_settings().bootstrap_servers
    with registry(bootstrap) as url:
        result = asyncio.run(measure(bootstrap, url, tuple(args.only or PARTS)))
    print(json.dumps(result))


if __name__ == "__main__":
    with removed_afterwards():
        main()
