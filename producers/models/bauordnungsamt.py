"""Event models of the department bauordnungsamt: generated from schemas/bauordnungsamt/ by
``python -m producers.models.generate``; do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from producers.models.base import EventModel, Int32, Int64, RecordModel
from producers.models.types import Address

__all__ = [
    "Address",
    "Applicant",
    "BuildingPermitApplied",
    "BuildingPermitDecided",
    "Decision",
    "Parcel",
    "Procedure",
    "ProjectType",
]


class Applicant(RecordModel):
    """Bauherrin oder Bauherr."""

    family_name: str = Field(
        description="Familienname (XÖV: familienname); bei Firmen leer.",
    )
    given_names: str = Field(
        description="Vornamen (XÖV: vornamen); bei Firmen leer.",
    )
    organisation: str | None = Field(
        default=None,
        description="Firma oder Körperschaft; null bei Privatpersonen.",
    )
    address: Address = Field(
        description="Anschrift der Bauherrschaft.",
    )


class Parcel(RecordModel):
    """Flurstück im Liegenschaftskataster."""

    district: str = Field(
        description="Gemarkung, z. B. 'Hamm' oder 'Rhynern'.",
    )
    cadastral_map: Int32 = Field(
        description="Flur.",
    )
    parcel_number: str = Field(
        description="Flurstück (Zähler/Nenner), z. B. '123/4'.",
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


class BuildingPermitApplied(EventModel):
    """Ein Bauantrag ist bei der unteren Bauaufsicht eingegangen."""

    TOPIC: ClassVar[str] = "bauordnungsamt.building-permit.applied"

    application_id: str = Field(
        description="Aktenzeichen des Bauantrags, z. B. '63-BA-2026-0815'.",
    )
    occurred_at: dt.datetime = Field(
        description="Eingang des vollständigen Antrags.",
    )
    applicant: Applicant = Field(
        description="Bauherrschaft.",
    )
    site_address: Address = Field(
        description="Anschrift des Baugrundstücks, z. B. PLZ 59071.",
    )
    parcel: Parcel = Field(
        description="Betroffenes Flurstück; über das Grundbuch einer Eigentümerin/einem Eigentümer zuordenbar.",
    )
    project_type: ProjectType = Field(
        description="Art des Vorhabens.",
    )
    procedure: Procedure = Field(
        description="Verfahrensart.",
    )
    estimated_construction_cost_eur: Int64 = Field(
        description="Rohbausumme/Baukosten in Euro (für Gebührenklassen).",
    )
    gross_floor_area_m2: float | None = Field(
        default=None,
        description="Brutto-Grundfläche in m²; null wenn nicht angegeben.",
    )


class Decision(StrEnum):
    """Ergebnis."""

    APPROVED = "APPROVED"
    APPROVED_WITH_CONDITIONS = "APPROVED_WITH_CONDITIONS"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    OTHER = "OTHER"


class BuildingPermitDecided(EventModel):
    """Über einen Bauantrag wurde entschieden."""

    TOPIC: ClassVar[str] = "bauordnungsamt.building-permit.decided"

    application_id: str = Field(
        description="Aktenzeichen des Bauantrags, z. B. '63-BA-2026-0815'.",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt der Entscheidung (Bescheiddatum).",
    )
    applied_at: dt.datetime | None = Field(
        default=None,
        description="Eingang des vollständigen Antrags (wie occurred_at von building-permit.applied); null in Meldungen von Fachverfahren, die ihn nicht mitliefern. Ab v2.",
    )
    decision: Decision = Field(
        description="Ergebnis des Verfahrens.",
    )
    site_postcode: str = Field(
        description="Postleitzahl des Baugrundstücks, 59063 bis 59077.",
    )
    processing_days: Int32 = Field(
        description="Bearbeitungsdauer vom vollständigen Antrag bis zum Bescheid in Tagen.",
    )
    conditions_count: Int32 = Field(
        description="Anzahl der Nebenbestimmungen (Auflagen, Bedingungen).",
    )
    fee_eur: float | None = Field(
        default=None,
        description="Festgesetzte Gebühr in Euro; null wenn gebührenfrei.",
    )
