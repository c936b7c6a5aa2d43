"""File-drop connector: CSV and JSON-lines exports of legacy systems become events.

A department system drops its export into a folder. For each file (oldest first):

1. its content hash names it (``files/<sha256>`` in ``hub.connect.progress``); a file already
   done is moved to ``done/`` again without publishing (the same export dropped twice);
2. rows are parsed with the mapping (German formats), in chunks; each chunk's valid rows are
   published with a transactional Publisher together with a progress record (hash, last line),
   so a chunk is on Kafka entirely or not at all;
3. invalid rows (also those that break a ``reject`` quality rule of the contract, named in the
   reason) go to ``rejects/<name>.rejects.csv`` (``_line;_error;_sha256;`` + the row as
   it was: fix it and drop the file again, the extra columns are ignored), written before the chunk commits; on a restart the reject
   file is cut back to the committed line, so it holds each bad row once;
4. the file is moved to ``done/``.

Event ids are ``uuid5(file hash, line)``, the same after any restart, so consumers can dedupe
too. A file that cannot be read at all (encoding, missing columns) is moved to ``rejects/``
with the reason in its reject file.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.quality import RuleBook
from producers.connectors import metrics
from producers.connectors.german import decode_text
from producers.connectors.mapping import BoundMapping, FileMapping, RowErrors, bind
from producers.connectors.progress import (
    connector_department,
    ensure_progress_topic,
    progress_topic,
    read_progress,
    send_progress,
)
from producers.connectors.readers import FileFormatError, ParsedFile, Row, read_csv, read_jsonl
from producers.sdk import Publisher, RecordValidationError

log = logging.getLogger(__name__)

EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://www.hamm.de/datendrehscheibe/files")
PATTERNS = {"csv": ("*.csv",), "jsonl": ("*.jsonl", "*.ndjson")}
DONE, REJECTS = "done", "rejects"


def event_id(file_hash: str, line: int) -> str:
    """The deterministic id of the event from ``line`` of the file with ``file_hash``."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{file_hash}:{line}"))


def file_key(file_hash: str) -> str:
    return f"files/{file_hash}"


def reject_path(directory: Path, name: str) -> Path:
    return directory / REJECTS / f"{name}.rejects.csv"


@dataclass(frozen=True)
class FileProgress:
    """What is committed of one file (the progress record's value)."""

    file: str
    sha256: str
    line: int
    published: int
    rejected: int
    done: bool

    def value(self) -> dict[str, Any]:
        return {
            "kind": "file",
            "file": self.file,
            "sha256": self.sha256,
            "line": self.line,
            "published": self.published,
            "rejected": self.rejected,
            "done": self.done,
        }


@dataclass
class FileResult:
    file: str
    sha256: str
    published: int = 0
    rejected: int = 0
    outcome: str = "done"  # done | duplicate | rejected
    reason: str | None = None


@dataclass
class FileDropConfig:
    directory: Path
    bootstrap_servers: str
    registry_url: str
    progress_topic: str | None = None
    """Default: ``hub.connect.progress.<department>`` of the mapping's source."""
    transactional_id: str | None = None
    """Default: derived from the department and the folder, so two connectors on one folder
    fence each other (under the department's transactional-id prefix, as its ACLs allow)."""
    chunk_size: int = 500
    poll_interval: float = 5.0
    settle: float = 2.0
    """In watch mode a file is taken once unchanged this long (it may still be written)."""
    quality: RuleBook | None = None
    """The contracts' quality rules (default: the schema tree, see ``Publisher``)."""

    def resolved_transactional_id(self, department: str) -> str:
        if self.transactional_id:
            return self.transactional_id
        digest = hashlib.sha256(str(self.directory.resolve()).encode()).hexdigest()[:12]
        return f"{department}.connect-files-{digest}"


