"""Which engine routes, and routing a batch with the native core.

The Python engine (``process.route_events``) is the specification. The native core
(``hub_core``, built from ``native/`` by ``make install``) does the same per-event work on a
whole batch in one call, without the GIL: decode, filter, transform, encode, delivery ids.
``HUB_ROUTER_ENGINE`` chooses: ``auto`` (the default: native when installed), ``native``
(required), ``python``.

Per agreement the core may refuse a plan (a schema feature it does not apply exactly as the
Python engine); that agreement then runs on the Python engine, on the same batch, and the
refusal is logged and counted. Per event the core hands back what it does not route itself:
every event on which something fails (the Python engine writes its dead letters, so their
reasons are the specification's words) and what the core defers (shapes it cannot decide
exactly, such as numbers beyond 128 bits). Those events are routed by the Python engine and
spliced in at their place, so the outcome is the one the Python engine gives.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from consumers.router import metrics, process
from consumers.router.audit import audit_record
from consumers.router.process import (
    AGREEMENT_HEADER,
    DELIVERY_HEADER,
    PASSTHROUGH_HEADERS,
    Accounting,
    Measured,
    Outcome,
    ReceiptPart,
    route_events,
)
from consumers.router.routes import Route, RoutingTable, SourceRoutes
from hub.agreements.plan import PlanError, dumps, export_plan, tzif
from hub.serde import AvroSerde

log = logging.getLogger("hub.router")

ENGINE_ENV = "HUB_ROUTER_ENGINE"
ENGINES = ("auto", "native", "python")


class EngineError(RuntimeError):
    """``HUB_ROUTER_ENGINE=native`` but the native core is not installed."""


@dataclass(frozen=True)
class Engine:
    """The engine chosen at start: its name, the core module (None: Python), and why."""

    name: str
    core: ModuleType | None
    reason: str


def load_core() -> ModuleType | None:
    """``hub_core`` if it is installed (and importable), else None."""
    try:
        import hub_core
    except ImportError:
        return None
    return hub_core


def select_engine(choice: str | None = None) -> Engine:
    """The engine for ``choice`` (default: ``HUB_ROUTER_ENGINE``, else ``auto``)."""
    choice = (choice or os.environ.get(ENGINE_ENV) or "auto").strip().lower()
    if choice not in ENGINES:
        raise EngineError(f"{ENGINE_ENV} is one of {', '.join(ENGINES)}, not {choice!r}")
    if choice == "python":
        return Engine("python", None, f"{ENGINE_ENV}=python")
    core = load_core()
    if core is not None:
        return Engine("native", core, f"hub_core {core.__version__}")
    if choice == "native":
        raise EngineError(f"{ENGINE_ENV}=native, but hub_core is not installed (make install)")
    return Engine("python", None, "hub_core is not installed")


def announce(engine: Engine) -> None:
    """Say once which engine routes: a log line and ``hub_router_engine_info``."""
    for name in ("native", "python"):
        metrics.ENGINE.labels(name).set(1 if name == engine.name else 0)
    log.info("router engine", extra={"engine": engine.name, "reason": engine.reason})


# -- the native side of a routing table ------------------------------------------------------


@dataclass
class NativeSource:
    """One source topic on the core: the routes it applies, and the ones it refused."""

    core: Any  # hub_core.Source
    native: SourceRoutes  # the routes the core applies, in its order
    fallback: SourceRoutes | None  # refused routes, for the Python engine
    origin_prefix: str
    accounting: Accounting | None = None
    receipts: bool = False  # the core writes receipt entries
    measuring: bool = False  # the core measures quality

    def learn(self, schema_id: int, text: str, canonical: str) -> None:
        self.core.add_writer(schema_id, text, canonical == self.native.reader.canonical)


class NativeTable:
    """The core's view of a routing table: one ``hub_core.Source`` per source topic."""

    def __init__(
        self,
        core: ModuleType,
        table: RoutingTable,
        secret: bytes,
        accounting: Accounting | None = None,
    ) -> None:
        self.sources: dict[str, NativeSource] = {}
        self.refused: dict[str, str] = {}  # agreement id -> why
        self.accounting = accounting
        zone = tzif()
        for topic, source in table.sources.items():
            built = self._build(core, source, secret, zone)
            if built is not None:
                self.sources[topic] = built
        for agreement, why in self.refused.items():
            log.warning(
                "agreement runs on the Python engine",
                extra={"agreement": agreement, "reason": why},
            )
        metrics.ENGINE_REFUSED.set(len(self.refused))

    def _build(
        self, core: ModuleType, source: SourceRoutes, secret: bytes, zone: bytes
    ) -> NativeSource | None:
        reader = json.loads(source.reader.canonical)
        try:
            src = core.Source(
                json.dumps(reader),
                zone,
                sorted(PASSTHROUGH_HEADERS),
                AGREEMENT_HEADER,
                DELIVERY_HEADER,
            )
        except core.Refused as why:
            for route in source.routes:
                self.refused[route.agreement_id] = str(why)
            return None
        native: list[Route] = []
        refused: list[Route] = []
        for route in source.routes:
            try:
                plan = export_plan(route.compiled, reader, secret)
                src.add_route(
                    dumps(plan),
                    route.schema_id,
                    route.topic,
                    (AGREEMENT_HEADER, route.agreement_id.encode()),
                )
            except (PlanError, core.Refused) as why:
                self.refused[route.agreement_id] = str(why)
                refused.append(route)
                continue
            native.append(route)
        if not native:
            return None
        accounting = self.accounting
        receipts = measuring = False
        try:
            if accounting is not None and accounting.receipts_key and source.identifiers:
                src.set_receipts(
                    accounting.receipts_key,
                    [i.path for i in source.identifiers],
                    process.RECEIPT_CHUNK_BYTES,
                )
                receipts = True
            if accounting is not None and accounting.measure:
                src.set_quality([path for path, _ in source.optional], accounting.late_after_us)
                measuring = True
        except core.Refused as why:  # the Python engine keeps the receipts for this topic
            for route in source.routes:
                self.refused[route.agreement_id] = f"receipts or quality: {why}"
            return None
        return NativeSource(
            src,
            SourceRoutes(source.topic, source.reader, tuple(native)),
            SourceRoutes(source.topic, source.reader, tuple(refused)) if refused else None,
            f"{source.topic}/",
            accounting,
            receipts,
            measuring,
        )

    def unknown_ids(self, topic: str, records: list) -> list[int]:
        """Schema ids in ``records`` that the core of ``topic`` has not been taught yet."""
        return self.sources[topic].core.unknown_ids(records)

    def learn(self, topic: str, schema_id: int, text: str, canonical: str) -> None:
        self.sources[topic].learn(schema_id, text, canonical)


