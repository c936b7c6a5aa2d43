"""Structured conditions on a record: one model and one evaluator for an agreement's row filter
(``where``, ``hub.agreements.where``) and a contract's quality rules (``x-quality``,
``hub.quality``). Never evaluated code.

Grammar (YAML)::

    condition := {<dotted.path>: {<op>: <operand>, ...}, all: [condition, ...],
                  any: [condition, ...], not: condition}   # several entries: all have to hold
    op        := eq | ne | in | not_in | lt | lte | gt | gte | exists
    operand   := a value                # in every condition
               | {field: <dotted.path>} # another field of the same record  (quality rules only)
               | {now: <offset>}        # the time of the check, 0 or e.g. 5m, -1d (quality only)

Missing values: a path that is absent in the record, or whose value (or any enclosing record)
is None, has no value. Then eq, in, lt, lte, gt, gte are false; ne and not_in are true (they
are exactly ``not eq`` and ``not in``); ``exists: true`` is false and ``exists: false`` is true.
``null`` is no operand: test for it with ``exists``. A field operand without a value counts
as a missing value too.

Values are read as fastavro decodes them; the forms its writer also accepts (epoch
milliseconds for a timestamp, days for a date, bytes for a decimal) are read as the decoded
value, so a producer's record and the router's decoded one give the same answer. A date and a
timestamp compare by the timestamp's calendar day in Hamm (Europe/Berlin).

``parse_condition`` checks the structure; ``compile_condition`` checks paths and operand types
against the schema's fields (``hub.agreements.avro_types.SourceField`` by path) and returns a
predicate ``dict -> bool`` built from closures. A row filter must give the same answer when the
router replays a record, so it takes neither field nor ``now`` operands (``references=False``).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

COMBINATORS = ("all", "any", "not")
ORDER_OPS = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}
OPS = ("eq", "ne", "in", "not_in", *ORDER_OPS, "exists")
CITY_TZ = ZoneInfo("Europe/Berlin")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_DATE = dt.date(1970, 1, 1)
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_OFFSET = re.compile(r"^([+-]?)(\d+)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TIMESTAMPS = ("timestamp-millis", "timestamp-micros")
_LOCAL_TIMESTAMPS = ("local-timestamp-millis", "local-timestamp-micros")

Predicate = Callable[[dict[str, Any]], bool]
Clock = Callable[[], dt.datetime]


class ConditionError(ValueError):
    """A condition problem; ``loc`` says where in it (e.g. ``where.all[1].not.b``)."""

    def __init__(self, loc: str, message: str) -> None:
        self.loc = loc
        self.message = message
        super().__init__(f"{loc}: {message}")


@dataclass(frozen=True, slots=True)
class FieldRef:
    """An operand that is another field of the same record."""

    path: str


@dataclass(frozen=True, slots=True)
class Now:
    """An operand that is the time of the check, shifted by ``offset``."""

    offset: dt.timedelta


@dataclass(frozen=True, slots=True)
class Compare:
    path: str
    op: str
    operand: Any  # a value, a tuple of values (in, not_in), a FieldRef or a Now
    loc: str


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


Expr = Compare | All | AnyOf | Not


# --- structure ------------------------------------------------------------------------------


def _scalar(x: Any) -> bool:
    return isinstance(x, str | bool | int | float | Decimal | dt.date)


def parse_condition(raw: Any, loc: str, *, references: bool = False) -> Expr:
    """Parse the YAML form of a condition; ``ConditionError`` names the first problem's place.

    ``references``: field and ``now`` operands are allowed (quality rules)."""
    if not isinstance(raw, dict) or not raw:
        raise ConditionError(loc, "a filter is a non-empty mapping of field paths and all/any/not")
    parts: list[Expr] = []
    for key, value in raw.items():
        here = f"{loc}.{key}"
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise ConditionError(here, f"{key} takes a non-empty list of filters")
            items = tuple(
                parse_condition(v, f"{here}[{i}]", references=references)
                for i, v in enumerate(value)
            )
            parts.append(All(items) if key == "all" else AnyOf(items))
        elif key == "not":
            parts.append(Not(parse_condition(value, here, references=references)))
        elif not isinstance(key, str) or not _PATH.match(key):
            raise ConditionError(here, f"{key!r} is neither a dotted field path nor all/any/not")
        else:
            parts.extend(parse_operators(key, value, here, references=references))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def parse_operators(path: str, raw: Any, loc: str, *, references: bool = False) -> list[Compare]:
    """The operator mapping of one path (``{gte: 0, lt: 10}``), one Compare per operator."""
    if not isinstance(raw, dict) or not raw:
        raise ConditionError(loc, f"give operators, e.g. {{eq: ...}}; one of {', '.join(OPS)}")
    return [
        _parse_compare(path, op, operand, f"{loc}.{op}", references) for op, operand in raw.items()
    ]


def _parse_compare(path: str, op: Any, operand: Any, loc: str, references: bool) -> Compare:
    if op not in OPS:
        raise ConditionError(loc, f"unknown operator {op!r}; one of {', '.join(OPS)}")
    if op == "exists":
        if not isinstance(operand, bool):
            raise ConditionError(loc, "exists takes true or false")
    elif op in ("in", "not_in"):
        if not isinstance(operand, list) or not operand or not all(map(_scalar, operand)):
            raise ConditionError(loc, f"{op} takes a non-empty list of values")
        operand = tuple(operand)
    elif operand is None:
        raise ConditionError(loc, "null is no operand; test presence with exists")
    elif references and isinstance(operand, dict):
        operand = _parse_reference(operand, loc)
    elif not _scalar(operand):
        raise ConditionError(loc, f"{op} takes a single value, got {operand!r}")
    return Compare(path, op, operand, loc)


def _parse_reference(raw: dict[str, Any], loc: str) -> FieldRef | Now:
    if len(raw) != 1 or next(iter(raw)) not in ("field", "now"):
        raise ConditionError(
            loc, "an operand mapping is {field: <path>} or {now: <offset>}, e.g. {now: 5m}"
        )
    ((kind, value),) = raw.items()
    if kind == "field":
        if not isinstance(value, str) or not _PATH.match(value):
            raise ConditionError(loc, f"field takes a dotted field path, got {value!r}")
        return FieldRef(value)
    return Now(parse_offset(value, loc))


def parse_offset(value: Any, loc: str) -> dt.timedelta:
    """``0``, ``5m``, ``+2h``, ``-1d``: how far from the time of the check."""
    if value == 0 and not isinstance(value, bool):
        return dt.timedelta(0)
    match = _OFFSET.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConditionError(loc, f"now takes 0 or an offset like 5m, -1d, +2h, got {value!r}")
    sign = -1 if match.group(1) == "-" else 1
    return dt.timedelta(seconds=sign * int(match.group(2)) * _UNIT_SECONDS[match.group(3)])


def condition_paths(e: Expr) -> list[str]:
    """Every field path the condition reads, in order (field operands included)."""
    out: list[str] = []

    def walk(e: Expr) -> None:
        if isinstance(e, Compare):
            out.append(e.path)
            if isinstance(e.operand, FieldRef):
                out.append(e.operand.path)
        elif isinstance(e, Not):
            walk(e.item)
        else:
            for i in e.items:
                walk(i)

    walk(e)
    return out


def uses_exists(e: Expr) -> bool:
    """Whether the condition tests presence anywhere (``exists``)."""
    if isinstance(e, Compare):
        return e.op == "exists"
    if isinstance(e, Not):
        return uses_exists(e.item)
    return any(uses_exists(i) for i in e.items)


# --- types ----------------------------------------------------------------------------------


def coerce_operand(field: Any, op: str, value: Any) -> Any:
    """The operand as the Python type fastavro decodes this field to; ValueError otherwise."""
    kind, logical = field.kind, field.logical
    label = field.type_label
    if kind == "boolean":
        if op in ORDER_OPS:
            raise ValueError(f"{op} does not apply to a boolean")
        if isinstance(value, bool):
            return value
    elif kind == "enum":
        if op in ORDER_OPS:
            raise ValueError(f"{op} does not apply to an enum")
        symbols = field.base["symbols"]
        if value in symbols:
            return value
        raise ValueError(f"{value!r} is not a symbol of the enum ({', '.join(symbols)})")
    elif kind == "string":
        if isinstance(value, str):
            return value
    elif kind == "int" and logical == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
    elif kind == "long" and logical in _TIMESTAMPS:
        stamp = _datetime(value)
        if stamp is not None and stamp.tzinfo is not None:
            return stamp
        raise ValueError(f"{value!r} is no timestamp with a time zone, e.g. 2026-01-01T00:00:00Z")
    elif kind == "long" and logical in _LOCAL_TIMESTAMPS:
        stamp = _datetime(value)
        if stamp is not None and stamp.tzinfo is None:
            return stamp
    elif kind in ("int", "long") and logical is None:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind in ("float", "double"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    elif logical == "decimal":
        if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
            try:
                return Decimal(str(value))
            except InvalidOperation:
                pass
    else:
        raise ValueError(f"only exists applies to a {label} field")
    raise ValueError(f"{value!r} does not fit the {label} field")


def _datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def value_domain(field: Any) -> str | None:
    """What a field's values compare as: number, string, date, timestamp, local-timestamp,
    boolean or enum; None for what only ``exists`` applies to (records, arrays, maps, ...)."""
    kind, logical = field.kind, field.logical
    if kind == "boolean":
        return "boolean"
    if kind == "enum":
        return "enum"
    if kind == "string":
        return "string"
    if kind == "int" and logical == "date":
        return "date"
    if kind == "long" and logical in _TIMESTAMPS:
        return "timestamp"
    if kind == "long" and logical in _LOCAL_TIMESTAMPS:
        return "local-timestamp"
    if (kind in ("int", "long") and logical is None) or kind in ("float", "double"):
        return "number"
    if logical == "decimal":
        return "number"
    return None


def _reader(field: Any) -> Callable[[Any], Any] | None:
    """Turns the writer's forms of a logical type into the decoded value; None: as it is."""
    logical = field.logical
    if logical == "timestamp-millis":
        return lambda v: EPOCH + dt.timedelta(milliseconds=v) if type(v) is int else v
    if logical == "timestamp-micros":
        return lambda v: EPOCH + dt.timedelta(microseconds=v) if type(v) is int else v
    if logical == "local-timestamp-millis":
        naive = EPOCH.replace(tzinfo=None)
        return lambda v: naive + dt.timedelta(milliseconds=v) if type(v) is int else v
    if logical == "local-timestamp-micros":
        naive = EPOCH.replace(tzinfo=None)
        return lambda v: naive + dt.timedelta(microseconds=v) if type(v) is int else v
    if logical == "date":
        return lambda v: EPOCH_DATE + dt.timedelta(days=v) if type(v) is int else v
    if logical == "decimal":
        scale = field.base.get("scale", 0) if isinstance(field.base, dict) else 0

        def decimal(v: Any) -> Any:
            if isinstance(v, bytes | bytearray):
                return Decimal(int.from_bytes(v, "big", signed=True)).scaleb(-scale)
            return v

        return decimal
    return None