class FileDropConnector:
    """``async with FileDropConnector(config, mapping) as c: await c.run_once()``."""

    def __init__(
        self,
        config: FileDropConfig,
        mapping: FileMapping,
        *,
        after_commit: Callable[[FileProgress], None] | None = None,
    ) -> None:
        self.config = config
        self.mapping = mapping
        self._after_commit = after_commit  # test hook: raise here to simulate a crash
        department = connector_department(mapping.source)
        self.progress_topic = config.progress_topic or progress_topic(department)
        # The connector runs as its department (HUB_KAFKA_USERNAME, else the source's).
        self.publisher = Publisher(
            source=mapping.source,
            bootstrap_servers=config.bootstrap_servers,
            registry_url=config.registry_url,
            transactional_id=config.resolved_transactional_id(department),
            quality=config.quality,
        )
        self.bound: BoundMapping | None = None
        self._progress: dict[str, dict[str, Any]] = {}
        self._stop = asyncio.Event()

    async def __aenter__(self) -> FileDropConnector:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        security = self.publisher.security
        await ensure_progress_topic(
            self.config.bootstrap_servers, self.progress_topic, security=security
        )
        # Starting the transactional producer aborts whatever a crashed predecessor left open,
        # so what read_progress sees next is final.
        await self.publisher.start()
        try:
            await self.publisher.prepare(self.mapping.topic)
            self.bound = bind(self.mapping, self.publisher.schema(self.mapping.topic).schema)
            self._progress = await read_progress(
                self.config.bootstrap_servers,
                self.progress_topic,
                prefix="files/",
                security=security,
            )
        except BaseException:
            await self.publisher.stop()
            raise

    async def stop(self) -> None:
        await self.publisher.stop()

    def request_stop(self) -> None:
        """Finish the chunk in flight, then return from ``run`` (SIGTERM)."""
        self._stop.set()

    # -- the loop -----------------------------------------------------------------------------
    def pending_files(self, settle: float = 0.0) -> list[Path]:
        """Export files in the folder, oldest first; with ``settle``, only quiet ones."""
        fmt = self.mapping.model.format
        patterns = PATTERNS[fmt] if fmt else PATTERNS["csv"] + PATTERNS["jsonl"]
        now = time.time()
        found = {p for pattern in patterns for p in self.config.directory.glob(pattern)}
        files = [
            p
            for p in found
            if p.is_file() and not p.name.startswith(".") and now - p.stat().st_mtime >= settle
        ]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    async def run_once(self) -> list[FileResult]:
        """Process every file now in the folder."""
        results = []
        for path in self.pending_files():
            if self._stop.is_set():
                break
            results.append(await self.process(path))
        return results

    async def run(self) -> None:
        """Watch the folder until ``request_stop``."""
        while not self._stop.is_set():
            for path in self.pending_files(self.config.settle):
                if self._stop.is_set():
                    break
                await self.process(path)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.config.poll_interval)

    # -- one file -----------------------------------------------------------------------------
    async def process(self, path: Path) -> FileResult:
        assert self.bound is not None, "start() first"
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        committed = self._progress.get(file_key(sha), {})
        result = FileResult(path.name, sha)
        if committed.get("done"):
            log.info("file already published: moved to done/", extra={"file": str(path)})
            self._move(path, DONE, sha)
            result.outcome = "duplicate"
            metrics.FILES_DONE.labels("duplicate").inc()
            return result
        try:
            parsed = self._parse(path, data)
        except FileFormatError as exc:
            return self._reject_file(path, sha, str(exc), result)
        last = int(committed.get("line", 0))
        result.published = int(committed.get("published", 0))
        result.rejected = int(committed.get("rejected", 0))
        rejects = RejectFile(reject_path(self.config.directory, path.name), sha, parsed.header)
        rejects.cut_back(last)
        try:
            for chunk in _chunks(parsed.rows, last, self.config.chunk_size):
                if self._stop.is_set():
                    result.outcome = "interrupted"
                    return result
                await self._publish_chunk(path, sha, chunk, rejects, result)
                last = chunk[-1].line
        finally:
            rejects.close()
        await self._commit_progress(
            FileProgress(path.name, sha, last, result.published, result.rejected, True)
        )
        self._move(path, DONE, sha)
        metrics.FILES_DONE.labels("done").inc()
        log.info(
            "file processed",
            extra={"file": str(path), "published": result.published, "rejected": result.rejected},
        )
        return result

    def _parse(self, path: Path, data: bytes) -> ParsedFile:
        model = self.mapping.model
        try:
            text, _ = decode_text(data, model.encoding)
        except ValueError as exc:
            raise FileFormatError(str(exc)) from None
        fmt = model.format or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
        if fmt == "jsonl":
            return read_jsonl(text)
        parsed = read_csv(text, model.delimiter)
        assert self.bound is not None
        missing = self.bound.missing_columns(parsed.header)
        if missing:
            raise FileFormatError(
                f"line 1: column(s) {', '.join(missing)} named in {self.mapping.path} are "
                f"missing (the header has: {', '.join(parsed.header)})"
            )
        return parsed

    async def _publish_chunk(
        self, path: Path, sha: str, chunk: list[Row], rejects: RejectFile, result: FileResult
    ) -> None:
        assert self.bound is not None
        topic = self.bound.topic
        good: list[tuple[int, dict[str, Any]]] = []
        bad = 0
        for row in chunk:
            reason = row.error
            if reason is None:
                try:
                    record = self.bound.record(row.cells or {})
                    self.publisher.validate(topic, record)
                    good.append((row.line, record))
                    continue
                except RowErrors as exc:
                    reason = str(exc)
                except RecordValidationError as exc:
                    reason = f"field {exc.field}: {exc.message}" if exc.field else exc.message
            rejects.write(row, reason)
            bad += 1
        rejects.flush()  # before the commit: a crash after it must not lose a reject
        progress = FileProgress(
            path.name,
            sha,
            chunk[-1].line,
            result.published + len(good),
            result.rejected + bad,
            False,
        )
        async with self.publisher.transaction():
            futures = [
                await self.publisher.send(topic, record, event_id=event_id(sha, line))
                for line, record in good
            ]
            await send_progress(
                self.publisher.producer,
                file_key(sha),
                progress.value(),
                self.progress_topic,
            )
        await asyncio.gather(*futures)
        result.published, result.rejected = progress.published, progress.rejected
        self._progress[file_key(sha)] = progress.value()
        metrics.ROWS_PUBLISHED.labels("files", topic).inc(len(good))
        metrics.ROWS_REJECTED.labels("files", topic).inc(bad)
        if self._after_commit is not None:
            self._after_commit(progress)

    async def _commit_progress(self, progress: FileProgress) -> None:
        async with self.publisher.transaction():
            await send_progress(
                self.publisher.producer,
                file_key(progress.sha256),
                progress.value(),
                self.progress_topic,
            )
        self._progress[file_key(progress.sha256)] = progress.value()

    def _reject_file(self, path: Path, sha: str, reason: str, result: FileResult) -> FileResult:
        log.error("file rejected", extra={"file": str(path), "reason": reason})
        with RejectFile(reject_path(self.config.directory, path.name), sha, []) as rejects:
            rejects.cut_back(0)
            rejects.write(Row(0, None, []), f"{path.name}: {reason}")
        self._move(path, REJECTS, sha)
        metrics.FILES_DONE.labels("rejected").inc()
        result.outcome, result.reason = "rejected", reason
        return result

    def _move(self, path: Path, folder: str, sha: str) -> Path:
        target_dir = self.config.directory / folder
        target_dir.mkdir(exist_ok=True)
        target = target_dir / path.name
        if target.exists():  # another export of the same name: keep both
            target = target_dir / f"{path.stem}.{sha[:12]}{path.suffix}"
        shutil.move(str(path), target)
        return target