def route_native(
    source: NativeSource,
    records: list,
    serde: AvroSerde,
    now: datetime,
    router: str,
    *,
    lazy: bool = False,
) -> Outcome:
    """What ``route_events`` gives for ``records`` (one partition's, in offset order), the
    native core doing the per-event work. With ``lazy``, the core's deliveries stay in Rust as
    a batch (``Outcome.batches``) for the core to produce; events handed back to the Python
    engine make them records again, to be spliced in at their place."""
    native = source.native
    routes = native.routes
    active = [r.compiled.is_active(now) for r in routes]
    partition = records[0].partition
    origin = f"{source.origin_prefix}{partition}/".encode()
    (deliveries, event_times, delivered, filtered, reruns, timed, receipts, measured) = (
        source.core.route(records, active, origin, process.MAX_DELIVERY_BYTES, lazy)
    )
    out = Outcome(events=len(records))
    first, last = records[0].offset, records[-1].offset
    out.ranges[(native.topic, partition)] = (first, last)
    if receipts is not None:
        for route, chunks in zip(routes, receipts, strict=True):
            if chunks:
                part = ReceiptPart(route.agreement_id, native.topic, partition)
                for count, items in chunks:
                    part.chunks.append((count, items))
                part.first_offset, part.last_offset = first, last
                out.receipts[(route.agreement_id, native.topic, partition)] = part
    if measured is not None:
        out.quality[(native.topic, partition)] = _measured(native, records, measured, len(records))
    for i, route in enumerate(routes):
        if delivered[i] or filtered[i]:
            out.delivered[route.agreement_id] += delivered[i]
            out.filtered[route.agreement_id] += filtered[i]
            out.audit.append(
                audit_record(
                    route,
                    native.topic,
                    partition,
                    first,
                    last,
                    delivered[i],
                    filtered[i],
                    router,
                    now,
                )
            )
    if reruns:
        if lazy:
            deliveries = deliveries.to_list()
        deliveries, event_times, rerun_timed = _rerun(
            source, records, reruns, deliveries, event_times, out, serde, now, router
        )
        timed = [*timed, *rerun_timed]
    if isinstance(deliveries, list):
        out.deliveries = deliveries
    elif len(deliveries):
        out.batches = [deliveries]
    out.event_times = event_times
    recorded = _receipts_only(source.accounting)
    if source.fallback is not None:
        done = frozenset(records[i].offset for i in timed)
        rest = route_events(
            source.fallback,
            ((r, r) for r in records),
            serde,
            now,
            router,
            event_errors=False,
            timed=done,
            accounting=recorded,
        )
        rest.events = 0  # the same events, counted once
        measured = out.quality.get((native.topic, partition))
        if measured is not None:
            measured.figures.dead_letters += len(rest.dead_letters)
        out.merge(rest)
    return out


