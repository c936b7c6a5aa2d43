"""Outbox connector: a department's database writes events into an outbox table in the same
database transaction as its own change; this connector publishes them to Kafka.

The table (SQLite by default through the standard library, PostgreSQL through ``psycopg`` when
installed; the SQL is portable)::

    CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY,      -- PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY
        event_id    VARCHAR(64)  NOT NULL UNIQUE,   -- CloudEvents id, e.g. a UUID
        topic       VARCHAR(249) NOT NULL,          -- <department>.<entity>.<event>
        event_key   VARCHAR(255),                   -- Kafka key; NULL: the schema's x-key field
        payload     TEXT         NOT NULL,          -- the record as JSON (gateway rules)
        occurred_at VARCHAR(40)  NOT NULL,          -- RFC 3339; PostgreSQL: TIMESTAMPTZ
        sent_at     VARCHAR(40),                    -- NULL until the broker acknowledged
        error       TEXT                            -- why the row was skipped (invalid)
    );
    CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND error IS NULL;

How it keeps its promises:

- **order**: pending rows (``sent_at IS NULL AND error IS NULL``) are read in ``id`` order, in
  batches; a batch goes out in order in one Kafka transaction.
- **no loss**: a row is marked sent only after the transaction committed (so after the
  broker's acknowledgement). A row that commits late with a lower id (concurrent writers) is
  still pending and is picked up by the next poll, because pending is ``sent_at IS NULL``, not
  ``id > last``.
- **no duplicates**: the progress record ``outbox/<name>`` in ``hub.connect.progress`` is part of
  the same Kafka transaction and lists the batch's ids (and the last id). A crash between the
  Kafka commit and the database update leaves exactly that batch unmarked; on start the
  connector marks those rows sent before publishing anything. Event ids come from the table,
  so consumers can dedupe as well.
- **bad rows don't block**: a row whose payload is not JSON, whose topic has no schema or whose
  record does not fit the schema gets ``error`` set (logged, counted) and is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from producers.connectors import metrics
from producers.connectors.progress import (
    connector_department,
    ensure_progress_topic,
    progress_topic,
    read_progress,
    send_progress,
)
from producers.gateway.convert import ConversionError
from producers.gateway.schemas import SchemaCache
from producers.sdk import Publisher, RecordValidationError

log = logging.getLogger(__name__)

DDL = """\
CREATE TABLE IF NOT EXISTS {table} (
    id          INTEGER PRIMARY KEY,
    event_id    VARCHAR(64)  NOT NULL UNIQUE,
    topic       VARCHAR(249) NOT NULL,
    event_key   VARCHAR(255),
    payload     TEXT         NOT NULL,
    occurred_at VARCHAR(40)  NOT NULL,
    sent_at     VARCHAR(40),
    error       TEXT
)"""
# The same table in PostgreSQL: ids from an identity column, times as timestamptz.
PG_DDL = """\
CREATE TABLE IF NOT EXISTS {table} (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    VARCHAR(64)  NOT NULL UNIQUE,
    topic       VARCHAR(249) NOT NULL,
    event_key   VARCHAR(255),
    payload     TEXT         NOT NULL,
    occurred_at TIMESTAMPTZ  NOT NULL,
    sent_at     TIMESTAMPTZ,
    error       TEXT
)"""
MAX_ERROR = 2000


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: str
    topic: str
    event_key: str | None
    payload: str
    occurred_at: Any


class OutboxStore:
    """The outbox table behind a DSN: ``sqlite:///path.db``, a plain path, or
    ``postgresql://...`` (needs ``psycopg``). Blocking; the connector calls it in a thread."""

    def __init__(self, dsn: str, table: str = "outbox") -> None:
        if not table.replace("_", "").replace(".", "").isalnum():
            raise ValueError(f"table name {table!r}: letters, digits, '_' and '.' only")
        self.dsn = dsn
        self.table = table
        if dsn.startswith(("postgresql://", "postgres://")):
            try:
                import psycopg
            except ModuleNotFoundError:
                raise ValueError(
                    f"{dsn.split('@')[-1]}: PostgreSQL needs the psycopg package "
                    "(pip install 'psycopg[binary]>=3.1')"
                ) from None
            self._conn: Any = psycopg.connect(dsn)
            self._mark = "%s"
            self.backend = "postgresql"
        else:
            path = dsn.removeprefix("sqlite:///").removeprefix("sqlite://").removeprefix("sqlite:")
            # check_same_thread=False: one connector, calls serialized, run in worker threads
            self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
            self._mark = "?"
            self.backend = "sqlite"

    def close(self) -> None:
        self._conn.close()

    def _sql(self, text: str) -> str:
        return text.format(table=self.table).replace("?", self._mark)

    def _now(self) -> Any:
        now = datetime.now(UTC)
        return now if self.backend == "postgresql" else now.isoformat(timespec="milliseconds")

    def create_table(self) -> None:
        """Create the table (for demos and tests; production DDL is the department's)."""
        ddl = PG_DDL if self.backend == "postgresql" else DDL
        with contextlib.closing(self._conn.cursor()) as cur:
            cur.execute(ddl.format(table=self.table))
        self._conn.commit()

    def check(self) -> None:
        """ValueError naming the table when it is missing or lacks a column of the DDL."""
        sql = self._sql(
            "SELECT id, event_id, topic, event_key, payload, occurred_at, sent_at, error "
            "FROM {table} WHERE 1 = 0"
        )
        try:
            with contextlib.closing(self._conn.cursor()) as cur:
                cur.execute(sql)
                cur.fetchall()
        except Exception as exc:  # sqlite3.Error, psycopg.Error: both name the problem
            self._conn.rollback()
            where = self.dsn.split("@")[-1]
            raise ValueError(
                f"{where}: table {self.table} is not an outbox table: {exc} "
                "(DDL in producers/connectors/README.md)"
            ) from None
        self._conn.commit()

    def pending(self, limit: int) -> list[OutboxRow]:
        sql = self._sql(
            "SELECT id, event_id, topic, event_key, payload, occurred_at FROM {table} "
            "WHERE sent_at IS NULL AND error IS NULL ORDER BY id LIMIT ?"
        )
        with contextlib.closing(self._conn.cursor()) as cur:
            cur.execute(sql, (limit,))
            rows = [OutboxRow(*r) for r in cur.fetchall()]
        self._conn.commit()  # end the read transaction (PostgreSQL opens one per statement)
        return rows

    def mark_sent(self, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        sql = self._sql(
            f"UPDATE {{table}} SET sent_at = ? WHERE id IN ({marks}) AND sent_at IS NULL"
        )
        with contextlib.closing(self._conn.cursor()) as cur:
            cur.execute(sql, (self._now(), *ids))
            count = cur.rowcount
        self._conn.commit()
        return count

    def mark_sent_up_to(self, last_id: int) -> int:
        """Fallback recovery for progress records without the batch's ids."""
        sql = self._sql(
            "UPDATE {table} SET sent_at = ? WHERE id <= ? AND sent_at IS NULL AND error IS NULL"
        )
        with contextlib.closing(self._conn.cursor()) as cur:
            cur.execute(sql, (self._now(), last_id))
            count = cur.rowcount
        self._conn.commit()
        return count

    def mark_error(self, row_id: int, message: str) -> None:
        sql = self._sql("UPDATE {table} SET error = ? WHERE id = ?")
        with contextlib.closing(self._conn.cursor()) as cur:
            cur.execute(sql, (message[:MAX_ERROR], row_id))
        self._conn.commit()


@dataclass
class OutboxConfig:
    dsn: str
    bootstrap_servers: str
    registry_url: str
    table: str = "outbox"
    name: str | None = None
    """Identity of this outbox in progress keys and the transactional id; default from the DSN."""
    source: str = "/hamm/hub/outbox"
    progress_topic: str | None = None
    """Default: ``hub.connect.progress.<department>`` of ``source``."""
    batch_size: int = 500
    poll_interval: float = 1.0

    def resolved_name(self) -> str:
        if self.name:
            return self.name
        where = self.dsn
        if not where.startswith(("postgresql://", "postgres://")):
            where = str(Path(where.removeprefix("sqlite:///").removeprefix("sqlite:")).resolve())
        else:
            where = where.split("@")[-1]  # never the password
        return hashlib.sha256(f"{where}|{self.table}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class BatchResult:
    published: int
    skipped: int
    last_id: int | None


class OutboxConnector:
    """``async with OutboxConnector(config) as c: await c.run_once()``."""

    def __init__(
        self,
        config: OutboxConfig,
        *,
        after_commit: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.config = config
        self.name = config.resolved_name()
        self.key = f"outbox/{self.name}"
        self._after_commit = after_commit  # test hook: raise here to simulate a crash
        department = connector_department(config.source)
        self.progress_topic = config.progress_topic or progress_topic(department)
        # The connector runs as its department (HUB_KAFKA_USERNAME, else the source's), under
        # the department's transactional-id prefix.
        self.publisher = Publisher(
            source=config.source,
            bootstrap_servers=config.bootstrap_servers,
            registry_url=config.registry_url,
            transactional_id=f"{department}.connect-outbox-{self.name}",
        )
        self.schemas = SchemaCache(self.publisher)
        self.store: OutboxStore | None = None
        self._stop = asyncio.Event()

    async def __aenter__(self) -> OutboxConnector:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self.store = await asyncio.to_thread(OutboxStore, self.config.dsn, self.config.table)
        try:
            await asyncio.to_thread(self.store.check)
        except ValueError:
            await asyncio.to_thread(self.store.close)
            self.store = None
            raise
        await ensure_progress_topic(
            self.config.bootstrap_servers, self.progress_topic, security=self.publisher.security
        )
        await self.publisher.start()  # fences a crashed predecessor, aborting its transaction
        try:
            await self.recover()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self.publisher.stop()
        if self.store is not None:
            await asyncio.to_thread(self.store.close)
            self.store = None

    def request_stop(self) -> None:
        """Finish the batch in flight, then return from ``run`` (SIGTERM)."""
        self._stop.set()

    async def recover(self) -> int:
        """Mark what Kafka has but the table does not know yet (a crash after a commit)."""
        assert self.store is not None
        progress = await read_progress(
            self.config.bootstrap_servers,
            self.progress_topic,
            prefix=self.key,
            security=self.publisher.security,
        )
        committed = progress.get(self.key)
        if not committed:
            return 0
        ids = committed.get("ids")
        if isinstance(ids, list):
            marked = await asyncio.to_thread(self.store.mark_sent, [int(i) for i in ids])
        else:
            marked = await asyncio.to_thread(self.store.mark_sent_up_to, int(committed["last_id"]))
        if marked:
            log.warning(
                "outbox rows published before a crash marked sent now",
                extra={"outbox": self.name, "rows": marked},
            )
        return marked

    async def run_once(self) -> int:
        """Publish everything pending now; returns the number of events published."""
        total = 0
        while not self._stop.is_set():
            batch = await self.publish_batch()
            total += batch.published
            if batch.last_id is None:
                break
        return total

    async def run(self) -> None:
        """Poll until ``request_stop``."""
        while not self._stop.is_set():
            batch = await self.publish_batch()
            if batch.last_id is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.config.poll_interval)

    async def publish_batch(self) -> BatchResult:
        """One batch of pending rows: invalid ones marked, valid ones published, then marked."""
        assert self.store is not None, "start() first"
        rows = await asyncio.to_thread(self.store.pending, self.config.batch_size)
        if not rows:
            return BatchResult(0, 0, None)
        good: list[tuple[OutboxRow, dict[str, Any]]] = []
        skipped = 0
        for row in rows:
            try:
                good.append((row, await self._record(row)))
            except _BadRow as exc:
                skipped += 1
                log.error(
                    "outbox row skipped",
                    extra={
                        "outbox": self.name,
                        "id": row.id,
                        "topic": row.topic,
                        "error": str(exc),
                    },
                )
                metrics.ROWS_REJECTED.labels("outbox", row.topic).inc()
                await asyncio.to_thread(self.store.mark_error, row.id, str(exc))
        ids = [row.id for row, _ in good]
        if good:
            progress = {"kind": "outbox", "last_id": ids[-1], "ids": ids}
            async with self.publisher.transaction():
                futures = [
                    await self.publisher.send(
                        row.topic,
                        record,
                        key=row.event_key,
                        event_id=row.event_id,
                        time=_time(row.occurred_at),
                    )
                    for row, record in good
                ]
                await send_progress(
                    self.publisher.producer, self.key, progress, self.progress_topic
                )
            await asyncio.gather(*futures)
            if self._after_commit is not None:
                self._after_commit(ids)
            await asyncio.to_thread(self.store.mark_sent, ids)
            for row, _ in good:
                metrics.ROWS_PUBLISHED.labels("outbox", row.topic).inc()
            metrics.OUTBOX_LAST_ID.labels(self.name).set(ids[-1])
        return BatchResult(len(good), skipped, rows[-1].id)

    async def _record(self, row: OutboxRow) -> dict[str, Any]:
        try:
            payload = orjson.loads(row.payload)
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise _BadRow(f"payload is not JSON: {exc}") from None
        topic_schema = await self.schemas.get(row.topic)  # PublisherError: transient, raise
        if topic_schema is None:
            raise _BadRow(f"unknown topic {row.topic}: no schema registered for it")
        try:
            record = topic_schema.converter.convert(payload)
            self.publisher.validate(row.topic, record)
        except ConversionError as exc:
            raise _BadRow(f"payload does not match {row.topic}: {exc}") from None
        except RecordValidationError as exc:
            raise _BadRow(str(exc)) from None
        if _time(row.occurred_at) is None:
            raise _BadRow(f"occurred_at {row.occurred_at!r} is not an RFC 3339 timestamp")
        return record


class _BadRow(ValueError):
    pass


def _time(value: Any) -> datetime | None:
    """``occurred_at`` as an aware datetime (a naive one is taken as UTC), None if unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
