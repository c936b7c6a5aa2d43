"""Row filter of an agreement (`where:`): a structured condition, never evaluated code.

Grammar (YAML)::

    where := {<dotted.path>: {<op>: <operand>, ...}, all: [where, ...], any: [where, ...],
              not: where}          # several entries in one mapping all have to hold
    op    := eq | ne | in | not_in | lt | lte | gt | gte | exists

Missing values: a path that is absent in the record, or whose value (or any enclosing record)
is None, has no value. Then eq, in, lt, lte, gt, gte are false; ne and not_in are true (they
are exactly `not eq` and `not in`); `exists: true` is false and `exists: false` is true.
`null` is no operand: test for it with `exists`.

`parse_where` checks the structure (at load); `compile_where` checks paths and operand types
against the source schema and returns a predicate `dict -> bool` built from closures.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.agreements.errors import SpecError

COMBINATORS = ("all", "any", "not")
ORDER_OPS = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}
OPS = ("eq", "ne", "in", "not_in", *ORDER_OPS, "exists")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

Predicate = Callable[[dict[str, Any]], bool]


class WhereError(ValueError):
    """A filter problem; `loc` says where in the filter (e.g. `where.all[1].not.b`)."""

    def __init__(self, loc: str, message: str) -> None:
        self.loc = loc
        self.message = message
        super().__init__(f"{loc}: {message}")


@dataclass(frozen=True, slots=True)
class Compare:
    path: str
    op: str
    operand: Any
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


def parse_where(raw: Any, loc: str = "where") -> Expr:
    """Parse the YAML form of a filter; `WhereError` names the place of the first problem."""
    if not isinstance(raw, dict) or not raw:
        raise WhereError(loc, "a filter is a non-empty mapping of field paths and all/any/not")
    parts: list[Expr] = []
    for key, value in raw.items():
        here = f"{loc}.{key}"
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise WhereError(here, f"{key} takes a non-empty list of filters")
            items = tuple(parse_where(v, f"{here}[{i}]") for i, v in enumerate(value))
            parts.append(All(items) if key == "all" else AnyOf(items))
        elif key == "not":
            parts.append(Not(parse_where(value, here)))
        elif not isinstance(key, str) or not _PATH.match(key):
            raise WhereError(here, f"{key!r} is neither a dotted field path nor all/any/not")
        elif not isinstance(value, dict) or not value:
            raise WhereError(here, f"give operators, e.g. {{eq: ...}}; one of {', '.join(OPS)}")
        else:
            for op, operand in value.items():
                parts.append(_parse_compare(key, op, operand, f"{here}.{op}"))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _parse_compare(path: str, op: Any, operand: Any, loc: str) -> Compare:
    if op not in OPS:
        raise WhereError(loc, f"unknown operator {op!r}; one of {', '.join(OPS)}")
    if op == "exists":
        if not isinstance(operand, bool):
            raise WhereError(loc, "exists takes true or false")
    elif op in ("in", "not_in"):
        if not isinstance(operand, list) or not operand or not all(map(_scalar, operand)):
            raise WhereError(loc, f"{op} takes a non-empty list of values")
        operand = tuple(operand)
    elif operand is None:
        raise WhereError(loc, "null is no operand; test presence with exists")
    elif not _scalar(operand):
        raise WhereError(loc, f"{op} takes a single value, got {operand!r}")
    return Compare(path, op, operand, loc)


# --- types ----------------------------------------------------------------------------------


def _coerce(field: Any, op: str, value: Any) -> Any:
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
    elif kind == "long" and logical in ("timestamp-millis", "timestamp-micros"):
        stamp = _datetime(value)
        if stamp is not None and stamp.tzinfo is not None:
            return stamp
        raise ValueError(f"{value!r} is no timestamp with a time zone, e.g. 2026-01-01T00:00:00Z")
    elif kind == "long" and logical in ("local-timestamp-millis", "local-timestamp-micros"):
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


# --- compile --------------------------------------------------------------------------------


def _getter(path: str) -> Callable[[dict[str, Any]], Any]:
    names = tuple(path.split("."))
    if len(names) == 1:
        (name,) = names
        return lambda r: r.get(name)

    def get(r: Any) -> Any:
        for name in names:
            if not isinstance(r, dict):
                return None
            r = r.get(name)
        return r

    return get


def _compile_compare(c: Compare, fields: dict[str, Any], problems: list[WhereError]) -> Predicate:
    field = fields.get(c.path)
    if field is None:
        problems.append(WhereError(c.loc, f"unknown field {c.path!r} in the source schema"))
        return lambda r: False
    get = _getter(c.path)
    if c.op == "exists":
        return (lambda r: get(r) is not None) if c.operand else (lambda r: get(r) is None)
    try:
        if c.op in ("in", "not_in"):
            values = frozenset(_coerce(field, c.op, v) for v in c.operand)
        else:
            value = _coerce(field, c.op, c.operand)
    except ValueError as exc:
        problems.append(WhereError(c.loc, str(exc)))
        return lambda r: False
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


def _compile(e: Expr, fields: dict[str, Any], problems: list[WhereError]) -> Predicate:
    if isinstance(e, Compare):
        return _compile_compare(e, fields, problems)
    if isinstance(e, Not):
        inner = _compile(e.item, fields, problems)
        return lambda r: not inner(r)
    preds = tuple(_compile(i, fields, problems) for i in e.items)
    if isinstance(e, All):
        return lambda r: all(p(r) for p in preds)
    return lambda r: any(p(r) for p in preds)


def compile_where(raw: dict[str, Any] | None, fields: dict[str, Any]) -> Predicate:
    """Compile a filter against the source fields (path → `SourceField`).

    Raises `WhereCheckError` with every problem found. No filter matches every record.
    """
    if raw is None:
        return lambda r: True
    expr = parse_where(raw)
    problems: list[WhereError] = []
    predicate = _compile(expr, fields, problems)
    if problems:
        raise WhereCheckError(problems)
    return predicate


def where_paths(raw: dict[str, Any] | None) -> list[str]:
    """Every field path the filter reads (to check what it reveals about the record)."""
    if raw is None:
        return []
    out: list[str] = []

    def walk(e: Expr) -> None:
        if isinstance(e, Compare):
            out.append(e.path)
        elif isinstance(e, Not):
            walk(e.item)
        else:
            for i in e.items:
                walk(i)

    walk(parse_where(raw))
    return out


class WhereCheckError(SpecError):
    """The filter does not fit the source schema; `problems` lists each one."""

    def __init__(self, problems: list[WhereError]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
