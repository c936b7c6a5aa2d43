"""Delivery models of the subscriber ki-featurestore, one per agreement: generated from
catalog/agreements/ and schemas/ by ``python -m consumers.subscriber.models.generate``;
do not edit, regenerate.
"""

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from consumers.subscriber.models.base import DeliveryModel, RecordModel

__all__ = [
    "AirQualityMeasuredForKiFeaturestore",
    "LaneClosure",
    "NoiseComplaintFiledForKiFeaturestore",
    "NoiseSource",
    "ResidenceType",
    "ResidentMovedForKiFeaturestore",
    "ResidentMovedForKiFeaturestoreNewAddress",
    "ResidentMovedForKiFeaturestoreOldAddress",
    "RoadworksStartedForKiFeaturestore",
    "WorksType",
]


class AirQualityMeasuredForKiFeaturestore(DeliveryModel):
    """AirQualityMeasured from umweltamt.air-quality.measured for ki-featurestore under agreement ki-featurestore-air-quality: Luftreinhalteplanung: stündliche Mittelwerte von PM10, PM2,5 und NO2 je Messstation als Merkmale für Prognosemodelle im KI-Merkmalsspeicher"""

    AGREEMENT: ClassVar[str] = "ki-featurestore-air-quality"
    SOURCE: ClassVar[str] = "umweltamt.air-quality.measured"
    TOPIC: ClassVar[str] = "deliver.ki-featurestore.umweltamt.air-quality.measured"
    PURPOSE: ClassVar[str] = (
        "Luftreinhalteplanung: stündliche Mittelwerte von PM10, PM2,5 und NO2 je Messstation als Merkmale für Prognosemodelle im KI-Merkmalsspeicher"
    )
    LEGAL_BASIS: ClassVar[str] = "§ 3 DSG NRW i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
    FINGERPRINT: ClassVar[str] = "38e079372663f1b72319a4b8daf7fe0b"

    station_id: str = Field(
        description="umweltamt.air-quality.measured: station_id, keep. Kennung der Messstation, z. B. 'HAM-VK-01'.",
    )
    occurred_at: dt.datetime = Field(
        description="umweltamt.air-quality.measured: occurred_at, keep. Ende des Mittelungszeitraums.",
    )
    pm10_ug_m3: float | None = Field(
        default=None,
        description="umweltamt.air-quality.measured: pm10_ug_m3, keep. Feinstaub PM10 in µg/m³ (Grenzwert Tagesmittel 50); null bei Ausfall.",
    )
    pm25_ug_m3: float | None = Field(
        default=None,
        description="umweltamt.air-quality.measured: pm25_ug_m3, keep. Feinstaub PM2,5 in µg/m³; null bei Ausfall.",
    )
    no2_ug_m3: float | None = Field(
        default=None,
        description="umweltamt.air-quality.measured: no2_ug_m3, keep. Stickstoffdioxid in µg/m³; null bei Ausfall.",
    )


class NoiseSource(StrEnum):
    """Art der Lärmquelle."""

    NEIGHBOURHOOD = "NEIGHBOURHOOD"
    CONSTRUCTION = "CONSTRUCTION"
    TRAFFIC = "TRAFFIC"
    EVENT = "EVENT"
    COMMERCIAL = "COMMERCIAL"
    ANIMAL = "ANIMAL"
    OTHER = "OTHER"


class NoiseComplaintFiledForKiFeaturestore(DeliveryModel):
    """NoiseComplaintFiled from ordnungsamt.noise-complaint.filed for ki-featurestore under agreement ki-featurestore-noise-complaints: Planung der Einsätze des Kommunalen Ordnungsdienstes: anonyme stündliche Kennzahlen zu Lärmbeschwerden je Postleitzahlbezirk (nur Aggregate mit mindestens 5 Beschwerdeführenden) für Prognosemodelle im KI-Merkmalsspeicher"""

    AGREEMENT: ClassVar[str] = "ki-featurestore-noise-complaints"
    SOURCE: ClassVar[str] = "ordnungsamt.noise-complaint.filed"
    TOPIC: ClassVar[str] = "deliver.ki-featurestore.ordnungsamt.noise-complaint.filed"
    PURPOSE: ClassVar[str] = (
        "Planung der Einsätze des Kommunalen Ordnungsdienstes: anonyme stündliche Kennzahlen zu Lärmbeschwerden je Postleitzahlbezirk (nur Aggregate mit mindestens 5 Beschwerdeführenden) für Prognosemodelle im KI-Merkmalsspeicher"
    )
    LEGAL_BASIS: ClassVar[str] = "§ 3 DSG NRW i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
    FINGERPRINT: ClassVar[str] = "a0b7ec697fb8976724ab9417cd7b04c1"

    occurred_at: dt.datetime = Field(
        description="ordnungsamt.noise-complaint.filed: occurred_at, truncate: hour. Eingang der Beschwerde (Ereigniszeit, UTC, Millisekunden).",
    )
    postcode: str = Field(
        description="ordnungsamt.noise-complaint.filed: postcode, keep. Postleitzahl des Orts der Lärmquelle, 59063 bis 59077.",
    )
    noise_source: NoiseSource = Field(
        description="ordnungsamt.noise-complaint.filed: noise_source, keep. Art der Lärmquelle.",
    )
    night_time: bool = Field(
        description="ordnungsamt.noise-complaint.filed: night_time, keep. Lärm in der Nachtruhe (22 bis 6 Uhr, § 9 LImSchG NRW).",
    )
    complainant_name: str | None = Field(
        default=None,
        description="ordnungsamt.noise-complaint.filed: complainant_name, pseudonymize. Name der beschwerdeführenden Person; null bei anonymer Beschwerde.",
    )


