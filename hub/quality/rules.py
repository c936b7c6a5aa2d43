"""Quality rules of a contract (``x-quality``): what a plausible value is, not only its type.

A rule has a name, a German description, a severity and a check written in the condition
language of an agreement's ``where`` (``hub.conditions``: one model, one evaluator)::

    fields:                          # field rules: the operators of one field
      postcode:
        - name: plz-in-hamm
          description: Die Postleitzahl liegt in Hamm (59063 bis 59077).
          severity: reject           # refused at the door, like a schema error
          check: {gte: "59063", lte: "59077"}
    record:                          # record rules: a whole condition, e.g. two fields
      - name: laerm-vor-eingang
        description: Der Lärm wurde vor dem Eingang der Beschwerde beobachtet.
        severity: flag               # enters the hub, and is counted
        check: {noise_observed_at: {lte: {field: occurred_at}}}

A field rule is about a value: a field without one passes, unless the check says ``exists``.
Checks may compare with another field (``{field: occurred_at}``) or with the time of the check
(``{now: 5m}``). ``parse_rules`` checks the structure, ``compile_rules`` the fields and types
against the schema; ``evaluate(rules, record)`` is pure and lists the rules a record breaks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.conditions import (
    All,
    Clock,
    ConditionError,
    Expr,
    Predicate,
    compile_condition,
    condition_paths,
    parse_condition,
    parse_operators,
    uses_exists,
)

Severity = Literal["reject", "flag"]
SEVERITIES: tuple[Severity, ...] = ("reject", "flag")
RULE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
"""Lowercase words joined by hyphens: a Prometheus label value and an item of a header list."""
RULE_KEYS = ("name", "description", "severity", "check")
FILE_KEYS = ("fields", "record")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule as written: ``field`` is the checked field of a field rule, None for a record
    rule; ``loc`` where it is written (``fields.postcode[0]``, ``record[1]``)."""

    name: str
    description: str
    severity: Severity
    condition: Expr
    field: str | None
    loc: str

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the rule reads, in order, each once."""
        return tuple(dict.fromkeys(condition_paths(self.condition)))


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule a record breaks."""

    rule: str
    severity: Severity
    fields: tuple[str, ...]
    description: str

    @property
    def field(self) -> str | None:
        """The field to name first (the field rule's own; a record rule's first)."""
        return self.fields[0] if self.fields else None

    def message(self) -> str:
        named = f" ({', '.join(self.fields)})" if len(self.fields) > 1 else ""
        return f"breaks quality rule {self.rule}{named}: {self.description}"


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """A rule that does not hold together or does not fit the schema. ``kind`` is the lint
    rule: quality-file, quality-rule, quality-severity, quality-description, quality-field or
    quality-condition."""

    kind: str
    loc: str
    message: str
    rule: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        named = f"rule {self.rule}: " if self.rule else ""
        return f"{self.loc}: {named}{self.message}"


# --- structure ------------------------------------------------------------------------------


def parse_rules(raw: Any) -> tuple[list[Rule], list[RuleProblem]]:
    """The rules of a quality file (its YAML), and every structural problem found."""
    problems: list[RuleProblem] = []
    rules: list[Rule] = []
    if raw is None:
        return rules, problems
    if not isinstance(raw, Mapping):
        return rules, [RuleProblem("quality-file", "", "expected a mapping with fields/record")]
    for key in raw:
        if key not in FILE_KEYS:
            problems.append(
                RuleProblem(
                    "quality-file", str(key), f"unknown key; expected {' or '.join(FILE_KEYS)}"
                )
            )
    by_field = raw.get("fields") or {}
    if not isinstance(by_field, Mapping):
        problems.append(RuleProblem("quality-file", "fields", "expected field paths → rules"))
        by_field = {}
    for path, items in by_field.items():
        for i, item in _items(items, f"fields.{path}", problems):
            rule = _parse_rule(item, f"fields.{path}[{i}]", str(path), problems)
            if rule is not None:
                rules.append(rule)
    for i, item in _items(raw.get("record") or [], "record", problems):
        rule = _parse_rule(item, f"record[{i}]", None, problems)
        if rule is not None:
            rules.append(rule)
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            problems.append(
                RuleProblem(
                    "quality-rule", rule.loc, "the name is used twice", rule.name, rule.field
                )
            )
        seen.add(rule.name)
    return rules, problems


