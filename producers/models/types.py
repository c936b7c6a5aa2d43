"""Shared types of the event models: generated from schemas/_types/ by
``python -m producers.models.generate``; do not edit, regenerate. The department
modules import (and re-export) the ones their schemas use.
"""

from pydantic import Field

from producers.models.base import RecordModel

__all__ = [
    "Address",
    "GeoPoint",
    "InfrastructureGeoPoint",
]


class Address(RecordModel):
    """Anschrift nach XÖV-Datentyp Anschrift (strasse, hausnummer, postleitzahl, wohnort)."""

    street: str = Field(
        description="Straßenname (XÖV: strasse), z. B. 'Weststraße'.",
    )
    house_number: str = Field(
        description="Hausnummer mit Zusatz (XÖV: hausnummer), z. B. '12a'.",
    )
    postcode: str = Field(
        description="Fünfstellige Postleitzahl (XÖV: postleitzahl); in Hamm 59063 bis 59077.",
    )
    city: str = Field(
        description="Wohnort/Gemeinde (XÖV: wohnort), z. B. 'Hamm'.",
    )


class GeoPoint(RecordModel):
    """WGS84-Koordinate eines Orts, der auf eine Person verweisen kann (Wohnung, Fahrzeug, Einsatz- oder Beschwerdeort): Breite und Länge sind Quasi-Identifikatoren. Für Standorte ohne Personenbezug gibt es de.hamm.types.infrastructure.GeoPoint."""

    lat: float = Field(
        description="Breitengrad in Dezimalgrad (WGS84), in Hamm etwa 51.62 bis 51.73.",
    )
    lon: float = Field(
        description="Längengrad in Dezimalgrad (WGS84), in Hamm etwa 7.70 bis 7.97.",
    )


class InfrastructureGeoPoint(RecordModel):
    """WGS84-Koordinate einer Anlage oder Stelle der öffentlichen Infrastruktur (Hydrant, Baustelle, Straßenschaden, Messstation, Stadtbaum): ohne Personenbezug. Für Orte, die auf eine Person verweisen können, gibt es de.hamm.types.GeoPoint."""

    lat: float = Field(
        description="Breitengrad in Dezimalgrad (WGS84), in Hamm etwa 51.62 bis 51.73.",
    )
    lon: float = Field(
        description="Längengrad in Dezimalgrad (WGS84), in Hamm etwa 7.70 bis 7.97.",
    )
