"""Delivery models of the subscriber stadtplanung, one per agreement: generated from
catalog/agreements/ and schemas/ by ``python -m consumers.subscriber.models.generate``;
do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from consumers.subscriber.models.base import DeliveryModel, RecordModel

__all__ = [
    "BuildingPermitAppliedForStadtplanung",
    "BuildingPermitAppliedForStadtplanungParcel",
    "BuildingPermitAppliedForStadtplanungSiteAddress",
    "Procedure",
    "ProjectType",
]


class BuildingPermitAppliedForStadtplanungSiteAddress(RecordModel):
    postcode: str = Field(
        description="bauordnungsamt.building-permit.applied: site_address.postcode, keep. Fünfstellige Postleitzahl (XÖV: postleitzahl); in Hamm 59063 bis 59077.",
    )


class BuildingPermitAppliedForStadtplanungParcel(RecordModel):
    district: str = Field(
        description="bauordnungsamt.building-permit.applied: parcel.district, keep. Gemarkung, z. B. 'Hamm' oder 'Rhynern'.",
    )


class ProjectType(StrEnum):
    """Art des Vorhabens."""

    NEW_BUILDING = "NEW_BUILDING"
    EXTENSION = "EXTENSION"
    CONVERSION = "CONVERSION"
    CHANGE_OF_USE = "CHANGE_OF_USE"
    DEMOLITION = "DEMOLITION"
    OTHER = "OTHER"


class Procedure(StrEnum):
    """Verfahrensart nach BauO NRW (§ 64 vereinfacht, § 65 regulär)."""

    SIMPLIFIED = "SIMPLIFIED"
    STANDARD = "STANDARD"
    OTHER = "OTHER"


class BuildingPermitAppliedForStadtplanung(DeliveryModel):
    """BuildingPermitApplied from bauordnungsamt.building-permit.applied for stadtplanung under agreement stadtplanung-building-permit: Beobachtung der Bautätigkeit für die Bauleitplanung"""

    AGREEMENT: ClassVar[str] = "stadtplanung-building-permit"
    SOURCE: ClassVar[str] = "bauordnungsamt.building-permit.applied"
    TOPIC: ClassVar[str] = "deliver.stadtplanung.bauordnungsamt.building-permit.applied"
    PURPOSE: ClassVar[str] = "Beobachtung der Bautätigkeit für die Bauleitplanung"
    LEGAL_BASIS: ClassVar[str] = "§ 1 Abs. 3 BauGB i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
    FINGERPRINT: ClassVar[str] = "c22ff5225f1b070ff619ee4ef0099bfb"

    application_id: str = Field(
        description="bauordnungsamt.building-permit.applied: application_id, pseudonymize. Aktenzeichen des Bauantrags, z. B. '63-BA-2026-0815'.",
    )
    occurred_at: dt.datetime = Field(
        description="bauordnungsamt.building-permit.applied: occurred_at, truncate: month. Eingang des vollständigen Antrags.",
    )
    site_address: BuildingPermitAppliedForStadtplanungSiteAddress = Field(
        description="bauordnungsamt.building-permit.applied: site_address, selected fields. Anschrift des Baugrundstücks, z. B. PLZ 59071.",
    )
    parcel: BuildingPermitAppliedForStadtplanungParcel = Field(
        description="bauordnungsamt.building-permit.applied: parcel, selected fields. Betroffenes Flurstück; über das Grundbuch einer Eigentümerin/einem Eigentümer zuordenbar.",
    )
    project_type: ProjectType = Field(
        description="bauordnungsamt.building-permit.applied: project_type, keep. Art des Vorhabens.",
    )
    procedure: Procedure = Field(
        description="bauordnungsamt.building-permit.applied: procedure, keep. Verfahrensart.",
    )
    estimated_construction_cost_eur: str = Field(
        description="bauordnungsamt.building-permit.applied: estimated_construction_cost_eur, bucket: [0, 100000, 500000, 1000000, 5000000]. Rohbausumme/Baukosten in Euro (für Gebührenklassen).",
    )
    gross_floor_area_m2: str | None = Field(
        default=None,
        description="bauordnungsamt.building-permit.applied: gross_floor_area_m2, bucket: 50. Brutto-Grundfläche in m²; null wenn nicht angegeben.",
    )