def _items(raw: Any, loc: str, problems: list[RuleProblem]) -> Iterable[tuple[int, Any]]:
    if not isinstance(raw, list):
        problems.append(RuleProblem("quality-file", loc, "expected a list of rules"))
        return []
    return enumerate(raw)


def _parse_rule(raw: Any, loc: str, path: str | None, problems: list[RuleProblem]) -> Rule | None:
    if not isinstance(raw, Mapping):
        problems.append(
            RuleProblem(
                "quality-rule",
                loc,
                "a rule is a mapping of name, description, severity, check",
                field=path,
            )
        )
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not RULE_NAME.match(name):
        problems.append(
            RuleProblem(
                "quality-rule",
                loc,
                f"name {name!r} must be lowercase words joined by hyphens, e.g. plz-in-hamm",
                field=path,
            )
        )
        return None
    ok = True

    def problem(kind: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.append(RuleProblem(kind, loc, message, name, path))

    for key in raw:
        if key not in RULE_KEYS:
            problem("quality-rule", f"unknown key {key!r}; a rule has {', '.join(RULE_KEYS)}")
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        problem("quality-description", "every rule needs a German description (description)")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        problem("quality-severity", f"severity is {severity!r}, expected reject or flag")
    condition: Expr | None = None
    check = raw.get("check")
    try:
        if path is None:
            condition = parse_condition(check, f"{loc}.check", references=True)
        else:
            compares = parse_operators(path, check, f"{loc}.check", references=True)
            condition = compares[0] if len(compares) == 1 else All(tuple(compares))
    except ConditionError as error:
        ok = False
        problems.append(RuleProblem("quality-condition", error.loc, error.message, name, path))
    if not ok or condition is None:
        return None
    return Rule(name, description.strip(), severity, condition, path, loc)


# --- against the schema ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    holds: Predicate


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules of one schema version; empty when it has none."""

    rules: tuple[CompiledRule, ...] = ()
    names: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(c.rule.name for c in self.rules))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def evaluate(self, record: Mapping[str, Any]) -> list[Violation]:
        """The rules ``record`` breaks, in rule order."""
        return evaluate(self, record)


def compile_rules(
    rules: Iterable[Rule], fields: Mapping[str, Any], *, clock: Clock = utc_now
) -> tuple[RuleSet, list[RuleProblem]]:
    """Rules against the schema's fields (path → SourceField); every problem is returned and
    the rules that have one are left out."""
    problems: list[RuleProblem] = []
    compiled: list[CompiledRule] = []
    for rule in rules:
        unknown = [p for p in rule.fields if p not in fields]
        for path in unknown:
            problems.append(
                RuleProblem(
                    "quality-field",
                    rule.loc,
                    f"unknown field {path!r} in the schema",
                    rule.name,
                    path,
                )
            )
        if unknown:
            continue
        found: list[ConditionError] = []
        holds = compile_condition(rule.condition, dict(fields), found, clock=clock)
        for error in found:
            problems.append(
                RuleProblem(
                    "quality-condition",
                    error.loc,
                    error.message,
                    rule.name,
                    rule.field or _path(error),
                )
            )
        if found:
            continue
        if rule.field is not None and not uses_exists(rule.condition):
            holds = _absent_passes(rule.field, fields[rule.field], holds)
        compiled.append(CompiledRule(rule, holds))
    return RuleSet(tuple(compiled)), problems


def _path(error: ConditionError) -> str | None:
    """The field a record rule's problem is about: the path in its location."""
    parts = error.loc.split(".check.", 1)
    return parts[1].rsplit(".", 1)[0] if len(parts) == 2 else None


def _absent_passes(path: str, source_field: Any, holds: Predicate) -> Predicate:
    names = tuple(path.split("."))
    if len(names) == 1:
        (name,) = names
        return lambda r: r.get(name) is None or holds(r)

    def absent(r: Any) -> bool:
        for name in names:
            if not isinstance(r, Mapping):
                return True
            r = r.get(name)
        return r is None

    return lambda r: absent(r) or holds(r)


def evaluate(rules: RuleSet, record: Mapping[str, Any]) -> list[Violation]:
    """The rules ``record`` breaks. A check that cannot be evaluated on the record (a value of
    a type the schema does not allow) counts as broken: a rule is never silently skipped."""
    broken: list[Violation] = []
    for compiled in rules.rules:
        try:
            if compiled.holds(record):  # type: ignore[arg-type]
                continue
        except (TypeError, ValueError, ArithmeticError):
            pass
        rule = compiled.rule
        broken.append(Violation(rule.name, rule.severity, rule.fields, rule.description))
    return broken
