"""Order per key and commit points: the bookkeeping behind "nothing lost, nothing reordered"."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.webhooks.delivery import Delivery
from consumers.webhooks.ordering import Ordering


def d(offset: int, key: bytes | None, partition: int = 0, topic: str = "deliver.t") -> Delivery:
    return Delivery(topic, partition, offset, key, b"v", [], 0)


def test_a_key_waits_for_its_earlier_event_other_keys_do_not():
    o: Ordering[Delivery] = Ordering()
    a0, b1, a2, b3 = d(0, b"a"), d(1, b"b"), d(2, b"a"), d(3, b"b")
    assert o.add(a0) is True
    assert o.add(b1) is True
    assert o.add(a2) is False  # a0 is not finished yet
    assert o.add(b3) is False
    assert o.finish(b1) is b3  # b's next may go now
    assert o.finish(a0) is a2
    assert o.finish(a2) is None
    assert o.finish(b3) is None
    assert o.buffered == 0


def test_deliveries_without_a_key_wait_for_nobody():
    o: Ordering[Delivery] = Ordering()
    items = [d(i, None) for i in range(5)]
    assert all(o.add(item) for item in items)
    assert o.finish(items[3]) is None
    assert o.buffered == 4


def test_commit_point_is_after_the_longest_finished_run():
    o: Ordering[Delivery] = Ordering()
    items = [d(i, bytes([i])) for i in range(5)]
    for item in items:
        o.add(item)
    assert o.commit_points() == {}
    o.finish(items[1])
    o.finish(items[2])
    assert o.commit_points() == {}  # offset 0 is still out
    o.finish(items[0])
    assert o.commit_points() == {("deliver.t", 0): 3}
    assert o.commit_points() == {}  # only what moved
    assert o.commit_points(all_=True) == {("deliver.t", 0): 3}
    o.finish(items[4])
    assert o.commit_points() == {}
    o.finish(items[3])
    assert o.commit_points() == {("deliver.t", 0): 5}


def test_offset_gaps_of_transaction_markers_do_not_hold_the_commit_point():
    o: Ordering[Delivery] = Ordering()
    first, second = d(10, b"a"), d(12, b"b")  # 11 is a commit marker: never delivered
    o.add(first)
    o.add(second)
    o.finish(second)
    o.finish(first)
    assert o.commit_points() == {("deliver.t", 0): 13}


def test_partitions_are_committed_separately():
    o: Ordering[Delivery] = Ordering()
    p0, p1 = d(5, b"a", partition=0), d(7, b"b", partition=1)
    o.add(p0)
    o.add(p1)
    o.finish(p1)
    assert o.commit_points() == {("deliver.t", 1): 8}


def test_out_of_order_input_and_finishing_a_waiting_event_are_bugs():
    o: Ordering[Delivery] = Ordering()
    first, later = d(3, b"a"), d(4, b"a")
    o.add(first)
    o.add(later)
    with pytest.raises(ValueError, match="out of order"):
        o.add(d(2, b"c"))
    with pytest.raises(ValueError, match="before its lane's head"):
        o.finish(later)


def test_forget_drops_a_partitions_unfinished_deliveries():
    o: Ordering[Delivery] = Ordering()
    keep, gone1, gone2 = d(0, b"a", partition=0), d(0, b"b", partition=1), d(1, b"b", partition=1)
    for item in (keep, gone1, gone2):
        o.add(item)
    assert o.forget([("deliver.t", 1)]) == 2
    assert o.buffered == 1
    assert o.waiting(gone1.lane) == 0
    o.finish(keep)
    assert o.commit_points() == {("deliver.t", 0): 1}


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.sampled_from([b"a", b"b", b"c", b"d", None]), min_size=1, max_size=60),
    seed=st.integers(0, 2**32),
)
def test_any_completion_order_keeps_key_order_and_commits_only_finished(keys, seed):
    """Simulate a dispatcher finishing in-flight deliveries in random order."""
    rng = random.Random(seed)
    o: Ordering[Delivery] = Ordering()
    items = [d(i, k) for i, k in enumerate(keys)]
    ready = [item for item in items if o.add(item)]
    finished: list[Delivery] = []
    committed = 0
    while ready:
        item = ready.pop(rng.randrange(len(ready)))
        finished.append(item)
        following = o.finish(item)
        if following is not None:
            ready.append(following)
        point = o.commit_points().get(("deliver.t", 0))
        if point is not None:
            assert point > committed
            committed = point
            # every offset below the commit point was finished
            done = {f.offset for f in finished}
            assert all(i in done for i in range(point))
    assert len(finished) == len(items)
    assert committed == len(items)
    for key in {k for k in keys if k is not None}:
        order = [f.offset for f in finished if f.key == key]
        assert order == sorted(order)