def local_day(value: Any) -> Any:
    """A timestamp's calendar day in Hamm (None stays None)."""
    return value.astimezone(CITY_TZ).date() if isinstance(value, dt.datetime) else value


# --- compile --------------------------------------------------------------------------------


def _getter(path: str, field: Any = None) -> Callable[[dict[str, Any]], Any]:
    names = tuple(path.split("."))
    read = _reader(field) if field is not None else None
    if len(names) == 1:
        (name,) = names
        if read is None:
            return lambda r: r.get(name)
        return lambda r: None if (v := r.get(name)) is None else read(v)

    def get(r: Any) -> Any:
        for name in names:
            if not isinstance(r, dict):
                return None
            r = r.get(name)
        return r

    if read is None:
        return get
    return lambda r: None if (v := get(r)) is None else read(v)


def _compare(
    op: str, get: Callable[[Any], Any], other: Callable[[Any], Any]
) -> Callable[[Any], bool]:
    """``get(r) <op> other(r)``, where either side without a value is a missing value."""
    if op == "eq":
        return lambda r: (v := get(r)) is not None and (w := other(r)) is not None and v == w
    if op == "ne":
        return lambda r: (v := get(r)) is None or (w := other(r)) is None or v != w
    cmp = ORDER_OPS[op]
    return lambda r: (v := get(r)) is not None and (w := other(r)) is not None and cmp(v, w)


