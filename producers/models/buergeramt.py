"""Event models of the department buergeramt: generated from schemas/buergeramt/ by
``python -m producers.models.generate``; do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from producers.models.base import EventModel
from producers.models.types import Address

__all__ = [
    "Address",
    "DeregistrationReason",
    "ResidenceType",
    "ResidentDeregistered",
    "ResidentMoved",
    "ResidentRegistered",
    "Sex",
]


class DeregistrationReason(StrEnum):
    """Grund der Abmeldung."""

    MOVED_AWAY = "MOVED_AWAY"
    MOVED_ABROAD = "MOVED_ABROAD"
    DECEASED = "DECEASED"
    OFFICIAL_CORRECTION = "OFFICIAL_CORRECTION"
    OTHER = "OTHER"


class ResidentDeregistered(EventModel):
    """Eine Person wurde im Melderegister der Stadt Hamm abgemeldet."""

    TOPIC: ClassVar[str] = "buergeramt.resident.deregistered"

    resident_id: str = Field(
        description="Ordnungsmerkmal der Person im Melderegister (Schlüssel der Nachricht).",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt des fachlichen Ereignisses (Ereigniszeit, UTC, Millisekunden).",
    )
    deregistered_on: dt.date = Field(
        description="Datum, zu dem die Wohnung aufgegeben wurde bzw. der Tod eintrat.",
    )
    birth_date: dt.date = Field(
        description="Geburtsdatum (XÖV: geburtsdatum).",
    )
    reason: DeregistrationReason = Field(
        description="Grund der Abmeldung (Wegzug, Ausland, Tod, Berichtigung).",
    )
    last_address: Address = Field(
        description="Letzte Anschrift in Hamm, z. B. PLZ 59069.",
    )
    destination_municipality: str | None = Field(
        default=None,
        description="Zuzugsgemeinde bei Wegzug innerhalb Deutschlands (XÖV: zuzugsgemeinde); null sonst.",
    )
    destination_country: str | None = Field(
        default=None,
        description="Zielstaat bei Wegzug ins Ausland als ISO-3166-1-alpha-2-Code; null sonst.",
    )


class ResidenceType(StrEnum):
    """Art der Wohnung nach § 21 BMG: Haupt- oder Nebenwohnung."""

    MAIN = "MAIN"
    SECONDARY = "SECONDARY"
    UNKNOWN = "UNKNOWN"


class ResidentMoved(EventModel):
    """Eine gemeldete Person ist innerhalb Hamms umgezogen (Ummeldung)."""

    TOPIC: ClassVar[str] = "buergeramt.resident.moved"

    resident_id: str = Field(
        description="Ordnungsmerkmal der Person im Melderegister (Schlüssel der Nachricht).",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt des fachlichen Ereignisses (Ereigniszeit, UTC, Millisekunden).",
    )
    moved_at: dt.datetime = Field(
        description="Zeitpunkt des Einzugs in die neue Wohnung.",
    )
    birth_date: dt.date = Field(
        description="Geburtsdatum der Person (XÖV: geburtsdatum), z. B. für Altersbänder.",
    )
    old_address: Address = Field(
        description="Bisherige Anschrift (XÖV: letzte Wohnung), z. B. PLZ 59063.",
    )
    new_address: Address = Field(
        description="Neue Anschrift (XÖV: Wohnung), z. B. PLZ 59077.",
    )
    residence_type: ResidenceType = Field(
        description="Haupt- oder Nebenwohnung der gemeldeten Wohnung.",
    )
    information_block: bool | None = Field(
        default=None,
        description="Auskunftssperre nach § 51 BMG eingetragen (Gefahr für Leben, Gesundheit oder Freiheit): Empfänger dürfen die Anschrift nicht weitergeben. null: in Ereignissen vor v2 nicht übermittelt.",
    )


class Sex(StrEnum):
    """Geschlecht nach § 3 Abs. 1 Nr. 7 BMG (m, w, d, ohne Angabe)."""

    MALE = "MALE"
    FEMALE = "FEMALE"
    DIVERSE = "DIVERSE"
    UNSPECIFIED = "UNSPECIFIED"


class ResidentRegistered(EventModel):
    """Eine Person wurde im Melderegister der Stadt Hamm angemeldet (Zuzug oder Geburt)."""

    TOPIC: ClassVar[str] = "buergeramt.resident.registered"

    resident_id: str = Field(
        description="Ordnungsmerkmal der Person im Melderegister (Schlüssel der Nachricht).",
    )
    occurred_at: dt.datetime = Field(
        description="Zeitpunkt des fachlichen Ereignisses (Ereigniszeit, UTC, Millisekunden).",
    )
    family_name: str = Field(
        description="Familienname (XÖV: familienname).",
    )
    given_names: str = Field(
        description="Vornamen, durch Leerzeichen getrennt (XÖV: vornamen).",
    )
    birth_date: dt.date = Field(
        description="Geburtsdatum (XÖV: geburtsdatum).",
    )
    sex: Sex = Field(
        description="Geschlecht der Person.",
    )
    nationalities: list[str] = Field(
        description="Staatsangehörigkeiten als ISO-3166-1-alpha-2-Codes, z. B. ['DE'].",
    )
    address: Address = Field(
        description="Anschrift der angemeldeten Wohnung in Hamm, z. B. PLZ 59065.",
    )
    residence_type: ResidenceType = Field(
        description="Haupt- oder Nebenwohnung der gemeldeten Wohnung.",
    )
    moved_in_on: dt.date = Field(
        description="Einzugsdatum in die Wohnung.",
    )
    religious_affiliation: str | None = Field(
        default=None,
        description="Zugehörigkeit zu einer öffentlich-rechtlichen Religionsgesellschaft (für die Kirchensteuer); besondere Kategorie nach Art. 9 DSGVO. null: keine oder nicht angegeben.",
    )
