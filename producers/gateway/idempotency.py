"""``Idempotency-Key`` (IETF httpapi draft): a client that retries a POST with the same key
gets the first answer again, and nothing is published twice.

A key is remembered per department for 24 hours with a fingerprint of the request (topic and
body) and the answer. Every gateway instance reads the remembered keys from the compacted
topic ``hub.gateway.idempotency`` at start and follows it, so a retry that reaches another
instance, or the same one after a restart, is answered the same. A key reused with another
request is 422; a key whose first request is still being answered is 409.

What this cannot cover: an instance that dies after the broker acknowledged the events and
before the key's record is written. The events then keep their ids (``ce_id``), so a reader can
still drop the second copy; the window is one write to Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from hub.outage import BrokerWatch

log = logging.getLogger(__name__)

TOPIC = "hub.gateway.idempotency"
RETENTION_S = 24 * 3600
MAX_KEY_LENGTH = 255
# A structured-field string ("...") as the draft specifies, or a bare token as many clients send.
_QUOTED = re.compile(r'^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$')
_TOKEN = re.compile(r"^[!-~]+$")  # any visible ASCII, as the OpenAPI document says


class IdempotencyKeyError(ValueError):
    """The header is not a usable key; the message says why (answered 400)."""


def parse_key(header: str) -> str:
    """The key of an ``Idempotency-Key`` header value."""
    value = header.strip()
    quoted = _QUOTED.match(value)
    if quoted:
        key = re.sub(r"\\(.)", r"\1", quoted.group(1))
    elif _TOKEN.match(value):
        key = value
    else:
        raise IdempotencyKeyError(
            'Idempotency-Key must be a quoted string ("...") or visible ASCII without spaces'
        )
    if not key:
        raise IdempotencyKeyError("Idempotency-Key must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyError(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters")
    return key


def fingerprint(topic: str, body: bytes) -> str:
    """What makes two requests "the same request": the topic and the exact body."""
    digest = hashlib.sha256()
    digest.update(topic.encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


@dataclass(frozen=True)
class Remembered:
    """The first answer to a key."""

    department: str
    key: str
    fingerprint: str
    status: int
    body: dict[str, Any]
    at: float  # epoch seconds

    def record_key(self) -> bytes:
        return orjson.dumps([self.department, self.key])

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "department": self.department,
                "key": self.key,
                "fingerprint": self.fingerprint,
                "status": self.status,
                "body": self.body,
                "at": self.at,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> Remembered:
        data = orjson.loads(raw)
        return cls(
            str(data["department"]),
            str(data["key"]),
            str(data["fingerprint"]),
            int(data["status"]),
            dict(data["body"]),
            float(data["at"]),
        )


class InProgress(Exception):
    """Another request with this key is being answered (409)."""


class IdempotencyStore:
    """Remembered keys in memory; ``writer`` (optional) persists each one (Kafka)."""

    def __init__(
        self,
        *,
        retention_s: float = RETENTION_S,
        clock: Callable[[], float] = time.time,
        writer: Callable[[Remembered], Any] | None = None,
    ) -> None:
        self.retention_s = retention_s
        self.clock = clock
        self.writer = writer
        self._known: dict[tuple[str, str], Remembered] = {}
        self._pending: set[tuple[str, str]] = set()
        # Kafka: catch up with what other instances remembered before saying "unknown".
        self.sync: Callable[[], Awaitable[None]] | None = None

    def __len__(self) -> int:
        return len(self._known)

    def learn(self, remembered: Remembered) -> None:
        """Take a remembered key from the topic (the first answer wins)."""
        if self._fresh(remembered):
            self._known.setdefault((remembered.department, remembered.key), remembered)

    def forget(self, department: str, key: str) -> None:
        self._known.pop((department, key), None)

    def _fresh(self, remembered: Remembered) -> bool:
        return self.clock() - remembered.at < self.retention_s

    async def find(self, department: str, key: str) -> Remembered | None:
        """The remembered answer to ``key``, after reading what other instances wrote."""
        found = self.get(department, key)
        if found is None and self.sync is not None:
            await self.sync()
            found = self.get(department, key)
        return found

    def get(self, department: str, key: str) -> Remembered | None:
        found = self._known.get((department, key))
        if found is not None and not self._fresh(found):
            del self._known[(department, key)]
            return None
        return found

    def hold(self, department: str, key: str) -> Callable[[], None]:
        """Hold ``key`` while its first request has no outcome; returns the release.
        InProgress if it is held already."""
        slot = (department, key)
        if slot in self._pending:
            raise InProgress(key)
        self._pending.add(slot)
        return lambda: self._pending.discard(slot)

    @contextlib.contextmanager
    def claim(self, department: str, key: str):
        """``hold`` as a context manager."""
        release = self.hold(department, key)
        try:
            yield
        finally:
            release()

    async def remember(self, remembered: Remembered) -> None:
        self._known[(remembered.department, remembered.key)] = remembered
        if len(self._known) > 100_000:  # bounded memory: drop what has expired
            for slot, item in list(self._known.items()):
                if not self._fresh(item):
                    del self._known[slot]
        if self.writer is not None:
            try:
                await self.writer(remembered)
            except Exception as exc:  # the events are published; only the memory is lost
                log.warning(
                    "cannot persist an Idempotency-Key",
                    extra={"department": remembered.department, "error": repr(exc)},
                )


class KafkaIdempotency:
    """The store's Kafka side: read ``topic`` into the store at start, follow it, write to it.

    ``producer`` is the gateway's (aiokafka) producer; ``consumer_factory`` builds an aiokafka
    consumer without a group (``assign``), so no group ACL is needed."""

    def __init__(
        self,
        store: IdempotencyStore,
        producer_of: Callable[[], Any],
        consumer_factory: Callable[[], Any],
        admin_factory: Callable[[], Any] | None = None,
        topic: str = TOPIC,
        broker: BrokerWatch | None = None,
    ) -> None:
        self.store = store
        self.topic = topic
        self.broker = broker or BrokerWatch("gateway", log)
        self._producer_of = producer_of
        self._consumer_factory = consumer_factory
        self._admin_factory = admin_factory
        self._consumer: Any = None
        # End offsets are asked on a connection of their own: on the follower's, the broker
        # answers them only after the fetch it holds there (up to fetch.max.wait.ms, 500 ms),
        # so every keyed request waited half a second.
        self._probe: Any = None
        self._task: asyncio.Task | None = None
        store.writer = self.write
        store.sync = self.catch_up

    async def write(self, remembered: Remembered) -> None:
        await self._producer_of().send_and_wait(
            self.topic, key=remembered.record_key(), value=remembered.to_json()
        )

    async def start(self, timeout: float = 30.0) -> None:
        """Create the topic if needed, read it to its end, then follow it in the background."""
        from aiokafka import TopicPartition

        if self._admin_factory is not None:
            await self._ensure_topic()
        consumer = self._consumer_factory()
        await consumer.start()
        self._consumer = consumer
        partition = TopicPartition(self.topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        deadline = time.monotonic() + timeout
        while await consumer.position(partition) < end and time.monotonic() < deadline:
            self._take(await consumer.getmany(timeout_ms=500))
        log.info("idempotency keys loaded", extra={"keys": len(self.store), "topic": self.topic})
        probe = self._consumer_factory()
        await probe.start()
        self._probe = probe
        self._task = asyncio.create_task(self._follow(), name="idempotency-follow")

    async def catch_up(self, timeout: float = 2.0) -> None:
        """Wait until the follower has read everything written so far (a retry that reaches
        this instance right after another one answered must find that answer)."""
        from aiokafka import TopicPartition

        if self._consumer is None or self._probe is None:
            return
        partition = TopicPartition(self.topic, 0)
        try:
            offsets = await asyncio.wait_for(self._probe.end_offsets([partition]), timeout)
            end = offsets[partition]
        except Exception as exc:  # the broker is gone: answer from what is known
            if not self.broker.report(exc):  # else counted: the outage is logged once
                log.warning("cannot catch up with idempotency keys", extra={"error": repr(exc)})
            return
        deadline = time.monotonic() + timeout
        while await self._consumer.position(partition) < end and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    async def _ensure_topic(self) -> None:
        from aiokafka.admin import NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        admin = self._admin_factory()
        await admin.start()
        try:
            topic = NewTopic(
                self.topic,
                1,
                1,
                topic_configs={
                    "cleanup.policy": "compact,delete",
                    "retention.ms": str(RETENTION_S * 1000),
                },
            )
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([topic])
        finally:
            await admin.close()

    def _take(self, batches: dict) -> None:
        for messages in batches.values():
            for message in messages:
                if message.value is None:
                    continue
                try:
                    self.store.learn(Remembered.from_json(message.value))
                except (ValueError, KeyError, TypeError):
                    log.warning("unreadable idempotency record", extra={"offset": message.offset})

    async def _follow(self) -> None:
        while True:
            try:
                self._take(await self._consumer.getmany(timeout_ms=1000))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnects by itself; say so once a second at most
                if not self.broker.report(exc):
                    log.warning("following idempotency keys failed", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in (self._consumer, self._probe):
            if client is not None:
                await client.stop()
