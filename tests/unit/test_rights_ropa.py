"""The Art. 30 record names the receipts and their retention (HUB_RECEIPTS_RETENTION_DAYS)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from portal.facts import load_facts
from portal.ropa import days_text, record_of_processing

REPO = Path(__file__).resolve().parents[2]
FACTS = load_facts(REPO / "catalog", REPO / "schemas")


def test_the_record_names_the_receipts_and_the_setting_they_are_kept_for():
    record = record_of_processing(
        FACTS, {}, dt.date(2026, 12, 1), receipts_topic="hub.receipts", receipts_retention_days=3653
    )
    assert record["receipts_retention"] == {
        "topic": "hub.receipts",
        "period": "3653 Tage (rund 10 Jahre)",
        "days": 3653,
    }
    measure = record["measures"][-1]
    assert "hub.receipts" in measure and "Art. 15" in measure and "3653 Tage" in measure
    shorter = record_of_processing(FACTS, {}, dt.date(2026, 12, 1), receipts_retention_days=365)
    assert shorter["receipts_retention"]["period"] == "1 Jahr"


def test_days_in_words():
    assert days_text(1) == "1 Tag"
    assert days_text(730) == "2 Jahre"
    assert days_text(1096) == "1096 Tage (rund 3 Jahre)"
