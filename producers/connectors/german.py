"""Values as German legacy exports write them: decimal comma, ``dd.mm.yyyy``, ``ja``/``nein``,
Windows-1252 text (pure functions; errors are ValueError with a message fit for a reject file).
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

_TRUE = frozenset({"ja", "j", "wahr", "true", "1", "x", "yes", "y"})
_FALSE = frozenset({"nein", "n", "falsch", "false", "0", "no"})
# 1234 · 1.234 · -1.234.567 (a dot only as thousands separator, in groups of three)
_INT = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)$")
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$|^[+-]?,\d+$")
_DECIMAL_POINT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_GERMAN_DATETIME = re.compile(
    r"^(\d{1,2})\.(\d{1,2})\.(\d{4})[ ,]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?: ?Uhr)?$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def decode_text(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """The text of an export and the encoding used.

    ``auto``: UTF-8 (a BOM is dropped), else Windows-1252, the default of German Windows
    systems. cp1252 decodes almost any byte, so the order matters: valid UTF-8 is never
    mistaken for it in practice, the other way round it would be (``Ã¤`` for ``ä``).
    """
    if encoding == "auto":
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    try:
        codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        return data.decode(codec), encoding
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"line {line}: not valid {encoding} (byte 0x{data[exc.start]:02x}); "
            "set `encoding:` in the mapping"
        ) from None
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None


def parse_int(text: str) -> int:
    """``1234``, ``1.234``, ``-5``; ``55,00`` too (a whole number written with cents)."""
    value = text.strip().replace(" ", "")
    if _INT.match(value):
        return int(value.replace(".", ""))
    if _DECIMAL_COMMA.match(value) and "," in value:
        whole, _, cents = value.partition(",")
        if set(cents) == {"0"}:
            return int(whole.replace(".", "") or "0")
        raise ValueError(f"{text!r} is not a whole number")
    raise ValueError(f"{text!r} is not a whole number")


def parse_float(text: str, decimal: str = ",") -> float:
    """``12,5`` and ``1.234,56`` (German); with ``decimal="."``: ``12.5``, ``1,234.56``.

    With a decimal comma a dot is only a thousands separator, so ``12.5`` is refused rather than
    read as 125 or 12.5 (both guesses would be wrong half the time).
    """
    value = text.strip().replace(" ", "").replace("\u00a0", "")
    if decimal == ",":
        if not _DECIMAL_COMMA.match(value):
            hint = " (a dot groups thousands here; write 12,5)" if "." in value else ""
            raise ValueError(f"{text!r} is not a number with decimal comma{hint}")
        return float(value.replace(".", "").replace(",", "."))
    if decimal == ".":
        if not _DECIMAL_POINT.match(value):
            raise ValueError(f"{text!r} is not a number with decimal point")
        return float(value.replace(",", ""))
    raise ValueError(f"unsupported decimal separator {decimal!r}")


def parse_bool(text: str) -> bool:
    """``ja``/``nein`` (also j/n, wahr/falsch, true/false, 1/0, x), case-insensitive."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{text!r} is not ja or nein")


def parse_date(text: str, fmt: str | None = None) -> date:
    """``25.11.2026`` (also ``1.2.2026``) or ISO ``2026-11-25``; or the given strptime format."""
    value = text.strip()
    try:
        if fmt:
            return datetime.strptime(value, fmt).date()
        match = _GERMAN_DATE.match(value)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        if _ISO_DATE.match(value):
            return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date: {exc}") from None
    raise ValueError(f"{text!r} is not a date dd.mm.yyyy")


def parse_timestamp(text: str, tz: tzinfo = BERLIN, fmt: str | None = None) -> datetime:
    """``25.11.2026 14:30`` (optionally ``:05``, ``Uhr``), local time in ``tz``; a bare date is
    midnight; ISO 8601 with an offset is taken as it is. The result is timezone-aware.

    A wall-clock time that occurs twice (the autumn change, 02:00-03:00) is read as the first
    occurrence, summer time: the export does not say which, and one must be picked.
    """
    value = text.strip()
    try:
        if fmt:
            parsed = datetime.strptime(value, fmt)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
        match = _GERMAN_DATETIME.match(value)
        if match:
            day, month, year, hour, minute = (int(g) for g in match.groups()[:5])
            second = int(match.group(6) or 0)
            return datetime(year, month, day, hour, minute, second, tzinfo=tz)
        if _GERMAN_DATE.match(value):
            return datetime.combine(parse_date(value), datetime.min.time(), tzinfo=tz)
        if "-" in value[:10] and len(value) >= 10:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time: {exc}") from None
    raise ValueError(f"{text!r} is not a date and time dd.mm.yyyy HH:MM")
