"""Content negotiation as Confluent's REST layer does it: pure functions, many headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.registry.media import (
    JSON,
    REGISTRY,
    V1,
    acceptable_body,
    choose_response_type,
    parse_accept,
)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, V1),
        ("", V1),
        ("   ", V1),
        ("*/*", V1),
        ("*", V1),
        (V1, V1),
        (REGISTRY, REGISTRY),
        (JSON, JSON),
        ("application/*", V1),
        ("APPLICATION/JSON", JSON),
        ("application/json; charset=utf-8", JSON),
        ("text/html, application/json;q=0.1", JSON),
        (f"{JSON}, {V1};q=0.2", JSON),  # 1.0*0.5 > 0.2*1.0
        (f"{JSON}, {V1};q=0.6", V1),  # 0.6*1.0 > 1.0*0.5
        (f"{REGISTRY};q=0.9, {JSON}", REGISTRY),
        ("text/html, */*;q=0.8", V1),
        ("application/json;q=0, */*", V1),  # the specific range decides for json: refused
        ("text/*, application/json;q=0.01", JSON),
        ("garbage, application/json", JSON),
    ],
)
def test_the_response_type(accept: str | None, chosen: str) -> None:
    assert choose_response_type(accept) == chosen


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "application/xml",
        "text/*",
        "image/png, text/plain",
        "*/*;q=0",
        f"{V1};q=0, {REGISTRY};q=0, {JSON};q=0",
        "application/json;q=0",
        "application/json;q=abc",
    ],
)
def test_nothing_acceptable(accept: str) -> None:
    assert choose_response_type(accept) is None


@pytest.mark.parametrize(
    ("content_type", "read"),
    [
        (None, True),
        ("", True),
        (V1, True),
        (REGISTRY, True),
        (JSON, True),
        ("application/json; charset=UTF-8", True),
        ("Application/Octet-Stream", True),
        ("text/html", False),
        ("application/xml", False),
        ("multipart/form-data; boundary=x", False),
        ("text/plain", False),
    ],
)
def test_request_bodies(content_type: str | None, read: bool) -> None:
    assert acceptable_body(content_type) is read


def test_q_values_are_parsed_and_clamped() -> None:
    ranges = parse_accept("a/b;q=0.5, c/*;level=1;q=2, */*;q=-1, bad")
    assert [(r.type, r.subtype, r.q) for r in ranges] == [
        ("a", "b", 0.5),
        ("c", "*", 1.0),
        ("*", "*", 0.0),
    ]


@given(st.text(max_size=200))
def test_any_accept_header_gets_an_answer_not_an_exception(header: str) -> None:
    assert choose_response_type(header) in (V1, REGISTRY, JSON, None)


@given(st.text(max_size=100))
def test_any_content_type_is_judged(header: str) -> None:
    assert acceptable_body(header) in (True, False)
