"""Event models of the department tiefbauamt: generated from schemas/tiefbauamt/ by
``python -m producers.models.generate``; do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from producers.models.base import EventModel, Int32, Int64
from producers.models.types import InfrastructureGeoPoint

__all__ = [
    "Acceptance",
    "DamageType",
    "InfrastructureGeoPoint",
    "LaneClosure",
    "ReportChannel",
    "RoadworksFinished",
    "RoadworksStarted",
    "Severity",
    "StreetDamageReported",
    "WorksType",
]


class Acceptance(StrEnum):
    """Ergebnis der Abnahme."""

    ACCEPTED = "ACCEPTED"
    ACCEPTED_WITH_DEFECTS = "ACCEPTED_WITH_DEFECTS"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"


class RoadworksFinished(EventModel):
    """Eine Baustelle im öffentlichen Straßenraum wurde abgenommen und geräumt."""

    TOPIC: ClassVar[str] = "tiefbauamt.roadworks.finished"

    roadworks_id: str = Field(
        description="Nummer der verkehrsrechtlichen Anordnung, z. B. 'TBA-2026-0173'.",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt der Räumung der Baustelle.",
    )
    finished_on: dt.date = Field(
        description="Tag der Abnahme.",
    )
    acceptance: Acceptance = Field(
        description="Ergebnis der Abnahme.",
    )
    final_cost_cents: Int64 = Field(
        description="Tatsächliche Kosten in Euro-Cent.",
    )
    delay_days: Int32 = Field(
        description="Verzug gegenüber dem geplanten Ende in Tagen (negativ: früher fertig).",
    )


class LaneClosure(StrEnum):
    """Umfang der Sperrung."""

    NONE = "NONE"
    PARTIAL = "PARTIAL"
    FULL = "FULL"
    UNKNOWN = "UNKNOWN"


class WorksType(StrEnum):
    """Art der Arbeiten."""

    SURFACE_RENEWAL = "SURFACE_RENEWAL"
    SEWER = "SEWER"
    UTILITY_LINES = "UTILITY_LINES"
    BRIDGE = "BRIDGE"
    CYCLE_PATH = "CYCLE_PATH"
    OTHER = "OTHER"


class RoadworksStarted(EventModel):
    """Eine Baustelle im öffentlichen Straßenraum wurde eingerichtet."""

    TOPIC: ClassVar[str] = "tiefbauamt.roadworks.started"

    roadworks_id: str = Field(
        description="Nummer der verkehrsrechtlichen Anordnung, z. B. 'TBA-2026-0173'.",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt der Einrichtung der Baustelle.",
    )
    street: str = Field(
        description="Betroffene Straße, z. B. 'Heessener Straße'.",
    )
    postcode: str = Field(
        description="Postleitzahl, 59063 bis 59077.",
    )
    location: InfrastructureGeoPoint = Field(
        description="Mittelpunkt der Baustelle.",
    )
    planned_end: dt.date = Field(
        description="Geplantes Ende der Arbeiten.",
    )
    lane_closure: LaneClosure = Field(
        description="Umfang der Fahrbahnsperrung.",
    )
    works_type: WorksType = Field(
        description="Art der Arbeiten.",
    )
    contractor: str = Field(
        description="Ausführendes Unternehmen.",
    )
    estimated_cost_cents: Int64 = Field(
        description="Geschätzte Kosten in Euro-Cent (für Kostenklassen). Ab v2 long: Großprojekte über 21,4 Mio. € passen nicht in int.",
    )


class DamageType(StrEnum):
    """Art des Schadens."""

    POTHOLE = "POTHOLE"
    CRACK = "CRACK"
    SUBSIDENCE = "SUBSIDENCE"
    CURB = "CURB"
    MANHOLE = "MANHOLE"
    SIGNAGE = "SIGNAGE"
    OTHER = "OTHER"


class Severity(StrEnum):
    """Dringlichkeit; CRITICAL bedeutet Verkehrssicherungspflicht sofort."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"
    UNKNOWN = "UNKNOWN"


class ReportChannel(StrEnum):
    """Eingangskanal der Meldung."""

    PHONE = "PHONE"
    ONLINE_FORM = "ONLINE_FORM"
    EMAIL = "EMAIL"
    IN_PERSON = "IN_PERSON"
    APP = "APP"
    OTHER = "OTHER"


class StreetDamageReported(EventModel):
    """Ein Straßenschaden wurde gemeldet (Mängelmelder, Bürgertelefon, Streckenkontrolle)."""

    TOPIC: ClassVar[str] = "tiefbauamt.street-damage.reported"

    damage_id: str = Field(
        description="Nummer der Schadensmeldung.",
    )
    occurred_at: dt.datetime = Field(
        description="Eingang der Meldung.",
    )
    location: InfrastructureGeoPoint = Field(
        description="Ort des Schadens.",
    )
    street: str = Field(
        description="Straße, z. B. 'Werler Straße'.",
    )
    postcode: str = Field(
        description="Postleitzahl, 59063 bis 59077.",
    )
    damage_type: DamageType = Field(
        description="Art des Schadens.",
    )
    severity: Severity = Field(
        description="Dringlichkeit.",
    )
    channel: ReportChannel = Field(
        description="Eingangskanal der Meldung.",
    )
    reporter_email: str | None = Field(
        default=None,
        description="E-Mail der meldenden Person für Rückmeldungen; null wenn anonym.",
    )
    photo_count: Int32 = Field(
        description="Anzahl beigefügter Fotos.",
    )
