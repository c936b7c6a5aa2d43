"""Delivering one subscription's deliveries: decode, encode as JSON, sign, POST, retry, give up.

``Dispatch`` is fed deliveries in offset order (by the Kafka loop of ``service``, or by the
replay of the DLQ) and runs one task per lane head (``ordering``): a key's next event starts
when its previous one is finished. At most ``concurrency`` requests are in flight; a delivery
waiting for its next attempt holds no request slot, so a failing key does not slow the others.

``halt()`` is the way out (SIGTERM, a rebalance, 410): requests in flight finish and count,
nothing new starts, deliveries waiting for a retry stop waiting; what is not finished is not
committed and comes again from Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from consumers.webhooks import metrics
from consumers.webhooks.deadletter import BODY_EXCERPT, GivenUp
from consumers.webhooks.delivery import Delivery
from consumers.webhooks.encoding import (
    cloudevent_headers,
    delivery_id,
    header_map,
    json_body,
)
from consumers.webhooks.http import Answer, Endpoint, RequestFailed
from consumers.webhooks.ordering import Ordering
from consumers.webhooks.retry import (
    MAX_ATTEMPTS,
    Verdict,
    parse_retry_after,
    retry_delay,
    status_class,
    verdict,
)
from consumers.webhooks.signing import signed_headers
from hub.serde import AsyncRegistryClient, AvroSerde, RegistryError, SerdeError
from hub.serde.wire import HEADER_SIZE, MAGIC_BYTE

log = logging.getLogger("hub.webhooks")
TRANSIENT_BACKOFF = 1.0  # seconds between tries while the registry or the broker is away


class Undecodable(ValueError):
    """The delivery cannot become a request (not Avro, schema unknown to the registry)."""


class Halted(Exception):
    """The dispatch was halted while the delivery waited for something outside it."""


class Schemas:
    """Decode deliveries, fetching writer schemas the serde has not seen from the registry (a
    new agreement version mid-stream is a new schema id)."""

    def __init__(self, registry: AsyncRegistryClient, serde: AvroSerde | None = None) -> None:
        self._registry = registry
        self.serde = serde or AvroSerde()
        self._fetching: dict[int, asyncio.Future] = {}

    async def _learn(self, schema_id: int) -> None:
        # One request per unknown id: a backlog of thousands of keys would otherwise ask the
        # registry thousands of times at once for the same schema.
        pending = self._fetching.get(schema_id)
        if pending is None:
            pending = asyncio.ensure_future(self._registry.schema_by_id(schema_id))
            self._fetching[schema_id] = pending
            pending.add_done_callback(lambda _: self._fetching.pop(schema_id, None))
        try:
            text = await asyncio.shield(pending)
        except RegistryError as error:
            if error.status == 0 or error.status >= 500:
                raise
            raise Undecodable(f"schema id {schema_id}: {error}") from None
        if schema_id not in self.serde:
            self.serde.add_schema(schema_id, text)

    async def decode(self, value: bytes | None) -> Any:
        """The record; Undecodable when it can never be decoded; RegistryError (status 0 or
        5xx) when the registry is away for now."""
        if value is None:
            raise Undecodable("a tombstone (no value) is not a delivery")
        if len(value) < HEADER_SIZE or value[0] != MAGIC_BYTE:
            raise Undecodable("not in Confluent wire format (magic byte 0 and schema id)")
        schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
        if schema_id not in self.serde:
            await self._learn(schema_id)
        try:
            return self.serde.decode(value)
        except SerdeError as error:
            raise Undecodable(str(error)) from None


@dataclass(frozen=True)
class Attempt:
    """One POST: the answer, or why there was none."""

    status: int | None
    answer: Answer | None
    error: str  # "" after an answer; else "timeout" / "connection: ..."
    seconds: float

    @property
    def label(self) -> str:
        return status_class(self.status, "timeout" if self.error.startswith("timeout") else None)

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else self.error

    def excerpt(self) -> str:
        if self.answer is None:
            return ""
        return self.answer.body[:BODY_EXCERPT].decode("utf-8", "replace")


class Sender:
    """Signs and POSTs one request to a subscription's endpoint."""

    def __init__(self, endpoint: Endpoint, keys: list[bytes], timeout: float) -> None:
        self.endpoint = endpoint
        self._keys = keys
        self._timeout = timeout

    async def attempt(self, msg_id: str, headers: dict[str, str], body: bytes) -> Attempt:
        # A fresh timestamp each attempt: receivers refuse timestamps older than 5 minutes.
        request = {**headers, **signed_headers(msg_id, body, self._keys)}
        started = time.perf_counter()
        try:
            answer = await self.endpoint.post(request, body, self._timeout)
        except RequestFailed as failure:
            text = str(failure)
            error = f"timeout: {text}" if failure.kind == "timeout" else f"connection: {text}"
            return Attempt(None, None, error, time.perf_counter() - started)
        return Attempt(answer.status, answer, "", time.perf_counter() - started)

    async def aclose(self) -> None:
        await self.endpoint.aclose()


