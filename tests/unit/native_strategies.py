"""Hypothesis strategies for the differential tests of the native core (no tests here): random
source schemas within what the catalog uses (nested records, unions with null, arrays, maps,
enums, logical types), records valid for them, and agreements that compile against them."""

from __future__ import annotations

import datetime as dt
import itertools
import string
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

UTC = dt.UTC
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
# Values around the edges the transforms care about, and anywhere.
MOMENTS = st.one_of(
    st.datetimes(dt.datetime(1890, 1, 1), dt.datetime(2100, 1, 1)),
    st.sampled_from(
        [
            dt.datetime(2026, 3, 29, 0, 59, 59),
            dt.datetime(2026, 3, 29, 1, 0),
            dt.datetime(2026, 10, 25, 0, 30),
            dt.datetime(2026, 10, 25, 1, 30),
            dt.datetime(2026, 12, 31, 23, 30),
            dt.datetime(1893, 3, 31, 23, 0),
            dt.datetime(1945, 5, 24, 1, 30),
            dt.datetime(9998, 12, 31, 23, 59),
            dt.datetime(2, 1, 1, 0, 0),
        ]
    ),
    st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)),
)


@dataclass
class Leaf:
    """A field of the schema (any depth) and what may be done with it."""

    path: str
    kind: str  # string, int, long, float, double, boolean, bytes, enum, date, ts_ms, ts_us, local_ms, uuid, array, map, geo, record
    nullable: bool
    symbols: tuple[str, ...] = ()
    top_level: bool = False


@dataclass
class Shape:
    schema: dict[str, Any]
    values: st.SearchStrategy[dict[str, Any]]
    leaves: list[Leaf] = field(default_factory=list)


def _ms(d: dt.datetime) -> dt.datetime:
    return d.replace(microsecond=d.microsecond // 1000 * 1000)


PRIMS: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "string": ("string", TEXT),
    "int": ("int", st.integers(-(2**31), 2**31 - 1)),
    "long": ("long", st.integers(-(2**63), 2**63 - 1) | st.integers(-1000, 1000)),
    "float": ("float", st.floats(width=32)),
    "double": ("double", st.floats() | st.floats(-1e6, 1e6)),
    "boolean": ("boolean", st.booleans()),
    "bytes": ("bytes", st.binary(max_size=8)),
    "date": (
        {"type": "int", "logicalType": "date"},
        st.dates() | st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)),
    ),
    "ts_ms": (
        {"type": "long", "logicalType": "timestamp-millis"},
        MOMENTS.map(lambda d: _ms(d).replace(tzinfo=UTC)),
    ),
    "ts_us": (
        {"type": "long", "logicalType": "timestamp-micros"},
        MOMENTS.map(lambda d: d.replace(tzinfo=UTC)),
    ),
    "local_ms": ({"type": "long", "logicalType": "local-timestamp-millis"}, MOMENTS.map(_ms)),
    "uuid": ({"type": "string", "logicalType": "uuid"}, st.uuids()),
}


