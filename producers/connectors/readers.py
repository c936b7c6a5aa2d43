"""Rows of an export file, each with the line it starts on (pure: bytes in, rows out).

CSV: the first line is the header; blank lines are skipped; a row with a different number of
cells than the header is a bad row, not a reason to drop the file. JSON lines: one object a
line; a line that is not a JSON object is a bad row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson


class FileFormatError(ValueError):
    """The file as a whole cannot be read (no header, bad encoding, ...)."""


@dataclass(frozen=True)
class Row:
    line: int
    """Line (1-based) the row starts on."""
    cells: dict[str, Any] | None
    """Column → cell; None when the row is malformed (see ``error``)."""
    raw: list[str]
    """The row as written (CSV cells, or the JSON line as one cell), for the reject file."""
    error: str | None = None


@dataclass(frozen=True)
class ParsedFile:
    header: list[str]
    rows: Iterator[Row]


def read_csv(text: str, delimiter: str = ";") -> ParsedFile:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FileFormatError("the file is empty: expected a header line") from None
    except csv.Error as exc:
        raise FileFormatError(f"line 1: unreadable header: {exc}") from None
    if not any(header):
        raise FileFormatError("line 1: the header is empty")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise FileFormatError(f"line 1: duplicate column(s) {', '.join(duplicates)}")
    return ParsedFile(header, _csv_rows(reader, header))


def _csv_rows(reader: Any, header: list[str]) -> Iterator[Row]:
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = reader.line_num
            yield Row(start, None, [], f"unreadable CSV: {exc}")
            continue
        end = reader.line_num
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != len(header):
            yield Row(
                start, None, cells, f"expected {len(header)} cells (header), got {len(cells)}"
            )
            continue
        yield Row(start, dict(zip(header, cells, strict=True)), cells)


def read_jsonl(text: str) -> ParsedFile:
    return ParsedFile([], _jsonl_rows(text))


def _jsonl_rows(text: str) -> Iterator[Row]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Row(number, None, [line], f"not valid JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield Row(number, None, [line], "expected a JSON object")
            continue
        yield Row(number, value, [line])
