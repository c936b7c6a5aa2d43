"""The router's accounts without a broker: receipts packed into bounded records in offset order,
quality summaries staged per batch and applied only once committed, duplicates in a window."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.router.accounts import QualityLedger, _Window
from consumers.router.engine import load_core
from consumers.router.process import Measured, ReceiptPart
from hub.quality.summary import Figures, combine, day_of, to_record
from hub.receipts import (
    HASH_BYTES,
    RECEIPT_SCHEMA,
    decode_entries,
    encode_entries,
    encode_entry,
    encode_receipt,
    receipt_header,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp() * 1000)
NATIVE = pytest.param(
    True,
    id="native",
    marks=pytest.mark.skipif(load_core() is None, reason="hub_core is not installed"),
)
ENGINES = pytest.mark.parametrize("native", [NATIVE, pytest.param(False, id="python")])
HASHES = st.lists(st.none() | st.binary(min_size=HASH_BYTES, max_size=HASH_BYTES), max_size=4)


@given(st.lists(st.tuples(st.integers(0, 2**40), st.integers(-(2**45), 2**45), HASHES)))
def test_entries_round_trip_through_avro(entries):
    items = b"".join(encode_entry(*e) for e in entries)
    decoded = decode_entries(len(entries), items)
    assert [(e["offset"], e["hashes"]) for e in decoded] == [(o, h) for o, _, h in entries]


def test_a_whole_receipt_reads_as_the_documented_schema():
    header = receipt_header(
        agreement_id="a",
        agreement_hash="0123456789abcdef",
        subscriber="s",
        source_topic="t.x.y",
        source_partition=2,
        delivery_topic="deliver.s.t.x.y",
        identifier_paths=["id", "mail"],
        recorded_at=NOW,
    )
    items = encode_entry(7, TS, [b"h" * HASH_BYTES, None])
    body = encode_receipt(header, encode_entries(1, items))
    read = fastavro.schemaless_reader(io.BytesIO(body), fastavro.parse_schema(RECEIPT_SCHEMA), None)
    assert read["identifiers"] == ["id", "mail"]
    assert read["entries"] == [
        {"offset": 7, "event_time": NOW, "hashes": [b"h" * HASH_BYTES, None]}
    ]


@given(st.lists(st.integers(1, 3000), min_size=1, max_size=40), st.integers(1, 10_000))
def test_records_stay_within_the_limit_and_keep_every_entry(sizes, limit):
    part = ReceiptPart("a", "t", 0)
    for offset, size in enumerate(sizes):
        part.add(1, b"x" * size, offset, offset)
    records = part.records(limit)
    assert sum(n for n, _ in records) == len(sizes)
    assert b"".join(items for _, items in records) == b"".join(b"x" * s for s in sizes)
    for n, items in records:
        assert len(items) <= limit or n == 1


def test_a_chunk_spliced_in_below_marks_the_part_unordered():
    part = ReceiptPart("a", "t", 0)
    part.add(2, b"..", 10, 20)
    assert part.ordered
    late = ReceiptPart("a", "t", 0)
    late.add(1, b".", 15, 15)
    part.merge(late)
    assert not part.ordered
    after = ReceiptPart("a", "t", 0)
    after.add(1, b".", 30, 30)
    fresh = ReceiptPart("a", "t", 0)
    fresh.add(1, b".", 25, 25)
    fresh.merge(after)
    assert fresh.ordered and (fresh.first_offset, fresh.last_offset) == (25, 30)


def measured(events: int, ids: list[int], **figures) -> Measured:
    return Measured(Figures(events=events, **figures), ids, TS)


@ENGINES
def test_a_staged_batch_counts_only_once_committed(native):
    ledger = QualityLedger(native=native)
    staged = ledger.stage({("t", 0): measured(3, [1, 2, 2], flagged=Counter(r=1))}, NOW)
    ((key, record),) = staged.records
    assert key == f"t/{day_of(TS)}/0".encode()
    assert (record["events"], record["duplicates"], record["flagged"]) == (3, 1, {"r": 1})
    # aborted: staged again from the same state, the same figures
    again = ledger.stage({("t", 0): measured(3, [1, 2, 2], flagged=Counter(r=1))}, NOW)
    assert again.records == staged.records
    ledger.apply(again)
    later = ledger.stage({("t", 0): measured(2, [2, 9])}, NOW)
    ((_, record),) = later.records
    assert (record["events"], record["duplicates"]) == (5, 2)  # 2 was seen in the last batch


@ENGINES
def test_a_restored_ledger_continues_the_counts(native):
    ledger = QualityLedger(native=native)
    ledger.apply(ledger.stage({("t", 0): measured(4, [])}, NOW))
    state = [to_record("t", day, p, f, NOW) for (_, day, p), f in ledger.state.items()]
    restored = QualityLedger(native=native)
    restored.restore(state)
    ((_, record),) = restored.stage({("t", 0): measured(1, [])}, NOW).records
    assert record["events"] == 5


@ENGINES
def test_the_window_forgets_after_two_generations(native):
    ledger = QualityLedger(window=2, native=native)
    for ids in ([1, 2, 3], [4, 5, 6], [7, 8, 9]):
        ledger.apply(ledger.stage({("t", 0): measured(3, ids)}, NOW))
    ((_, record),) = ledger.stage({("t", 0): measured(1, [1])}, NOW).records
    assert record["duplicates"] == 0


@pytest.mark.skipif(load_core() is None, reason="hub_core is not installed (make install)")
@given(
    st.integers(0, 8),
    st.lists(
        st.tuples(
            st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 12), max_size=12), st.booleans()
        ),
        max_size=12,
    ),
)
def test_the_native_window_counts_as_its_specification(limit, batches):
    """hub_core.SeenIds equals _Window: the same duplicates per batch, whether or not a batch
    committed (``admit``), through generations turning over."""
    from hub_core import SeenIds

    spec, native = _Window(limit), SeenIds(limit)
    for ids, committed in batches:
        (expected, new), (got, fresh) = spec.duplicates(ids), native.duplicates(ids)
        assert (got, len(fresh)) == (expected, len(new))
        if committed:
            spec.admit(new)
            native.admit(fresh)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), max_size=20))
def test_partitions_of_a_day_sum_whatever_their_order(parts):
    records = [to_record("t", "2026-12-01", p, Figures(events=n), NOW) for p, n in parts]
    latest = {p: n for p, n in parts}
    for order in (records, list(reversed(records))):
        days = combine(order)
        if not parts:
            assert days == []
            continue
        expected = latest if order is records else {p: n for p, n in reversed(parts)}
        assert days[0].figures.events == sum(expected.values())
