"""Delivery models of the subscriber jugendhilfeplanung, one per agreement: generated from
catalog/agreements/ and schemas/ by ``python -m consumers.subscriber.models.generate``;
do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from consumers.subscriber.models.base import DeliveryModel, Int32, RecordModel

__all__ = [
    "CareType",
    "DaycarePlaceRequestedForJugendhilfeplanung",
    "DaycarePlaceRequestedForJugendhilfeplanungChild",
    "DaycarePlaceRequestedForJugendhilfeplanungChildCareNeeds",
    "DaycarePlaceRequestedForJugendhilfeplanungGuardian",
    "DaycarePlaceRequestedForJugendhilfeplanungGuardianAddress",
]


class DaycarePlaceRequestedForJugendhilfeplanungChildCareNeeds(RecordModel):
    integration_assistance: bool = Field(
        description="jugendamt.daycare-place.requested: child.care_needs.integration_assistance, keep. Eingliederungshilfe/inklusive Betreuung (§ 35a SGB VIII, § 99 SGB IX) beantragt.",
    )


class DaycarePlaceRequestedForJugendhilfeplanungChild(RecordModel):
    birth_date: str = Field(
        description="jugendamt.daycare-place.requested: child.birth_date, age_band: [0, 1, 2, 3, 6]. Geburtsdatum des Kindes (XÖV: geburtsdatum).",
    )
    care_needs: DaycarePlaceRequestedForJugendhilfeplanungChildCareNeeds = Field(
        description="jugendamt.daycare-place.requested: child.care_needs, selected fields. Besondere Bedarfe (Gesundheit, Behinderung).",
    )


class DaycarePlaceRequestedForJugendhilfeplanungGuardianAddress(RecordModel):
    postcode: str = Field(
        description="jugendamt.daycare-place.requested: guardian.address.postcode, postcode_prefix: 4. Fünfstellige Postleitzahl (XÖV: postleitzahl); in Hamm 59063 bis 59077.",
    )


class DaycarePlaceRequestedForJugendhilfeplanungGuardian(RecordModel):
    address: DaycarePlaceRequestedForJugendhilfeplanungGuardianAddress = Field(
        description="jugendamt.daycare-place.requested: guardian.address, selected fields. Wohnanschrift der Familie, z. B. PLZ 59075.",
    )


class CareType(StrEnum):
    """Kita oder Kindertagespflege."""

    DAYCARE_CENTRE = "DAYCARE_CENTRE"
    CHILDMINDER = "CHILDMINDER"
    EITHER = "EITHER"
    OTHER = "OTHER"


class DaycarePlaceRequestedForJugendhilfeplanung(DeliveryModel):
    """DaycarePlaceRequested from jugendamt.daycare-place.requested for jugendhilfeplanung under agreement jugendhilfeplanung-daycare-requested: Jugendhilfeplanung (Kita-Bedarfsplanung) nach § 80 SGB VIII"""

    AGREEMENT: ClassVar[str] = "jugendhilfeplanung-daycare-requested"
    SOURCE: ClassVar[str] = "jugendamt.daycare-place.requested"
    TOPIC: ClassVar[str] = "deliver.jugendhilfeplanung.jugendamt.daycare-place.requested"
    PURPOSE: ClassVar[str] = "Jugendhilfeplanung (Kita-Bedarfsplanung) nach § 80 SGB VIII"
    LEGAL_BASIS: ClassVar[str] = "§ 80 SGB VIII i. V. m. § 64 Abs. 2 SGB VIII"
    FINGERPRINT: ClassVar[str] = "bace71c00c8505acc5572c6cb1930209"

    request_id: str = Field(
        description="jugendamt.daycare-place.requested: request_id, mask: 4. Nummer der Bedarfsanmeldung.",
    )
    child: DaycarePlaceRequestedForJugendhilfeplanungChild = Field(
        description="jugendamt.daycare-place.requested: child, selected fields. Angaben zum Kind.",
    )
    guardian: DaycarePlaceRequestedForJugendhilfeplanungGuardian = Field(
        description="jugendamt.daycare-place.requested: guardian, selected fields. Antragstellende erziehungsberechtigte Person.",
    )
    desired_start: dt.date = Field(
        description="jugendamt.daycare-place.requested: desired_start, date_shift: 14. Gewünschter Betreuungsbeginn.",
    )
    weekly_hours: Int32 = Field(
        description="jugendamt.daycare-place.requested: weekly_hours, keep. Gewünschter Betreuungsumfang in Wochenstunden (25, 35 oder 45 nach KiBiz).",
    )
    care_type: CareType = Field(
        description="jugendamt.daycare-place.requested: care_type, keep. Gewünschte Betreuungsform.",
    )
