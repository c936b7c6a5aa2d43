"""The simulated city's clock across demo runs: each run is the next evening and night.

A feature pipeline's watermark never goes back (production semantics), so a second run whose
events started where the first one's did would see them all dropped as too late. Instead each
run starts after the latest event already in the log, at the next evening (22:00 UTC), so its
events cross a midnight: hourly windows fill densely and the daily and weekly ones close.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.kafka import KafkaSecurity, start_client

EVENING_UTC = dt.time(22, 0)
FIRST_RUN_DAYS_BACK = 7
"""Without events in the log the city starts a week ago, so a run's events lie in the past."""
TAIL = 200  # records read from the end of each partition (transaction markers sit there too)


def next_evening(after: dt.datetime | None, today: dt.date) -> dt.datetime:
    """The first 22:00 UTC strictly after ``after``; without one, a week before ``today``."""
    if after is None:
        day = today - dt.timedelta(days=FIRST_RUN_DAYS_BACK)
        return dt.datetime.combine(day, EVENING_UTC, dt.UTC)
    after = after.astimezone(dt.UTC)
    evening = dt.datetime.combine(after.date(), EVENING_UTC, dt.UTC)
    return evening if evening > after else evening + dt.timedelta(days=1)


def event_time(headers: Iterable[tuple[str, bytes]]) -> dt.datetime | None:
    """A record's ``ce_time``, None without a readable one."""
    for key, value in headers:
        if key == "ce_time":
            try:
                return dt.datetime.fromisoformat(value.decode().replace("Z", "+00:00"))
            except ValueError:
                return None
    return None


async def latest_event_time(
    bootstrap: str,
    topics: Iterable[str],
    *,
    security: KafkaSecurity,
    timeout: float = 10.0,
) -> dt.datetime | None:
    """The latest ``ce_time`` near the end of ``topics`` (missing topics are skipped)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **security.aiokafka(),
    )
    await start_client(consumer, security, bootstrap)
    latest: dt.datetime | None = None
    try:
        wanted = set(topics)
        cluster = await consumer._client.fetch_all_metadata()  # every topic's partitions
        partitions = [
            TopicPartition(topic, p)
            for topic in sorted(wanted & cluster.topics())
            for p in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return None
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        pending = set()
        for tp in partitions:
            if ends[tp] > starts[tp]:
                consumer.seek(tp, max(starts[tp], ends[tp] - TAIL))
                pending.add(tp)
        deadline = asyncio.get_running_loop().time() + timeout
        while pending and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    moment = event_time(record.headers)
                    if moment is not None and (latest is None or moment > latest):
                        latest = moment
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return latest
