"""Delivery models of the subscriber statistikstelle, one per agreement: generated from
catalog/agreements/ and schemas/ by ``python -m consumers.subscriber.models.generate``;
do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from consumers.subscriber.models.base import DeliveryModel, RecordModel

__all__ = [
    "ResidenceType",
    "ResidentMovedForStatistikstelle",
    "ResidentMovedForStatistikstelleNewAddress",
    "ResidentMovedForStatistikstelleOldAddress",
]


class ResidentMovedForStatistikstelleOldAddress(RecordModel):
    postcode: str = Field(
        description="buergeramt.resident.moved: old_address.postcode, postcode_prefix: 3. Fünfstellige Postleitzahl (XÖV: postleitzahl); in Hamm 59063 bis 59077.",
    )


class ResidentMovedForStatistikstelleNewAddress(RecordModel):
    postcode: str = Field(
        description="buergeramt.resident.moved: new_address.postcode, postcode_prefix: 3. Fünfstellige Postleitzahl (XÖV: postleitzahl); in Hamm 59063 bis 59077.",
    )


class ResidenceType(StrEnum):
    """Art der Wohnung nach § 21 BMG: Haupt- oder Nebenwohnung."""

    MAIN = "MAIN"
    SECONDARY = "SECONDARY"
    UNKNOWN = "UNKNOWN"


class ResidentMovedForStatistikstelle(DeliveryModel):
    """ResidentMoved from buergeramt.resident.moved for statistikstelle under agreement statistikstelle-resident-moved: Kommunale Wanderungsstatistik nach Altersgruppen und Stadtbezirken"""

    AGREEMENT: ClassVar[str] = "statistikstelle-resident-moved"
    SOURCE: ClassVar[str] = "buergeramt.resident.moved"
    TOPIC: ClassVar[str] = "deliver.statistikstelle.buergeramt.resident.moved"
    PURPOSE: ClassVar[str] = "Kommunale Wanderungsstatistik nach Altersgruppen und Stadtbezirken"
    LEGAL_BASIS: ClassVar[str] = "§ 3 Abs. 1 StatG NRW i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
    FINGERPRINT: ClassVar[str] = "ccc5157a4209c3bdb3148523910edb8f"

    moved_at: dt.datetime = Field(
        description="buergeramt.resident.moved: moved_at, truncate: month. Zeitpunkt des Einzugs in die neue Wohnung.",
    )
    birth_date: str = Field(
        description="buergeramt.resident.moved: birth_date, age_band: [0, 18, 30, 45, 65]. Geburtsdatum der Person (XÖV: geburtsdatum), z. B. für Altersbänder.",
    )
    old_address: ResidentMovedForStatistikstelleOldAddress = Field(
        description="buergeramt.resident.moved: old_address, selected fields. Bisherige Anschrift (XÖV: letzte Wohnung), z. B. PLZ 59063.",
    )
    new_address: ResidentMovedForStatistikstelleNewAddress = Field(
        description="buergeramt.resident.moved: new_address, selected fields. Neue Anschrift (XÖV: Wohnung), z. B. PLZ 59077.",
    )
    residence_type: ResidenceType = Field(
        description="buergeramt.resident.moved: residence_type, keep. Haupt- oder Nebenwohnung der gemeldeten Wohnung.",
    )
