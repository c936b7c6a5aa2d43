"""Event models of the department ordnungsamt: generated from schemas/ordnungsamt/ by
``python -m producers.models.generate``; do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from producers.models.base import EventModel, Int32
from producers.models.types import GeoPoint

__all__ = [
    "GeoPoint",
    "NoiseComplaintFiled",
    "NoiseSource",
    "ParkingViolationRecorded",
    "ReportChannel",
    "ViolationType",
]


class NoiseSource(StrEnum):
    """Art der Lärmquelle."""

    NEIGHBOURHOOD = "NEIGHBOURHOOD"
    CONSTRUCTION = "CONSTRUCTION"
    TRAFFIC = "TRAFFIC"
    EVENT = "EVENT"
    COMMERCIAL = "COMMERCIAL"
    ANIMAL = "ANIMAL"
    OTHER = "OTHER"


class ReportChannel(StrEnum):
    """Eingangskanal der Meldung."""

    PHONE = "PHONE"
    ONLINE_FORM = "ONLINE_FORM"
    EMAIL = "EMAIL"
    IN_PERSON = "IN_PERSON"
    APP = "APP"
    OTHER = "OTHER"


class NoiseComplaintFiled(EventModel):
    """Beim Ordnungsamt ist eine Lärmbeschwerde eingegangen."""

    TOPIC: ClassVar[str] = "ordnungsamt.noise-complaint.filed"

    complaint_id: str = Field(
        description="Aktenzeichen der Beschwerde, z. B. 'OA-L-2026-00421'.",
    )
    occurred_at: dt.datetime = Field(
        description="Eingang der Beschwerde (Ereigniszeit, UTC, Millisekunden).",
    )
    noise_observed_at: dt.datetime = Field(
        description="Beginn der beanstandeten Lärmbelästigung.",
    )
    location: GeoPoint = Field(
        description="Ort der Lärmquelle.",
    )
    postcode: str = Field(
        description="Postleitzahl des Orts der Lärmquelle, 59063 bis 59077.",
    )
    noise_source: NoiseSource = Field(
        description="Art der Lärmquelle.",
    )
    channel: ReportChannel = Field(
        description="Eingangskanal der Beschwerde.",
    )
    night_time: bool = Field(
        description="Lärm in der Nachtruhe (22 bis 6 Uhr, § 9 LImSchG NRW).",
    )
    complainant_name: str | None = Field(
        default=None,
        description="Name der beschwerdeführenden Person; null bei anonymer Beschwerde.",
    )
    complainant_phone: str | None = Field(
        default=None,
        description="Telefonnummer für Rückfragen; null wenn nicht angegeben.",
    )
    description: str | None = Field(
        default=None,
        description="Freitext der Beschwerde; kann Namen und Anschriften enthalten.",
    )


class ViolationType(StrEnum):
    """Tatbestand nach Bußgeldkatalog (vereinfacht). Ab v2: Parken auf E-Ladeplatz ohne Ladevorgang."""

    NO_STOPPING_ZONE = "NO_STOPPING_ZONE"
    NO_PARKING_ZONE = "NO_PARKING_ZONE"
    EXPIRED_METER = "EXPIRED_METER"
    DISABLED_SPACE = "DISABLED_SPACE"
    FIRE_LANE = "FIRE_LANE"
    SIDEWALK = "SIDEWALK"
    BUS_STOP = "BUS_STOP"
    EV_CHARGING_SPACE = "EV_CHARGING_SPACE"
    OTHER = "OTHER"


class ParkingViolationRecorded(EventModel):
    """Der kommunale Ordnungsdienst hat einen Parkverstoß festgestellt."""

    TOPIC: ClassVar[str] = "ordnungsamt.parking-violation.recorded"

    violation_id: str = Field(
        description="Aktenzeichen des Verwarnungsgeldverfahrens.",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt der Feststellung des Verstoßes.",
    )
    licence_plate: str = Field(
        description="Amtliches Kennzeichen, z. B. 'HAM-AB 123'; identifiziert die Halterin/den Halter.",
    )
    violation_type: ViolationType = Field(
        description="Art des Verstoßes.",
    )
    location: GeoPoint = Field(
        description="Standort des Fahrzeugs.",
    )
    street: str = Field(
        description="Straße des Tatorts, z. B. 'Bahnhofstraße'.",
    )
    postcode: str = Field(
        description="Postleitzahl des Tatorts, 59063 bis 59077.",
    )
    fine_eur: Int32 = Field(
        description="Verwarnungsgeld in Euro (ganzzahlig), z. B. 55.",
    )
    officer_id: str = Field(
        description="Dienstnummer der feststellenden Kraft.",
    )
    obstruction: bool = Field(
        description="Mit Behinderung anderer Verkehrsteilnehmender.",
    )
