"""Typed event models, one module per department, generated from ``schemas/`` by
``python -m producers.models.generate``; do not edit, regenerate.

    from producers.models.buergeramt import ResidentMoved
    from producers.models import MODELS  # topic -> model class
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from producers.models.base import EventModel, RecordModel

if TYPE_CHECKING:
    from producers.models.bauordnungsamt import BuildingPermitApplied, BuildingPermitDecided
    from producers.models.buergeramt import ResidentDeregistered, ResidentMoved, ResidentRegistered
    from producers.models.feuerwehr import HydrantInspected, IncidentClosed
    from producers.models.jugendamt import DaycarePlaceAllocated, DaycarePlaceRequested
    from producers.models.ordnungsamt import NoiseComplaintFiled, ParkingViolationRecorded
    from producers.models.tiefbauamt import (
        RoadworksFinished,
        RoadworksStarted,
        StreetDamageReported,
    )
    from producers.models.umweltamt import AirQualityMeasured, TreeInspected

TOPICS: dict[str, tuple[str, str]] = {
    "bauordnungsamt.building-permit.applied": ("bauordnungsamt", "BuildingPermitApplied"),
    "bauordnungsamt.building-permit.decided": ("bauordnungsamt", "BuildingPermitDecided"),
    "buergeramt.resident.deregistered": ("buergeramt", "ResidentDeregistered"),
    "buergeramt.resident.moved": ("buergeramt", "ResidentMoved"),
    "buergeramt.resident.registered": ("buergeramt", "ResidentRegistered"),
    "feuerwehr.hydrant.inspected": ("feuerwehr", "HydrantInspected"),
    "feuerwehr.incident.closed": ("feuerwehr", "IncidentClosed"),
    "jugendamt.daycare-place.allocated": ("jugendamt", "DaycarePlaceAllocated"),
    "jugendamt.daycare-place.requested": ("jugendamt", "DaycarePlaceRequested"),
    "ordnungsamt.noise-complaint.filed": ("ordnungsamt", "NoiseComplaintFiled"),
    "ordnungsamt.parking-violation.recorded": ("ordnungsamt", "ParkingViolationRecorded"),
    "tiefbauamt.roadworks.finished": ("tiefbauamt", "RoadworksFinished"),
    "tiefbauamt.roadworks.started": ("tiefbauamt", "RoadworksStarted"),
    "tiefbauamt.street-damage.reported": ("tiefbauamt", "StreetDamageReported"),
    "umweltamt.air-quality.measured": ("umweltamt", "AirQualityMeasured"),
    "umweltamt.tree.inspected": ("umweltamt", "TreeInspected"),
}
"""Topic → (module, class) of its event model."""
_MODULE_OF = {name: module for module, name in TOPICS.values()}


def model_of(topic: str) -> type[EventModel]:
    """The event model of ``topic``; KeyError naming the topic if it has none."""
    try:
        module, name = TOPICS[topic]
    except KeyError:
        raise KeyError(f"no event model for topic {topic!r}") from None
    return getattr(importlib.import_module(f"producers.models.{module}"), name)


def __getattr__(name: str) -> Any:
    if name == "MODELS":
        return {topic: model_of(topic) for topic in TOPICS}
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"producers.models.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODELS",
    "TOPICS",
    "AirQualityMeasured",
    "BuildingPermitApplied",
    "BuildingPermitDecided",
    "DaycarePlaceAllocated",
    "DaycarePlaceRequested",
    "EventModel",
    "HydrantInspected",
    "IncidentClosed",
    "NoiseComplaintFiled",
    "ParkingViolationRecorded",
    "RecordModel",
    "ResidentDeregistered",
    "ResidentMoved",
    "ResidentRegistered",
    "RoadworksFinished",
    "RoadworksStarted",
    "StreetDamageReported",
    "TreeInspected",
    "model_of",
]
