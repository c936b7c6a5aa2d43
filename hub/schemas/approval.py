"""Approval records: ``v<N>.approval.yaml`` beside a version that adds personal data.

A version that adds a field classified direct, quasi or sensitive (or lowers a field's
classification) needs the data-protection officer's sign-off, recorded as code::

    reviewer: Dr. Jana Beispiel
    role: Datenschutzbeauftragte
    date: 2026-03-02
    reason: Zustellung an Zweitwohnsitz, § 34 Abs. 1 BMG
    fields: [secondary_address.street]   # optional; if given, must name every change
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

REQUIRED_KEYS = ("reviewer", "role", "date", "reason")
ALLOWED_KEYS = (*REQUIRED_KEYS, "fields")


class ApprovalError(ValueError):
    """The approval file is malformed; the message says what is wrong."""


@dataclass(frozen=True)
class Approval:
    reviewer: str
    role: str
    date: dt.date
    reason: str
    fields: tuple[str, ...] | None


def approval_path(version_file: Path) -> Path:
    """``.../v2.avsc`` → ``.../v2.approval.yaml``."""
    return version_file.with_name(f"{version_file.stem}.approval.yaml")


def load_approval(path: Path) -> Approval:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ApprovalError(f"cannot read: {error}") from None
    except ValueError as error:  # PyYAML's own date parsing, e.g. 2026-02-30
        raise ApprovalError(f"a date is not a valid date (YYYY-MM-DD): {error}") from None
    return parse_approval(data)


def parse_approval(data: object) -> Approval:
    if not isinstance(data, dict):
        raise ApprovalError(f"expected a mapping with {', '.join(REQUIRED_KEYS)}")
    missing = [key for key in REQUIRED_KEYS if data.get(key) in (None, "")]
    if missing:
        raise ApprovalError(f"missing {', '.join(missing)}")
    unknown = sorted(set(map(str, data)) - set(ALLOWED_KEYS))
    if unknown:
        raise ApprovalError(f"unknown keys {unknown}; allowed: {', '.join(ALLOWED_KEYS)}")
    for key in ("reviewer", "role", "reason"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise ApprovalError(f"{key} must be a non-empty text")
    fields = data.get("fields")
    if fields is not None and (
        not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
    ):
        raise ApprovalError("fields must be a list of dotted field paths")
    return Approval(
        reviewer=data["reviewer"].strip(),
        role=data["role"].strip(),
        date=_date(data["date"]),
        reason=data["reason"].strip(),
        fields=tuple(fields) if fields is not None else None,
    )


def _date(value: object) -> dt.date:
    # YAML already turns 2026-03-02 into a date; a quoted string is accepted too.
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ApprovalError(f"date {value!r} is not a valid date (YYYY-MM-DD)")
