"""German export formats: decimal comma, dd.mm.yyyy [HH:MM] in Europe/Berlin, ja/nein,
UTF-8 or Windows-1252."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producers.connectors.german import (
    BERLIN,
    decode_text,
    parse_bool,
    parse_date,
    parse_float,
    parse_int,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,5", 12.5),
        ("0,25", 0.25),
        (",5", 0.5),
        ("-3,75", -3.75),
        ("+3,75", 3.75),
        ("1.234,56", 1234.56),
        ("1.234.567,8", 1234567.8),
        ("1.234", 1234.0),
        ("42", 42.0),
        (" 7,82 ", 7.82),
        ("1 234,5", 1234.5),
        ("51,6806", 51.6806),
        ("1\u00a0234,5", 1234.5),
    ],
)
def test_decimal_comma(text, expected):
    assert parse_float(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text", ["12.5", "1,2,3", "1.23,4", "abc", "", "12,", "--1", "1.2345,6", "e5"]
)
def test_not_a_decimal_comma_number(text):
    with pytest.raises(ValueError, match="is not a number with decimal comma"):
        parse_float(text)


def test_a_dot_in_a_german_number_gets_a_hint():
    with pytest.raises(ValueError, match="a dot groups thousands here"):
        parse_float("51.68")


@pytest.mark.parametrize(("text", "expected"), [("12.5", 12.5), ("1,234.5", 1234.5), ("-.5", -0.5)])
def test_decimal_point_when_configured(text, expected):
    assert parse_float(text, ".") == expected


def test_unknown_decimal_separator():
    with pytest.raises(ValueError, match="unsupported decimal separator"):
        parse_float("1", ";")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("55", 55),
        ("-5", -5),
        ("1.234", 1234),
        ("55,00", 55),
        ("55,0", 55),
        (" 7 ", 7),
        ("1.000.000", 1000000),
    ],
)
def test_whole_numbers(text, expected):
    assert parse_int(text) == expected


@pytest.mark.parametrize("text", ["55,50", "1.234,5", "12.34", "x", "", "1e3"])
def test_not_whole_numbers(text):
    with pytest.raises(ValueError, match="is not a whole number"):
        parse_int(text)


@pytest.mark.parametrize("text", ["ja", "Ja", "JA", "j", "wahr", "true", "1", "x", " ja "])
def test_yes(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["nein", "Nein", "n", "falsch", "false", "0"])
def test_no(text):
    assert parse_bool(text) is False


@pytest.mark.parametrize("text", ["vielleicht", "", "2", "jain"])
def test_neither_yes_nor_no(text):
    with pytest.raises(ValueError, match="is not ja or nein"):
        parse_bool(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25.11.2026", date(2026, 11, 25)),
        ("1.2.2026", date(2026, 2, 1)),
        ("01.02.2026", date(2026, 2, 1)),
        ("29.02.2028", date(2028, 2, 29)),
        ("2026-11-25", date(2026, 11, 25)),
        (" 25.11.2026 ", date(2026, 11, 25)),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("31.11.2026", "is not a valid date"),
        ("29.02.2026", "is not a valid date"),
        ("25.11.26", "is not a date dd.mm.yyyy"),
        ("11/25/2026", "is not a date dd.mm.yyyy"),
        ("", "is not a date"),
    ],
)
def test_bad_dates(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_date(text)


def test_date_with_explicit_format():
    assert parse_date("20261125", "%Y%m%d") == date(2026, 11, 25)
    with pytest.raises(ValueError):
        parse_date("25.11.2026", "%Y%m%d")


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("25.11.2026 14:30", datetime(2026, 11, 25, 13, 30, tzinfo=UTC)),  # winter: +01:00
        ("25.06.2026 14:30", datetime(2026, 6, 25, 12, 30, tzinfo=UTC)),  # summer: +02:00
        ("25.11.2026 14:30:15", datetime(2026, 11, 25, 13, 30, 15, tzinfo=UTC)),
        ("25.11.2026 14:30 Uhr", datetime(2026, 11, 25, 13, 30, tzinfo=UTC)),
        ("25.11.2026, 8:05", datetime(2026, 11, 25, 7, 5, tzinfo=UTC)),
        ("25.11.2026", datetime(2026, 11, 24, 23, 0, tzinfo=UTC)),  # midnight in Hamm
        ("2026-11-25T14:30:00", datetime(2026, 11, 25, 13, 30, tzinfo=UTC)),
        ("2026-11-25T14:30:00+00:00", datetime(2026, 11, 25, 14, 30, tzinfo=UTC)),
        # the autumn change: 02:30 happens twice; the first (summer time) is taken
        ("25.10.2026 02:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        # spring: 02:30 does not exist; zoneinfo reads it with the offset before the change
        ("29.03.2026 02:30", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    ],
)
def test_timestamps_are_local_time_in_hamm(text, utc):
    parsed = parse_timestamp(text)
    assert parsed.tzinfo is not None
    assert parsed.astimezone(UTC) == utc


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("25.11.2026 25:00", "is not a valid date and time"),
        ("25.11.2026 14:61", "is not a valid date and time"),
        ("32.11.2026 14:00", "is not a valid date and time"),
        ("14:30", "is not a date and time dd.mm.yyyy HH:MM"),
        ("gestern", "is not a date and time"),
    ],
)
def test_bad_timestamps(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_timestamp(text)


def test_timestamp_in_another_zone_and_format():
    utc = parse_timestamp("2026-11-25 14:30", ZoneInfo("UTC"), "%Y-%m-%d %H:%M")
    assert utc == datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def test_utf8_is_detected_and_the_bom_dropped():
    assert decode_text("Straße;Größe".encode()) == ("Straße;Größe", "utf-8")
    assert decode_text(b"\xef\xbb\xbfA;B") == ("A;B", "utf-8")


def test_windows_1252_is_the_fallback():
    assert decode_text("Straße;Größe;€".encode("cp1252")) == ("Straße;Größe;€", "cp1252")


def test_configured_encoding_names_the_line_of_a_bad_byte():
    with pytest.raises(ValueError, match=r"line 2: not valid utf-8 \(byte 0xdf\)"):
        decode_text("a\nStraße".encode("cp1252"), "utf-8")
    assert decode_text("Straße".encode("cp1252"), "cp1252") == ("Straße", "cp1252")
    with pytest.raises(ValueError, match="unknown encoding"):
        decode_text(b"x", "klingon")


def german(number: float) -> str:
    whole, _, frac = f"{abs(number):.4f}".partition(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return ("-" if number < 0 else "") + groups + "," + frac


@given(st.floats(-1e9, 1e9, allow_nan=False))
def test_german_rendering_parses_back(number):
    assert parse_float(german(number)) == pytest.approx(round(number, 4), abs=1e-4)


@given(st.integers(-(10**12), 10**12))
def test_grouped_integers_parse_back(number):
    text = f"{number:,}".replace(",", ".")
    assert parse_int(text) == number


@given(st.dates(date(1900, 1, 1), date(2200, 12, 31)))
def test_german_dates_parse_back(day):
    assert parse_date(day.strftime("%d.%m.%Y")) == day


@given(
    st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    )
)
def test_local_timestamps_keep_the_wall_clock(moment):
    parsed = parse_timestamp(moment.strftime("%d.%m.%Y %H:%M"))
    assert parsed.replace(tzinfo=None) == moment and parsed.tzinfo == BERLIN
