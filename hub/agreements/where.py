"""Row filter of an agreement (`where:`): a structured condition, never evaluated code.

Grammar (YAML)::

    where := {<dotted.path>: {<op>: <operand>, ...}, all: [where, ...], any: [where, ...],
              not: where}          # several entries in one mapping all have to hold
    op    := eq | ne | in | not_in | lt | lte | gt | gte | exists

Missing values: a path that is absent in the record, or whose value (or any enclosing record)
is None, has no value. Then eq, in, lt, lte, gt, gte are false; ne and not_in are true (they
are exactly `not eq` and `not in`); `exists: true` is false and `exists: false` is true.
`null` is no operand: test for it with `exists`.

The language and its evaluator are `hub.conditions`, shared with the contracts' quality rules
(`hub.quality`); a filter takes only value operands, so a replay gives the same answer.
`parse_where` checks the structure (at load); `compile_where` checks paths and operand types
against the source schema and returns a predicate `dict -> bool` built from closures.
"""

from __future__ import annotations

from typing import Any

from hub.agreements.errors import SpecError
from hub.conditions import (
    COMBINATORS,
    OPS,
    ORDER_OPS,
    All,
    AnyOf,
    Compare,
    ConditionError,
    Expr,
    Not,
    Predicate,
    compile_condition,
    condition_paths,
    parse_condition,
)
from hub.conditions import coerce_operand as _coerce

__all__ = [
    "COMBINATORS",
    "OPS",
    "ORDER_OPS",
    "All",
    "AnyOf",
    "Compare",
    "Expr",
    "Not",
    "Predicate",
    "WhereCheckError",
    "WhereError",
    "_coerce",
    "compile_where",
    "parse_where",
    "where_paths",
]

WhereError = ConditionError
"""A filter problem; `loc` says where in the filter (e.g. `where.all[1].not.b`)."""


def parse_where(raw: Any, loc: str = "where") -> Expr:
    """Parse the YAML form of a filter; `WhereError` names the place of the first problem."""
    return parse_condition(raw, loc)


def compile_where(raw: dict[str, Any] | None, fields: dict[str, Any]) -> Predicate:
    """Compile a filter against the source fields (path → `SourceField`).

    Raises `WhereCheckError` with every problem found. No filter matches every record.
    """
    if raw is None:
        return lambda r: True
    expr = parse_where(raw)
    problems: list[WhereError] = []
    predicate = compile_condition(expr, fields, problems)
    if problems:
        raise WhereCheckError(problems)
    return predicate


def where_paths(raw: dict[str, Any] | None) -> list[str]:
    """Every field path the filter reads (to check what it reveals about the record)."""
    if raw is None:
        return []
    return condition_paths(parse_where(raw))


class WhereCheckError(SpecError):
    """The filter does not fit the source schema; `problems` lists each one."""

    def __init__(self, problems: list[WhereError]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
