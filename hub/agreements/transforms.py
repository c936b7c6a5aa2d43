"""Anonymization transforms: built once from (spec, source field type, context), then applied fast.

Each builder checks that the transform fits the source field's Avro type (a `SpecError`
otherwise) and returns the output Avro type plus a plain function
`(value, entity_key, record) -> output`. Values are never None here: the caller keeps None as
None for nullable fields. Timestamps are cut and dates derived in the city's time zone
(Europe/Berlin), so "day" means the local calendar day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import h3

from hub.agreements.avro_types import OutputTypes, SourceField, contains_record
from hub.agreements.errors import SpecError, TransformError
from hub.agreements.keys import AgreementKeys, key_bytes, pseudonymizer, shift_days
from hub.agreements.model import TransformSpec

CITY_TZ = ZoneInfo("Europe/Berlin")
EVENT_TIME = "occurred_at"
# Ages from this on form one open band (HIPAA Safe Harbor practice: few people, easy to single out).
AGE_CAP = 90

ValueFn = Callable[[Any, bytes | None, dict[str, Any]], Any]

TIMESTAMPS = {
    "timestamp-millis",
    "timestamp-micros",
    "local-timestamp-millis",
    "local-timestamp-micros",
}
NUMBERS = {"int", "long", "float", "double"}


@dataclass(frozen=True, slots=True)
class TransformContext:
    """What transforms of one agreement share: its keys, the time zone, the event time."""

    keys: AgreementKeys
    tz: ZoneInfo = CITY_TZ
    has_event_time: bool = True  # the source has a top-level `occurred_at` timestamp
    # One pseudonymizer per agreement, shared by the key and the fields: its one-entry cache
    # then spares the second HMAC when the id field repeats the key (the usual case).
    pseudonym: Callable[[bytes], str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pseudonym", pseudonymizer(self.keys))


@dataclass(frozen=True, slots=True)
class Transform:
    """A built transform. `out_type` is the non-null output type (None: the field is dropped)."""

    spec: TransformSpec
    out_type: Any
    fn: ValueFn | None  # None: identity (keep)
    pii: str  # x-pii of the output
    identifying: bool  # delivers a direct identifier as it is (needs allows_identifying)


def _is_timestamp(f: SourceField) -> bool:
    return f.kind == "long" and f.logical in TIMESTAMPS


def _is_date(f: SourceField) -> bool:
    return f.kind == "int" and f.logical == "date"


def _is_decimal(f: SourceField) -> bool:
    return f.kind in ("bytes", "fixed") and f.logical == "decimal"


def _needs(spec: TransformSpec, f: SourceField, what: str) -> SpecError:
    return SpecError(f"{spec.kind} needs {what}, but the source field is {f.type_label}")


# --- keep, drop, redact ---------------------------------------------------------------------


def _keep(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    if contains_record(f.base):
        raise SpecError(
            f"keep on a record would deliver every sub-field, including ones a later schema "
            f"adds; name the sub-fields instead (e.g. {f.path}.<field>: keep)"
        )
    return Transform(spec, out.copy(f.base), None, f.pii, identifying=f.pii == "direct")


def _drop(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    return Transform(spec, None, None, f.pii, identifying=False)


def _constant_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if value is None:
        return "null"
    return "string"


def _redact(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    constant = "***" if spec.arg is None else spec.arg
    return Transform(
        spec, _constant_type(constant), lambda v, k, r: constant, "none", identifying=False
    )


# --- pseudonymize, mask, postcode_prefix -----------------------------------------------------


def _pseudonymize(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    pseudonym = ctx.pseudonym
    # The same id as string, int or bytes gives the same pseudonym, so it joins with the key.
    if f.kind in ("string", "enum"):

        def fn(v: Any, k: bytes | None, r: dict[str, Any]) -> str:
            return pseudonym(v.encode("utf-8"))

    elif f.kind in ("bytes", "fixed") and f.logical != "decimal":

        def fn(v: Any, k: bytes | None, r: dict[str, Any]) -> str:
            return pseudonym(v)

    elif f.kind in ("int", "long") and f.logical is None:

        def fn(v: Any, k: bytes | None, r: dict[str, Any]) -> str:
            return pseudonym(str(v).encode("ascii"))

    else:
        raise _needs(spec, f, "a string, bytes, enum or integer id")
    # Pseudonymized data stays personal data; it is no longer a direct identifier.
    pii = "quasi" if f.pii == "direct" else f.pii
    return Transform(spec, "string", fn, pii, identifying=False)


def _mask(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    if f.kind != "string" or f.logical is not None:
        raise _needs(spec, f, "a string")
    n: int = spec.arg

    def fn(v: str, k: bytes | None, r: dict[str, Any]) -> str:
        # A value no longer than n is masked whole: mask never passes a value through.
        hidden = len(v) - n
        return "*" * len(v) if hidden <= 0 else "*" * hidden + v[hidden:]

    return Transform(spec, "string", fn, f.pii, identifying=False)


def _postcode_prefix(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    if f.kind != "string" or f.logical is not None:
        raise _needs(spec, f, "a string postcode")
    n: int = spec.arg
    return Transform(spec, "string", lambda v, k, r: v[:n], f.pii, identifying=False)


# --- time: truncate, generalize, age_band, date_shift ----------------------------------------


_RESETS = {
    "hour": {"minute": 0, "second": 0, "microsecond": 0},
    "day": {"hour": 0, "minute": 0, "second": 0, "microsecond": 0},
    "month": {"day": 1, "hour": 0, "minute": 0, "second": 0, "microsecond": 0},
    "year": {"month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "microsecond": 0},
}


def _next_start(start: dt.datetime, unit: str) -> dt.datetime:
    """Start of the following period, in wall-clock time."""
    if unit == "hour":
        return start + dt.timedelta(hours=1)
    if unit == "day":
        return start + dt.timedelta(days=1)
    if unit == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def _period(v: dt.datetime, unit: str, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the local period holding v; UTC-aware for aware v, naive for naive v."""
    reset = _RESETS[unit]
    if v.tzinfo is None:  # local-timestamp-*: already wall-clock time
        start = v.replace(**reset)
        return start, _next_start(start, unit)
    start = v.astimezone(tz).replace(**reset)
    lo = start.astimezone(dt.UTC)
    if unit == "hour":  # whole-hour offsets: an hour is an hour in UTC too, across DST
        return lo, lo + dt.timedelta(hours=1)
    end = _next_start(start.replace(tzinfo=None), unit).replace(tzinfo=tz)
    return lo, end.astimezone(dt.UTC)


