"""Topics: create what a service needs before it uses it (idempotent), read a log to its end."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord

from hub.kafka import KafkaSecurity, start_client

DEFAULT_REPLICAS = 3  # a city's cluster (DESIGN.md, "Operations"); fewer nodes: one copy each
LEADER_WAIT_S = 10.0  # how long ensure_topics waits for a new topic's leaders


class TopicCreationError(RuntimeError):
    """The broker refused to create topics; the message names each topic and the reason."""

    def __init__(self, failures: dict[str, str], principal: str | None) -> None:
        self.failures = failures
        who = f" for {principal}" if principal else ""
        super().__init__(
            f"cannot create{who}: "
            + "; ".join(f"{topic} ({reason})" for topic, reason in sorted(failures.items()))
        )


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 1
    replication: int | None = None  # None: three copies on a cluster, one on a single node
    config: dict[str, str] = field(default_factory=dict)


async def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec | str],
    *,
    security: KafkaSecurity | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; return the names that were created.

    ``security``: the principal that creates them (it needs Create on them); default: this
    process's identity from the settings."""
    wanted = [TopicSpec(s) if isinstance(s, str) else s for s in specs]
    security = security or KafkaSecurity.from_settings()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security.aiokafka())
    await start_client(admin, security, bootstrap)
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in wanted if s.name not in existing]
        if missing:
            copies = 1
            if any(s.replication is None for s in missing):
                brokers = (await admin.describe_cluster())["brokers"]
                copies = min(DEFAULT_REPLICAS, len(brokers))
            new = [
                NewTopic(
                    s.name,
                    s.partitions,
                    copies if s.replication is None else s.replication,
                    topic_configs=s.config,
                )
                for s in missing
            ]
            # Another instance may create it meanwhile: that is what we wanted anyway.
            with contextlib.suppress(TopicAlreadyExistsError):
                response = await admin.create_topics(new)
                failures = {
                    error[0]: _error_name(error[1])
                    for error in response.topic_errors
                    if error[1] not in (0, TopicAlreadyExistsError.errno)
                }
                if failures:
                    raise TopicCreationError(failures, security.principal)
            await _until_led(admin, {s.name: s.partitions for s in missing})
        return [s.name for s in missing]
    finally:
        await admin.close()


async def _until_led(admin: AIOKafkaAdminClient, partitions: dict[str, int]) -> None:
    """Wait (up to ``LEADER_WAIT_S``) until every partition of the new topics has a leader:
    a client that writes or lists offsets at once would otherwise meet NOT_LEADER or
    UNKNOWN_TOPIC (clients retry these; the first request need not)."""
    deadline = time.monotonic() + LEADER_WAIT_S
    while time.monotonic() < deadline:
        described = await admin.describe_topics(list(partitions))
        led = {
            t["topic"]
            for t in described
            if not t.get("error_code")
            and len(t.get("partitions", [])) == partitions[t["topic"]]
            and all(not p["error_code"] and p["leader"] >= 0 for p in t["partitions"])
        }
        if led >= partitions.keys():
            return
        await asyncio.sleep(0.05)


def _error_name(code: int) -> str:
    from aiokafka.errors import for_code

    return for_code(code).__name__


async def read_snapshot(
    bootstrap: str,
    topic: str,
    *,
    isolation_level: str = "read_committed",
    wait: float = 10.0,
    missing_ok: bool = True,
    security: KafkaSecurity | None = None,
) -> list[ConsumerRecord]:
    """Every record of ``topic`` from the beginning to its end as of now (no consumer group).

    For readers of the hub's own logs (DLQ, audit, a state changelog): a bounded read that
    ends, not a stream. A topic without partitions after ``wait`` seconds reads as empty, or,
    with ``missing_ok=False`` (a restore that silently read nothing would count twice), raises
    ``LookupError``.
    """
    security = security or KafkaSecurity.from_settings()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation_level,
        **security.aiokafka(),
    )
    await start_client(consumer, security, bootstrap)
    try:
        # Without a group, the consumer takes every partition once it has the topic's metadata.
        deadline = asyncio.get_running_loop().time() + wait
        while not consumer.assignment():
            if asyncio.get_running_loop().time() > deadline:
                if missing_ok:
                    return []  # no such topic: nothing to read
                raise LookupError(f"cannot read {topic}: no partitions assigned within {wait} s")
            await asyncio.sleep(0.05)
        assigned = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*assigned)
        # With read_committed the end is the last stable offset: what a reader can ever see now.
        ends = await consumer.end_offsets(assigned)
        records: list[ConsumerRecord] = []
        pending = {tp for tp in assigned if ends[tp] > await consumer.position(tp)}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for messages in batch.values():
                records.extend(messages)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return records
    finally:
        await consumer.stop()