def _rerun(
    source: NativeSource,
    records: list,
    reruns: list,
    deliveries: list,
    event_times: list,
    out: Outcome,
    serde: AvroSerde,
    now: datetime,
    router: str,
) -> tuple[list, list, list[int]]:
    """Route the events the core handed back with the Python engine; splice them in. Also
    returns the indices of the events that got an event time there."""
    spliced: list = []
    times: list = []
    at_delivery = at_time = 0
    recorded = _receipts_only(source.accounting)
    measured = out.quality.get((source.native.topic, records[0].partition))
    rerun_timed: list[int] = []
    for event, delivery_at, time_at, failures in reruns:
        record = records[event]
        # The core counted the event and its headers, and measured its value only if it
        # decoded it: what it could not decode (deferred), the Python engine measures here.
        undecoded = measured is not None and any(f[0] is None for f in failures)
        one = route_events(
            source.native,
            [(record, record)],
            serde,
            now,
            router,
            accounting=source.accounting if undecoded else recorded,
        )
        if measured is not None:
            measured.figures.dead_letters += len(one.dead_letters)
            if undecoded:
                _add_value_figures(
                    measured, one.quality.pop((source.native.topic, record.partition), None)
                )
        spliced += deliveries[at_delivery:delivery_at]
        spliced += one.deliveries
        times += event_times[at_time:time_at]
        times += one.event_times
        if one.event_times:
            rerun_timed.append(event)
        at_delivery, at_time = delivery_at, time_at
        _check(failures, one, record)
        one.deliveries, one.event_times, one.events = [], [], 0
        out.merge(one)
    spliced += deliveries[at_delivery:]
    times += event_times[at_time:]
    return spliced, times, rerun_timed


def _add_value_figures(measured: Measured, python: Measured | None) -> None:
    """Add what the Python engine measured of an event's value (late, nulls) to the core's."""
    if python is None:
        return
    measured.figures.late += python.figures.late
    for path, n in python.figures.nulls.items():
        measured.figures.nulls[path] += n


def _receipts_only(accounting: Accounting | None) -> Accounting | None:
    """The accounting of a second pass over events the core measured: receipts only."""
    if accounting is None:
        return None
    return Accounting(accounting.receipts_key, False, accounting.late_after_us)


def _measured(native: SourceRoutes, records: list, measured: tuple, events: int) -> Measured:
    """The core's quality figures of a batch as the Python engine keeps them."""
    late, nulls, fingerprints, flags = measured
    out = Measured(ids=fingerprints, last_timestamp=records[-1].timestamp)
    figures = out.figures
    figures.events = events
    figures.late = late
    for (path, _), n in zip(native.optional, nulls, strict=True):
        figures.nulls[path] += n
    for value, n in flags.items():
        for rule in value.decode("utf-8", "replace").split(","):
            figures.flagged[rule] += n
    return out


def _check(failures: list, one: Outcome, record: Any) -> None:
    """Count the rerun; when the core said how the event fails, the Python engine must agree."""
    deferred = [f for f in failures if f[1] == "defer"]
    metrics.ENGINE_RERUNS.labels("defer" if deferred else "error").inc()
    if deferred:
        return
    said = Counter(f[2] for f in failures)
    if said != one.dead:
        metrics.ENGINE_MISMATCHES.inc()
        log.error(
            "the native core and the Python engine disagree; the Python engine's outcome holds",
            extra={
                "offset": record.offset,
                "native": dict(said),
                "python": dict(one.dead),
            },
        )
