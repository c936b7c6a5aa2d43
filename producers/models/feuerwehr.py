"""Event models of the department feuerwehr: generated from schemas/feuerwehr/ by
``python -m producers.models.generate``; do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from producers.models.base import EventModel, Int32, Int64
from producers.models.types import GeoPoint, InfrastructureGeoPoint

__all__ = [
    "GeoPoint",
    "HydrantInspected",
    "HydrantType",
    "IncidentClosed",
    "IncidentType",
    "InfrastructureGeoPoint",
    "InspectionResult",
]


class HydrantType(StrEnum):
    """Bauart."""

    UNDERGROUND = "UNDERGROUND"
    OVERGROUND = "OVERGROUND"
    OTHER = "OTHER"


class InspectionResult(StrEnum):
    """Prüfergebnis."""

    OK = "OK"
    MINOR_DEFECT = "MINOR_DEFECT"
    MAJOR_DEFECT = "MAJOR_DEFECT"
    OUT_OF_SERVICE = "OUT_OF_SERVICE"
    UNKNOWN = "UNKNOWN"


class HydrantInspected(EventModel):
    """Ein Hydrant wurde geprüft (DVGW W 400-3)."""

    TOPIC: ClassVar[str] = "feuerwehr.hydrant.inspected"

    hydrant_id: str = Field(
        description="Nummer im Hydrantenplan.",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt der Prüfung.",
    )
    location: InfrastructureGeoPoint = Field(
        description="Standort des Hydranten.",
    )
    hydrant_type: HydrantType = Field(
        description="Bauart des Hydranten.",
    )
    flow_rate_l_min: float | None = Field(
        default=None,
        description="Gemessene Entnahmemenge in l/min; null wenn nicht gemessen.",
    )
    result: InspectionResult = Field(
        description="Prüfergebnis.",
    )
    inspector_id: str = Field(
        description="Kürzel der prüfenden Person.",
    )


class IncidentType(StrEnum):
    """Einsatzart."""

    FIRE = "FIRE"
    TECHNICAL_RESCUE = "TECHNICAL_RESCUE"
    HAZMAT = "HAZMAT"
    ANIMAL_RESCUE = "ANIMAL_RESCUE"
    FALSE_ALARM = "FALSE_ALARM"
    OTHER = "OTHER"


class IncidentClosed(EventModel):
    """Ein Einsatz der Feuerwehr Hamm wurde abgeschlossen."""

    TOPIC: ClassVar[str] = "feuerwehr.incident.closed"

    incident_id: str = Field(
        description="Einsatznummer der Leitstelle.",
    )
    occurred_at: dt.datetime = Field(
        description="Einsatzende (letztes Fahrzeug einsatzbereit).",
    )
    alarmed_at: dt.datetime = Field(
        description="Zeitpunkt der Alarmierung.",
    )
    incident_type: IncidentType = Field(
        description="Einsatzart.",
    )
    location: GeoPoint = Field(
        description="Einsatzort; oft eine Wohnung.",
    )
    postcode: str = Field(
        description="Postleitzahl des Einsatzorts, 59063 bis 59077.",
    )
    vehicles_deployed: Int32 = Field(
        description="Anzahl eingesetzter Fahrzeuge.",
    )
    personnel_deployed: Int32 = Field(
        description="Anzahl eingesetzter Kräfte.",
    )
    persons_injured: Int32 = Field(
        description="Anzahl verletzter Personen.",
    )
    estimated_damage_eur: Int64 | None = Field(
        default=None,
        description="Geschätzter Sachschaden in Euro; null wenn unbekannt.",
    )
