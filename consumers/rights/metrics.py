"""Prometheus figures of data-subject rights, folded from ``hub.rights`` and the confirmations.

The CLI lives for a second, so nothing here is a live counter in a process: ``hub rights
status`` folds the trail and prints these series, and ``--textfile`` writes them for
node_exporter's textfile collector (what Prometheus offers for batch jobs). The trail is
append-only, so the two counters only grow (until the audit retention ends, years later).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from consumers.rights.trail import CaseStatus


class RightsCollector(Collector):
    """The series of one fold of the trail."""

    def __init__(self, cases: Mapping[str, CaseStatus]) -> None:
        self.cases = cases

    def collect(self) -> Iterator[Metric]:
        cases = self.cases.values()
        requests = CounterMetricFamily(
            "hub_rights_requests",
            "Data-subject requests recorded in hub.rights, by kind (access, erasure)",
            labels=["kind"],
        )
        requests.add_metric(["access"], sum(c.access_requests for c in cases))
        requests.add_metric(["erasure"], sum(c.erasure_requests for c in cases))
        yield requests
        yield CounterMetricFamily(
            "hub_rights_recipients_notified",
            "Recipients sent an erasure request (per case, its latest round)",
            value=sum(len(c.recipients) for c in cases),
        )
        outstanding = GaugeMetricFamily(
            "hub_rights_confirmations_outstanding",
            "Recipients notified of an erasure that have not confirmed it, by case",
            labels=["case"],
        )
        for name, status in sorted(self.cases.items()):
            if status.recipients:
                outstanding.add_metric([name], len(status.outstanding))
        yield outstanding
        yield GaugeMetricFamily(
            "hub_rights_cases_open",
            "Erasure cases with at least one confirmation outstanding",
            value=sum(1 for c in cases if c.outstanding),
        )


def rights_registry(cases: Mapping[str, CaseStatus]) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(RightsCollector(cases))
    return registry


def exposition(cases: Mapping[str, CaseStatus]) -> str:
    """The series in Prometheus' text format."""
    return generate_latest(rights_registry(cases)).decode()


def write_textfile(path: Path, cases: Mapping[str, CaseStatus]) -> None:
    """Atomically (a temporary file renamed), as the textfile collector wants it."""
    write_to_textfile(str(path), rights_registry(cases))