def period_start(unit: str, tz: ZoneInfo) -> Callable[..., dt.datetime]:
    """`timestamp → start of its local hour/day/month/year`, with a one-period cache.

    Building a zone-aware datetime costs microseconds; events come roughly in time order, so
    most fall into the period of the one before and cost a comparison.
    """
    cache: list[tuple[Any, Any]] = [(None, None)]

    # (k, r) unused: so it serves as a transform function itself, one call less per record
    def start(v: dt.datetime, k: Any = None, r: Any = None) -> dt.datetime:
        lo, hi = cache[0]
        if lo is not None and lo <= v < hi:
            return lo
        lo, hi = _period(v, unit, tz)
        cache[0] = (lo, hi)
        return lo

    return start


def _truncate(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    unit: str = spec.arg
    if _is_timestamp(f):
        fn: ValueFn = period_start(unit, ctx.tz)
    elif _is_date(f) and unit in ("month", "year"):
        reset_date = {"month": {"day": 1}, "year": {"month": 1, "day": 1}}[unit]

        def fn(v: dt.date, k: bytes | None, r: dict[str, Any]) -> dt.date:
            return v.replace(**reset_date)

    elif _is_date(f):
        raise SpecError(f"truncate: {unit} does nothing to a date; use month or year")
    else:
        raise _needs(spec, f, "a timestamp or date")
    return Transform(spec, out.copy(f.base), fn, f.pii, identifying=False)


def _local_date(tz: ZoneInfo) -> Callable[[Any], dt.date]:
    """`date or timestamp → calendar day in the city`, with a one-day cache for timestamps."""
    cache: list[tuple[Any, Any, Any]] = [(None, None, None)]

    def local(v: Any) -> dt.date:
        if not isinstance(v, dt.datetime):
            return v
        if v.tzinfo is None:
            return v.date()
        lo, hi, day = cache[0]
        if lo is not None and lo <= v < hi:
            return day
        lo, hi = _period(v, "day", tz)
        day = v.astimezone(tz).date()
        cache[0] = (lo, hi, day)
        return day

    return local


def _generalize(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    if not (_is_date(f) or _is_timestamp(f)):
        raise _needs(spec, f, "a date or timestamp")
    local = _local_date(ctx.tz)
    if spec.arg == "year":
        return Transform(spec, "int", lambda v, k, r: local(v).year, f.pii, identifying=False)
    if spec.arg == "quarter":

        def quarter(v: Any, k: bytes | None, r: dict[str, Any]) -> str:
            d = local(v)
            return f"{d.year}-Q{(d.month - 1) // 3 + 1}"

        return Transform(spec, "string", quarter, f.pii, identifying=False)

    def month(v: Any, k: bytes | None, r: dict[str, Any]) -> str:
        d = local(v)
        return f"{d.year:04d}-{d.month:02d}"

    return Transform(spec, "string", month, f.pii, identifying=False)


def age_band_labels(arg: int | tuple[int, ...]) -> tuple[list[str], str]:
    """Labels by age for ages below the open top band, and the top band's label."""
    if isinstance(arg, int):
        width = arg
        top = max(width, AGE_CAP // width * width)
        labels = [f"{a // width * width}-{a // width * width + width - 1}" for a in range(top)]
        return labels, f"{top}+"
    bounds = list(arg)
    labels = []
    for age in range(bounds[-1]):
        i = bisect_right(bounds, age)
        labels.append(f"<{bounds[0]}" if i == 0 else f"{bounds[i - 1]}-{bounds[i] - 1}")
    return labels, f"{bounds[-1]}+"


def age_at(birth: dt.date, on: dt.date) -> int:
    """Completed years; a Feb 29 birthday counts as reached on Mar 1 in common years."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _age_band(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    if not _is_date(f):
        raise _needs(spec, f, "a birth date (int, logicalType date)")
    if not ctx.has_event_time:
        raise SpecError(f"age_band needs a top-level {EVENT_TIME} timestamp in the source schema")
    labels, top = age_band_labels(spec.arg)
    below = len(labels)
    local = _local_date(ctx.tz)

    def fn(v: dt.date, k: bytes | None, r: dict[str, Any]) -> str:
        at = r.get(EVENT_TIME)
        if at is None:
            raise TransformError(f"age_band needs {EVENT_TIME}, which the record lacks")
        on = local(at)
        age = on.year - v.year - ((on.month, on.day) < (v.month, v.day))  # age_at, inlined
        if age < 0:
            raise TransformError(f"birth date {v} is after the event time {at}")
        return labels[age] if age < below else top

    return Transform(spec, "string", fn, f.pii, identifying=False)


def _date_shift(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    if not (_is_date(f) or _is_timestamp(f)):
        raise _needs(spec, f, "a date or timestamp")
    offset = shift_days(ctx.keys, spec.arg)
    day = dt.timedelta(days=1)

    def fn(v: Any, k: bytes | None, r: dict[str, Any]) -> Any:
        if k is None:
            # Without the entity there is no consistent offset; better no record than a guess.
            raise TransformError("date_shift needs the message key (the entity id)")
        return v + offset(k) * day

    return Transform(spec, out.copy(f.base), fn, f.pii, identifying=False)


# --- numbers and places: bucket, h3 ----------------------------------------------------------


def _fmt(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, Decimal) and x == x.to_integral_value():
        return str(int(x))
    return str(x)


def bucket_labels(bounds: tuple[Any, ...]) -> list[str]:
    """Interval labels for boundaries b0 < b1 < ...: (-inf, b0), [b0, b1), ..., [bn, inf)."""
    labels = [f"(-inf, {_fmt(bounds[0])})"]
    labels += [f"[{_fmt(a)}, {_fmt(b)})" for a, b in itertools.pairwise(bounds)]
    labels.append(f"[{_fmt(bounds[-1])}, inf)")
    return labels


def _bucket(
    spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    if not ((f.kind in NUMBERS and f.logical is None) or _is_decimal(f)):
        raise _needs(spec, f, "a number (int, long, float, double or decimal)")
    arg = spec.arg
    if isinstance(arg, tuple):
        bounds = arg
        labels = bucket_labels(bounds)

        def fn(v: Any, k: bytes | None, r: dict[str, Any]) -> str:
            if v != v:  # NaN sorts nowhere
                raise TransformError("cannot bucket NaN")
            return labels[bisect_right(bounds, v)]

    elif f.kind in ("int", "long") and isinstance(arg, int):

        def fn(v: int, k: bytes | None, r: dict[str, Any]) -> str:
            lo = v // arg * arg  # exact for longs beyond 2**53, floor for negatives
            return f"[{lo}, {lo + arg})"

    elif _is_decimal(f) or not float(arg).is_integer():
        # Decimal arithmetic: labels like [0.3, 0.4), not [0.2, 0.30000000000000004)
        dwidth = Decimal(str(arg))

        def fn(v: Any, k: bytes | None, r: dict[str, Any]) -> str:
            try:
                d = v if isinstance(v, Decimal) else Decimal(repr(v))
                if not d.is_finite():
                    raise ValueError(d)
                lo = (d / dwidth).to_integral_value(ROUND_FLOOR) * dwidth
            except (ArithmeticError, ValueError):
                raise TransformError(f"cannot bucket {v!r}") from None
            if d < lo:  # the quotient may round at 28 digits: step back
                lo -= dwidth
            elif d >= lo + dwidth:
                lo += dwidth
            return f"[{_fmt(lo)}, {_fmt(lo + dwidth)})"

    else:
        width = arg

        def fn(v: Any, k: bytes | None, r: dict[str, Any]) -> str:
            try:
                lo = math.floor(v / width) * width  # floor, so -1 falls in [-w, 0)
            except (OverflowError, ValueError):
                raise TransformError(f"cannot bucket {v!r}") from None
            # float division may round across a boundary (-5e-324 / 2 == -0.0): step back
            if v < lo:
                lo -= width
            elif v >= lo + width:
                lo += width
            return f"[{_fmt(lo)}, {_fmt(lo + width)})"

    return Transform(spec, "string", fn, f.pii, identifying=False)


def _geo_fields(f: SourceField) -> tuple[str, str] | None:
    if f.kind not in ("record", "error"):
        return None
    record = f.base["type"] if isinstance(f.base["type"], dict) else f.base
    types = {x["name"]: x["type"] for x in record["fields"]}
    for lat, lon in (("lat", "lon"), ("latitude", "longitude"), ("lat", "lng")):
        if types.get(lat) in ("double", "float") and types.get(lon) in ("double", "float"):
            return lat, lon
    return None


def _h3(spec: TransformSpec, f: SourceField, ctx: TransformContext, out: OutputTypes) -> Transform:
    names = _geo_fields(f)
    if names is None:
        raise _needs(spec, f, "a geo point record with double fields lat and lon")
    lat, lon = names
    res: int = spec.arg
    to_cell = h3.latlng_to_cell

    def fn(v: dict[str, Any], k: bytes | None, r: dict[str, Any]) -> str:
        y, x = v.get(lat), v.get(lon)
        # h3 wraps out-of-range coordinates silently; a wrong point must not look right
        if y is None or x is None or not (-90.0 <= y <= 90.0 and -180.0 <= x <= 180.0):
            raise TransformError(f"({y}, {x}) is no WGS84 point; cannot map it to H3")
        try:
            return to_cell(y, x, res)
        except h3.H3BaseException as exc:
            raise TransformError(f"cannot map ({y}, {x}) to H3: {exc}") from None

    return Transform(spec, "string", fn, f.pii, identifying=False)


_BUILDERS: dict[
    str, Callable[[TransformSpec, SourceField, TransformContext, OutputTypes], Transform]
] = {
    "keep": _keep,
    "drop": _drop,
    "redact": _redact,
    "pseudonymize": _pseudonymize,
    "mask": _mask,
    "truncate": _truncate,
    "generalize": _generalize,
    "age_band": _age_band,
    "bucket": _bucket,
    "postcode_prefix": _postcode_prefix,
    "h3": _h3,
    "date_shift": _date_shift,
}


def build_transform(
    spec: TransformSpec, field: SourceField, ctx: TransformContext, out: OutputTypes
) -> Transform:
    """Build the transform `spec` for `field`; `SpecError` when it does not fit the field's type."""
    return _BUILDERS[spec.kind](spec, field, ctx, out)


# --- the message key --------------------------------------------------------------------------

KeyFn = Callable[[str | bytes | None], str | None]


def build_key_transform(spec: TransformSpec, ctx: TransformContext) -> KeyFn:
    """The transform of the Kafka message key (a str or bytes entity id) to the delivered key."""
    if spec.kind == "drop":
        return lambda key: None
    if spec.kind == "redact":
        constant = "***" if spec.arg is None else str(spec.arg)
        return lambda key: None if key is None else constant
    if spec.kind == "pseudonymize":
        pseudonym = ctx.pseudonym

        def pseudonymize(key: str | bytes | None) -> str | None:
            data = key_bytes(key)
            return None if data is None else pseudonym(data)

        return pseudonymize

    def as_text(key: str | bytes | None) -> str | None:
        if isinstance(key, bytes):
            return key.decode("utf-8", "backslashreplace")
        return key

    if spec.kind == "keep":
        return as_text
    if spec.kind == "mask":
        n: int = spec.arg

        def mask(key: str | bytes | None) -> str | None:
            text = as_text(key)
            if text is None:
                return None
            hidden = len(text) - n
            return "*" * len(text) if hidden <= 0 else "*" * hidden + text[hidden:]

        return mask
    raise SpecError(f"{spec.kind} cannot transform the message key")
