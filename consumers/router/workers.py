"""Route on every core: the pure core in worker processes, Kafka I/O and transactions in one.

Decoding, filtering, transforming and encoding for three agreements cost ~100 µs of CPU an
event in CPython, the Kafka side ~20 µs: one process can use only one core for both. ``RouteWorkers`` hands slices
of a batch to a pool of processes that each hold the same routing table, and hands back one
merged ``Outcome`` in event order. The router still owns the consumer, the transactional
producer and the offsets, so a batch stays one transaction whatever the number of workers.

A worker gets the table as the router compiled it (agreements, source schemas, output schema
ids and the master secret), never file paths: what a worker applies cannot drift from what the
router registered. A reload starts a new pool. Workers ignore SIGINT/SIGTERM (the router
decides when to stop) and leave when the router process is gone.

Each worker is a process with one pipe, one task at a time, awaited through the event loop (no
executor threads that a dead worker could hang). A worker that dies raises ``WorkerDied``; the
router reads the batch again under a new pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any

import orjson

from consumers.router.engine import NativeTable, route_native, select_engine
from consumers.router.process import Accounting, Outcome, Record, route_events
from consumers.router.routes import Route, RoutingTable, SourceRoutes
from consumers.router.runtime import tune_gc
from hub.agreements import compile_agreement
from hub.agreements.model import Agreement
from hub.serde import AvroSerde, parse

SLICE = 1000  # events per task: large enough that IPC (~0.1 ms) is noise, small to balance
START_TIMEOUT = 120.0  # s for a worker to import and compile the table
STOP_TIMEOUT = 5.0  # s for a worker to leave before it is killed


class WorkerDied(RuntimeError):
    """A routing process ended unexpectedly (killed, out of memory); its pool is unusable."""


class WorkerError(RuntimeError):
    """An exception inside a routing process, by type and message (exceptions do not all
    survive pickling)."""


def _said(error: Exception) -> WorkerError:
    return WorkerError(f"in a routing process: {type(error).__name__}: {error}")


# A record as a worker receives it: (partition, offset, key, value, headers, timestamp).
Row = tuple[int, int, bytes | None, bytes | None, Sequence[tuple[str, bytes]], int]


@dataclass(frozen=True)
class TableSpec:
    """What a worker needs to rebuild the router's table exactly (picklable)."""

    secret: bytes
    # (source topic, source schema as canonical JSON, ((agreement, output schema id), ...))
    sources: tuple[tuple[str, str, tuple[tuple[Agreement, int], ...]], ...]
    engine: str | None = None  # the router's (consumers.router.engine.select_engine)
    accounting: Accounting | None = None  # receipts and quality, as the router keeps them

    @classmethod
    def of(
        cls,
        table: RoutingTable,
        secret: bytes,
        engine: str | None = None,
        accounting: Accounting | None = None,
    ) -> TableSpec:
        return cls(
            secret,
            tuple(
                (
                    topic,
                    source.reader.canonical,
                    tuple((r.compiled.agreement, r.schema_id) for r in source.routes),
                )
                for topic, source in table.sources.items()
            ),
            engine,
            accounting,
        )

    def build(self) -> tuple[RoutingTable, AvroSerde]:
        """The routing table and a serde knowing every output schema."""
        serde = AvroSerde()
        sources = {}
        for topic, canonical, routes in self.sources:
            schema = orjson.loads(canonical)
            compiled = tuple(
                Route(compile_agreement(agreement, schema, self.secret), schema_id)
                for agreement, schema_id in routes
            )
            for route in compiled:
                serde.add_schema(route.schema_id, route.compiled.output_schema)
            sources[topic] = SourceRoutes(topic, parse(schema), compiled)
        return RoutingTable(sources), serde


