"""The department simulators: reproducible, valid against the latest schemas, plausible for Hamm."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from zoneinfo import ZoneInfo

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.schemas.catalog import default_schemas_dir, load_catalog
from producers.sdk.validation import find_problem
from producers.simulators import (
    GENERATORS,
    WEIGHTS,
    SimulationStats,
    TopicMix,
    generate,
    plan,
    run_simulation,
)
from producers.simulators import geography as geo

CATALOG = load_catalog(default_schemas_dir())
PARSED = {topic: fastavro.parse_schema(s.latest.schema) for topic, s in CATALOG.items()}
POSTCODES = {str(code) for code in range(59063, 59078, 2)}
DISTRICTS = {"Hamm-Mitte", "Uentrop", "Rhynern", "Pelkum", "Herringen", "Bockum-Hövel", "Heessen"}
START = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)


def test_a_generator_for_every_event_type_and_a_weight_for_each():
    assert set(GENERATORS) == set(CATALOG)
    assert set(WEIGHTS) == set(CATALOG)


@settings(max_examples=200, deadline=None)
@given(
    topic=st.sampled_from(sorted(CATALOG)),
    seed=st.integers(0, 2**63),
    minutes=st.integers(0, 60 * 24 * 366),
)
def test_every_generated_record_validates_against_its_latest_schema(topic, seed, minutes):
    at = START + dt.timedelta(minutes=minutes)
    key, record = generate(topic, random.Random(seed), at)
    assert find_problem(PARSED[topic], record) is None
    assert key == record[CATALOG[topic].latest.key_field]
    assert record["occurred_at"] == at


@given(seed=st.integers(0, 2**32))
def test_same_seed_same_events(seed):
    first = list(plan(40, seed=seed, rate=10, start=START))
    again = list(plan(40, seed=seed, rate=10, start=START))
    assert first == again
    other = list(plan(40, seed=seed + 1, rate=10, start=START))
    assert first != other


def test_plan_advances_a_simulated_clock_at_the_rate():
    events = list(plan(20, seed=1, rate=4, start=START))
    times = [record["occurred_at"] for _, _, record in events]
    assert times[0] == START and times[-1] == START + dt.timedelta(seconds=19 / 4)


def test_time_scale_compresses_the_simulated_clock():
    events = list(plan(61, seed=1, rate=1, start=START, time_scale=60))
    assert events[-1][2]["occurred_at"] == START + dt.timedelta(hours=1)


def _walk(value, path=""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _walk(inner, f"{path}.{key}" if path else key)
    else:
        yield path, value


def _sample(count=1500, seed=5):
    return list(plan(count, seed=seed, rate=1, start=START))


def test_postcodes_and_coordinates_are_in_hamm():
    seen_postcodes = set()
    for _topic, _key, record in _sample():
        for path, value in _walk(record):
            if path.endswith("postcode"):
                assert value in POSTCODES, (path, value)
                seen_postcodes.add(value)
            if path.endswith(".lat"):
                assert 51.62 <= value <= 51.72, (path, value)
            if path.endswith(".lon"):
                assert 7.70 <= value <= 7.95, (path, value)
            if path.endswith("city"):
                assert value == "Hamm"
    assert seen_postcodes == POSTCODES


def test_every_district_is_used_with_its_own_streets():
    assert {d.name for d in geo.DISTRICTS} == DISTRICTS
    for district in geo.DISTRICTS:
        rng = random.Random(district.name)
        for _ in range(50):
            address = geo.address(rng, district)
            assert address["street"] in district.streets
            assert address["postcode"] in district.postcodes


def test_moves_are_mostly_between_districts():
    rng = random.Random(3)
    by_postcode = {code: d.name for d in geo.DISTRICTS for code in d.postcodes}
    moves = [generate("buergeramt.resident.moved", rng, START)[1] for _ in range(400)]
    crossing = sum(
        by_postcode[m["old_address"]["postcode"]] != by_postcode[m["new_address"]["postcode"]]
        for m in moves
    )
    assert crossing / len(moves) > 0.6
    assert all(m["moved_at"] <= m["occurred_at"] for m in moves)


def test_air_quality_comes_from_six_named_stations_with_plausible_values():
    rng = random.Random(8)
    records = [generate("umweltamt.air-quality.measured", rng, START)[1] for _ in range(600)]
    assert {r["station_id"] for r in records} == {s.station_id for s in geo.STATIONS}
    assert len(geo.STATIONS) == 6 and all(s.name for s in geo.STATIONS)
    pm10 = [r["pm10_ug_m3"] for r in records if r["pm10_ug_m3"] is not None]
    no2 = [r["no2_ug_m3"] for r in records]
    assert min(pm10) >= 4 and max(pm10) < 120 and 10 < sum(pm10) / len(pm10) < 40
    assert min(no2) >= 3 and max(no2) < 120
    assert all(r["pm25_ug_m3"] <= (r["pm10_ug_m3"] or 999) for r in records)


def test_no2_follows_the_rush_hour():
    def mean_no2(hour_utc: int) -> float:
        rng = random.Random(hour_utc)
        at = START.replace(hour=hour_utc)
        values = [
            generate("umweltamt.air-quality.measured", rng, at)[1]["no2_ug_m3"] for _ in range(400)
        ]
        return sum(values) / len(values)

    assert mean_no2(6) > mean_no2(1) + 8  # 07:00 in Hamm versus 02:00


def test_noise_sources_follow_the_time_of_day():
    berlin = ZoneInfo("Europe/Berlin")

    def sources(hour_local: int) -> Counter:
        rng = random.Random(hour_local)
        at = dt.datetime(2026, 11, 25, hour_local, 30, tzinfo=berlin).astimezone(dt.UTC)
        counter = Counter()
        for _ in range(400):
            record = generate("ordnungsamt.noise-complaint.filed", rng, at)[1]
            observed = record["noise_observed_at"].astimezone(berlin).hour
            assert record["night_time"] == (observed >= 22 or observed < 6)
            counter[record["noise_source"]] += 1
        return counter

    night, day = sources(2), sources(11)
    assert night["NEIGHBOURHOOD"] > night["CONSTRUCTION"] * 5
    assert day["CONSTRUCTION"] > day["EVENT"] * 3


def test_several_noise_complaints_per_district_per_hour_at_the_demo_rate():
    per_district = Counter()
    for topic, _key, record in plan(50 * 120, seed=42, rate=50, start=START):  # two minutes
        if topic == "ordnungsamt.noise-complaint.filed":
            per_district[_nearest_district(record["location"])] += 1
    assert set(per_district) == DISTRICTS
    assert min(per_district.values()) * 30 >= 5  # per hour, in every district


def _nearest_district(location: dict) -> str:
    def distance(district: geo.District) -> float:
        lat, lon = district.centre
        return (lat - location["lat"]) ** 2 + ((lon - location["lon"]) * 0.62) ** 2

    return min(geo.DISTRICTS, key=distance).name


def test_roadworks_cluster_on_a_few_streets():
    rng = random.Random(4)
    streets = Counter(
        generate("tiefbauamt.roadworks.started", rng, START)[1]["street"] for _ in range(500)
    )
    top5 = sum(count for _, count in streets.most_common(5))
    assert top5 / 500 > 0.6


def test_roadworks_cluster_in_h3_cells_for_the_feature_store():
    import h3

    rng = random.Random(6)
    cells = Counter()
    for _ in range(500):
        location = generate("tiefbauamt.roadworks.started", rng, START)[1]["location"]
        cells[h3.latlng_to_cell(location["lat"], location["lon"], 8)] += 1
    assert sum(count for _, count in cells.most_common(10)) / 500 > 0.5


def test_building_costs_daycare_ages_and_fines_are_realistic():
    rng = random.Random(9)
    for _ in range(300):
        permit = generate("bauordnungsamt.building-permit.applied", rng, START)[1]
        assert 2_000 <= permit["estimated_construction_cost_eur"] <= 2_500_000
        if permit["project_type"] == "NEW_BUILDING":
            assert permit["estimated_construction_cost_eur"] >= 250_000
        assert permit["parcel"]["district"] in DISTRICTS
        request = generate("jugendamt.daycare-place.requested", rng, START)[1]
        age = (START.date() - request["child"]["birth_date"]).days / 365.25
        assert 0 <= age <= 6
        assert request["weekly_hours"] in (25, 35, 45)
        ticket = generate("ordnungsamt.parking-violation.recorded", rng, START)[1]
        assert 10 <= ticket["fine_eur"] <= 100
        assert ticket["licence_plate"][:2] in {"HA", "UN", "DO", "SO", "WA", "MK", "CO"}


def test_topic_mix_refuses_unknown_topics_and_respects_a_subset():
    with pytest.raises(ValueError, match=r"no simulator for topic\(s\) buergeramt.cat.adopted"):
        TopicMix(["buergeramt.cat.adopted"])
    mix = TopicMix(["umweltamt.air-quality.measured"])
    assert {mix.draw(random.Random(i)) for i in range(20)} == {"umweltamt.air-quality.measured"}


def test_generate_names_the_unknown_topic():
    with pytest.raises(KeyError, match=r"no simulator for topic 'x\.y\.z'"):
        generate("x.y.z", random.Random(1))


class FakePublisher:
    """Acknowledges every send at once; records what was sent."""

    def __init__(self) -> None:
        self.prepared: list[str] = []
        self.sent: list[tuple[str, str, dict]] = []

    async def prepare(self, topic: str) -> None:
        self.prepared.append(topic)

    async def send(self, topic, record, *, key=None):
        self.sent.append((topic, key, record))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


async def test_runner_publishes_rate_times_duration_and_counts_by_department():
    fake = FakePublisher()
    stats = await run_simulation(fake, rate=400, duration=0.5, seed=7, start=START)
    assert stats.planned == stats.sent == stats.acknowledged == 200 == len(fake.sent)
    assert stats.failed == 0
    assert sum(stats.by_department.values()) == 200
    assert set(stats.by_department) <= {t.split(".")[0] for t in CATALOG}
    assert [(t, k, r) for t, k, r in fake.sent] == list(plan(200, seed=7, rate=400, start=START))
    assert sorted(fake.prepared) == sorted(CATALOG)


async def test_runner_stops_early_on_request_and_renames_topics():
    fake = FakePublisher()
    stop = asyncio.Event()
    seen: list[int] = []

    def progress(stats: SimulationStats) -> None:
        seen.append(stats.sent)
        if stats.sent >= 5:
            stop.set()

    stats = await run_simulation(
        fake,
        ["umweltamt.air-quality.measured"],
        rate=20,
        duration=60,
        seed=1,
        stop=stop,
        on_progress=progress,
        rename=lambda topic: f"sim.{topic}",
    )
    assert 5 <= stats.sent < 1200 and stats.acknowledged == stats.sent
    assert {t for t, _, _ in fake.sent} == {"sim.umweltamt.air-quality.measured"}
    assert stats.by_topic == Counter({"umweltamt.air-quality.measured": stats.sent})
    assert seen


async def test_runner_refuses_a_nonsensical_rate():
    with pytest.raises(ValueError, match="rate and time_scale must be > 0"):
        await run_simulation(FakePublisher(), rate=0, duration=1)
