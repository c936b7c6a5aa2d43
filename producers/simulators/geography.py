"""Hamm for the simulators: the seven districts (Stadtbezirke) with real streets, postcodes and
rough centres, and the six air-quality stations. Pure data plus small seeded helpers.

Coordinates stay inside the city (lat 51.62–51.72, lon 7.70–7.95); postcodes are Hamm's
59063–59077, each district with the ones that actually cover it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LAT_RANGE = (51.62, 51.72)
LON_RANGE = (7.70, 7.95)
CITY = "Hamm"


@dataclass(frozen=True)
class District:
    name: str
    centre: tuple[float, float]  # lat, lon
    postcodes: tuple[str, ...]
    streets: tuple[str, ...]
    spread: float = 0.012  # degrees: how far points scatter around the centre


DISTRICTS: tuple[District, ...] = (
    District(
        "Hamm-Mitte",
        (51.6806, 7.8150),
        ("59065", "59063", "59067"),
        (
            "Weststraße",
            "Oststraße",
            "Nordstraße",
            "Südstraße",
            "Bahnhofstraße",
            "Ostenallee",
            "Marker Allee",
            "Widumstraße",
            "Martin-Luther-Straße",
            "Werler Straße",
            "Heßlerstraße",
            "Sternstraße",
            "Nordenwall",
            "Südring",
            "Chemnitzer Straße",
        ),
    ),
    District(
        "Uentrop",
        (51.6640, 7.9000),
        ("59071",),
        (
            "Soester Straße",
            "Alter Uentroper Weg",
            "Uentroper Dorfstraße",
            "Lippestraße",
            "Braamer Straße",
            "Ostwennemarstraße",
            "Norddinkerstraße",
            "Kötterweg",
        ),
        spread=0.016,
    ),
    District(
        "Rhynern",
        (51.6300, 7.8560),
        ("59069",),
        (
            "Unnaer Straße",
            "Reginenstraße",
            "Osttünner Weg",
            "Werler Straße",
            "Berliner Straße",
            "Kirchstraße",
            "Hammer Straße",
            "Im Rhynerberg",
        ),
        spread=0.009,
    ),
    District(
        "Pelkum",
        (51.6450, 7.7480),
        ("59077",),
        (
            "Kamener Straße",
            "Pelkumer Straße",
            "Wiescherhöfener Straße",
            "Selmigerheide",
            "Gebrüder-Grimm-Straße",
            "Rathenaustraße",
            "Lohauserholzstraße",
        ),
        spread=0.01,
    ),
    District(
        "Herringen",
        (51.6620, 7.7330),
        ("59077",),
        (
            "Dortmunder Straße",
            "Fangstraße",
            "Herringer Weg",
            "Zechenweg",
            "Am Schacht Franz",
            "Ulmenallee",
            "Waldenburger Straße",
        ),
        spread=0.01,
    ),
    District(
        "Bockum-Hövel",
        (51.6960, 7.7470),
        ("59075",),
        (
            "Hammer Straße",
            "Bockumer Weg",
            "Römerstraße",
            "Kirchstraße",
            "Hohenhöveler Straße",
            "Am Kurpark",
            "Horster Straße",
            "Ermelinghofstraße",
        ),
        spread=0.011,
    ),
    District(
        "Heessen",
        (51.7060, 7.8320),
        ("59073",),
        (
            "Heessener Straße",
            "Ahlener Straße",
            "Münsterstraße",
            "Amtsstraße",
            "Sachsenweg",
            "Dasbecker Weg",
            "Frielicker Weg",
            "Schloss-Heessen-Allee",
        ),
        spread=0.011,
    ),
)

DISTRICT_BY_NAME = {district.name: district for district in DISTRICTS}
# Hamm-Mitte is denser: it gets more of everything that happens where people are.
DISTRICT_WEIGHTS = (30, 13, 10, 12, 12, 14, 12)


@dataclass(frozen=True)
class Station:
    """An air-quality measuring station of the environment office."""

    station_id: str
    name: str
    location: tuple[float, float]
    traffic: float  # 0 background … 1 busy road: scales NO2 and PM


STATIONS: tuple[Station, ...] = (
    Station("HAM-MI-01", "Hamm-Mitte Ostenallee", (51.6830, 7.8290), 0.5),
    Station("HAM-WE-02", "Hamm-Westen Dortmunder Straße", (51.6700, 7.7900), 0.9),
    Station("HAM-HE-03", "Heessen Ahlener Straße", (51.7080, 7.8420), 0.6),
    Station("HAM-BH-04", "Bockum-Hövel Hammer Straße", (51.6950, 7.7520), 0.6),
    Station("HAM-UE-05", "Uentrop Lippeauen", (51.6720, 7.9150), 0.1),
    Station("HAM-RH-06", "Rhynern A1/A2-Kreuz", (51.6280, 7.8650), 0.8),
)


def district(rng: random.Random) -> District:
    """A district, weighted by how much happens there."""
    return rng.choices(DISTRICTS, weights=DISTRICT_WEIGHTS)[0]


def point(rng: random.Random, where: District) -> tuple[float, float]:
    """A point scattered around the district's centre, always inside the city's box."""
    lat = rng.gauss(where.centre[0], where.spread)
    lon = rng.gauss(where.centre[1], where.spread * 1.6)
    return (
        round(min(max(lat, LAT_RANGE[0] + 0.001), LAT_RANGE[1] - 0.001), 6),
        round(min(max(lon, LON_RANGE[0] + 0.001), LON_RANGE[1] - 0.001), 6),
    )


def street(rng: random.Random, where: District) -> str:
    return rng.choice(where.streets)


def house_number(rng: random.Random) -> str:
    number = str(int(rng.paretovariate(1.2) * 3) % 180 + 1)
    return number + rng.choice("abc") if rng.random() < 0.08 else number


def postcode(rng: random.Random, where: District) -> str:
    return rng.choice(where.postcodes)


def address(rng: random.Random, where: District | None = None) -> dict[str, str]:
    """An address in Hamm as the schemas' ``Address`` record."""
    where = where or district(rng)
    return {
        "street": street(rng, where),
        "house_number": house_number(rng),
        "postcode": postcode(rng, where),
        "city": CITY,
    }


def geo(rng: random.Random, where: District) -> dict[str, float]:
    """The schemas' ``GeoPoint`` record."""
    lat, lon = point(rng, where)
    return {"lat": lat, "lon": lon}
