"""The ``_schemas`` topic as a ``SchemaLog``: aiokafka I/O around the pure fold.

One partition, compacted, created if absent. A consumer without group reads it from the start
and folds every batch into ``state``; ``append`` produces and returns once the consumer has
passed the written offsets, so the caller sees its own write (and whether the fold accepted it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from hub.kafka import KafkaSecurity, start_client
from hub.outage import BrokerWatch
from hub.registry import errors
from hub.registry.state import State, fold

log = logging.getLogger(__name__)

TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    # Losing proposals are tombstoned within milliseconds; this lag keeps compaction from ever
    # reordering a losing proposal before a later update of the winner (see records.py).
    "min.compaction.lag.ms": str(60 * 60 * 1000),
}


class KafkaSchemaLog:
    """``async with KafkaSchemaLog(bootstrap, topic) as schema_log: schema_log.state``."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str = "_schemas",
        *,
        write_timeout: float = 10.0,
        replication_factor: int = 1,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.security = security or KafkaSecurity.from_settings(principal="hub-registry")
        self.topic = topic
        self.replication_factor = replication_factor
        self.write_timeout = write_timeout
        self._state = State()
        self._position = 0  # next offset to fold
        self._partition = TopicPartition(topic, 0)
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._advanced = asyncio.Event()
        self._failure: BaseException | None = None
        # While the broker is away: one line when it goes, one when it is back, counts between.
        self.broker = BrokerWatch("registry", log)

    @property
    def state(self) -> State:
        return self._state

    @property
    def position(self) -> int:
        return self._position

    async def __aenter__(self) -> KafkaSchemaLog:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        await self._ensure_topic()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            acks="all",
            linger_ms=0,
            **self.security.aiokafka(),
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=200,
            **self.security.aiokafka(),
        )
        try:
            await start_client(self._producer, self.security, self.bootstrap_servers)
            await start_client(self._consumer, self.security, self.bootstrap_servers)
            self._consumer.assign([self._partition])
            await self._consumer.seek_to_beginning(self._partition)
            end = (await self._consumer.end_offsets([self._partition]))[self._partition]
            while self._position < end:
                await self._read_once(timeout_ms=1000)
        except BaseException:
            await self.stop()
            raise
        self._reader = asyncio.create_task(self._read_forever(), name=f"fold {self.topic}")
        await self.broker.start(self.bootstrap_servers, self.security)
        if self._state.rejected:
            # Proposals whose writer died before tombstoning them: compaction must never keep
            # one while the winner's record moves on (see records.py), so clear them now.
            stale = [(raw_key, None) for raw_key, _ in self._state.rejected.values()]
            await self.append(stale)
            log.info(
                "tombstoned losing proposals", extra={"topic": self.topic, "count": len(stale)}
            )
        log.info(
            "schema log caught up",
            extra={
                "topic": self.topic,
                "offset": self._position,
                "schemas": len(self._state.schemas),
                "subjects": len(self._state.subjects),
            },
        )

    async def stop(self) -> None:
        await self.broker.stop()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for client in (self._consumer, self._producer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.stop()
        self._consumer = self._producer = None

    async def append(self, batch: Sequence[tuple[bytes, bytes | None]]) -> None:
        if self._producer is None:
            raise errors.store_error(f"the schema log {self.topic} is not started")
        try:
            sent = [
                await self._producer.send(self.topic, value=value, key=key, partition=0)
                for key, value in batch
            ]
            metadata = await asyncio.wait_for(asyncio.gather(*sent), self.write_timeout)
        except TimeoutError as exc:
            self.broker.report(exc)
            raise errors.store_timeout(f"write to {self.topic} not acknowledged") from None
        except KafkaError as exc:
            self.broker.report(exc)
            raise errors.store_error(f"write to {self.topic} failed: {exc}") from exc
        self.broker.ok()
        last = max(m.offset for m in metadata)
        await self.wait_for(last + 1)

    async def wait_for(self, position: int) -> None:
        """Return once every record before ``position`` has been folded."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.write_timeout
        while self._position < position:
            if self._failure is not None:
                raise errors.store_error(f"reading {self.topic} failed: {self._failure}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise errors.store_timeout(f"own write to {self.topic} not read back in time")
            self._advanced.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._advanced.wait(), remaining)

    async def _read_forever(self) -> None:
        try:
            while True:
                await self._read_once(timeout_ms=500)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the registry cannot answer writes any more; say so loudly
            self._failure = exc
            self._advanced.set()
            log.exception("reading the schema log failed", extra={"topic": self.topic})

    async def _read_once(self, timeout_ms: int) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(self._partition, timeout_ms=timeout_ms)
        messages = batches.get(self._partition, [])
        if messages:
            skipped = self._state.skipped
            self._state = fold(((m.key or b"", m.value) for m in messages), self._state)
            if self._state.skipped > skipped:
                log.warning(
                    "skipped malformed or conflicting _schemas records",
                    extra={"topic": self.topic, "count": self._state.skipped - skipped},
                )
            self._position = messages[-1].offset + 1
            self._advanced.set()
        else:
            # Compaction or transactions may leave gaps: trust the consumer's position.
            position = await self._consumer.position(self._partition)
            if position > self._position:
                self._position = position
                self._advanced.set()

    async def _ensure_topic(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, **self.security.aiokafka()
        )
        # A refused credential: KafkaAuthError, one line naming the principal, no retries.
        await start_client(admin, self.security, self.bootstrap_servers)
        try:
            # list_topics first: describing a missing topic would auto-create it uncompacted.
            if self.topic not in await admin.list_topics():
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [
                            NewTopic(
                                self.topic, 1, self.replication_factor, topic_configs=TOPIC_CONFIG
                            )
                        ]
                    )
                    log.info("created schema log topic", extra={"topic": self.topic})
            partitions = 0
            for _ in range(50):  # a new topic's metadata may take a moment to show up
                (described,) = await admin.describe_topics([self.topic])
                partitions = len(described.get("partitions", []))
                if partitions and not described.get("error_code"):
                    break
                await asyncio.sleep(0.1)
            code = described.get("error_code") or 0
            if code:
                from aiokafka.errors import for_code

                raise errors.store_error(
                    f"topic {self.topic}: {for_code(code).__name__} for the principal "
                    f"{self.security.principal} (its ACLs come from `hub access apply`)"
                )
            if partitions != 1:
                raise errors.store_error(
                    f"topic {self.topic} has {partitions} partitions; the schema log needs 1"
                )
        finally:
            await admin.close()
