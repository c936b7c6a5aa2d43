"""Data-sharing agreements (Datennutzungsvereinbarungen) as loaded from `catalog/agreements/*.yaml`.

This module only checks what an agreement says on its own (shape, transform arguments, filter
structure); whether it fits the source schema is checked in `compile.py`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from hub.agreements.errors import AgreementError, CheckIssue
from hub.agreements.where import WhereError, parse_where

TransformKind = Literal[
    "keep",
    "drop",
    "redact",
    "pseudonymize",
    "mask",
    "truncate",
    "generalize",
    "age_band",
    "bucket",
    "postcode_prefix",
    "h3",
    "date_shift",
]

_BARE_ONLY = {"keep", "drop", "pseudonymize"}
_BARE_OR_ARG = {"redact"}
_NEEDS_ARG = set(get_args(TransformKind)) - _BARE_ONLY - _BARE_OR_ARG
KEY_TRANSFORMS = frozenset({"keep", "drop", "redact", "pseudonymize", "mask"})
TRUNCATE_UNITS = ("hour", "day", "month", "year")
GENERALIZE_UNITS = ("year", "quarter", "month")

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SOURCE_TOPIC = re.compile(r"^[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_-]*$")
_KAFKA_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
# A special-category basis must cite Art. 9 GDPR (national law such as § 22 BDSG rests on it).
_ART9 = re.compile(r"\bArt\.?\s*9\b", re.IGNORECASE)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _ascending(xs: list[Any]) -> bool:
    return all(a < b for a, b in itertools.pairwise(xs))


def _check_arg(kind: str, arg: Any) -> Any:
    """Validate the argument of a transform; returns it normalized (lists become tuples)."""
    if kind == "redact":
        if arg is None or isinstance(arg, str | bool | int | float):
            return arg
        raise ValueError("redact takes a constant (string, number or boolean)")
    if kind == "mask":
        if _is_int(arg) and arg >= 0:
            return arg
        raise ValueError("mask takes the number of trailing characters to keep (int >= 0)")
    if kind == "truncate":
        if arg in TRUNCATE_UNITS:
            return arg
        raise ValueError(f"truncate takes one of {', '.join(TRUNCATE_UNITS)}, got {arg!r}")
    if kind == "generalize":
        if arg in GENERALIZE_UNITS:
            return arg
        raise ValueError(f"generalize takes one of {', '.join(GENERALIZE_UNITS)}, got {arg!r}")
    if kind == "age_band":
        if _is_int(arg) and arg >= 1:
            return arg
        if (
            isinstance(arg, list)
            and arg
            and all(_is_int(a) and a >= 0 for a in arg)
            and _ascending(arg)
        ):
            return tuple(arg)
        raise ValueError(
            "age_band takes a band width in years (int >= 1) or ascending lower bounds "
            f"like [0, 18, 30, 65], got {arg!r}"
        )
    if kind == "bucket":
        if _is_number(arg) and arg > 0:
            return arg
        if isinstance(arg, list) and arg and all(_is_number(a) for a in arg) and _ascending(arg):
            return tuple(arg)
        raise ValueError(
            "bucket takes a width (number > 0) or ascending boundaries like [0, 100000], "
            f"got {arg!r}"
        )
    if kind == "postcode_prefix":
        if _is_int(arg) and arg >= 1:
            return arg
        raise ValueError(
            f"postcode_prefix takes the number of leading characters (>= 1), got {arg!r}"
        )
    if kind == "h3":
        if _is_int(arg) and 0 <= arg <= 15:
            return arg
        raise ValueError(f"h3 takes a resolution 0..15, got {arg!r}")
    if kind == "date_shift":
        if _is_int(arg) and arg >= 1:
            return arg
        raise ValueError(f"date_shift takes the maximal shift in days (int >= 1), got {arg!r}")
    raise ValueError(f"unknown transform {kind!r}")  # pragma: no cover - guarded by caller


class TransformSpec(BaseModel):
    """One transform as the agreement names it: a bare word or a one-key mapping."""

    model_config = ConfigDict(frozen=True)

    kind: TransformKind
    arg: Any = None

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, raw: Any) -> Any:
        if isinstance(raw, TransformSpec):
            return raw
        if isinstance(raw, dict) and "kind" in raw and set(raw) <= {"kind", "arg"}:
            kind, arg = raw["kind"], raw.get("arg")  # model form, e.g. TransformSpec(kind=...)
        elif isinstance(raw, str):
            kind, arg = raw, None
        elif isinstance(raw, dict) and len(raw) == 1:
            ((kind, arg),) = raw.items()
        else:
            raise ValueError(
                "a transform is a bare word (keep, drop, redact, pseudonymize) "
                f"or a one-key mapping like {{truncate: day}}, got {raw!r}"
            )
        if kind not in _BARE_ONLY | _BARE_OR_ARG | _NEEDS_ARG:
            known = ", ".join(sorted(_BARE_ONLY | _BARE_OR_ARG | _NEEDS_ARG))
            raise ValueError(f"unknown transform {kind!r}; known: {known}")
        if arg is None:
            if kind in _NEEDS_ARG:
                raise ValueError(f"{kind} needs an argument, e.g. {{{kind}: ...}}")
            return {"kind": kind, "arg": None}
        if kind in _BARE_ONLY:
            raise ValueError(f"{kind} takes no argument; write it as a bare word")
        return {"kind": kind, "arg": _check_arg(kind, arg)}

    def __str__(self) -> str:
        if self.arg is None:
            return self.kind
        arg = list(self.arg) if isinstance(self.arg, tuple) else self.arg
        return f"{self.kind}: {arg}"


def _strict_date(value: Any) -> Any:
    # Lax pydantic would read 20271231 as a Unix timestamp and a datetime as its date.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        raise ValueError(f"expected a date like 2027-12-31, got {value!r}")
    return value


StrictDate = Annotated[dt.date, BeforeValidator(_strict_date)]
NonEmpty = Annotated[StrictStr, Field(min_length=1)]


class Agreement(BaseModel):
    """A data-sharing agreement: who gets which fields of which topic, how anonymized, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: NonEmpty
    subscriber: NonEmpty
    source: NonEmpty
    purpose: NonEmpty
    legal_basis: NonEmpty
    valid_from: StrictDate | None = None
    valid_until: StrictDate
    where: dict[str, Any] | None = None
    fields: dict[str, TransformSpec] = Field(min_length=1)
    # The Kafka message key is the entity id: personal data, transformed like a field.
    key: TransformSpec = TransformSpec(kind="pseudonymize")
    delivery_topic: NonEmpty | None = None
    allows_identifying: StrictBool = False
    sensitive_legal_basis: NonEmpty | None = None

    _file: Path | None = PrivateAttr(default=None)

    @field_validator("id", "subscriber")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError(f"{v!r} must be lowercase letters, digits, '-' or '_'")
        return v

    @field_validator("source")
    @classmethod
    def _topic(cls, v: str) -> str:
        if not _SOURCE_TOPIC.match(v):
            raise ValueError(f"{v!r} is not a topic <department>.<entity>.<event>")
        return v

    @field_validator("delivery_topic")
    @classmethod
    def _kafka_topic(cls, v: str | None) -> str | None:
        if v is not None and not _KAFKA_TOPIC.match(v):
            raise ValueError(f"{v!r} is not a valid Kafka topic name")
        return v

    @field_validator("sensitive_legal_basis")
    @classmethod
    def _art9(cls, v: str | None) -> str | None:
        if v is not None and not _ART9.search(v):
            raise ValueError(
                f"{v!r} must cite the Art. 9 GDPR exception, e.g. 'Art. 9 Abs. 2 lit. h DSGVO'"
            )
        return v

    @field_validator("where")
    @classmethod
    def _where(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            parse_where(v)  # structure only; types are checked against the schema at compile
        return v

    @field_validator("fields")
    @classmethod
    def _paths(cls, v: dict[str, TransformSpec]) -> dict[str, TransformSpec]:
        for path in v:
            if not _PATH.match(path):
                raise ValueError(f"{path!r} is not a dotted field path like new_address.city")
        return v

    @field_validator("key")
    @classmethod
    def _key_transform(cls, v: TransformSpec) -> TransformSpec:
        if v.kind not in KEY_TRANSFORMS:
            raise ValueError(f"the message key takes one of {', '.join(sorted(KEY_TRANSFORMS))}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Agreement:
        if self.valid_from is not None and self.valid_from > self.valid_until:
            raise ValueError(
                f"valid_from {self.valid_from} is after valid_until {self.valid_until}"
            )
        if self.delivery_topic is None:
            # frozen model: set the derived default once, here
            object.__setattr__(self, "delivery_topic", f"deliver.{self.subscriber}.{self.source}")
        return self

    @property
    def origin(self) -> str:
        """The file the agreement came from, for error messages."""
        return str(self._file) if self._file is not None else f"<agreement {self.id}>"

    @property
    def topic(self) -> str:
        """The delivery topic (explicit or `deliver.<subscriber>.<source>`)."""
        assert self.delivery_topic is not None
        return self.delivery_topic


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (a field named twice is a mistake)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(agreement)"


def _where_and_what(err: Any) -> tuple[str, str]:
    """(field, message) of a pydantic error; filter errors know their place more precisely."""
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, WhereError):
        return error.loc, error.message
    if error is not None:  # our own ValueError text, without pydantic's "Value error, " prefix
        return _loc(err["loc"]), str(error)
    return _loc(err["loc"]), str(err["msg"])


def parse_agreement(raw: Any, file: str | Path) -> Agreement:
    """Validate one parsed YAML document as an agreement; errors name the file and field."""
    if not isinstance(raw, dict):
        raise AgreementError([CheckIssue(str(file), None, "an agreement must be a YAML mapping")])
    try:
        agreement = Agreement.model_validate(raw)
    except ValidationError as exc:
        issues = [CheckIssue(str(file), *_where_and_what(e)) for e in exc.errors()]
        raise AgreementError(issues) from None
    agreement._file = Path(file)
    return agreement


def load_agreement(path: Path) -> Agreement:
    """Load one agreement file."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise AgreementError([CheckIssue(str(path), None, f"invalid YAML: {exc}")]) from None
    except OSError as exc:
        raise AgreementError([CheckIssue(str(path), None, f"cannot read: {exc}")]) from None
    return parse_agreement(raw, path)


def load_agreements(directory: Path) -> list[Agreement]:
    """Load every `*.yaml`/`*.yml` in `directory`, sorted by file name.

    Collects the problems of all files before raising one `AgreementError`; duplicate ids and
    two agreements writing the same delivery topic are errors.
    """
    if not directory.is_dir():
        raise AgreementError([CheckIssue(str(directory), None, "no such directory")])
    issues: list[CheckIssue] = []
    agreements: list[Agreement] = []
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in files:
        try:
            agreements.append(load_agreement(path))
        except AgreementError as exc:
            issues.extend(exc.issues)
    by_id: dict[str, Agreement] = {}
    by_topic: dict[str, Agreement] = {}
    for a in agreements:
        if a.id in by_id:
            issues.append(
                CheckIssue(a.origin, "id", f"duplicate id {a.id!r}, also in {by_id[a.id].origin}")
            )
        else:
            by_id[a.id] = a
        if a.topic in by_topic:
            other = by_topic[a.topic]
            issues.append(
                CheckIssue(
                    a.origin, "delivery_topic", f"{a.topic!r} is also written by {other.origin}"
                )
            )
        else:
            by_topic[a.topic] = a
    if issues:
        raise AgreementError(issues)
    return agreements
