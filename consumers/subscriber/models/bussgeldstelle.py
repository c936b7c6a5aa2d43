"""Delivery models of the subscriber bussgeldstelle, one per agreement: generated from
catalog/agreements/ and schemas/ by ``python -m consumers.subscriber.models.generate``;
do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from consumers.subscriber.models.base import DeliveryModel, Int32, RecordModel

__all__ = [
    "ParkingViolationRecordedForBussgeldstelle",
    "ParkingViolationRecordedForBussgeldstelleLocation",
    "ViolationType",
]


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


class ParkingViolationRecordedForBussgeldstelleLocation(RecordModel):
    lat: float = Field(
        description="ordnungsamt.parking-violation.recorded: location.lat, keep. Breitengrad in Dezimalgrad (WGS84), in Hamm etwa 51.62 bis 51.73.",
    )
    lon: float = Field(
        description="ordnungsamt.parking-violation.recorded: location.lon, keep. Längengrad in Dezimalgrad (WGS84), in Hamm etwa 7.70 bis 7.97.",
    )


class ParkingViolationRecordedForBussgeldstelle(DeliveryModel):
    """ParkingViolationRecorded from ordnungsamt.parking-violation.recorded for bussgeldstelle under agreement bussgeldstelle-parking-violation: Verfolgung von Verkehrsordnungswidrigkeiten"""

    AGREEMENT: ClassVar[str] = "bussgeldstelle-parking-violation"
    SOURCE: ClassVar[str] = "ordnungsamt.parking-violation.recorded"
    TOPIC: ClassVar[str] = "deliver.bussgeldstelle.ordnungsamt.parking-violation.recorded"
    PURPOSE: ClassVar[str] = "Verfolgung von Verkehrsordnungswidrigkeiten"
    LEGAL_BASIS: ClassVar[str] = "§§ 35, 46 OWiG i. V. m. § 24 StVG"
    FINGERPRINT: ClassVar[str] = "fe8cff99494c51d47f586355cdbfd5a5"

    violation_id: str = Field(
        description="ordnungsamt.parking-violation.recorded: violation_id, keep. Aktenzeichen des Verwarnungsgeldverfahrens.",
    )
    occurred_at: dt.datetime = Field(
        description="ordnungsamt.parking-violation.recorded: occurred_at, keep. Zeitpunkt der Feststellung des Verstoßes.",
    )
    licence_plate: str = Field(
        description="ordnungsamt.parking-violation.recorded: licence_plate, keep. Amtliches Kennzeichen, z. B. 'HAM-AB 123'; identifiziert die Halterin/den Halter.",
    )
    violation_type: ViolationType = Field(
        description="ordnungsamt.parking-violation.recorded: violation_type, keep. Art des Verstoßes.",
    )
    location: ParkingViolationRecordedForBussgeldstelleLocation = Field(
        description="ordnungsamt.parking-violation.recorded: location, selected fields. Standort des Fahrzeugs.",
    )
    street: str = Field(
        description="ordnungsamt.parking-violation.recorded: street, keep. Straße des Tatorts, z. B. 'Bahnhofstraße'.",
    )
    postcode: str = Field(
        description="ordnungsamt.parking-violation.recorded: postcode, keep. Postleitzahl des Tatorts, 59063 bis 59077.",
    )
    fine_eur: Int32 = Field(
        description="ordnungsamt.parking-violation.recorded: fine_eur, keep. Verwarnungsgeld in Euro (ganzzahlig), z. B. 55.",
    )
    officer_id: str = Field(
        description="ordnungsamt.parking-violation.recorded: officer_id, mask: 2. Dienstnummer der feststellenden Kraft.",
    )
    obstruction: bool = Field(
        description="ordnungsamt.parking-violation.recorded: obstruction, keep. Mit Behinderung anderer Verkehrsteilnehmender.",
    )
