"""Event models of the department umweltamt: generated from schemas/umweltamt/ by
``python -m producers.models.generate``; do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from producers.models.base import EventModel, Int32
from producers.models.types import InfrastructureGeoPoint

__all__ = [
    "AirQualityMeasured",
    "AveragingPeriod",
    "InfrastructureGeoPoint",
    "Measure",
    "TreeCondition",
    "TreeInspected",
    "ValidationStatus",
]


class AveragingPeriod(StrEnum):
    """Mittelungszeitraum."""

    HOUR = "HOUR"
    DAY = "DAY"
    OTHER = "OTHER"


class ValidationStatus(StrEnum):
    """Stand der Plausibilisierung."""

    VALID = "VALID"
    SUSPECT = "SUSPECT"
    INVALID = "INVALID"
    UNCHECKED = "UNCHECKED"


class AirQualityMeasured(EventModel):
    """Ein Mittelwert einer Luftmessstation liegt vor."""

    TOPIC: ClassVar[str] = "umweltamt.air-quality.measured"

    station_id: str = Field(
        description="Kennung der Messstation, z. B. 'HAM-VK-01'.",
    )
    occurred_at: dt.datetime = Field(
        description="Ende des Mittelungszeitraums.",
    )
    station_location: InfrastructureGeoPoint = Field(
        description="Standort der Messstation.",
    )
    averaging_period: AveragingPeriod = Field(
        description="Mittelungszeitraum des Werts.",
    )
    pm10_ug_m3: float | None = Field(
        default=None,
        description="Feinstaub PM10 in µg/m³ (Grenzwert Tagesmittel 50); null bei Ausfall.",
    )
    pm25_ug_m3: float | None = Field(
        default=None,
        description="Feinstaub PM2,5 in µg/m³; null bei Ausfall.",
    )
    no2_ug_m3: float | None = Field(
        default=None,
        description="Stickstoffdioxid in µg/m³; null bei Ausfall.",
    )
    other_components: dict[str, float] = Field(
        description="Weitere Komponenten in µg/m³ nach Kürzel, z. B. {'O3': 61.0}.",
    )
    validation: ValidationStatus = Field(
        description="Stand der Plausibilisierung.",
    )


class TreeCondition(StrEnum):
    """Vitalität/Zustand."""

    HEALTHY = "HEALTHY"
    SLIGHTLY_DAMAGED = "SLIGHTLY_DAMAGED"
    SEVERELY_DAMAGED = "SEVERELY_DAMAGED"
    DEAD = "DEAD"
    UNKNOWN = "UNKNOWN"


class Measure(StrEnum):
    """Angeordnete Maßnahme."""

    DEADWOOD_REMOVAL = "DEADWOOD_REMOVAL"
    PRUNING = "PRUNING"
    CROWN_SECURING = "CROWN_SECURING"
    FELLING = "FELLING"
    FURTHER_EXAMINATION = "FURTHER_EXAMINATION"
    OTHER = "OTHER"


class TreeInspected(EventModel):
    """Ein Baum im Baumkataster wurde kontrolliert (Regelkontrolle nach FLL-Baumkontrollrichtlinie)."""

    TOPIC: ClassVar[str] = "umweltamt.tree.inspected"

    tree_id: str = Field(
        description="Nummer im Baumkataster.",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt der Kontrolle.",
    )
    location: InfrastructureGeoPoint = Field(
        description="Standort des Baums.",
    )
    species: str = Field(
        description="Botanischer Name, z. B. 'Tilia cordata'.",
    )
    trunk_circumference_cm: Int32 = Field(
        description="Stammumfang in 1 m Höhe in cm.",
    )
    height_m: float = Field(
        description="Baumhöhe in Metern.",
    )
    condition: TreeCondition = Field(
        description="Zustand des Baums.",
    )
    measures: list[Measure] = Field(
        description="Angeordnete Maßnahmen, leer wenn keine.",
    )
    inspector_id: str = Field(
        description="Kürzel der kontrollierenden Person.",
    )
    next_inspection_due: dt.date = Field(
        description="Nächste Regelkontrolle fällig am.",
    )
