"""Dead letters, read and replayed.

``list_dead_letters`` is a bounded read of the DLQ for people. ``replay_dead_letters`` runs
what is pending through the agreements in force, in Kafka transactions that also commit the
replay group's DLQ offsets: each dead letter is replayed once, and its delivery carries the
delivery id its first attempt would have had, so subscribers can tell. A dead letter of one
agreement's transform is replayed for that agreement only (the others delivered the first time).
What fails again is dead-lettered again, with the new reason, and stays replayable.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from consumers.router.deadletter import DeadLetter, dead_letter_headers, parse_dead_letter
from consumers.router.process import Origin, Outcome, Record, route_events
from consumers.router.service import Router, RouterConfig
from hub.kafka import start_client
from hub.topics import read_snapshot


@dataclass(frozen=True)
class DeadLetterEntry:
    offset: int
    partition: int
    reason: DeadLetter
    key_size: int
    value_size: int
    pending: bool  # not yet replayed by `hub dlq replay`


@dataclass
class ReplayReport:
    replayed: int = 0
    skipped: int = 0  # dead letters of another service (e.g. the feature pipeline)
    delivered: Counter[str] = field(default_factory=Counter)
    dead_again: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False


class NoRouteError(LookupError):
    """No agreement in force reads the dead letter's source topic (any more)."""


def replay_group(config: RouterConfig) -> str:
    return f"{config.group}-dlq-replay"


async def list_dead_letters(config: RouterConfig) -> list[DeadLetterEntry]:
    """Every dead letter with its reason (never its content: that is personal data)."""
    records = await read_snapshot(config.bootstrap, config.dlq_topic, security=config.security)
    committed = await _committed(config, {TopicPartition(r.topic, r.partition) for r in records})
    entries = []
    for r in records:
        try:
            reason, _ = parse_dead_letter(r.headers)
        except ValueError as error:
            reason = DeadLetter("NotADeadLetter", str(error), "?", -1, -1)
        done = committed.get(TopicPartition(r.topic, r.partition)) or 0
        entries.append(
            DeadLetterEntry(
                r.offset,
                r.partition,
                reason,
                len(r.key or b""),
                len(r.value or b""),
                pending=r.offset >= done,
            )
        )
    return entries


async def _committed(config: RouterConfig, partitions: set[TopicPartition]) -> dict:
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap,
        group_id=replay_group(config),
        **config.security.aiokafka(),
    )
    await start_client(consumer, config.security, config.bootstrap)
    try:
        return {tp: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()


async def replay_dead_letters(
    config: RouterConfig, master_secret: bytes, *, dry_run: bool = False
) -> ReplayReport:
    """Replay every pending dead letter once under the agreements in force now."""
    report = ReplayReport(dry_run=dry_run)
    router = Router(config, master_secret)
    group = replay_group(config)
    await router.prepare(transactional_id=f"{config.transactional_id}-replay")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap,
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **config.security.aiokafka(),
    )
    await start_client(consumer, config.security, config.bootstrap)
    try:
        table = await router.build_table()
        await router.use_table(table)
        partitions = [
            TopicPartition(config.dlq_topic, p)
            for p in sorted(await router.partitions(config.dlq_topic))
        ]
        consumer.assign(partitions)
        for tp in partitions:
            done = await consumer.committed(tp)
            if done is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, done)
        # Replay what is there now; dead letters this run writes wait for the next one.
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=500)
            outcome = Outcome()
            offsets = {}
            for tp, records in batch.items():
                records = [r for r in records if r.offset < ends[tp]]
                if not records:
                    continue
                await router.learn_schemas(records)
                for record in records:
                    one = _replay_one(router, table, record)
                    if one is None:
                        report.skipped += 1
                    else:
                        outcome.merge(one)
                offsets[tp] = records[-1].offset + 1
            if offsets:
                if not dry_run:
                    await router.commit(outcome, offsets, group)
                else:  # nothing written: the same dead letters stay pending
                    for tp, offset in offsets.items():
                        consumer.seek(tp, offset)
                report.replayed += outcome.events
                report.delivered.update(outcome.delivered)
                report.dead_again.update(outcome.dead)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
        await router.close()
    return report


def _replay_one(router: Router, table: Any, record: Any) -> Outcome | None:
    """The replay of one dead letter; None when another service wrote it (not ours to route)."""
    now = datetime.now(UTC)
    try:
        reason, original = parse_dead_letter(record.headers)
        if reason.router and not reason.router.startswith(f"{router.config.group}-"):
            return None
    except ValueError as error:
        reason = DeadLetter(
            type(error).__name__, str(error), record.topic, record.partition, record.offset
        )
        original = list(record.headers)
    event = Record(
        reason.topic,
        reason.partition,
        reason.offset,
        record.key,
        record.value,
        original,
        record.timestamp,
    )
    origin = Origin(reason.topic, reason.partition, reason.offset)
    source = table.sources.get(reason.topic)
    if source is None or (reason.agreement_id and table.route(reason.agreement_id) is None):
        out = Outcome(events=1)
        missing = reason.agreement_id or reason.topic
        error = NoRouteError(f"no agreement in force for {missing!r}")
        why = DeadLetter(
            type(error).__name__,
            str(error),
            origin.topic,
            origin.partition,
            origin.offset,
            reason.agreement_id,
            router.config.name,
        )
        out.dead_letters.append((record.key, record.value, dead_letter_headers(original, why)))
        out.dead[why.error_class] += 1
        return out
    return route_events(
        source,
        [(event, origin)],
        router.serde,
        now,
        router.config.name,
        only_agreement=reason.agreement_id,
        replayed=True,
        accounting=router.receipts_only,  # counted as a dead letter already, not again
    )
