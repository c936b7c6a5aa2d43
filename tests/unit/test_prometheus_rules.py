"""The alert rules, checked by Prometheus' own promtool: they parse, the scrape config parses,
and every alert has a unit test (deploy/prometheus/alerts.test.yml) that makes it fire with
its labels and annotations and stay quiet before."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from backends import require
from promql import metric_names, queried_series

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
TESTS = PROMETHEUS / "alerts.test.yml"


def alerts() -> dict[str, dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    require(
        found is not None,
        "promtool not found: `apt-get install -y prometheus` as root (`make test` and .ci/run do)",
    )
    return found


@pytest.mark.parametrize(
    "args",
    [["check", "rules", str(RULES)], ["test", "rules", str(TESTS)]],
    ids=["check rules", "test rules"],
)
def test_promtool(promtool: str, args: list[str]) -> None:
    result = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_scrape_config_parses(promtool: str, tmp_path: Path) -> None:
    # The config names the rules where the container mounts them: check a copy naming them
    # beside it.
    config = (PROMETHEUS / "prometheus.yml").read_text()
    assert "/etc/prometheus/alerts.yml" in config
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/etc/prometheus/alerts.yml", str(tmp_path / "alerts.yml"))
    )
    shutil.copy(RULES, tmp_path / "alerts.yml")
    result = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_makes_it_fire() -> None:
    tests = yaml.safe_load(TESTS.read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    quiet = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if not case.get("exp_alerts")
    }
    assert set(alerts()) - fired == set(), "alerts without a test that fires them"
    assert set(alerts()) - quiet == set(), "alerts without a test that they stay quiet"


@pytest.mark.parametrize("name", sorted(alerts()))
def test_every_alert_says_what_to_look_at(name: str) -> None:
    rule = alerts()[name]
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert rule["annotations"]["summary"].strip()
    assert rule["annotations"]["description"].strip()


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('up{job="hub-router"} == 0', {"up"}),
        (
            "histogram_quantile(0.99, sum by (le) (rate(hub_router_delivery_lag_seconds_bucket"
            '{le=~"5|10"}[5m]))) > 5',
            {"hub_router_delivery_lag_seconds_bucket"},
        ),
        (
            "sum by (dataset) (increase(a_total[1d] offset 1h)) / ignoring (rule) b_total"
            " or 0 * c:recorded and on (x) group_left (y) d",
            {"a_total", "b_total", "c:recorded", "d"},
        ),
        ("min by (agreement) (v_seconds) - time() < 14 * 86400", {"v_seconds"}),
        ('rate(x_total[$__rate_interval]) * 1e3 > bool 2h_is_no_name{a="b}"}', {"x_total"}),
    ],
)
def test_metric_names_of_an_expression(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_the_alerts_and_dashboards_query_named_series() -> None:
    # What the live Prometheus test (tests/integration/test_prometheus_live.py) looks for.
    used = queried_series()
    assert {"up", "hub_broker_up", "hub_router_agreement_valid_until_seconds"} <= set(used)
    assert any(":" in where for where in used["hub_router_events_total"])  # a dashboard's
