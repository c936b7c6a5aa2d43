"""Department principals, token hashing and the token-bucket rate limiter (injected clock)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from producers.gateway.cli import app
from producers.gateway.departments import (
    DepartmentsError,
    hash_token,
    load_departments,
    new_token,
    parse_departments,
)
from producers.gateway.ratelimit import RateLimiter, TokenBucket

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- tokens ---------------------------------------------------------------------------------------


def test_tokens_are_random_and_hashed_with_sha256():
    token = new_token()
    assert token.startswith("hub_") and len(token) > 40
    assert new_token() != token
    assert hash_token(token) == "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def test_authenticate_finds_the_department_by_token():
    a, b = new_token(), new_token()
    departments = parse_departments(
        {
            "departments": {
                "ordnungsamt": {"tokens": [hash_token(a)]},
                "umweltamt": {"tokens": [hash_token(b)]},
            }
        }
    )
    assert departments.authenticate(a).name == "ordnungsamt"
    assert departments.authenticate(b).name == "umweltamt"
    assert departments.authenticate("hub_wrong") is None
    assert departments.authenticate(None) is None
    assert departments.authenticate("") is None


def test_hashes_without_prefix_are_accepted_and_normalized():
    token = new_token()
    bare = hash_token(token).removeprefix("sha256:")
    departments = parse_departments({"departments": {"x": {"tokens": [bare]}}})
    assert departments.authenticate(token).name == "x"


def test_topic_prefix_defaults_to_the_department_name():
    departments = parse_departments(
        {"departments": {"ordnungsamt": {}, "t": {"topic_prefix": "tief"}}}
    )
    ordnungsamt = departments.by_name["ordnungsamt"]
    assert ordnungsamt.may_publish("ordnungsamt.parking-violation.recorded")
    assert not ordnungsamt.may_publish("ordnungsamtx.parking-violation.recorded")
    assert not ordnungsamt.may_publish("buergeramt.resident.moved")
    assert departments.by_name["t"].may_publish("tief.roadworks.started")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (None, "expected a mapping with the key 'departments'"),
        ({"departments": []}, "expected a mapping with the key 'departments'"),
        ({"departments": {}, "extra": 1}, "unknown top-level key(s): extra"),
        ({"departments": {"x": "y"}}, "departments.x: expected a mapping"),
        (
            {"departments": {"x": {"tokens": ["hub_plaintext"]}}},
            "departments.x.tokens: tokens[0]: expected 'sha256:'",
        ),
        (
            {"departments": {"x": {"rate_limit": {"events_per_second": 0, "burst": 1}}}},
            "departments.x.rate_limit.events_per_second",
        ),
        (
            {"departments": {"x": {"rate_limit": {"events_per_second": 1}}}},
            "departments.x.rate_limit.burst",
        ),
        ({"departments": {"x": {"colour": "blue"}}}, "departments.x.colour"),
    ],
)
def test_bad_departments_files_name_the_key(data, fragment):
    with pytest.raises(DepartmentsError) as info:
        parse_departments(data, "catalog/departments.yaml")
    assert str(info.value).startswith("catalog/departments.yaml")
    assert fragment in str(info.value)


def test_one_token_for_two_departments_is_refused():
    h = hash_token(new_token())
    with pytest.raises(DepartmentsError, match="also listed for a"):
        parse_departments({"departments": {"a": {"tokens": [h]}, "b": {"tokens": [h]}}}, "f.yaml")


def test_load_departments_names_the_file(tmp_path):
    with pytest.raises(DepartmentsError, match=r"missing\.yaml: cannot read"):
        load_departments(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("departments: [unclosed")
    with pytest.raises(DepartmentsError, match=r"bad\.yaml: not valid YAML"):
        load_departments(bad)


def test_the_shipped_departments_file_is_valid():
    departments = load_departments(REPO / "catalog" / "departments.yaml")
    assert {"ordnungsamt", "umweltamt", "buergeramt"} <= set(departments.by_name)


def test_token_command_prints_a_token_and_its_hash():
    result = CliRunner().invoke(app, ["token", "ordnungsamt"])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    token = next(line for line in lines if line.startswith("hub_"))
    assert f"- {hash_token(token)}" in lines
    assert "departments.ordnungsamt.tokens" in result.output


# -- rate limiting --------------------------------------------------------------------------------


def test_bucket_starts_full_and_refills_at_the_rate():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=20, clock=clock)
    assert bucket.take(20) == 0.0
    assert bucket.take(1) == pytest.approx(0.1)
    clock.now += 0.5
    assert bucket.take(5) == 0.0
    assert bucket.take(1) == pytest.approx(0.1)
    clock.now += 100
    assert bucket.take(20) == 0.0  # never more than the burst saved up
    assert bucket.take(1) > 0


def test_a_refused_take_costs_nothing():
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=10, clock=clock)
    assert bucket.take(8) == 0.0
    assert bucket.take(5) == pytest.approx(3.0)
    assert bucket.take(2) == 0.0


def test_more_than_the_burst_can_never_pass():
    bucket = TokenBucket(rate=1000, burst=10, clock=Clock())
    assert bucket.take(11) == float("inf")


def test_a_clock_stepping_back_does_not_drain_or_fill():
    clock = Clock(50)
    bucket = TokenBucket(rate=1, burst=5, clock=clock)
    bucket.take(5)
    clock.now = 10
    assert bucket.take(1) == pytest.approx(1.0)


def test_limiter_keeps_one_bucket_per_department():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert limiter.take("a", 1, 3, 3) == 0.0
    assert limiter.take("a", 1, 3, 1) == pytest.approx(1.0)
    assert limiter.take("b", 1, 3, 3) == 0.0


def test_invalid_bucket_settings_are_refused():
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)


@given(
    rate=st.floats(0.1, 1000),
    burst=st.integers(1, 1000),
    steps=st.lists(st.tuples(st.floats(0, 5), st.integers(1, 50)), max_size=60),
)
def test_never_more_than_burst_plus_rate_times_elapsed(rate, burst, steps):
    clock = Clock(0)
    bucket = TokenBucket(rate=rate, burst=burst, clock=clock)
    granted = 0
    for pause, cost in steps:
        clock.now += pause
        wait = bucket.take(cost)
        if wait == 0.0:
            granted += cost
        else:
            assert wait > 0
        assert granted <= burst + rate * clock.now + 1e-6