def _chunks(rows: Iterator[Row], after: int, size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        if row.line <= after:
            continue
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class RejectFile:
    """``rejects/<name>.rejects.csv``: ``_line;_error;_sha256;`` and the row's cells, UTF-8.

    ``_sha256`` (the first 12 hex digits of the file's hash) tells apart the rejects of
    different exports under one name (a daily ``export.csv``).
    """

    path: Path
    sha256: str
    header: list[str]
    _handle: Any = field(default=None, init=False)
    _writer: Any = field(default=None, init=False)

    def __enter__(self) -> RejectFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cut_back(self, line: int) -> None:
        """Drop this file's rejects after ``line`` (not committed before a restart)."""
        if not self.path.exists():
            return
        with self.path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter=";"))
        mine = self.sha256[:12]
        kept = [rows[0]] + [
            r for r in rows[1:] if len(r) > 2 and (r[2] != mine or int(r[0] or 0) <= line)
        ]
        if len(kept) == 1:
            self.path.unlink()
            return
        with self.path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, delimiter=";").writerows(kept)

    def write(self, row: Row, reason: str) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists()
            self._handle = self.path.open("a", newline="", encoding="utf-8")
            self._writer = csv.writer(self._handle, delimiter=";")
            if fresh:
                self._writer.writerow(["_line", "_error", "_sha256", *(self.header or ["_raw"])])
        self._writer.writerow([row.line, reason, self.sha256[:12], *row.raw])

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = self._writer = None
