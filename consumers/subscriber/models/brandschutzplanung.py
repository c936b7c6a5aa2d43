"""Delivery models of the subscriber brandschutzplanung, one per agreement: generated from
catalog/agreements/ and schemas/ by ``python -m consumers.subscriber.models.generate``;
do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from consumers.subscriber.models.base import DeliveryModel, Int32

__all__ = [
    "IncidentClosedForBrandschutzplanung",
    "IncidentType",
]


class IncidentType(StrEnum):
    """Einsatzart."""

    FIRE = "FIRE"
    TECHNICAL_RESCUE = "TECHNICAL_RESCUE"
    HAZMAT = "HAZMAT"
    ANIMAL_RESCUE = "ANIMAL_RESCUE"
    FALSE_ALARM = "FALSE_ALARM"
    OTHER = "OTHER"


class IncidentClosedForBrandschutzplanung(DeliveryModel):
    """IncidentClosed from feuerwehr.incident.closed for brandschutzplanung under agreement brandschutz-incident-closed: Fortschreibung des Brandschutzbedarfsplans"""

    AGREEMENT: ClassVar[str] = "brandschutz-incident-closed"
    SOURCE: ClassVar[str] = "feuerwehr.incident.closed"
    TOPIC: ClassVar[str] = "deliver.brandschutzplanung.feuerwehr.incident.closed"
    PURPOSE: ClassVar[str] = "Fortschreibung des Brandschutzbedarfsplans"
    LEGAL_BASIS: ClassVar[str] = "§ 3 Abs. 3 BHKG NRW i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
    FINGERPRINT: ClassVar[str] = "bc41183f71d93ccf182fe70659cc76cf"

    incident_id: str = Field(
        description="feuerwehr.incident.closed: incident_id, keep. Einsatznummer der Leitstelle.",
    )
    alarmed_at: dt.datetime = Field(
        description="feuerwehr.incident.closed: alarmed_at, truncate: hour. Zeitpunkt der Alarmierung.",
    )
    incident_type: IncidentType = Field(
        description="feuerwehr.incident.closed: incident_type, keep. Einsatzart.",
    )
    location: str = Field(
        description="feuerwehr.incident.closed: location, h3: 8. Einsatzort; oft eine Wohnung.",
    )
    vehicles_deployed: Int32 = Field(
        description="feuerwehr.incident.closed: vehicles_deployed, keep. Anzahl eingesetzter Fahrzeuge.",
    )
    personnel_deployed: Int32 = Field(
        description="feuerwehr.incident.closed: personnel_deployed, keep. Anzahl eingesetzter Kräfte.",
    )
    persons_injured: str = Field(
        description="feuerwehr.incident.closed: persons_injured, bucket: [0, 1, 3, 10]. Anzahl verletzter Personen.",
    )
    estimated_damage_eur: str | None = Field(
        default=None,
        description="feuerwehr.incident.closed: estimated_damage_eur, bucket: 10000. Geschätzter Sachschaden in Euro; null wenn unbekannt.",
    )
