"""CloudEvents headers, event time and message keys of published events (pure, no broker)."""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.serde import AvroSerde
from producers.models.buergeramt import Address, ResidenceType, ResidentMoved
from producers.sdk import envelope
from producers.sdk.encoding import TopicSchema, encode_event, message_key
from producers.sdk.errors import RecordValidationError
from producers.simulators import generate

CATALOG = load_catalog(default_schemas_dir())
MOVED = "buergeramt.resident.moved"
SERDE = AvroSerde()
SCHEMAS = {
    topic: TopicSchema.register(SERDE, topic, i + 1, subject.latest.schema)
    for i, (topic, subject) in enumerate(sorted(CATALOG.items()))
}
SOURCE = b"/hamm/buergeramt/meso"


def moved(seed: int = 3) -> dict:
    return generate(MOVED, random.Random(seed))[1]


def test_headers_are_the_cloudevents_binary_mode_set_in_order():
    record = moved()
    event = encode_event(SERDE, SCHEMAS[MOVED], record, source=SOURCE, event_id="ev-1")
    assert [name for name, _ in event.headers] == [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "content-type",
    ]
    headers = dict(event.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == b"ev-1"
    assert headers["ce_source"] == SOURCE
    assert headers["ce_type"] == b"de.hamm.buergeramt.resident.moved"
    assert headers["content-type"] == b"application/avro"
    assert headers["ce_time"] == envelope.rfc3339(record["occurred_at"]).encode()
    assert event.event_id == "ev-1"


@pytest.mark.parametrize("topic", sorted(CATALOG))
def test_headers_never_carry_values_of_the_record(topic):
    _key, record = generate(topic, random.Random(7))
    event = encode_event(SERDE, SCHEMAS[topic], record, source=SOURCE)
    header_bytes = b"|".join(value for _, value in event.headers)
    for value in _strings(record):
        if len(value) >= 4 and value not in ("Hamm",):
            assert value.encode() not in header_bytes, (topic, value)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def test_event_id_defaults_to_a_fresh_uuid4():
    first = encode_event(SERDE, SCHEMAS[MOVED], moved(), source=SOURCE)
    second = encode_event(SERDE, SCHEMAS[MOVED], moved(), source=SOURCE)
    assert first.event_id != second.event_id
    assert uuid.UUID(first.event_id).version == 4
    assert dict(first.headers)["ce_id"] == first.event_id.encode()


def test_explicit_time_wins_over_occurred_at():
    when = dt.datetime(2026, 3, 1, 8, 15, 0, 123456, tzinfo=dt.UTC)
    event = encode_event(SERDE, SCHEMAS[MOVED], moved(), source=SOURCE, time=when)
    assert dict(event.headers)["ce_time"] == b"2026-03-01T08:15:00.123Z"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.UTC), "2026-11-02T10:30:00.000Z"),
        (dt.datetime(2026, 11, 2, 10, 30), "2026-11-02T10:30:00.000Z"),  # naive: UTC
        (
            dt.datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")),
            "2026-07-01T10:00:00.000Z",
        ),
        (dt.datetime(2026, 1, 1, 0, 0, 0, 999999, tzinfo=dt.UTC), "2026-01-01T00:00:00.999Z"),
    ],
)
def test_rfc3339_is_utc_with_milliseconds(moment, text):
    assert envelope.rfc3339(moment) == text


@given(st.datetimes(timezones=st.just(dt.UTC)))
def test_rfc3339_parses_back_to_the_millisecond(moment):
    text = envelope.rfc3339(moment)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_event_time_from_epoch_millis_and_now_as_last_resort():
    assert envelope.event_time({"occurred_at": 0}, None) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    before = dt.datetime.now(dt.UTC)
    assert envelope.event_time({}, None) >= before


def test_ce_type_is_prefixed_topic():
    assert (
        envelope.event_type("umweltamt.air-quality.measured")
        == "de.hamm.umweltamt.air-quality.measured"
    )


@pytest.mark.parametrize("topic", sorted(CATALOG))
def test_key_defaults_to_the_x_key_field(topic):
    key, record = generate(topic, random.Random(11))
    schema = SCHEMAS[topic]
    assert schema.key_field == CATALOG[topic].latest.key_field
    event = encode_event(SERDE, schema, record, source=SOURCE)
    assert event.key == record[schema.key_field].encode() == key.encode()


def test_explicit_key_as_text_or_bytes():
    schema = SCHEMAS[MOVED]
    record = moved()
    assert message_key(schema, record, "äöü-1") == "äöü-1".encode()
    assert message_key(schema, record, b"\x00raw") == b"\x00raw"


def test_no_x_key_means_no_key_unless_given():
    schema = SCHEMAS[MOVED]
    plain = TopicSchema.register(
        AvroSerde(),
        "t.x.y",
        99,
        {k: v for k, v in CATALOG[MOVED].latest.schema.items() if k != "x-key"},
    )
    assert plain.key_field is None
    assert message_key(plain, moved(), None) is None
    assert message_key(plain, moved(), "k") == b"k"
    assert message_key(schema, {"resident_id": 4711}, None) == b"4711"


def test_pydantic_model_is_encoded_like_the_equivalent_dict():
    record = moved()
    model = ResidentMoved.model_validate(record)
    from_model = encode_event(SERDE, SCHEMAS[MOVED], model, source=SOURCE, event_id="x")
    from_dict = encode_event(SERDE, SCHEMAS[MOVED], record, source=SOURCE, event_id="x")
    assert from_model.value == from_dict.value
    assert from_model.key == from_dict.key
    assert from_model.headers == from_dict.headers


def test_model_built_by_hand_publishes():
    model = ResidentMoved(
        resident_id="HAM-00000001",
        occurred_at=dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC),
        moved_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        birth_date=dt.date(1980, 5, 17),
        old_address=Address(street="Weststraße", house_number="1", postcode="59065", city="Hamm"),
        new_address=Address(street="Ostenallee", house_number="7a", postcode="59063", city="Hamm"),
        residence_type=ResidenceType.MAIN,
    )
    event = encode_event(SERDE, SCHEMAS[MOVED], model, source=SOURCE)
    assert event.key == b"HAM-00000001"
    assert SERDE.decode(event.value)["new_address"]["street"] == "Ostenallee"


def test_a_model_of_another_topic_is_refused_with_the_field():
    from producers.models.umweltamt import AirQualityMeasured

    record = generate("umweltamt.air-quality.measured", random.Random(1))[1]
    with pytest.raises(RecordValidationError) as caught:
        encode_event(
            SERDE, SCHEMAS[MOVED], AirQualityMeasured.model_validate(record), source=SOURCE
        )
    assert caught.value.topic == MOVED
    assert caught.value.field is not None


def test_event_ids_are_unique_uuid4_across_pool_refills():
    ids = [envelope.new_event_id() for _ in range(2_000)]  # several 256-id pools
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)


def test_a_forked_child_does_not_repeat_the_parents_ids():
    import os

    envelope.new_event_id()  # a pool with ids left in it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its next id and leave at once
        os.write(write, envelope.new_event_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_id != envelope.new_event_id()
