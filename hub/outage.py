"""What a service says while the broker is away: one line when it becomes unreachable, one when
it is reachable again (with how long it was away), and counts for everything in between.

A 5 s outage used to make the router write hundreds of lines (every retry, every fetch and
metadata refresh of aiokafka); an operator reading the log afterwards needs two: when, and for
how long. The rest is in the metrics (``hub_broker_up{service}``, ``hub_broker_errors_total``,
``hub_log_suppressed_total``), where an alert can watch it.

``Reachability`` is the pure state machine: fed successes and failures with the clock, it
returns the line to write, if any. ``Bursts`` is the pure rule of the log filter
(``hub.logs``): the first record of a burst passes, the rest are counted. ``BrokerWatch`` is the
edge a service holds: it writes the lines, sets the metrics and probes the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

if TYPE_CHECKING:
    from hub.kafka import KafkaSecurity

UNREACHABLE = "broker unreachable"
REACHABLE_AGAIN = "broker reachable again"
REGISTRY_UNREACHABLE = "schema registry unreachable"
REGISTRY_REACHABLE_AGAIN = "schema registry reachable again"
PROBE_INTERVAL_S = 2.0
# After "reachable again", a failure within this many seconds is counted, not a new outage:
# clients report connections the outage broke late (librdkafka at the next commit).
RECOVERY_GRACE_S = 10.0
# Longer than librdkafka's own interval for repeating an identical connection error (30 s): a
# long outage stays one burst, not a line every 30 s.
BURST_QUIET_S = 60.0

# Not in any registry yet: ``expose`` puts them into the process-wide one and into the own
# registries of the services that keep one (registry, pull API, portal).
BROKER_UP = Gauge(
    "hub_broker_up",
    "1 while this service reaches the Kafka broker, 0 while it does not.",
    ["service"],
    registry=None,
)
BROKER_ERRORS = Counter(
    "hub_broker_errors",
    "Failures to reach the broker (probes, sends, commits, fetches), logged once an outage.",
    ["service"],
    registry=None,
)
REGISTRY_REACHABLE = Gauge(
    "hub_registry_reachable",
    "1 while this service reaches the schema registry, 0 while it does not.",
    ["service"],
    registry=None,
)
REGISTRY_ERRORS = Counter(
    "hub_registry_errors",
    "Requests to the schema registry that got no answer or a server error, logged once an outage.",
    ["service"],
    registry=None,
)
LOG_SUPPRESSED = Counter(
    "hub_log_suppressed",
    "Log records of a library (aiokafka, librdkafka) not written: the first of a burst was.",
    ["logger"],
    registry=None,
)
_COLLECTORS = (BROKER_UP, BROKER_ERRORS, REGISTRY_REACHABLE, REGISTRY_ERRORS, LOG_SUPPRESSED)
_exposed: weakref.WeakSet[CollectorRegistry] = weakref.WeakSet()


def expose(registry: CollectorRegistry = REGISTRY) -> None:
    """Serve the outage metrics from ``registry`` too (idempotent)."""
    if registry in _exposed:
        return
    for collector in _COLLECTORS:
        registry.register(collector)
    _exposed.add(registry)


expose()


# -- the state machine ----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A state change, the one line to write about it."""

    reachable: bool
    message: str
    error: str | None = None  # what failed first (becoming unreachable)
    down_s: float | None = None  # how long it was away (reachable again)
    failures: int = 0  # failures counted during the outage (reachable again)

    def fields(self) -> dict[str, Any]:
        """The line's structured fields."""
        if not self.reachable:
            return {"error": self.error}
        return {"down_s": round(self.down_s or 0.0, 1), "failures": self.failures}


class Reachability:
    """Reachable or not, with the time it became unreachable; ``success`` and ``failure`` return
    a ``Change`` exactly when the state flips, else None. It starts reachable: a service comes
    up only once its clients connected."""

    def __init__(self, lines: tuple[str, str] = (UNREACHABLE, REACHABLE_AGAIN)) -> None:
        self.reachable = True
        self.down_since: float | None = None
        self.failures = 0  # of the current (or last) outage
        self._lines = lines  # what to say on becoming unreachable, and reachable again

    def failure(self, now: float, error: str = "") -> Change | None:
        self.failures += 1
        if not self.reachable:
            return None
        self.reachable, self.down_since, self.failures = False, now, 1
        return Change(False, self._lines[0], error=error or None)

    def success(self, now: float) -> Change | None:
        if self.reachable:
            return None
        assert self.down_since is not None
        self.reachable = True
        down_s = max(0.0, now - self.down_since)
        return Change(True, self._lines[1], down_s=down_s, failures=self.failures)


class Bursts:
    """The first record of a burst passes; the others, until ``quiet_s`` have passed without a
    record of the same key, are counted in ``suppressed`` instead."""

    def __init__(self, quiet_s: float = BURST_QUIET_S) -> None:
        self.quiet_s = quiet_s
        self._last: dict[str, float] = {}
        self.suppressed: Tally[str] = Tally()

    def admit(self, key: str, now: float) -> bool:
        last = self._last.get(key)
        self._last[key] = now if last is None else max(last, now)
        if last is None or now - last >= self.quiet_s:
            return True
        self.suppressed[key] += 1
        return False


# -- the edge -------------------------------------------------------------------------------


