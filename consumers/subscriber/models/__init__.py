"""Typed delivery models, one module per subscriber, generated from the agreements by
``python -m consumers.subscriber.models.generate``; do not edit, regenerate.

    from consumers.subscriber.models.ordnungsamt import ResidentMovedForOrdnungsamt
    from consumers.subscriber.models import model_for  # the model of a delivery schema
"""

from __future__ import annotations

import importlib
from typing import Any

from consumers.subscriber.models.base import DeliveryModel, fingerprint

AGREEMENTS: dict[str, tuple[str, str, str]] = {
    "brandschutz-incident-closed": (
        "brandschutzplanung",
        "IncidentClosedForBrandschutzplanung",
        "bc41183f71d93ccf182fe70659cc76cf",
    ),
    "bussgeldstelle-parking-violation": (
        "bussgeldstelle",
        "ParkingViolationRecordedForBussgeldstelle",
        "fe8cff99494c51d47f586355cdbfd5a5",
    ),
    "jugendhilfeplanung-daycare-requested": (
        "jugendhilfeplanung",
        "DaycarePlaceRequestedForJugendhilfeplanung",
        "bace71c00c8505acc5572c6cb1930209",
    ),
    "ki-featurestore-air-quality": (
        "ki_featurestore",
        "AirQualityMeasuredForKiFeaturestore",
        "38e079372663f1b72319a4b8daf7fe0b",
    ),
    "ki-featurestore-noise-complaints": (
        "ki_featurestore",
        "NoiseComplaintFiledForKiFeaturestore",
        "a0b7ec697fb8976724ab9417cd7b04c1",
    ),
    "ki-featurestore-resident-moved": (
        "ki_featurestore",
        "ResidentMovedForKiFeaturestore",
        "94eaa083f9daca040191037f4c6a761e",
    ),
    "ki-featurestore-roadworks-started": (
        "ki_featurestore",
        "RoadworksStartedForKiFeaturestore",
        "5168b5aae9bfd7839fb89105c70edc49",
    ),
    "ordnungsamt-resident-moved": (
        "ordnungsamt",
        "ResidentMovedForOrdnungsamt",
        "a65226c34c1ae605b96627ba55db8ca9",
    ),
    "stadtplanung-building-permit": (
        "stadtplanung",
        "BuildingPermitAppliedForStadtplanung",
        "c22ff5225f1b070ff619ee4ef0099bfb",
    ),
    "statistikstelle-resident-moved": (
        "statistikstelle",
        "ResidentMovedForStatistikstelle",
        "ccc5157a4209c3bdb3148523910edb8f",
    ),
    "umweltamt-noise-complaint": (
        "umweltamt",
        "NoiseComplaintFiledForUmweltamt",
        "04c0b5ec737f2fd7a1dd1337f4821eaf",
    ),
}
"""Agreement id → (module, class, fingerprint of the schema it was generated from)."""


def model_of(agreement_id: str) -> type[DeliveryModel]:
    """The generated model of an agreement; KeyError naming the agreement if it has none."""
    try:
        module, name, _ = AGREEMENTS[agreement_id]
    except KeyError:
        raise KeyError(f"no delivery model for agreement {agreement_id!r}") from None
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def model_for(agreement_id: str | None, schema_fingerprint: str) -> type[DeliveryModel] | None:
    """The model generated from exactly this schema of the agreement, else None."""
    found = AGREEMENTS.get(agreement_id) if agreement_id is not None else None
    if found is None or found[2] != schema_fingerprint:
        return None
    return model_of(agreement_id)  # type: ignore[arg-type]


def __getattr__(name: str) -> Any:
    if name == "MODELS":
        return {agreement_id: model_of(agreement_id) for agreement_id in AGREEMENTS}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AGREEMENTS",
    "MODELS",
    "DeliveryModel",
    "fingerprint",
    "model_for",
    "model_of",
]
