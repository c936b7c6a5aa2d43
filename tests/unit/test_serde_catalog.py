"""Every schema of the catalog (``schemas/``): generated records survive the hub's serde, and each
older version reads the records of every newer version of its topic."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.schemas.catalog import default_schemas_dir, load_catalog
from hub.schemas.compatibility import check_compatibility
from hub.serde import AvroSerde, parse

CATALOG = load_catalog(default_schemas_dir())
VERSIONS = [(s.subject, f) for s in CATALOG.values() for f in s.versions]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _ms(value: dt.datetime) -> dt.datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    "bytes": st.binary(max_size=32),
    "string": st.text(max_size=32),
}
LOGICAL: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("long", "timestamp-millis"): st.datetimes(
        dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)
    ).map(_ms),
    ("int", "date"): st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1)),
}


def records_of(schema: Any, named: dict[str, Any] | None = None, namespace: str = "") -> Any:
    """A hypothesis strategy of values of an Avro schema (parsed JSON)."""
    named = {} if named is None else named
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            return PRIMITIVES[schema]
        full = schema if "." in schema else f"{namespace}.{schema}".lstrip(".")
        return named[full] if full in named else named[schema]
    if isinstance(schema, list):
        return st.one_of(*(records_of(branch, named, namespace) for branch in schema))
    kind = schema["type"]
    logical = schema.get("logicalType")
    if (kind, logical) in LOGICAL:
        return LOGICAL[(kind, logical)]
    if kind in PRIMITIVES:
        return PRIMITIVES[kind]
    if kind == "array":
        return st.lists(records_of(schema["items"], named, namespace), max_size=3)
    if kind == "map":
        return st.dictionaries(
            st.text(max_size=8), records_of(schema["values"], named, namespace), max_size=3
        )
    namespace = schema.get("namespace", namespace)
    full = schema["name"] if "." in schema["name"] else f"{namespace}.{schema['name']}".lstrip(".")
    if kind == "enum":
        strategy = st.sampled_from(schema["symbols"])
    elif kind == "fixed":
        strategy = st.binary(min_size=schema["size"], max_size=schema["size"])
    elif kind == "record":
        # Fields are generated lazily so that a later reference to this record resolves.
        strategy = st.deferred(
            lambda: st.fixed_dictionaries(
                {f["name"]: records_of(f["type"], named, namespace) for f in schema["fields"]}
            )
        )
    else:
        raise ValueError(f"unsupported Avro type {kind!r}")
    named[full] = named[schema["name"]] = strategy
    if kind == "record":
        for f in schema["fields"]:  # register nested named types now, in document order
            records_of(f["type"], named, namespace)
    return strategy


def test_the_catalog_is_not_empty() -> None:
    assert len(VERSIONS) >= 10


@pytest.mark.parametrize(
    "subject, schema_file", VERSIONS, ids=[f"{s}-v{f.version}" for s, f in VERSIONS]
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_catalog_records_round_trip(subject: str, schema_file: Any, data: st.DataObject) -> None:
    serde = AvroSerde()
    serde.add_schema(schema_file.version, schema_file.schema)
    record = data.draw(records_of(schema_file.schema), label=subject)
    assert serde.decode(serde.encode(schema_file.version, record)) == record


def _old_reads_new(old: Any, new: Any) -> bool:
    return not check_compatibility(old.schema, [new.schema], "BACKWARD")


# Only pairs where the older schema can read the newer one (FORWARD-compatible changes); a
# widened type (int -> long) is BACKWARD only, and fastavro then refuses with a named error.
EVOLVED = [
    (s, old, new)
    for s in CATALOG.values()
    for old in s.versions
    for new in s.versions
    if old.version < new.version and _old_reads_new(old, new)
]


@pytest.mark.parametrize(
    "subject, old, new",
    EVOLVED,
    ids=[f"{s.subject}-v{o.version}-reads-v{n.version}" for s, o, n in EVOLVED],
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_older_reader_reads_newer_records(
    subject: Any, old: Any, new: Any, data: st.DataObject
) -> None:
    serde = AvroSerde()
    serde.add_schema(new.version, new.schema)
    record = data.draw(records_of(new.schema))
    read = serde.decode(serde.encode(new.version, record), reader_schema=parse(old.schema))
    old_fields = {f["name"]: f["type"] for f in old.schema["fields"]}
    new_fields = {f["name"]: f["type"] for f in new.schema["fields"]}
    assert set(read) == set(old_fields)
    for name, old_type in old_fields.items():
        if new_fields.get(name) == old_type:  # unchanged field: the value comes through as is
            assert read[name] == record[name], name