def is_connection_error(error: BaseException) -> bool:
    """An error that says the broker is not there (not one about a request or a record)."""
    from aiokafka.errors import (
        KafkaConnectionError,
        KafkaTimeoutError,
        NoBrokersAvailable,
        NodeNotReadyError,
        RequestTimedOutError,
    )

    kinds = (
        KafkaConnectionError,
        KafkaTimeoutError,
        NoBrokersAvailable,
        NodeNotReadyError,
        RequestTimedOutError,
        ConnectionError,
        TimeoutError,
    )
    from hub.serde.client import RegistryError

    seen: set[int] = set()
    while error is not None and id(error) not in seen:  # also what it was raised from
        if isinstance(error, RegistryError):
            return False  # the registry's connection, not the broker's (its own watch says so)
        if isinstance(error, kinds):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return False


def describe(error: BaseException | str) -> str:
    """``Kind: message``, once (aiokafka's messages often start with their kind already)."""
    if isinstance(error, str):
        return error
    kind, text = type(error).__name__, str(error)
    return text if text.startswith(kind) else f"{kind}: {text}" if text else kind


class _Watch:
    """A service's view of one thing it depends on: ``ok()`` after a round trip that worked,
    ``failed(e)`` after one that did not; a line per state change, a gauge and a counter."""

    def __init__(
        self,
        service: str,
        logger: logging.Logger | None,
        clock: Callable[[], float],
        lines: tuple[str, str],
        up: Gauge,
        errors: Counter,
    ) -> None:
        self.service = service
        self._log = logger or logging.getLogger(f"hub.{service}")
        self._clock = clock
        self._state = Reachability(lines)
        self._up = up.labels(service)
        self._errors = errors.labels(service)
        self._up.set(1)
        self._recovered_at: float | None = None

    @property
    def reachable(self) -> bool:
        return self._state.reachable

    def ok(self) -> None:
        now = self._clock()
        change = self._state.success(now)
        if change is not None:
            self._recovered_at = now
            self._up.set(1)
            self._say(change, logging.INFO)

    def failed(self, error: BaseException | str) -> None:
        self._errors.inc()
        now = self._clock()
        recovered = self._recovered_at
        if self._state.reachable and recovered is not None and now - recovered < RECOVERY_GRACE_S:
            return  # a late word on the outage just ended; a new one fails on past the grace
        change = self._state.failure(now, describe(error))
        if change is not None:
            self._up.set(0)
            self._say(change, logging.WARNING)

    def _say(self, change: Change, level: int) -> None:
        self._log.log(level, change.message, extra={"service": self.service, **change.fields()})


class RegistryWatch(_Watch):
    """A service's view of the schema registry, fed by its ``AsyncRegistryClient`` (every
    request that got an answer below 500 is ``ok``; no answer or a server error ``failed``).
    Callers that retry say nothing themselves: the watch writes the two lines."""

    def __init__(
        self,
        service: str,
        logger: logging.Logger | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        lines = (REGISTRY_UNREACHABLE, REGISTRY_REACHABLE_AGAIN)
        super().__init__(service, logger, clock, lines, REGISTRY_REACHABLE, REGISTRY_ERRORS)


class BrokerWatch(_Watch):
    """A service's view of the broker: ``ok()`` after a round trip that worked, ``failed(e)``
    after one that did not, ``report(e)`` for an error of any kind; ``start`` probes the broker
    every ``interval`` seconds, so the service also notices recovery while idle."""

    def __init__(
        self,
        service: str,
        logger: logging.Logger | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PROBE_INTERVAL_S,
    ) -> None:
        lines = (UNREACHABLE, REACHABLE_AGAIN)
        super().__init__(service, logger, clock, lines, BROKER_UP, BROKER_ERRORS)
        self.interval = interval
        self._probe: asyncio.Task[None] | None = None

    def report(self, error: BaseException, *, since: float | None = None) -> bool:
        """True when ``error`` is the broker being away (counted, and logged once an outage),
        comes while it is away, or ends work begun ``since`` (this watch's clock) before it came
        back (counted: a consequence, such as a transaction the outage broke); False: the
        caller logs it."""
        if is_connection_error(error) or not self.reachable:
            self.failed(error)
            return True
        recovered = self._recovered_at
        if since is not None and recovered is not None and since <= recovered:
            self._errors.inc()
            return True
        return False

    # -- probing ----------------------------------------------------------------------------
    async def start(self, bootstrap: str, security: KafkaSecurity) -> None:
        """Probe the broker in the background (a metadata request on a client of its own)."""
        if self._probe is None:
            self._probe = asyncio.create_task(
                self._probe_forever(bootstrap, security), name=f"{self.service}-broker-probe"
            )

    async def stop(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await probe

    async def _probe_forever(self, bootstrap: str, security: KafkaSecurity) -> None:
        from aiokafka.client import AIOKafkaClient
        from aiokafka.errors import KafkaError

        client = AIOKafkaClient(
            bootstrap_servers=bootstrap,
            client_id=f"hub-{self.service}-probe",
            request_timeout_ms=max(1000, int(self.interval * 2500)),
            **security.aiokafka(),
        )
        started = False
        try:
            while True:
                await asyncio.sleep(self.interval)
                try:
                    if not started:
                        await client.bootstrap()
                        started = True
                    else:
                        await asyncio.wait_for(client.fetch_all_metadata(), self.interval * 3)
                except (KafkaError, OSError, TimeoutError) as error:
                    self.failed(error)
                else:
                    self.ok()
        finally:
            with contextlib.suppress(Exception):
                await client.close()