_COMPARABLE = {  # what a field operand may be, by the domain of the compared field
    "number": {"number"},
    "string": {"string"},
    "date": {"date", "timestamp"},
    "timestamp": {"timestamp", "date"},
    "local-timestamp": {"local-timestamp"},
    "boolean": {"boolean"},
    "enum": {"enum"},
}


def _compile_field_ref(
    c: Compare, field: Any, fields: dict[str, Any], problems: list[ConditionError]
) -> Predicate:
    ref = c.operand
    other = fields.get(ref.path)
    if other is None:
        problems.append(ConditionError(c.loc, f"unknown field {ref.path!r} in the schema"))
        return lambda r: False
    left, right = value_domain(field), value_domain(other)
    if left is None or right is None:
        label = field.type_label if left is None else other.type_label
        problems.append(ConditionError(c.loc, f"only exists applies to a {label} field"))
        return lambda r: False
    if c.op in ("in", "not_in") or right not in _COMPARABLE[left]:
        problems.append(
            ConditionError(
                c.loc,
                f"{c.path} ({field.type_label}) and {ref.path} ({other.type_label}) do not "
                f"compare with {c.op}",
            )
        )
        return lambda r: False
    if c.op in ORDER_OPS and left in ("boolean", "enum"):
        problems.append(ConditionError(c.loc, f"{c.op} does not apply to a {left}"))
        return lambda r: False
    get, get_other = _getter(c.path, field), _getter(ref.path, other)
    if left != right:  # a date against a timestamp: by the timestamp's day in Hamm
        if left == "timestamp":
            get = _then(get, local_day)
        else:
            get_other = _then(get_other, local_day)
    return _compare(c.op, get, get_other)