class ResidentMovedForKiFeaturestoreOldAddress(RecordModel):
    postcode: str = Field(
        description="buergeramt.resident.moved: old_address.postcode, keep. Fünfstellige Postleitzahl (XÖV: postleitzahl); in Hamm 59063 bis 59077.",
    )


class ResidentMovedForKiFeaturestoreNewAddress(RecordModel):
    postcode: str = Field(
        description="buergeramt.resident.moved: new_address.postcode, keep. Fünfstellige Postleitzahl (XÖV: postleitzahl); in Hamm 59063 bis 59077.",
    )


class ResidenceType(StrEnum):
    """Art der Wohnung nach § 21 BMG: Haupt- oder Nebenwohnung."""

    MAIN = "MAIN"
    SECONDARY = "SECONDARY"
    UNKNOWN = "UNKNOWN"


class ResidentMovedForKiFeaturestore(DeliveryModel):
    """ResidentMoved from buergeramt.resident.moved for ki-featurestore under agreement ki-featurestore-resident-moved: Stadtentwicklungs- und Kita-Bedarfsplanung: anonyme tägliche Zu- und Fortzüge je Postleitzahlbezirk (nur Aggregate mit mindestens 5 Personen) als Merkmale für Prognosemodelle im KI-Merkmalsspeicher"""

    AGREEMENT: ClassVar[str] = "ki-featurestore-resident-moved"
    SOURCE: ClassVar[str] = "buergeramt.resident.moved"
    TOPIC: ClassVar[str] = "deliver.ki-featurestore.buergeramt.resident.moved"
    PURPOSE: ClassVar[str] = (
        "Stadtentwicklungs- und Kita-Bedarfsplanung: anonyme tägliche Zu- und Fortzüge je Postleitzahlbezirk (nur Aggregate mit mindestens 5 Personen) als Merkmale für Prognosemodelle im KI-Merkmalsspeicher"
    )
    LEGAL_BASIS: ClassVar[str] = "§ 3 DSG NRW i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
    FINGERPRINT: ClassVar[str] = "94eaa083f9daca040191037f4c6a761e"

    occurred_at: dt.datetime = Field(
        description="buergeramt.resident.moved: occurred_at, keep. Zeitpunkt des fachlichen Ereignisses (Ereigniszeit, UTC, Millisekunden).",
    )
    old_address: ResidentMovedForKiFeaturestoreOldAddress = Field(
        description="buergeramt.resident.moved: old_address, selected fields. Bisherige Anschrift (XÖV: letzte Wohnung), z. B. PLZ 59063.",
    )
    new_address: ResidentMovedForKiFeaturestoreNewAddress = Field(
        description="buergeramt.resident.moved: new_address, selected fields. Neue Anschrift (XÖV: Wohnung), z. B. PLZ 59077.",
    )
    residence_type: ResidenceType = Field(
        description="buergeramt.resident.moved: residence_type, keep. Haupt- oder Nebenwohnung der gemeldeten Wohnung.",
    )


class LaneClosure(StrEnum):
    """Umfang der Sperrung."""

    NONE = "NONE"
    PARTIAL = "PARTIAL"
    FULL = "FULL"
    UNKNOWN = "UNKNOWN"


class WorksType(StrEnum):
    """Art der Arbeiten."""

    SURFACE_RENEWAL = "SURFACE_RENEWAL"
    SEWER = "SEWER"
    UTILITY_LINES = "UTILITY_LINES"
    BRIDGE = "BRIDGE"
    CYCLE_PATH = "CYCLE_PATH"
    OTHER = "OTHER"


class RoadworksStartedForKiFeaturestore(DeliveryModel):
    """RoadworksStarted from tiefbauamt.roadworks.started for ki-featurestore under agreement ki-featurestore-roadworks-started: Verkehrs- und Einsatzplanung: Zahl und Art der laufenden Baustellen je H3-Zelle als Merkmale für Prognosemodelle im KI-Merkmalsspeicher"""

    AGREEMENT: ClassVar[str] = "ki-featurestore-roadworks-started"
    SOURCE: ClassVar[str] = "tiefbauamt.roadworks.started"
    TOPIC: ClassVar[str] = "deliver.ki-featurestore.tiefbauamt.roadworks.started"
    PURPOSE: ClassVar[str] = (
        "Verkehrs- und Einsatzplanung: Zahl und Art der laufenden Baustellen je H3-Zelle als Merkmale für Prognosemodelle im KI-Merkmalsspeicher"
    )
    LEGAL_BASIS: ClassVar[str] = "§ 3 DSG NRW i. V. m. Art. 6 Abs. 1 lit. e DSGVO"
    FINGERPRINT: ClassVar[str] = "5168b5aae9bfd7839fb89105c70edc49"

    roadworks_id: str = Field(
        description="tiefbauamt.roadworks.started: roadworks_id, keep. Nummer der verkehrsrechtlichen Anordnung, z. B. 'TBA-2026-0173'.",
    )
    occurred_at: dt.datetime = Field(
        description="tiefbauamt.roadworks.started: occurred_at, keep. Zeitpunkt der Einrichtung der Baustelle.",
    )
    location: str = Field(
        description="tiefbauamt.roadworks.started: location, h3: 8. Mittelpunkt der Baustelle.",
    )
    planned_end: dt.date = Field(
        description="tiefbauamt.roadworks.started: planned_end, keep. Geplantes Ende der Arbeiten.",
    )
    lane_closure: LaneClosure = Field(
        description="tiefbauamt.roadworks.started: lane_closure, keep. Umfang der Fahrbahnsperrung.",
    )
    works_type: WorksType = Field(
        description="tiefbauamt.roadworks.started: works_type, keep. Art der Arbeiten.",
    )