@st.composite
def shapes(draw: st.DrawFn, depth: int = 0, prefix: str = "", name: str = "Rec") -> Shape:
    """A record type with 1-6 fields, and a strategy for its values."""
    count = draw(st.integers(1, 6 if depth == 0 else 3))
    fields: list[dict[str, Any]] = []
    strategies: dict[str, st.SearchStrategy[Any]] = {}
    leaves: list[Leaf] = []
    names = draw(
        st.lists(
            st.text(string.ascii_lowercase, min_size=1, max_size=6),
            min_size=count,
            max_size=count,
            unique=True,
        )
    )
    if depth == 0 and draw(st.booleans()):
        names[0] = "occurred_at"
    for i, fname in enumerate(names):
        path = f"{prefix}{fname}"
        nullable = draw(st.booleans())
        if fname == "occurred_at":
            kind = draw(st.sampled_from(["ts_ms", "ts_ms", "ts_us"]))
        else:
            options = [*PRIMS, "enum", "array", "map", "geo"]
            if depth < 2:
                options.append("record")
            kind = draw(st.sampled_from(options))
        leaf = Leaf(path, kind, nullable, top_level=depth == 0)
        if kind in PRIMS:
            avro, values = PRIMS[kind]
        elif kind == "enum":
            symbols = draw(
                st.lists(
                    st.text(string.ascii_uppercase, min_size=1, max_size=3),
                    min_size=1,
                    max_size=4,
                    unique=True,
                )
            )
            leaf.symbols = tuple(symbols)
            avro = {"type": "enum", "name": f"{name}E{i}", "symbols": symbols}
            values = st.sampled_from(symbols)
        elif kind == "array":
            item = draw(st.sampled_from(["string", "long", "double", "date", "ts_ms"]))
            inner, inner_values = PRIMS[item]
            if draw(st.booleans()):
                inner, inner_values = ["null", inner], st.none() | inner_values
            avro = {"type": "array", "items": inner}
            values = st.lists(inner_values, max_size=3)
        elif kind == "map":
            inner, inner_values = PRIMS[draw(st.sampled_from(["string", "long", "boolean"]))]
            avro = {"type": "map", "values": inner}
            values = st.dictionaries(TEXT, inner_values, max_size=3)
        elif kind == "geo":
            coord = draw(st.sampled_from(["double", "float"]))
            avro = {
                "type": "record",
                "name": f"{name}G{i}",
                "fields": [
                    {"name": "lat", "type": coord, "doc": "lat", "x-pii": "quasi"},
                    {"name": "lon", "type": coord, "doc": "lon", "x-pii": "quasi"},
                ],
            }
            width = 32 if coord == "float" else 64
            values = st.fixed_dictionaries(
                {
                    "lat": st.floats(-90, 90, width=width) | st.floats(width=width),
                    "lon": st.floats(-180, 180, width=width) | st.floats(width=width),
                }
            )
        else:
            sub = draw(shapes(depth + 1, f"{path}.", f"{name}R{i}"))
            avro, values = sub.schema, sub.values
            leaves.extend(sub.leaves)
        if nullable:
            avro = ["null", avro]
            values = st.none() | values
        # some direct identifiers: receipts hash them (strings and ints, nullable or not)
        pii = draw(st.sampled_from(["quasi", "quasi", "direct"]))
        fields.append({"name": fname, "type": avro, "doc": fname, "x-pii": pii})
        strategies[fname] = values
        leaves.append(leaf)
    schema = {"type": "record", "name": name, "namespace": "t.gen", "fields": fields}
    return Shape(schema, st.fixed_dictionaries(strategies), leaves)


NUMBERS = ("int", "long", "float", "double")
TIMES = ("date", "ts_ms", "ts_us", "local_ms")
WIDTHS = st.one_of(
    st.integers(1, 10**6),
    st.sampled_from([0.5, 0.25, 0.1, 2.5, 2.0, 1e-3, 7.0, 0.3]),
    st.floats(0.001, 1e6).filter(lambda x: x > 0),
)


def transforms_for(leaf: Leaf, has_event_time: bool) -> st.SearchStrategy[Any]:
    """Transforms the Python engine accepts for this field."""
    k = leaf.kind
    options: list[st.SearchStrategy[Any]] = [
        st.just("drop"),
        st.just("redact")
        | st.builds(
            lambda a: {"redact": a}, st.none() | TEXT | st.integers() | st.floats() | st.booleans()
        ),
    ]
    if k not in ("record", "geo"):
        options.append(st.just("keep"))
    if k in ("string", "enum", "bytes", "int", "long"):
        options.append(st.just("pseudonymize"))
    if k == "string":
        options.append(st.builds(lambda n: {"mask": n}, st.integers(0, 6)))
        options.append(st.builds(lambda n: {"postcode_prefix": n}, st.integers(1, 6)))
    if k in ("ts_ms", "ts_us", "local_ms"):
        options.append(
            st.builds(lambda u: {"truncate": u}, st.sampled_from(["hour", "day", "month", "year"]))
        )
    if k == "date":
        options.append(st.builds(lambda u: {"truncate": u}, st.sampled_from(["month", "year"])))
    if k in TIMES:
        options.append(
            st.builds(lambda u: {"generalize": u}, st.sampled_from(["year", "quarter", "month"]))
        )
        options.append(st.builds(lambda n: {"date_shift": n}, st.integers(1, 400)))
    if k == "date" and has_event_time:
        options.append(
            st.builds(
                lambda a: {"age_band": a},
                st.integers(1, 30)
                | st.lists(st.integers(0, 100), min_size=1, max_size=4, unique=True).map(sorted),
            )
        )
    if k in NUMBERS:
        bounds = (
            st.lists(
                st.integers(-(10**6), 10**6) | st.floats(-1e6, 1e6),
                min_size=1,
                max_size=4,
                unique=True,
            )
            .map(sorted)
            .filter(lambda b: all(x < y for x, y in itertools.pairwise(b)))
        )
        options.append(st.builds(lambda w: {"bucket": w}, WIDTHS | bounds))
    if k == "geo":
        options.append(st.builds(lambda r: {"h3": r}, st.integers(0, 15)))
    return st.one_of(options)


