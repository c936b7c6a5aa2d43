"""Feast's Redis online store, as a city runs it in production (the other feature tests use
SQLite): windows the pipeline published are pushed to Redis and read back online.

Needs a Redis server: HUB_TEST_REDIS_URL (host:port); `.ci/run` installs and starts Debian's
redis-server, and in CI (HUB_CI) this test may not skip."""

from __future__ import annotations

import dataclasses
import os
import uuid

from backends import require
from test_feature_pipeline import CLOSE_FIRST_HOUR, FIRST_HOUR, consumed, running, world

__all__ = ["world"]  # the fixture, shared with test_feature_pipeline

from consumers.features.feast_repo import FeastConfig
from consumers.features.pipeline import FeastPusher, FeaturePipeline

REDIS = os.environ.get("HUB_TEST_REDIS_URL", "")


async def test_windows_reach_feast_through_redis(world):
    require(
        bool(REDIS),
        "HUB_TEST_REDIS_URL not set (host:port of a Redis server; `apt-get install "
        "redis-server`, as .ci/run does)",
    )
    await world.produce(FIRST_HOUR + CLOSE_FIRST_HOUR)
    async with FeaturePipeline(world.config()) as pipeline, running(pipeline):
        await consumed(pipeline, world.topic, world.produced)

    feast = FeastConfig(
        world.root / "feast-redis",
        project=f"hub_test_{uuid.uuid4().hex[:8]}",  # keys of its own in a shared Redis
        online_store={"type": "redis", "connection_string": REDIS},
    )
    config = dataclasses.replace(world.config(feast=True), feast=feast)
    pusher = FeastPusher(config, FeaturePipeline(config).catalog)
    await pusher.start()
    try:
        while pusher.pushed < 1:
            batch = await pusher._consumer.getmany(timeout_ms=1000)
            if batch:
                await pusher.push(batch)
    finally:
        await pusher.close()
    online = pusher._store.get_online_features(
        features=[f"{world.view}:complaints"],
        entity_rows=[{"postcode": "59063"}, {"postcode": "59065"}],
    ).to_dict()
    assert online["complaints"] == [8, None]  # 59065 was withheld by the k gate
