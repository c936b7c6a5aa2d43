"""The series the alert rules and the Grafana dashboards query, by metric name (shared by the
unit test of the rules and the live Prometheus test; tests/ is on sys.path via conftest.py).

Debian's promtool (2.42) cannot print a PromQL syntax tree, so the names come from the
expression's text: what is left once strings, label matchers, ranges, grouping clauses,
functions and keywords are taken out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
# An identifier not inside a number or a duration (1h, 1e3), nor a Grafana $variable.
_NAME = re.compile(r"(?<![\w:.$])[a-zA-Z_:][a-zA-Z0-9_:]*")
_KEYWORDS = {
    "and", "or", "unless", "offset", "bool", "inf", "nan", "by", "without", "on", "ignoring",
    "group_left", "group_right", "atan2",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects (``rate(x_total[5m]) / y`` → ``{x_total, y}``)."""
    text = _STRINGS.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _NAME.finditer(text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):  # a function or an aggregation
            continue
        if match.group().lower() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def alert_exprs() -> dict[str, str]:
    """Each alert's expression, by alert name."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard_exprs() -> dict[str, str]:
    """Each dashboard query, named ``<dashboard file>: <panel title> [refId]``."""
    found = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        for title, target in _targets(json.loads(path.read_text())):
            found[f"{path.name}: {title} [{target.get('refId', '?')}]"] = target["expr"]
    return found


def _targets(node: object, title: str = "") -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        title = node.get("title", title)
        for target in node.get("targets", ()):
            if isinstance(target, dict) and "expr" in target:
                yield title, target
        for key, value in node.items():
            if key != "targets":
                yield from _targets(value, title)
    elif isinstance(node, list):
        for item in node:
            yield from _targets(item, title)


def queried_series() -> dict[str, set[str]]:
    """Metric name → the alerts and dashboard queries that use it."""
    used: dict[str, set[str]] = {}
    for where, expr in {**alert_exprs(), **dashboard_exprs()}.items():
        for name in metric_names(expr):
            used.setdefault(name, set()).add(where)
    return used
