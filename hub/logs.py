"""Structured logging: one JSON object a line (or plain text for a terminal)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from hub import outage

# Attributes every LogRecord has; anything else was passed via ``extra=`` and is logged as a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                # a field named like one of the line's own (ts, level, logger, msg) keeps both
                line[f"{key}_" if key in line else key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


# Libraries whose warnings and errors come in bursts while the broker is away (aiokafka logs every
# failed connect, fetch, heartbeat and metadata refresh; librdkafka every reconnect).
BURSTY = ("aiokafka", "kafka", "rdkafka")
# librdkafka writes to stderr by itself; confluent-kafka clients given this logger
# (``{"logger": RDKAFKA}``) log through Python's logging, and so through the burst filter.
RDKAFKA = logging.getLogger("rdkafka")


class BurstFilter(logging.Filter):
    """Of a burst of a library's warnings and errors, write the first (it says what broke) and
    count the rest in ``hub_log_suppressed_total{logger}``; after a quiet while, the next one is
    written again (``outage.Bursts``). The hub's own lines say when the outage began and ended."""

    def __init__(self, quiet_s: float = outage.BURST_QUIET_S) -> None:
        super().__init__()
        self.bursts = outage.Bursts(quiet_s)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        family = record.name.split(".", 1)[0]
        if family not in BURSTY:
            return True
        if self.bursts.admit(family, record.created):
            record.repeats = "counted in hub_log_suppressed_total until quiet"
            return True
        outage.LOG_SUPPRESSED.labels(family).inc()
        return False


def configure_logging(level: str = "INFO", fmt: str = "json", path: Path | None = None) -> None:
    """Send the hub's logs to stderr (or to ``path``), structured; quiet the chattier libraries."""
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(BurstFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "rdkafka", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
