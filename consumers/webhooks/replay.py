"""Given-up webhook deliveries: listed, and sent again.

``replay_given_up`` reads ``hub.webhooks.dlq`` for one subscription and pushes each of its
records again through the same dispatch (order per key, signatures, retries with the
schedule cut to ``max_attempts``), with the ``webhook-id`` of the first attempt, so a receiver
that did get it after all recognises it. What fails again is dead-lettered again (a new DLQ
record with the new reason, replayable later). Without ``since``, only what no earlier replay
finished is sent (the replay group ``hub-webhooks.<id>.replay`` keeps that mark); with
``since``, everything given up since then, and the mark stays where it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from consumers.webhooks.deadletter import GivenUp, given_up_headers, parse_given_up
from consumers.webhooks.delivery import Delivery
from consumers.webhooks.dispatch import Dispatch, Schemas, Sender
from consumers.webhooks.http import Endpoint, ssl_context
from consumers.webhooks.service import WebhookConfig, prepare_subscriptions
from hub.kafka import registry_auth, start_client
from hub.serde import AsyncRegistryClient
from hub.topics import ensure_topics, read_snapshot

REPLAY_ATTEMPTS = 3


def replay_group(subscription_id: str) -> str:
    return f"hub-webhooks.{subscription_id}.replay"


@dataclass(frozen=True)
class GivenUpEntry:
    partition: int
    offset: int
    reason: GivenUp
    value_size: int
    pending: bool  # not yet sent again by a replay without --since


@dataclass
class ReplayReport:
    subscription: str
    sent: int = 0
    acknowledged: int = 0
    given_up: int = 0  # dead-lettered again
    skipped: int = 0  # other subscriptions' records
    gone: bool = False  # the endpoint answered 410: the replay stopped


async def list_given_up(
    config: WebhookConfig, subscription_id: str | None = None
) -> list[GivenUpEntry]:
    """Every given-up delivery with its reason (sizes, never contents: personal data)."""
    records = await read_snapshot(config.bootstrap, config.dlq_topic, security=config.security)
    entries: list[tuple[int, int, GivenUp, int]] = []
    for r in records:
        try:
            reason, _ = parse_given_up(r.headers)
        except ValueError:
            continue
        if subscription_id is None or reason.subscription == subscription_id:
            entries.append((r.partition, r.offset, reason, len(r.value or b"")))
    partitions = {e[0] for e in entries}
    marks: dict[tuple[str, int], int] = {}
    for sub in {e[2].subscription for e in entries}:
        for partition, offset in (await _replayed(config, sub, partitions)).items():
            marks[(sub, partition)] = offset
    return [
        GivenUpEntry(p, o, reason, size, pending=o >= marks.get((reason.subscription, p), 0))
        for p, o, reason, size in entries
    ]


async def _replayed(
    config: WebhookConfig, subscription_id: str, partitions: set[int]
) -> dict[int, int]:
    """The replay group's mark per DLQ partition: what replays without --since finished."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap,
        group_id=replay_group(subscription_id),
        enable_auto_commit=False,
        **config.security.aiokafka(),
    )
    await start_client(consumer, config.security, config.bootstrap)
    try:
        found = {}
        for p in partitions:
            offset = await consumer.committed(TopicPartition(config.dlq_topic, p))
            if offset is not None:
                found[p] = offset
        return found
    finally:
        await consumer.stop()


async def replay_given_up(
    config: WebhookConfig,
    subscription_id: str,
    *,
    since: dt.datetime | None = None,
    max_attempts: int = REPLAY_ATTEMPTS,
) -> ReplayReport:
    """Send one subscription's given-up deliveries again (see the module doc)."""
    [prepared] = prepare_subscriptions(replace(config, only=(subscription_id,)))
    subscription = prepared.subscription
    report = ReplayReport(subscription_id)
    registry = AsyncRegistryClient(config.registry_url, auth=registry_auth(config.security))
    await ensure_topics(config.bootstrap, [config.dlq_topic], security=config.security)
    producer = AIOKafkaProducer(
        bootstrap_servers=config.bootstrap,
        **config.security.aiokafka(),
        enable_idempotence=True,
        acks="all",
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap,
        group_id=replay_group(subscription_id),
        enable_auto_commit=False,
        isolation_level="read_committed",
        **config.security.aiokafka(),
    )
    await start_client(producer, config.security, config.bootstrap)
    sender = Sender(
        Endpoint(subscription.endpoint, tls=ssl_context(config.ca_file)),
        list(prepared.keys),
        subscription.timeout,
    )

    async def give_up(delivery: Delivery, reason: GivenUp) -> None:
        await producer.send_and_wait(
            config.dlq_topic,
            value=delivery.value,
            key=delivery.key,
            headers=given_up_headers(delivery.headers, reason),
        )

    dispatch = Dispatch(
        subscription_id,
        sender,
        Schemas(registry),
        give_up,
        concurrency=subscription.concurrency,
        policy=config.policy(max_attempts=max_attempts, observe_latency=False),
        agreements={r.topic: r.agreement for r in prepared.routes},
    )
    try:
        await start_client(consumer, config.security, config.bootstrap)
        partitions = [
            TopicPartition(config.dlq_topic, p)
            for p in sorted(await producer.partitions_for(config.dlq_topic))
        ]
        consumer.assign(partitions)
        await _seek(consumer, partitions, since)
        # What is there now; what this replay dead-letters again waits for the next one.
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        while pending and dispatch.gone is None:
            if dispatch.buffered >= config.max_buffered:
                await dispatch.wait_for_progress(1.0)
                continue
            batch = await consumer.getmany(*pending, timeout_ms=500, max_records=500)
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= ends[tp]:
                        continue
                    _feed(dispatch, report, tp, r)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        if dispatch.gone is None:
            await dispatch.idle()
    finally:
        await dispatch.drain()
        report.acknowledged = dispatch.acknowledged
        report.given_up = dispatch.given_up
        report.gone = dispatch.gone is not None
        if since is None:
            points = dispatch.ordering.commit_points(all_=True)
            if points:
                await consumer.commit({TopicPartition(t, p): o for (t, p), o in points.items()})
        await consumer.stop()
        await producer.stop()
        await sender.aclose()
        await registry.aclose()
    return report


async def _seek(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], since: dt.datetime | None
) -> None:
    if since is not None:
        when = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
        found = await consumer.offsets_for_times(
            {tp: int(when.timestamp() * 1000) for tp in partitions}
        )
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            hit = found.get(tp)
            consumer.seek(tp, hit.offset if hit is not None else ends[tp])
        return
    for tp in partitions:
        done = await consumer.committed(tp)
        if done is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, done)


def _feed(dispatch: Dispatch, report: ReplayReport, tp: TopicPartition, r: ConsumerRecord) -> None:
    slot = (tp.topic, tp.partition)
    try:
        reason, original = parse_given_up(r.headers)
    except ValueError:
        reason = None
    if reason is None or reason.subscription != dispatch.subscription_id:
        report.skipped += 1
        dispatch.skip(Delivery(tp.topic, tp.partition, r.offset, None, None, [], 0, slot=slot))
        return
    report.sent += 1
    dispatch.submit(
        Delivery(
            reason.topic,
            reason.partition,
            reason.offset,
            r.key,
            r.value,
            original,
            r.timestamp,
            slot=slot,
            position=r.offset,
        )
    )