# -- inside a worker process ------------------------------------------------------------------
def _serve(conn: Connection, spec: TableSpec) -> None:
    """A worker's life: build the table, then route each task until told to stop (None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _watch_parent(os.getppid())
    try:
        table, serde = spec.build()
        core = select_engine(spec.engine).core  # the router's engine
        native = None if core is None else NativeTable(core, table, spec.secret, spec.accounting)
    except Exception as error:  # e.g. an agreement that no longer compiles here: say why
        conn.send(("error", _said(error)))
        return
    tune_gc()  # the router's collector settings, after the table is built (and frozen)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the router closed the pipe
            return
        if task is None:
            return
        try:
            conn.send(("ok", _route(table, serde, native, spec.accounting, *task)))
        except Exception as error:
            conn.send(("error", _said(error)))


def _watch_parent(parent: int) -> None:
    """Leave when the router is gone (SIGKILL leaves no one to stop the workers)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _route(
    table: RoutingTable,
    serde: AvroSerde,
    native: NativeTable | None,
    accounting: Accounting | None,
    topic: str,
    rows: list[Row],
    writers: dict[int, str],
    now: datetime,
    router: str,
) -> Outcome:
    for schema_id, text in writers.items():
        if schema_id not in serde:
            serde.add_schema(schema_id, text)
    records = [Record(topic, *row) for row in rows]
    core = None if native is None else native.sources.get(topic)
    if core is None:
        source = table.sources[topic]
        return route_events(
            source, ((r, r) for r in records), serde, now, router, accounting=accounting
        )
    for schema_id in core.core.unknown_ids(records):
        if schema_id in writers:
            core.learn(schema_id, writers[schema_id], serde.schema(schema_id).canonical)
    return route_native(core, records, serde, now, router)


# -- in the router process ---------------------------------------------------------------------
class _Worker:
    """One routing process and its pipe; one task at a time."""

    def __init__(self, spec: TableSpec, index: int) -> None:
        ctx = get_context("spawn")  # a fresh interpreter: no copied locks, threads or sockets
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve, args=(child, spec), name=f"hub-router-worker-{index}", daemon=True
        )
        self.process.start()
        child.close()
        self._turn = asyncio.Lock()

    async def _receive(self) -> Any:
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
        try:
            await readable
        finally:
            loop.remove_reader(fd)
        try:
            kind, value = self.conn.recv()  # the worker writes the whole message at once
        except (EOFError, OSError) as error:
            raise WorkerDied(
                f"{self.process.name} (pid {self.process.pid}) ended, exit code "
                f"{self.process.exitcode}"
            ) from error
        if kind == "error":
            raise value
        return value

    async def ready(self) -> None:
        await asyncio.wait_for(self._receive(), START_TIMEOUT)

    async def call(self, *task: Any) -> Outcome:
        async with self._turn:
            try:
                self.conn.send(task)
            except (BrokenPipeError, OSError) as error:
                raise WorkerDied(f"{self.process.name} (pid {self.process.pid}) is gone") from error
            return await self._receive()

    async def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.process.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(1)
        self.conn.close()


class RouteWorkers:
    """``count`` processes routing slices of batches under one table.

    ``async with RouteWorkers(2, table, secret) as workers: outcome = await workers.route(...)``
    """

    def __init__(
        self,
        count: int,
        table: RoutingTable,
        secret: bytes,
        engine: str | None = None,
        accounting: Accounting | None = None,
    ) -> None:
        self.count = count
        self._spec = TableSpec.of(table, secret, engine, accounting)
        self._workers: list[_Worker] = []

    async def __aenter__(self) -> RouteWorkers:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    async def start(self) -> None:
        """Start every worker and wait until each has built the table."""
        self._workers = [_Worker(self._spec, i) for i in range(self.count)]
        try:
            await asyncio.gather(*(w.ready() for w in self._workers))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        workers, self._workers = self._workers, []
        await asyncio.gather(*(w.stop() for w in workers))

    async def route(
        self,
        topic: str,
        records: Sequence[Any],
        writers: dict[int, str],
        now: datetime,
        router: str,
    ) -> Outcome:
        """Route ``records`` (of one topic partition) in slices; one merged outcome."""
        workers = self._workers
        if not workers:
            raise RuntimeError("RouteWorkers not started")
        rows = [(r.partition, r.offset, r.key, r.value, r.headers, r.timestamp) for r in records]
        size = max(SLICE // 4, min(SLICE, -(-len(rows) // len(workers))))
        slices = [rows[i : i + size] for i in range(0, len(rows), size)]
        outcomes = await asyncio.gather(
            *(
                workers[n % len(workers)].call(topic, part, writers, now, router)
                for n, part in enumerate(slices)
            ),
            return_exceptions=True,  # every slice settled before anyone stops the pool
        )
        out = Outcome()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            out.merge(outcome)
        return out
