"""Event models of the department jugendamt: generated from schemas/jugendamt/ by
``python -m producers.models.generate``; do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from producers.models.base import EventModel, Int32, RecordModel
from producers.models.types import Address

__all__ = [
    "Address",
    "AllocationOutcome",
    "CareNeeds",
    "CareType",
    "Child",
    "DaycarePlaceAllocated",
    "DaycarePlaceRequested",
    "DietaryRequirement",
    "Guardian",
]


class AllocationOutcome(StrEnum):
    """Ergebnis der Platzvergabe."""

    PLACE_OFFERED = "PLACE_OFFERED"
    WAITING_LIST = "WAITING_LIST"
    REFERRED_TO_CHILDMINDER = "REFERRED_TO_CHILDMINDER"
    OTHER = "OTHER"


class DaycarePlaceAllocated(EventModel):
    """Einer Bedarfsanmeldung wurde ein Betreuungsplatz zugeteilt oder sie wurde auf die Warteliste gesetzt."""

    TOPIC: ClassVar[str] = "jugendamt.daycare-place.allocated"

    request_id: str = Field(
        description="Nummer der Bedarfsanmeldung.",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt der Zuteilungsentscheidung.",
    )
    outcome: AllocationOutcome = Field(
        description="Ergebnis der Platzvergabe.",
    )
    facility_id: str | None = Field(
        default=None,
        description="Kennung der Einrichtung; null bei Warteliste.",
    )
    start_date: dt.date | None = Field(
        default=None,
        description="Betreuungsbeginn; null bei Warteliste.",
    )
    weekly_hours: Int32 = Field(
        description="Zugeteilter Betreuungsumfang in Wochenstunden.",
    )
    child_birth_date: dt.date = Field(
        description="Geburtsdatum des Kindes (für Altersgruppen U3/Ü3).",
    )
    district_postcode: str = Field(
        description="Postleitzahl des Wohnorts, 59063 bis 59077.",
    )


class DietaryRequirement(StrEnum):
    """Ernährungsvorgabe; kann auf Religion oder Gesundheit schließen lassen."""

    VEGETARIAN = "VEGETARIAN"
    NO_PORK = "NO_PORK"
    HALAL = "HALAL"
    KOSHER = "KOSHER"
    GLUTEN_FREE = "GLUTEN_FREE"
    LACTOSE_FREE = "LACTOSE_FREE"
    OTHER = "OTHER"


class CareNeeds(RecordModel):
    """Besondere Bedarfe des Kindes; Gesundheitsdaten nach Art. 9 DSGVO."""

    disability: bool = Field(
        description="Behinderung oder drohende Behinderung festgestellt (§ 2 SGB IX).",
    )
    integration_assistance: bool = Field(
        description="Eingliederungshilfe/inklusive Betreuung (§ 35a SGB VIII, § 99 SGB IX) beantragt.",
    )
    health_conditions: list[str] = Field(
        description="Chronische Erkrankungen oder Allergien, die die Betreuung betreffen (Freitext je Eintrag).",
    )
    dietary_requirements: list[DietaryRequirement] = Field(
        description="Ernährungsvorgaben; können religiöse Überzeugung oder Gesundheit offenbaren.",
    )


class Child(RecordModel):
    """Das Kind, für das der Platz beantragt wird."""

    family_name: str = Field(
        description="Familienname des Kindes (XÖV: familienname).",
    )
    given_names: str = Field(
        description="Vornamen des Kindes (XÖV: vornamen).",
    )
    birth_date: dt.date = Field(
        description="Geburtsdatum des Kindes (XÖV: geburtsdatum).",
    )
    care_needs: CareNeeds = Field(
        description="Besondere Bedarfe (Gesundheit, Behinderung).",
    )


class Guardian(RecordModel):
    """Antragstellende erziehungsberechtigte Person."""

    family_name: str = Field(
        description="Familienname (XÖV: familienname).",
    )
    given_names: str = Field(
        description="Vornamen (XÖV: vornamen).",
    )
    email: str | None = Field(
        default=None,
        description="E-Mail-Adresse für Bescheide und Rückfragen.",
    )
    phone: str | None = Field(
        default=None,
        description="Telefonnummer.",
    )
    address: Address = Field(
        description="Wohnanschrift der Familie, z. B. PLZ 59075.",
    )


class CareType(StrEnum):
    """Kita oder Kindertagespflege."""

    DAYCARE_CENTRE = "DAYCARE_CENTRE"
    CHILDMINDER = "CHILDMINDER"
    EITHER = "EITHER"
    OTHER = "OTHER"


class DaycarePlaceRequested(EventModel):
    """Erziehungsberechtigte haben einen Betreuungsplatz (Kita oder Kindertagespflege) nach § 24 SGB VIII beantragt (Kita-Navigator)."""

    TOPIC: ClassVar[str] = "jugendamt.daycare-place.requested"

    request_id: str = Field(
        description="Nummer der Bedarfsanmeldung.",
    )
    occurred_at: dt.datetime = Field(
        description="Eingang der Bedarfsanmeldung.",
    )
    child: Child = Field(
        description="Angaben zum Kind.",
    )
    guardian: Guardian = Field(
        description="Antragstellende erziehungsberechtigte Person.",
    )
    desired_start: dt.date = Field(
        description="Gewünschter Betreuungsbeginn.",
    )
    weekly_hours: Int32 = Field(
        description="Gewünschter Betreuungsumfang in Wochenstunden (25, 35 oder 45 nach KiBiz).",
    )
    care_type: CareType = Field(
        description="Gewünschte Betreuungsform.",
    )
    preferred_facilities: list[str] = Field(
        description="Kennungen der gewünschten Einrichtungen in Reihenfolge der Priorität.",
    )
