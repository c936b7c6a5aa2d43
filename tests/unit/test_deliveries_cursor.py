"""Cursors of the pull API: round trips, and nothing altered, forged or replayed passes."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.deliveries.cursor import (
    MAX_CURSOR_CHARS,
    TAG_BYTES,
    CursorCodec,
    CursorError,
    derive_cursor_key,
)

SECRET = b"test-master-secret-0123456789abcdef"
CODEC = CursorCodec.from_master_secret(SECRET)
AGREEMENT = "ordnungsamt-resident-moved"
TOPIC = "deliver.ordnungsamt.buergeramt.resident.moved"

positions = st.dictionaries(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=2**63 - 1),
    max_size=64,
)


def _raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@given(positions)
def test_round_trip(where):
    cursor = CODEC.encode(AGREEMENT, TOPIC, where)
    assert CODEC.decode(AGREEMENT, TOPIC, cursor) == where
    assert cursor.isascii() and "=" not in cursor  # goes into a query string as it is


@given(positions, st.data())
def test_any_flipped_bit_is_refused(where, data):
    raw = bytearray(_raw(CODEC.encode(AGREEMENT, TOPIC, where)))
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    raw[index] ^= 1 << bit
    with pytest.raises(CursorError, match="cursor: "):
        CODEC.decode(AGREEMENT, TOPIC, _text(bytes(raw)))


@given(positions, st.binary(max_size=40))
def test_truncated_or_extended_cursors_are_refused(where, extra):
    raw = _raw(CODEC.encode(AGREEMENT, TOPIC, where))
    for changed in (raw[:-1], raw[1:], raw + extra if extra else raw + b"\0"):
        with pytest.raises(CursorError):
            CODEC.decode(AGREEMENT, TOPIC, _text(changed))


@given(positions)
def test_a_cursor_is_bound_to_its_agreement_and_topic(where):
    cursor = CODEC.encode(AGREEMENT, TOPIC, where)
    with pytest.raises(CursorError, match="not valid for agreement statistikstelle"):
        CODEC.decode("statistikstelle-resident-moved", TOPIC, cursor)
    with pytest.raises(CursorError, match="another agreement or delivery topic"):
        CODEC.decode(AGREEMENT, TOPIC + "-v2", cursor)
    # the parts cannot be shifted into each other: "a" + "b.c" is not "a.b" + "c"
    shifted = CODEC.encode("a", "b.c", where)
    with pytest.raises(CursorError):
        CODEC.decode("a.b", "c", shifted)


@given(positions)
def test_another_secret_does_not_verify(where):
    cursor = CODEC.encode(AGREEMENT, TOPIC, where)
    other = CursorCodec.from_master_secret(b"another-master-secret-0123456789ab")
    with pytest.raises(CursorError):
        other.decode(AGREEMENT, TOPIC, cursor)


def test_a_forged_cursor_with_any_tag_is_refused():
    # What a client could build itself: a well-formed body of its choosing and a guessed tag.
    body = bytes([1, 1, 0, 0])  # version 1, one partition: partition 0 at offset 0
    for tag in (b"\0" * TAG_BYTES, b"\xff" * TAG_BYTES):
        with pytest.raises(CursorError, match="altered, forged"):
            CODEC.decode(AGREEMENT, TOPIC, _text(body + tag))


@pytest.mark.parametrize(
    ("cursor", "reason"),
    [
        ("", "empty"),
        ("not base64!", "not base64url"),
        ("äöü", "not base64url"),
        ("AAAA", "too short"),
        ("A" * (MAX_CURSOR_CHARS + 1), "longer than"),
    ],
)
def test_malformed_cursors_say_why(cursor, reason):
    with pytest.raises(CursorError, match=reason):
        CODEC.decode(AGREEMENT, TOPIC, cursor)


def test_the_cursor_key_is_not_any_agreements_pseudonym_key():
    from hub.agreements.keys import derive_keys

    key = derive_cursor_key(SECRET)
    assert len(key) == 32
    assert key != derive_keys(SECRET, AGREEMENT).pseudonym_key
    assert repr(CODEC) == "CursorCodec(<key>)"  # the key never reaches a log


def test_encode_refuses_negative_positions():
    with pytest.raises(ValueError, match="must not be negative"):
        CODEC.encode(AGREEMENT, TOPIC, {0: -1})
