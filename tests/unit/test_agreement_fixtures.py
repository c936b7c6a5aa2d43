"""Shared test schemas and agreements for the agreement, transform and where tests (no tests)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from hub.agreements.model import Agreement, parse_agreement

SECRET = b"test-master-secret-0123456789abcdef"
UTC = dt.UTC


def _f(name: str, type_: Any, pii: str, doc: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "doc": doc or f"The {name}.", "x-pii": pii, **extra}


ADDRESS = {
    "type": "record",
    "name": "Address",
    "doc": "A postal address.",
    "fields": [
        _f("street", "string", "direct"),
        _f("house_number", "string", "quasi"),
        _f("postcode", "string", "quasi"),
        _f("city", "string", "none"),
    ],
}

GEO = {
    "type": "record",
    "name": "GeoPoint",
    "doc": "WGS84 point.",
    "fields": [_f("lat", "double", "quasi"), _f("lon", "double", "quasi")],
}


def resident_moved_v1() -> dict[str, Any]:
    """A resident-moved event: nested address, birth date, geo point, enum, sensitive field."""
    return copy.deepcopy(
        {
            "type": "record",
            "name": "ResidentMoved",
            "namespace": "de.hamm.buergeramt.resident",
            "doc": "A resident registered a move.",
            "fields": [
                _f("event_id", {"type": "string", "logicalType": "uuid"}, "none"),
                _f("occurred_at", {"type": "long", "logicalType": "timestamp-millis"}, "none"),
                _f("resident_id", "string", "direct"),
                _f("name", "string", "direct"),
                _f("birth_date", {"type": "int", "logicalType": "date"}, "quasi"),
                _f("old_address", ["null", ADDRESS], "quasi", default=None),
                _f("new_address", "Address", "quasi"),
                _f("location", ["null", GEO], "quasi", default=None),
                _f(
                    "reason",
                    {"type": "enum", "name": "MoveReason", "symbols": ["WORK", "FAMILY", "OTHER"]},
                    "none",
                ),
                _f("household_size", "int", "quasi"),
                _f("rent", ["null", "double"], "quasi", default=None),
                _f("religion", ["null", "string"], "sensitive", default=None),
                _f(
                    "moved_on",
                    ["null", {"type": "int", "logicalType": "date"}],
                    "quasi",
                    default=None,
                ),
                _f("citizen_no", "long", "direct"),
                _f(
                    "income",
                    {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2},
                    "quasi",
                ),
                _f("tags", {"type": "array", "items": "string"}, "none"),
                _f("previous_reason", ["null", "MoveReason"], "none", default=None),
            ],
        }
    )


def resident_moved_v2() -> dict[str, Any]:
    """v2 adds fields (top level and inside the address), all with defaults."""
    schema = resident_moved_v1()
    schema["fields"].append(_f("phone", ["null", "string"], "direct", default=None))
    address = next(f for f in schema["fields"] if f["name"] == "old_address")["type"][1]
    address["fields"].append(_f("district", ["null", "string"], "quasi", default=None))
    return schema


def record(**overrides: Any) -> dict[str, Any]:
    """A decoded resident-moved record (as fastavro hands it over)."""
    base = {
        "event_id": "6f1c3a2e-2d7b-4b8e-9a51-3f0c2b7d9e10",
        "occurred_at": dt.datetime(2026, 7, 15, 14, 33, 12, 345000, tzinfo=UTC),
        "resident_id": "R-4711",
        "name": "Erika Mustermann",
        "birth_date": dt.date(1984, 2, 29),
        "old_address": {
            "street": "Alte Straße",
            "house_number": "3a",
            "postcode": "59063",
            "city": "Hamm",
        },
        "new_address": {
            "street": "Oststraße",
            "house_number": "12",
            "postcode": "59065",
            "city": "Hamm",
        },
        "location": {"lat": 51.6806, "lon": 7.8153},
        "reason": "WORK",
        "household_size": 3,
        "rent": 812.5,
        "religion": "rk",
        "moved_on": dt.date(2026, 7, 1),
        "citizen_no": 123456789,
        "income": Decimal("42000.50"),
        "tags": ["a", "b"],
        "previous_reason": None,
    }
    base.update(overrides)
    return base


def agreement(**overrides: Any) -> Agreement:
    raw: dict[str, Any] = {
        "id": "ordnungsamt-resident-moved",
        "subscriber": "ordnungsamt",
        "source": "buergeramt.resident.moved",
        "purpose": "Zustellung von Bescheiden an die aktuelle Anschrift",
        "legal_basis": "§ 34 Abs. 1 BMG",
        "valid_from": dt.date(2026, 1, 1),
        "valid_until": dt.date(2027, 12, 31),
        "fields": {
            "resident_id": "pseudonymize",
            "birth_date": {"generalize": "year"},
            "new_address.postcode": "keep",
            "occurred_at": {"truncate": "day"},
        },
    }
    raw.update(overrides)
    return parse_agreement(raw, "catalog/agreements/test.yaml")
