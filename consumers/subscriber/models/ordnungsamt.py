"""Delivery models of the subscriber ordnungsamt, one per agreement: generated from
catalog/agreements/ and schemas/ by ``python -m consumers.subscriber.models.generate``;
do not edit, regenerate.
"""

import datetime as dt
from typing import ClassVar

from pydantic import Field

from consumers.subscriber.models.base import DeliveryModel, Int32, RecordModel

__all__ = [
    "ResidentMovedForOrdnungsamt",
    "ResidentMovedForOrdnungsamtNewAddress",
]


class ResidentMovedForOrdnungsamtNewAddress(RecordModel):
    postcode: str = Field(
        description="buergeramt.resident.moved: new_address.postcode, keep. Fünfstellige Postleitzahl (XÖV: postleitzahl); in Hamm 59063 bis 59077.",
    )
    city: str = Field(
        description="buergeramt.resident.moved: new_address.city, keep. Wohnort/Gemeinde (XÖV: wohnort), z. B. 'Hamm'.",
    )


class ResidentMovedForOrdnungsamt(DeliveryModel):
    """ResidentMoved from buergeramt.resident.moved for ordnungsamt under agreement ordnungsamt-resident-moved: Zustellung von Bescheiden an die aktuelle Anschrift"""

    AGREEMENT: ClassVar[str] = "ordnungsamt-resident-moved"
    SOURCE: ClassVar[str] = "buergeramt.resident.moved"
    TOPIC: ClassVar[str] = "deliver.ordnungsamt.buergeramt.resident.moved"
    PURPOSE: ClassVar[str] = "Zustellung von Bescheiden an die aktuelle Anschrift"
    LEGAL_BASIS: ClassVar[str] = "§ 34 Abs. 1 BMG"
    FINGERPRINT: ClassVar[str] = "a65226c34c1ae605b96627ba55db8ca9"

    resident_id: str = Field(
        description="buergeramt.resident.moved: resident_id, pseudonymize. Ordnungsmerkmal der Person im Melderegister (Schlüssel der Nachricht).",
    )
    moved_at: dt.datetime = Field(
        description="buergeramt.resident.moved: moved_at, truncate: day. Zeitpunkt des Einzugs in die neue Wohnung.",
    )
    birth_date: Int32 = Field(
        description="buergeramt.resident.moved: birth_date, generalize: year. Geburtsdatum der Person (XÖV: geburtsdatum), z. B. für Altersbänder.",
    )
    new_address: ResidentMovedForOrdnungsamtNewAddress = Field(
        description="buergeramt.resident.moved: new_address, selected fields. Neue Anschrift (XÖV: Wohnung), z. B. PLZ 59077.",
    )