GiveUp = Callable[[Delivery, GivenUp], Awaitable[None]]
"""Writes a given-up delivery to the DLQ; returns once the broker has it."""


@dataclass
class Policy:
    """How hard to try: the Standard Webhooks schedule, maybe compressed."""

    max_attempts: int = MAX_ATTEMPTS
    scale: float = 1.0
    jitter: float = 0.1
    observe_latency: bool = True  # not for replays: their deliveries were written long ago


class Dispatch:
    """One subscription's deliveries in flight. ``submit`` in offset order per partition;
    ``ordering.commit_points()`` says what may be committed."""

    def __init__(
        self,
        subscription_id: str,
        sender: Sender,
        schemas: Schemas,
        give_up: GiveUp,
        *,
        concurrency: int,
        policy: Policy | None = None,
        rng: random.Random | None = None,
        on_gone: Callable[[Attempt], None] | None = None,
        agreements: Mapping[str, str] | None = None,
    ) -> None:
        """``agreements``: the agreement of each delivery topic (for records that do not name
        theirs)."""
        self.subscription_id = subscription_id
        self._sender = sender
        self._schemas = schemas
        self._give_up = give_up
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self.policy = policy or Policy()
        self._rng = rng or random.Random()
        self._on_gone = on_gone
        self._agreements = agreements or {}
        self.ordering: Ordering[Delivery] = Ordering()
        self._tasks: set[asyncio.Task] = set()
        self._halt = asyncio.Event()
        self._progress = asyncio.Event()
        self.gone: Attempt | None = None  # the 410 answer that stopped the subscription
        self.acknowledged = 0
        self.given_up = 0
        sid = subscription_id
        self._m_ack = metrics.ACKNOWLEDGED.labels(sid)
        self._m_given_up = metrics.GIVEN_UP.labels(sid)
        self._m_backlog = metrics.RETRY_BACKLOG.labels(sid)
        self._m_buffered = metrics.BUFFERED.labels(sid)
        self._m_latency = metrics.LATENCY.labels(sid)
        self._m_attempts: dict[str, Any] = {}

    # -- feeding ------------------------------------------------------------------------------
    @property
    def halted(self) -> bool:
        return self._halt.is_set()

    @property
    def buffered(self) -> int:
        return self.ordering.buffered

    def submit(self, delivery: Delivery) -> None:
        """Take a delivery in; it starts now if its key has nothing in flight. Ignored once
        halted (it is read again from Kafka)."""
        if self.halted:
            return
        if self.ordering.add(delivery):
            self._start(delivery)
        self._m_buffered.set(self.ordering.buffered)

    def skip(self, delivery: Delivery) -> None:
        """Count ``delivery`` as finished without sending it (a replay's record of another
        subscription); it must have no lane."""
        assert delivery.lane is None
        self.ordering.add(delivery)
        self.ordering.finish(delivery)

    async def wait_for_progress(self, timeout: float) -> None:
        """Until some delivery finished (or ``timeout``): the fetch loop waits here when full."""
        self._progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout)

    async def idle(self) -> None:
        """Until every submitted delivery is finished (or the dispatch is halted and drained)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def halt(self) -> None:
        self._halt.set()
        self._progress.set()

    async def drain(self) -> None:
        """Halt and wait: requests in flight come back, waiting ones stop."""
        self.halt()
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def reset(self) -> None:
        """After a drain: forget everything unfinished (it will be read again) and go on."""
        assert not self._tasks
        self.ordering = Ordering()
        self._halt = asyncio.Event()
        self._m_buffered.set(0)

    # -- one delivery -------------------------------------------------------------------------
    def _start(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _finished(self, delivery: Delivery) -> None:
        following = self.ordering.finish(delivery)
        self._m_buffered.set(self.ordering.buffered)
        self._progress.set()
        if following is not None and not self.halted:
            self._start(following)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self._deliver_one(delivery)
        except Halted:
            pass
        except Exception:  # a bug: the delivery stays unfinished (read again after a restart)
            log.exception(
                "webhook delivery failed unexpectedly",
                extra={"subscription": self.subscription_id, "delivery": delivery.place},
            )

    async def _prepare(self, delivery: Delivery) -> tuple[str, dict[str, str], bytes]:
        headers = header_map(delivery.headers)
        agreement = self._agreements.get(delivery.topic)
        msg_id = delivery_id(
            headers, delivery.topic, delivery.partition, delivery.offset, agreement
        )
        while True:
            try:
                record = await self._schemas.decode(delivery.value)
                break
            except RegistryError:  # away for now: wait, do not give up (the client's watch
                await self._pause(TRANSIENT_BACKOFF)  # logs the outage once)
        return msg_id, cloudevent_headers(headers, msg_id, agreement), json_body(record)

    async def _deliver_one(self, delivery: Delivery) -> None:
        try:
            msg_id, headers, body = await self._prepare(delivery)
        except Undecodable as error:
            reason = self._reason(delivery, None, f"undecodable: {error}", "")
            await self._dead_letter(delivery, reason)
            return
        policy = self.policy
        while True:
            if self.halted:
                raise Halted
            async with self._slots:
                if self.halted:
                    raise Halted
                delivery.attempts += 1
                attempt = await self._sender.attempt(msg_id, headers, body)
            self._count(attempt)
            outcome = verdict(attempt.status)
            if outcome is Verdict.ACKNOWLEDGED:
                self.acknowledged += 1
                self._m_ack.inc()
                if policy.observe_latency and delivery.timestamp_ms > 0:
                    self._m_latency.observe(max(0.0, time.time() - delivery.timestamp_ms / 1000))
                self._finished(delivery)
                return
            if outcome is Verdict.GONE:
                self._gone(attempt)
                raise Halted
            retry_after = None
            if attempt.status in (429, 503) and attempt.answer is not None:
                retry_after = parse_retry_after(attempt.answer.headers.get("retry-after"))
            delay = retry_delay(
                delivery.attempts,
                max_attempts=policy.max_attempts,
                scale=policy.scale,
                retry_after=retry_after,
                jitter=policy.jitter,
                rng=self._rng,
            )
            if delay is None:
                reason = self._reason(
                    delivery, attempt.status, attempt.describe(), attempt.excerpt()
                )
                await self._dead_letter(delivery, reason)
                return
            self._m_backlog.inc()
            try:
                await self._pause(delay)
            finally:
                self._m_backlog.dec()

    def _count(self, attempt: Attempt) -> None:
        label = attempt.label
        child = self._m_attempts.get(label)
        if child is None:
            child = self._m_attempts[label] = metrics.ATTEMPTS.labels(self.subscription_id, label)
        child.inc()

    def _reason(self, delivery: Delivery, status: int | None, error: str, body: str) -> GivenUp:
        return GivenUp(
            subscription=self.subscription_id,
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            attempts=delivery.attempts,
            status=status,
            error=error,
            body=body,
        )

    async def _dead_letter(self, delivery: Delivery, reason: GivenUp) -> None:
        """Into the DLQ, then finished; a broker that is away is waited for (not given up)."""
        while True:
            try:
                await self._give_up(delivery, reason)
                break
            except Exception as error:
                log.warning(
                    "cannot write to the webhook DLQ, waiting",
                    extra={"subscription": self.subscription_id, "error": repr(error)},
                )
                await self._pause(TRANSIENT_BACKOFF)
        self.given_up += 1
        self._m_given_up.inc()
        log.warning(
            "webhook delivery given up",
            extra={
                "subscription": self.subscription_id,
                "delivery": reason.place,
                "attempts": reason.attempts,
                "error": reason.error,
            },
        )
        self._finished(delivery)

    def _gone(self, attempt: Attempt) -> None:
        if self.gone is None:
            self.gone = attempt
            if self._on_gone is not None:
                self._on_gone(attempt)
        self.halt()

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless halted meanwhile (then Halted)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._halt.wait(), seconds)
        if self.halted:
            raise Halted
