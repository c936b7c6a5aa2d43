"""Delivery models of the subscriber umweltamt, one per agreement: generated from
catalog/agreements/ and schemas/ by ``python -m consumers.subscriber.models.generate``;
do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from consumers.subscriber.models.base import DeliveryModel

__all__ = [
    "NoiseComplaintFiledForUmweltamt",
    "NoiseSource",
    "ReportChannel",
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


class NoiseComplaintFiledForUmweltamt(DeliveryModel):
    """NoiseComplaintFiled from ordnungsamt.noise-complaint.filed for umweltamt under agreement umweltamt-noise-complaint: Lärmaktionsplanung nach § 47d BImSchG"""

    AGREEMENT: ClassVar[str] = "umweltamt-noise-complaint"
    SOURCE: ClassVar[str] = "ordnungsamt.noise-complaint.filed"
    TOPIC: ClassVar[str] = "deliver.umweltamt.ordnungsamt.noise-complaint.filed"
    PURPOSE: ClassVar[str] = "Lärmaktionsplanung nach § 47d BImSchG"
    LEGAL_BASIS: ClassVar[str] = "§ 47d BImSchG i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
    FINGERPRINT: ClassVar[str] = "04c0b5ec737f2fd7a1dd1337f4821eaf"

    complaint_id: str = Field(
        description="ordnungsamt.noise-complaint.filed: complaint_id, pseudonymize. Aktenzeichen der Beschwerde, z. B. 'OA-L-2026-00421'.",
    )
    noise_observed_at: dt.datetime = Field(
        description="ordnungsamt.noise-complaint.filed: noise_observed_at, truncate: hour. Beginn der beanstandeten Lärmbelästigung.",
    )
    location: str = Field(
        description="ordnungsamt.noise-complaint.filed: location, h3: 9. Ort der Lärmquelle.",
    )
    noise_source: NoiseSource = Field(
        description="ordnungsamt.noise-complaint.filed: noise_source, keep. Art der Lärmquelle.",
    )
    channel: ReportChannel = Field(
        description="ordnungsamt.noise-complaint.filed: channel, keep. Eingangskanal der Beschwerde.",
    )
    night_time: bool = Field(
        description="ordnungsamt.noise-complaint.filed: night_time, keep. Lärm in der Nachtruhe (22 bis 6 Uhr, § 9 LImSchG NRW).",
    )
    complainant_name: str | None = Field(
        default=None,
        description="ordnungsamt.noise-complaint.filed: complainant_name, redact: (geschwärzt). Name der beschwerdeführenden Person; null bei anonymer Beschwerde.",
    )