def operands(leaf: Leaf) -> st.SearchStrategy[Any]:
    k = leaf.kind
    if k == "enum":
        return st.sampled_from(leaf.symbols)
    if k == "string":
        return TEXT
    if k == "boolean":
        return st.booleans()
    if k in ("int", "long"):
        return st.integers(-(2**40), 2**40) | st.integers(-5, 5)
    if k in ("float", "double"):
        return st.integers(-1000, 1000) | st.floats(allow_nan=False) | st.floats(-10, 10)
    if k == "date":
        return st.dates() | st.dates().map(dt.date.isoformat)
    if k in ("ts_ms", "ts_us"):
        return MOMENTS.map(lambda d: d.replace(tzinfo=UTC))
    if k == "local_ms":
        return MOMENTS
    return st.nothing()


ORDERED = ("string", "int", "long", "float", "double", "date", "ts_ms", "ts_us", "local_ms")


@st.composite
def filters(draw: st.DrawFn, leaves: list[Leaf], depth: int = 0) -> dict[str, Any]:
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        combinator = draw(st.sampled_from(["all", "any", "not"]))
        if combinator == "not":
            return {"not": draw(filters(leaves, depth + 1))}
        return {combinator: draw(st.lists(filters(leaves, depth + 1), min_size=1, max_size=3))}
    leaf = draw(st.sampled_from(leaves))
    ops = ["exists"]
    if leaf.kind in ("enum", "boolean", *ORDERED):
        ops += ["eq", "ne", "in", "not_in"]
    if leaf.kind in ORDERED:
        ops += ["lt", "lte", "gt", "gte"]
    op = draw(st.sampled_from(ops))
    if op == "exists":
        operand: Any = draw(st.booleans())
    elif op in ("in", "not_in"):
        operand = draw(st.lists(operands(leaf), min_size=1, max_size=3))
    else:
        operand = draw(operands(leaf))
    return {leaf.path: {op: operand}}


@st.composite
def agreements(draw: st.DrawFn, shape: Shape, source: str, name: str) -> dict[str, Any]:
    """The raw YAML form of an agreement on ``shape``."""
    has_event_time = any(
        leaf.path == "occurred_at" and leaf.kind in ("ts_ms", "ts_us") for leaf in shape.leaves
    )
    chosen = draw(
        st.lists(st.sampled_from(shape.leaves), min_size=1, max_size=6, unique_by=lambda x: x.path)
    )
    fields: dict[str, Any] = {}
    for leaf in sorted(chosen, key=lambda x: x.path.count(".")):
        if any(leaf.path.startswith(f"{p}.") for p in fields):
            continue  # its enclosing record is already named
        if leaf.kind == "record":
            continue  # records are delivered through their sub-fields
        fields[leaf.path] = draw(transforms_for(leaf, has_event_time))
    raw: dict[str, Any] = {
        "id": name,
        "subscriber": name,
        "source": source,
        "purpose": "Test",
        "legal_basis": "§ 1 Test",
        "valid_until": dt.date(2099, 12, 31),
        "fields": fields or {"x": "keep"},
        "allows_identifying": True,
        "sensitive_legal_basis": "Art. 9 Abs. 2 lit. h DSGVO",
        "key": draw(
            st.sampled_from(["keep", "drop", "pseudonymize", "redact"])
            | st.builds(lambda n: {"mask": n}, st.integers(0, 5))
            | st.builds(lambda a: {"redact": a}, TEXT | st.integers() | st.booleans())
        ),
    }
    filterable = [leaf for leaf in shape.leaves if leaf.kind != "record"]
    if filterable and draw(st.booleans()):
        raw["where"] = draw(filters(filterable))
    return raw
