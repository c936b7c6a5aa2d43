"""The router's ``hub_router_agreement_valid_until_seconds{agreement}``: the end of an
agreement's last valid day in Hamm (HubAgreementExpiring warns 14 days before it), one sample
per applied agreement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from consumers.router import metrics
from hub.agreements import compile_agreement, load_agreement
from hub.schemas.catalog import load_catalog

REPO = Path(__file__).resolve().parents[2]
AGREEMENT = """\
id: statistik-validity
subscriber: statistik
source: buergeramt.resident.moved
purpose: Wanderungsstatistik
legal_basis: "§ 4 Abs. 1 StatG NRW"
valid_until: {until}
fields:
  residence_type: keep
"""


def compiled(tmp_path: Path, until: str):
    path = tmp_path / "a.yaml"
    path.write_text(AGREEMENT.format(until=until))
    source = load_catalog(REPO / "schemas")["buergeramt.resident.moved"].latest.schema
    return compile_agreement(load_agreement(path), source, b"x" * 32)


@pytest.mark.parametrize(
    ("until", "utc"),
    [
        ("2026-12-31", dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)),  # CET, UTC+1
        ("2026-07-01", dt.datetime(2026, 7, 1, 22, 0, tzinfo=dt.UTC)),  # CEST, UTC+2
        ("2026-03-28", dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)),  # the night clocks go on
    ],
)
def test_the_end_of_the_last_valid_day_in_hamm(tmp_path: Path, until: str, utc: dt.datetime):
    agreement = compiled(tmp_path, until)
    assert agreement.ends_at == utc
    # the last instant of the day is still valid, the end itself no longer
    assert agreement.is_active(utc - dt.timedelta(microseconds=1))
    assert not agreement.is_active(utc)


def value(agreement: str) -> float | None:
    return REGISTRY.get_sample_value(
        "hub_router_agreement_valid_until_seconds", {"agreement": agreement}
    )


def test_one_sample_per_applied_agreement_and_a_withdrawn_ones_goes():
    metrics.show_valid_until({"unit-a": 100.0, "unit-b": 200.0})
    assert (value("unit-a"), value("unit-b")) == (100.0, 200.0)
    metrics.show_valid_until({"unit-b": 300.0})
    assert (value("unit-a"), value("unit-b")) == (None, 300.0)
    metrics.show_valid_until({})
    assert value("unit-b") is None