def _then(get: Callable[[Any], Any], f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda r: f(get(r))


def _compile_now(
    c: Compare, field: Any, problems: list[ConditionError], clock: Clock | None
) -> Predicate:
    if clock is None:
        problems.append(ConditionError(c.loc, "now is not allowed here"))
        return lambda r: False
    domain = value_domain(field)
    offset: dt.timedelta = c.operand.offset
    if c.op in ("in", "not_in") or domain not in ("date", "timestamp", "local-timestamp"):
        problems.append(
            ConditionError(c.loc, f"{c.op} now does not apply to a {field.type_label} field")
        )
        return lambda r: False
    if domain == "date":
        if offset % dt.timedelta(days=1):
            problems.append(
                ConditionError(c.loc, "a date compares with now in whole days, e.g. {now: -1d}")
            )
            return lambda r: False

        def now(r: Any) -> Any:
            return clock().astimezone(CITY_TZ).date() + offset

    elif domain == "local-timestamp":

        def now(r: Any) -> Any:
            return clock().astimezone(CITY_TZ).replace(tzinfo=None) + offset

    else:

        def now(r: Any) -> Any:
            return clock() + offset

    return _compare(c.op, _getter(c.path, field), now)


def _compile_compare(
    c: Compare, fields: dict[str, Any], problems: list[ConditionError], clock: Clock | None
) -> Predicate:
    field = fields.get(c.path)
    if field is None:
        problems.append(ConditionError(c.loc, f"unknown field {c.path!r} in the source schema"))
        return lambda r: False
    if c.op == "exists":
        get = _getter(c.path)
        return (lambda r: get(r) is not None) if c.operand else (lambda r: get(r) is None)
    if isinstance(c.operand, FieldRef):
        return _compile_field_ref(c, field, fields, problems)
    if isinstance(c.operand, Now):
        return _compile_now(c, field, problems, clock)
    try:
        if c.op in ("in", "not_in"):
            values = frozenset(coerce_operand(field, c.op, v) for v in c.operand)
        else:
            value = coerce_operand(field, c.op, c.operand)
    except ValueError as exc:
        problems.append(ConditionError(c.loc, str(exc)))
        return lambda r: False
    get = _getter(c.path, field)
    if c.op == "eq":
        return lambda r: (v := get(r)) is not None and v == value
    if c.op == "ne":
        return lambda r: (v := get(r)) is None or v != value
    if c.op == "in":
        return lambda r: (v := get(r)) is not None and v in values
    if c.op == "not_in":
        return lambda r: (v := get(r)) is None or v not in values
    cmp = ORDER_OPS[c.op]
    return lambda r: (v := get(r)) is not None and cmp(v, value)


def compile_condition(
    e: Expr,
    fields: dict[str, Any],
    problems: list[ConditionError],
    *,
    clock: Clock | None = None,
) -> Predicate:
    """A predicate for ``e`` against ``fields`` (path → SourceField); every problem found is
    appended to ``problems`` (the predicate is then not to be used). ``clock``: what ``now``
    operands read; without one they are refused."""
    if isinstance(e, Compare):
        return _compile_compare(e, fields, problems, clock)
    if isinstance(e, Not):
        inner = compile_condition(e.item, fields, problems, clock=clock)
        return lambda r: not inner(r)
    preds = tuple(compile_condition(i, fields, problems, clock=clock) for i in e.items)
    if isinstance(e, All):
        return lambda r: all(p(r) for p in preds)
    return lambda r: any(p(r) for p in preds)
