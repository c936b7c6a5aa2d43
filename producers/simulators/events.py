"""One pure generator per event type: ``generate(topic, rng, at) -> (key, record)``.

Everything random comes from ``rng`` (faker ``de_DE`` draws from it too), so a seed and a clock
give the same events every time. Values are plausible for Hamm: real districts and streets,
PM10/NO2 levels that follow traffic and the hour, building costs by project type, daycare ages
under six, night-time noise from neighbours and parties, daytime noise from building sites,
roadworks clustered on a few streets, moves mostly between districts. Entity ids come from
small id spaces so later events (decided, finished, allocated) hit earlier ones.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker

from producers.simulators import geography as geo
from producers.simulators.geography import District

LOCAL = ZoneInfo("Europe/Berlin")
REFERENCE_TIME = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
"""The clock when none is given, so ``generate(topic, Random(seed))`` alone is reproducible."""

_FAKER = Faker("de_DE")


@dataclass(frozen=True)
class Draw:
    """What a generator draws from: the seeded rng, faker bound to it, and the event time."""

    rng: random.Random
    fake: Faker
    at: dt.datetime

    @property
    def local_hour(self) -> int:
        return self.at.astimezone(LOCAL).hour

    def before(self, low_hours: float, high_hours: float) -> dt.datetime:
        """A moment some hours before the event, whole milliseconds."""
        return _millis(self.at - dt.timedelta(hours=self.rng.uniform(low_hours, high_hours)))

    def day_offset(self, low_days: int, high_days: int) -> dt.date:
        return self.at.date() + dt.timedelta(days=self.rng.randint(low_days, high_days))

    def entity(self, prefix: str, space: int) -> str:
        return f"{prefix}-{self.at.year}-{self.rng.randint(1, space):05d}"


Record = dict[str, Any]
Generator = Callable[[Draw], tuple[str, Record]]
GENERATORS: dict[str, Generator] = {}


def _event(topic: str) -> Callable[[Generator], Generator]:
    def register(function: Generator) -> Generator:
        GENERATORS[topic] = function
        return function

    return register


def _millis(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def generate(topic: str, rng: random.Random, at: dt.datetime | None = None) -> tuple[str, Record]:
    """Key and record of one simulated ``topic`` event at ``at`` (default: a fixed moment)."""
    try:
        generator = GENERATORS[topic]
    except KeyError:
        raise KeyError(
            f"no simulator for topic {topic!r}; known: {', '.join(sorted(GENERATORS))}"
        ) from None
    _FAKER.random = rng
    return generator(Draw(rng, _FAKER, _millis(at or REFERENCE_TIME)))


# -- Bürgeramt -------------------------------------------------------------------------------


def _resident_id(d: Draw) -> str:
    return f"HAM-{d.rng.randint(1, 190_000):08d}"


def _birth_date(d: Draw, low_years: float = 0, high_years: float = 95) -> dt.date:
    age_days = int(d.rng.triangular(low_years, high_years, 38) * 365.25)
    return d.at.date() - dt.timedelta(days=age_days)


@_event("buergeramt.resident.moved")
def resident_moved(d: Draw) -> tuple[str, Record]:
    old = geo.district(d.rng)
    # Four moves in five cross a district border: what the migration statistics look at.
    new = geo.district(d.rng) if d.rng.random() < 0.8 else old
    key = _resident_id(d)
    return key, {
        "resident_id": key,
        "occurred_at": d.at,
        "moved_at": d.before(24, 24 * 14),
        "birth_date": _birth_date(d, 0, 90),
        "old_address": geo.address(d.rng, old),
        "new_address": geo.address(d.rng, new),
        "residence_type": d.rng.choices(["MAIN", "SECONDARY", "UNKNOWN"], [90, 8, 2])[0],
        "information_block": d.rng.random() < 0.003,
    }


@_event("buergeramt.resident.registered")
def resident_registered(d: Draw) -> tuple[str, Record]:
    key = _resident_id(d)
    birth = d.rng.random() < 0.2
    sex = d.rng.choices(["MALE", "FEMALE", "DIVERSE", "UNSPECIFIED"], [49, 49, 1, 1])[0]
    given = d.fake.first_name_male() if sex == "MALE" else d.fake.first_name_female()
    nationalities = (
        ["DE"]
        if d.rng.random() < 0.82
        else [d.rng.choice(["TR", "PL", "SY", "RO", "IT", "GR", "UA"])]
    )
    if d.rng.random() < 0.05:
        nationalities.append("DE")
    return key, {
        "resident_id": key,
        "occurred_at": d.at,
        "family_name": d.fake.last_name(),
        "given_names": given,
        "birth_date": _birth_date(d, 0, 0.2) if birth else _birth_date(d, 0, 85),
        "sex": sex,
        "nationalities": nationalities,
        "address": geo.address(d.rng),
        "residence_type": d.rng.choices(["MAIN", "SECONDARY"], [93, 7])[0],
        "moved_in_on": d.day_offset(-14, 0),
        "religious_affiliation": d.rng.choices(["rk", "ev", "isl", None], [33, 25, 7, 35])[0],
    }


@_event("buergeramt.resident.deregistered")
def resident_deregistered(d: Draw) -> tuple[str, Record]:
    key = _resident_id(d)
    reason = d.rng.choices(
        ["MOVED_AWAY", "MOVED_ABROAD", "DECEASED", "OFFICIAL_CORRECTION", "OTHER"],
        [60, 10, 25, 3, 2],
    )[0]
    deceased = reason == "DECEASED"
    return key, {
        "resident_id": key,
        "occurred_at": d.at,
        "deregistered_on": d.day_offset(-10, 0),
        "birth_date": _birth_date(d, 60, 100) if deceased else _birth_date(d, 18, 80),
        "reason": reason,
        "last_address": geo.address(d.rng),
        "destination_municipality": (
            d.rng.choice(["Dortmund", "Unna", "Ahlen", "Werl", "Münster", "Bergkamen", "Soest"])
            if reason == "MOVED_AWAY"
            else None
        ),
        "destination_country": (
            d.rng.choice(["NL", "TR", "PL", "ES", "AT", "CH"]) if reason == "MOVED_ABROAD" else None
        ),
    }


# -- Ordnungsamt -----------------------------------------------------------------------------

_NIGHT_SOURCES = (
    ["NEIGHBOURHOOD", "EVENT", "ANIMAL", "TRAFFIC", "COMMERCIAL", "OTHER"],
    [50, 20, 10, 8, 8, 4],
)
_DAY_SOURCES = (
    ["CONSTRUCTION", "TRAFFIC", "COMMERCIAL", "NEIGHBOURHOOD", "ANIMAL", "EVENT", "OTHER"],
    [32, 18, 15, 18, 8, 5, 4],
)
_NOISE_TEXT = {
    "NEIGHBOURHOOD": "Laute Musik und Feiern in der Nachbarwohnung.",
    "CONSTRUCTION": "Presslufthammer auf der Baustelle gegenüber.",
    "TRAFFIC": "Lkw-Verkehr mit laufenden Motoren.",
    "EVENT": "Veranstaltung mit Lautsprechern im Freien.",
    "COMMERCIAL": "Lieferverkehr und Kühlaggregate am Supermarkt.",
    "ANIMAL": "Hund bellt seit Stunden.",
    "OTHER": "Unklare Geräuschquelle.",
}


@_event("ordnungsamt.noise-complaint.filed")
def noise_complaint_filed(d: Draw) -> tuple[str, Record]:
    where = geo.district(d.rng)
    observed = d.before(0.1, 2)
    hour = observed.astimezone(LOCAL).hour
    night = hour >= 22 or hour < 6
    symbols, weights = _NIGHT_SOURCES if night else _DAY_SOURCES
    source = d.rng.choices(symbols, weights)[0]
    anonymous = d.rng.random() < 0.3
    key = d.entity("OA-L", 99_999)
    return key, {
        "complaint_id": key,
        "occurred_at": d.at,
        "noise_observed_at": observed,
        "location": geo.geo(d.rng, where),
        "postcode": geo.postcode(d.rng, where),
        "noise_source": source,
        "channel": d.rng.choices(
            ["PHONE", "ONLINE_FORM", "EMAIL", "IN_PERSON", "APP", "OTHER"], [40, 25, 10, 5, 18, 2]
        )[0],
        "night_time": night,
        "complainant_name": None if anonymous else d.fake.name(),
        "complainant_phone": None if anonymous or d.rng.random() < 0.4 else d.fake.phone_number(),
        "description": _NOISE_TEXT[source] if d.rng.random() < 0.7 else None,
    }


_FINES = {
    "NO_STOPPING_ZONE": (20, 35),
    "NO_PARKING_ZONE": (25, 55),
    "EXPIRED_METER": (20, 40),
    "DISABLED_SPACE": (55, 55),
    "FIRE_LANE": (55, 100),
    "SIDEWALK": (55, 100),
    "BUS_STOP": (55, 55),
    "EV_CHARGING_SPACE": (55, 55),
    "OTHER": (10, 30),
}
_PLATE_AREAS = (["HAM", "UN", "DO", "SO", "WAF", "MK", "COE"], [78, 7, 5, 4, 3, 2, 1])


@_event("ordnungsamt.parking-violation.recorded")
def parking_violation_recorded(d: Draw) -> tuple[str, Record]:
    # Parking is checked where there is parking pressure: mostly the city centre.
    where = geo.DISTRICT_BY_NAME["Hamm-Mitte"] if d.rng.random() < 0.6 else geo.district(d.rng)
    kind = d.rng.choices(list(_FINES), [20, 25, 25, 5, 3, 12, 4, 3, 3])[0]
    low, high = _FINES[kind]
    area = d.rng.choices(*_PLATE_AREAS)[0]
    letters = "".join(d.rng.choices("ABCDEFGHJKLMNPRSTUVWXYZ", k=d.rng.randint(1, 2)))
    key = d.entity("OA-P", 999_999)
    return key, {
        "violation_id": key,
        "occurred_at": d.at,
        "licence_plate": f"{area}-{letters} {d.rng.randint(1, 9999)}",
        "violation_type": kind,
        "location": geo.geo(d.rng, where),
        "street": geo.street(d.rng, where),
        "postcode": geo.postcode(d.rng, where),
        "fine_eur": d.rng.randrange(low, high + 1, 5) if high > low else low,
        "officer_id": f"VÜ-{d.rng.randint(1, 40):03d}",
        "obstruction": kind in ("FIRE_LANE", "SIDEWALK", "BUS_STOP") and d.rng.random() < 0.4,
    }


# -- Tiefbauamt ------------------------------------------------------------------------------

# Roadworks cluster: most sites sit on a few arterial roads being renewed this year, within a
# few hundred metres of each other (so they share H3 cells of resolution 8).
_ROADWORKS_HOTSPOTS = (
    ("Hamm-Mitte", "Werler Straße", (51.6725, 7.8330)),
    ("Hamm-Mitte", "Ostenallee", (51.6835, 7.8370)),
    ("Heessen", "Münsterstraße", (51.6950, 7.8180)),
    ("Herringen", "Dortmunder Straße", (51.6680, 7.7750)),
    ("Uentrop", "Soester Straße", (51.6680, 7.8800)),
)
_HOTSPOT_SPREAD = 0.0015  # degrees, about 150 m
_CONTRACTORS = (
    "Strabag AG, Direktion NRW",
    "Hamm Tiefbau GmbH",
    "Westfalen Kanalbau GmbH & Co. KG",
    "Stadtwerke Hamm Netz GmbH",
    "Lippe Asphalt GmbH",
)
_WORKS_COST_EUR = {
    "SURFACE_RENEWAL": (40_000, 600_000),
    "SEWER": (80_000, 1_500_000),
    "UTILITY_LINES": (15_000, 250_000),
    "BRIDGE": (300_000, 4_000_000),
    "CYCLE_PATH": (30_000, 400_000),
    "OTHER": (5_000, 100_000),
}


def _roadworks_site(d: Draw) -> tuple[District, str, dict[str, float]]:
    if d.rng.random() < 0.7:
        name, street, (lat, lon) = d.rng.choice(_ROADWORKS_HOTSPOTS)
        location = {
            "lat": round(d.rng.gauss(lat, _HOTSPOT_SPREAD), 6),
            "lon": round(d.rng.gauss(lon, _HOTSPOT_SPREAD * 1.6), 6),
        }
        return geo.DISTRICT_BY_NAME[name], street, location
    where = geo.district(d.rng)
    return where, geo.street(d.rng, where), geo.geo(d.rng, where)


@_event("tiefbauamt.roadworks.started")
def roadworks_started(d: Draw) -> tuple[str, Record]:
    where, street, location = _roadworks_site(d)
    works = d.rng.choices(list(_WORKS_COST_EUR), [35, 20, 28, 2, 10, 5])[0]
    low, high = _WORKS_COST_EUR[works]
    key = d.entity("TBA", 2_000)
    return key, {
        "roadworks_id": key,
        "occurred_at": d.at,
        "street": street,
        "postcode": geo.postcode(d.rng, where),
        "location": location,
        "planned_end": d.day_offset(7, 240),
        "lane_closure": d.rng.choices(["NONE", "PARTIAL", "FULL", "UNKNOWN"], [15, 55, 25, 5])[0],
        "works_type": works,
        "contractor": d.rng.choice(_CONTRACTORS),
        "estimated_cost_cents": int(d.rng.lognormvariate(0, 0.6) * (low + high) / 4) * 100,
    }


@_event("tiefbauamt.roadworks.finished")
def roadworks_finished(d: Draw) -> tuple[str, Record]:
    key = d.entity("TBA", 2_000)
    delay = max(0, int(d.rng.gauss(6, 12)))
    return key, {
        "roadworks_id": key,
        "occurred_at": d.at,
        "finished_on": d.day_offset(-3, 0),
        "acceptance": d.rng.choices(
            ["ACCEPTED", "ACCEPTED_WITH_DEFECTS", "REJECTED", "UNKNOWN"], [70, 22, 5, 3]
        )[0],
        "final_cost_cents": int(d.rng.lognormvariate(12, 1.0)) * 100,
        "delay_days": delay,
    }


@_event("tiefbauamt.street-damage.reported")
def street_damage_reported(d: Draw) -> tuple[str, Record]:
    where = geo.district(d.rng)
    kind = d.rng.choices(
        ["POTHOLE", "CRACK", "SUBSIDENCE", "CURB", "MANHOLE", "SIGNAGE", "OTHER"],
        [45, 20, 5, 10, 8, 8, 4],
    )[0]
    channel = d.rng.choices(
        ["PHONE", "ONLINE_FORM", "EMAIL", "IN_PERSON", "APP", "OTHER"], [15, 30, 10, 5, 38, 2]
    )[0]
    key = d.entity("TBA-S", 99_999)
    return key, {
        "damage_id": key,
        "occurred_at": d.at,
        "location": geo.geo(d.rng, where),
        "street": geo.street(d.rng, where),
        "postcode": geo.postcode(d.rng, where),
        "damage_type": kind,
        "severity": d.rng.choices(
            ["LOW", "MEDIUM", "HIGH", "CRITICAL", "UNKNOWN"], [35, 40, 18, 4, 3]
        )[0],
        "channel": channel,
        "reporter_email": d.fake.email()
        if channel in ("EMAIL", "ONLINE_FORM", "APP") and d.rng.random() < 0.6
        else None,
        "photo_count": d.rng.choices([0, 1, 2, 3, 4], [30, 35, 20, 10, 5])[0]
        if channel != "PHONE"
        else 0,
    }


# -- Umweltamt -------------------------------------------------------------------------------


def _rush(hour: int) -> float:
    """Traffic by the hour of day, 0.3 at night, 1.0 in the rush hours."""
    if 6 <= hour < 9 or 16 <= hour < 19:
        return 1.0
    if 9 <= hour < 16 or 19 <= hour < 22:
        return 0.7
    return 0.3


@_event("umweltamt.air-quality.measured")
def air_quality_measured(d: Draw) -> tuple[str, Record]:
    station = d.rng.choice(geo.STATIONS)
    load = station.traffic * _rush(d.local_hour)
    no2 = max(3.0, d.rng.gauss(12 + 38 * load, 6))
    pm10 = max(4.0, d.rng.gauss(13 + 14 * load, 5) * (1.6 if d.rng.random() < 0.05 else 1.0))
    pm25 = max(2.0, pm10 * d.rng.uniform(0.55, 0.75))
    fault = d.rng.random() < 0.02  # an analyser out of service sends null for its component
    return station.station_id, {
        "station_id": station.station_id,
        "occurred_at": d.at,
        "station_location": {"lat": station.location[0], "lon": station.location[1]},
        "averaging_period": "HOUR" if d.rng.random() < 0.95 else "DAY",
        "pm10_ug_m3": None if fault else round(pm10, 1),
        "pm25_ug_m3": round(pm25, 1),
        "no2_ug_m3": round(no2, 1),
        "other_components": {"O3": round(max(2.0, d.rng.gauss(55 - 25 * load, 12)), 1)}
        if station.traffic < 0.7
        else {},
        "validation": d.rng.choices(["VALID", "SUSPECT", "INVALID", "UNCHECKED"], [20, 2, 1, 77])[
            0
        ],
    }


_TREES = (
    ("Stieleiche", 28),
    ("Rotbuche", 30),
    ("Bergahorn", 25),
    ("Spitzahorn", 22),
    ("Winterlinde", 26),
    ("Platane", 30),
    ("Hainbuche", 18),
    ("Sandbirke", 20),
    ("Gemeine Esche", 28),
    ("Robinie", 20),
    ("Rosskastanie", 24),
    ("Vogelkirsche", 15),
)


@_event("umweltamt.tree.inspected")
def tree_inspected(d: Draw) -> tuple[str, Record]:
    where = geo.district(d.rng)
    species, max_height = d.rng.choice(_TREES)
    age = d.rng.triangular(0.05, 1.0, 0.35)
    condition = d.rng.choices(
        ["HEALTHY", "SLIGHTLY_DAMAGED", "SEVERELY_DAMAGED", "DEAD", "UNKNOWN"], [55, 28, 10, 3, 4]
    )[0]
    measures = {
        "HEALTHY": [],
        "SLIGHTLY_DAMAGED": ["DEADWOOD_REMOVAL"],
        "SEVERELY_DAMAGED": ["PRUNING", "CROWN_SECURING", "FURTHER_EXAMINATION"],
        "DEAD": ["FELLING"],
        "UNKNOWN": ["FURTHER_EXAMINATION"],
    }[condition]
    key = f"BK-{where.name[:3].upper()}-{d.rng.randint(1, 60_000):05d}"
    return key, {
        "tree_id": key,
        "occurred_at": d.at,
        "location": geo.geo(d.rng, where),
        "species": species,
        "trunk_circumference_cm": int(30 + age * 370 * d.rng.uniform(0.8, 1.1)),
        "height_m": round(max(2.0, max_height * (0.15 + 0.85 * age) * d.rng.uniform(0.85, 1.1)), 1),
        "condition": condition,
        "measures": d.rng.sample(measures, k=min(len(measures), d.rng.randint(1, 2)))
        if measures
        else [],
        "inspector_id": f"BK-{d.rng.randint(1, 12):02d}",
        "next_inspection_due": d.day_offset(90 if condition != "HEALTHY" else 365, 540),
    }


# -- Bauordnungsamt --------------------------------------------------------------------------

_PROJECT_COST_EUR = {
    "NEW_BUILDING": (250_000, 2_500_000),
    "EXTENSION": (40_000, 350_000),
    "CONVERSION": (30_000, 400_000),
    "CHANGE_OF_USE": (5_000, 150_000),
    "DEMOLITION": (10_000, 120_000),
    "OTHER": (2_000, 60_000),
}


@_event("bauordnungsamt.building-permit.applied")
def building_permit_applied(d: Draw) -> tuple[str, Record]:
    site = geo.district(d.rng)
    project = d.rng.choices(list(_PROJECT_COST_EUR), [35, 30, 15, 8, 7, 5])[0]
    low, high = _PROJECT_COST_EUR[project]
    cost = int(min(high, max(low, d.rng.lognormvariate(0, 0.5) * (low + high) / 3)))
    company = d.rng.random() < 0.25
    key = d.entity("BA", 6_000)
    return key, {
        "application_id": key,
        "occurred_at": d.at,
        "applicant": {
            "family_name": d.fake.last_name(),
            "given_names": d.fake.first_name(),
            "organisation": d.fake.company() if company else None,
            "address": geo.address(d.rng, site if d.rng.random() < 0.6 else None),
        },
        "site_address": geo.address(d.rng, site),
        "parcel": {
            "district": site.name,
            "cadastral_map": d.rng.randint(1, 60),
            "parcel_number": f"{d.rng.randint(1, 2400)}/{d.rng.randint(1, 40)}"
            if d.rng.random() < 0.4
            else str(d.rng.randint(1, 2400)),
        },
        "project_type": project,
        "procedure": "SIMPLIFIED"
        if project != "NEW_BUILDING" and d.rng.random() < 0.6
        else "STANDARD",
        "estimated_construction_cost_eur": cost,
        "gross_floor_area_m2": round(cost / d.rng.uniform(1800, 3200), 1)
        if project in ("NEW_BUILDING", "EXTENSION")
        else None,
    }


@_event("bauordnungsamt.building-permit.decided")
def building_permit_decided(d: Draw) -> tuple[str, Record]:
    decision = d.rng.choices(
        ["APPROVED", "APPROVED_WITH_CONDITIONS", "REJECTED", "WITHDRAWN", "OTHER"],
        [45, 38, 8, 7, 2],
    )[0]
    cost = d.rng.lognormvariate(12, 1.0)
    key = d.entity("BA", 6_000)
    site_postcode = geo.postcode(d.rng, geo.district(d.rng))
    processing_days = max(5, int(d.rng.gauss(75, 35)))
    return key, {
        "application_id": key,
        "occurred_at": d.at,
        "applied_at": _millis(d.at - dt.timedelta(days=processing_days, hours=d.rng.uniform(0, 8))),
        "decision": decision,
        "site_postcode": site_postcode,
        "processing_days": processing_days,
        "conditions_count": d.rng.randint(1, 12) if decision == "APPROVED_WITH_CONDITIONS" else 0,
        "fee_eur": round(max(50.0, cost * 0.006), 2) if decision != "WITHDRAWN" else None,
    }


# -- Feuerwehr -------------------------------------------------------------------------------


@_event("feuerwehr.hydrant.inspected")
def hydrant_inspected(d: Draw) -> tuple[str, Record]:
    where = geo.district(d.rng)
    kind = d.rng.choices(["UNDERGROUND", "OVERGROUND", "OTHER"], [80, 18, 2])[0]
    result = d.rng.choices(
        ["OK", "MINOR_DEFECT", "MAJOR_DEFECT", "OUT_OF_SERVICE", "UNKNOWN"], [82, 11, 4, 2, 1]
    )[0]
    flow = None if result == "OUT_OF_SERVICE" else round(d.rng.gauss(1200, 250), 0)
    key = f"HY-{d.rng.randint(1, 9_000):05d}"
    return key, {
        "hydrant_id": key,
        "occurred_at": d.at,
        "location": geo.geo(d.rng, where),
        "hydrant_type": kind,
        "flow_rate_l_min": None if flow is None else max(200.0, flow),
        "result": result,
        "inspector_id": f"FW-{d.rng.randint(1, 25):03d}",
    }


_INCIDENTS = {
    # type: (weight, vehicles, personnel per vehicle, duration hours)
    "FIRE": (22, (2, 8), 7, (0.5, 5)),
    "TECHNICAL_RESCUE": (35, (1, 4), 5, (0.3, 3)),
    "HAZMAT": (4, (2, 6), 6, (1, 6)),
    "ANIMAL_RESCUE": (9, (1, 2), 3, (0.3, 2)),
    "FALSE_ALARM": (25, (1, 3), 6, (0.2, 0.8)),
    "OTHER": (5, (1, 2), 4, (0.2, 2)),
}


@_event("feuerwehr.incident.closed")
def incident_closed(d: Draw) -> tuple[str, Record]:
    where = geo.district(d.rng)
    kind = d.rng.choices(list(_INCIDENTS), [v[0] for v in _INCIDENTS.values()])[0]
    _, (v_low, v_high), crew, (h_low, h_high) = _INCIDENTS[kind]
    vehicles = d.rng.randint(v_low, v_high)
    injured = (
        d.rng.choices([0, 1, 2, 3], [80, 14, 4, 2])[0]
        if kind in ("FIRE", "TECHNICAL_RESCUE", "HAZMAT")
        else 0
    )
    damage = int(d.rng.lognormvariate(9, 1.4)) if kind == "FIRE" else None
    key = d.entity("FW-E", 99_999)
    return key, {
        "incident_id": key,
        "occurred_at": d.at,
        "alarmed_at": d.before(h_low, h_high),
        "incident_type": kind,
        "location": geo.geo(d.rng, where),
        "postcode": geo.postcode(d.rng, where),
        "vehicles_deployed": vehicles,
        "personnel_deployed": vehicles * crew + d.rng.randint(0, 3),
        "persons_injured": injured,
        "estimated_damage_eur": damage,
    }


# -- Jugendamt -------------------------------------------------------------------------------

_FACILITIES = tuple(f"KITA-{n:03d}" for n in range(1, 96))


@_event("jugendamt.daycare-place.requested")
def daycare_place_requested(d: Draw) -> tuple[str, Record]:
    home = geo.district(d.rng)
    family = d.fake.last_name()
    # Requests come for children up to five: most for under-threes starting at age one.
    child_age_days = int(d.rng.triangular(30, 5 * 365, 300))
    needs_health = d.rng.random() < 0.08
    key = d.entity("JA-K", 20_000)
    return key, {
        "request_id": key,
        "occurred_at": d.at,
        "child": {
            "family_name": family,
            "given_names": d.fake.first_name(),
            "birth_date": d.at.date() - dt.timedelta(days=child_age_days),
            "care_needs": {
                "disability": d.rng.random() < 0.03,
                "integration_assistance": d.rng.random() < 0.04,
                "health_conditions": [
                    d.rng.choice(["Asthma", "Neurodermitis", "Diabetes Typ 1", "Epilepsie"])
                ]
                if needs_health
                else [],
                "dietary_requirements": d.rng.sample(
                    ["VEGETARIAN", "NO_PORK", "HALAL", "GLUTEN_FREE", "LACTOSE_FREE"],
                    k=d.rng.choices([0, 1, 2], [70, 25, 5])[0],
                ),
            },
        },
        "guardian": {
            "family_name": family if d.rng.random() < 0.85 else d.fake.last_name(),
            "given_names": d.fake.first_name(),
            "email": d.fake.email() if d.rng.random() < 0.8 else None,
            "phone": d.fake.phone_number() if d.rng.random() < 0.7 else None,
            "address": geo.address(d.rng, home),
        },
        "desired_start": d.day_offset(30, 330),
        "weekly_hours": d.rng.choices([25, 35, 45], [20, 45, 35])[0],
        "care_type": d.rng.choices(
            ["DAYCARE_CENTRE", "CHILDMINDER", "EITHER", "OTHER"], [65, 10, 23, 2]
        )[0],
        "preferred_facilities": d.rng.sample(_FACILITIES, k=d.rng.randint(0, 3)),
    }


@_event("jugendamt.daycare-place.allocated")
def daycare_place_allocated(d: Draw) -> tuple[str, Record]:
    outcome = d.rng.choices(
        ["PLACE_OFFERED", "WAITING_LIST", "REFERRED_TO_CHILDMINDER", "OTHER"], [62, 25, 11, 2]
    )[0]
    placed = outcome in ("PLACE_OFFERED", "REFERRED_TO_CHILDMINDER")
    key = d.entity("JA-K", 20_000)
    return key, {
        "request_id": key,
        "occurred_at": d.at,
        "outcome": outcome,
        "facility_id": d.rng.choice(_FACILITIES) if placed else None,
        "start_date": d.day_offset(14, 240) if placed else None,
        "weekly_hours": d.rng.choices([25, 35, 45], [25, 45, 30])[0],
        "child_birth_date": d.at.date()
        - dt.timedelta(days=int(d.rng.triangular(180, 6 * 365, 500))),
        "district_postcode": geo.postcode(d.rng, geo.district(d.rng)),
    }
