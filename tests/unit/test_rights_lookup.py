"""Finding a person in the receipts: identifiers parsed with errors that name them, keyed hashes,
matching by an identifier path's last segment or the whole path, each delivery once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.rights.lookup import find_hits, group_hits
from consumers.rights.person import Person, PersonError, keyed, parse_identifier
from hub.receipts import identifier_hash, receipts_key

KEY = receipts_key(b"test-master-secret-0123456789abcdef")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def h(value: object) -> bytes | None:
    return identifier_hash(KEY, value)


def receipt(subscriber="ordnungsamt", agreement="oa", paths=("resident_id",), entries=(), at=T0):
    return {
        "agreement_id": agreement,
        "agreement_hash": "v1",
        "subscriber": subscriber,
        "source_topic": "buergeramt.resident.moved",
        "source_partition": 0,
        "delivery_topic": f"deliver.{subscriber}.buergeramt.resident.moved",
        "identifiers": list(paths),
        "recorded_at": at,
        "entries": [
            {"offset": o, "event_time": T0 + timedelta(minutes=o), "hashes": list(hs)}
            for o, hs in entries
        ],
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("resident_id", "expected name=value"),
        ("=R-1", "the name is a field name"),
        ("resident id=R-1", "the name is a field name"),
        ("resident_id=", "resident_id: the value is empty"),
        ("guardian..email=a@b.de", "the name is a field name"),
        ("resident_id=" + "x" * 1001, "longer than 1000"),
    ],
)
def test_a_bad_identifier_is_one_line_naming_it(text, message):
    with pytest.raises(PersonError, match=message) as error:
        parse_identifier(text)
    assert "\n" not in str(error.value)
    assert "R-1" not in str(error.value)  # the value is never repeated back


def test_a_person_needs_an_identifier_and_keeps_each_once():
    with pytest.raises(PersonError, match="at least one"):
        Person.parse([])
    person = Person.parse(["resident_id=R-1", " resident_id = R-1 ", "guardian.email=a@b.de"])
    assert len(person.identifiers) == 2
    assert person.names == ["guardian.email", "resident_id"]
    assert "R-1" not in repr(person)


def test_hashes_are_the_receipts_hashes_and_an_int_id_is_its_digits():
    kp = keyed(Person.parse(["resident_id=R-1", "case_number=4711"]), KEY)
    assert kp.wanted["resident_id"] == {h("R-1")}
    assert kp.wanted["case_number"] == {h(4711)}  # a long identifier hashes as its digits
    assert dict(kp.references)["resident_id"] == h("R-1").hex()


def test_matching_by_last_segment_or_whole_path_names_the_recipients_once():
    rs = [
        receipt(entries=[(1, [h("R-1")]), (2, [h("R-2")])]),
        receipt(
            "jugendhilfe",
            "jh",
            paths=("child.id", "guardian.email"),
            entries=[(7, [None, h("a@b.de")]), (8, [h("R-1"), None])],
        ),
        receipt("ordnungsamt", "oa", entries=[(1, [h("R-1")])], at=T0 + timedelta(hours=1)),
    ]
    by_name = find_hits(rs, keyed(Person.parse(["resident_id=R-1", "email=a@b.de"]), KEY))
    # child.id carries "R-1" but is not named resident_id: not the person's there
    assert [(x.subscriber, x.offset, x.paths) for x in by_name] == [
        ("ordnungsamt", 1, ("resident_id",)),
        ("jugendhilfe", 7, ("guardian.email",)),
    ]
    assert by_name[0].recorded_at == T0  # a replayed delivery counts once, first time
    by_path = find_hits(rs, keyed(Person.parse(["child.id=R-1"]), KEY))
    assert [(x.subscriber, x.offset) for x in by_path] == [("jugendhilfe", 8)]
    assert by_path[0].values == {"child.id": "R-1"}
    assert "R-1" not in repr(by_path[0])


def test_since_and_a_person_never_seen():
    rs = [receipt(entries=[(1, [h("R-1")])], at=T0)]
    assert find_hits(rs, keyed(Person.parse(["resident_id=R-9"]), KEY)) == []
    later = find_hits(rs, keyed(Person.parse(["resident_id=R-1"]), KEY), since=T0 + timedelta(1))
    assert later == []


def test_groups_are_per_recipient_agreement_and_version():
    rs = [
        receipt(entries=[(1, [h("R-1")])]),
        {**receipt(entries=[(5, [h("R-1")])]), "agreement_hash": "v2"},
        receipt("statistik", "st", entries=[(3, [h("R-1")])]),
    ]
    groups = group_hits(find_hits(rs, keyed(Person.parse(["resident_id=R-1"]), KEY)))
    assert [(g.subscriber, g.agreement_hash, len(g.hits)) for g in groups] == [
        ("ordnungsamt", "v1", 1),
        ("ordnungsamt", "v2", 1),
        ("statistik", "v1", 1),
    ]


ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    person=st.lists(ids, min_size=1, max_size=3),
    others=st.lists(ids, max_size=6),
    layout=st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=12),
)
def test_a_hit_is_exactly_an_entry_with_one_of_the_persons_hashes(person, others, layout):
    """Whatever the values: an entry is found iff its resident_id hash is one of the person's,
    and every entry found is named once with its own delivery id."""
    person = [p.strip() for p in person if p.strip() and "=" not in p] or ["x"]
    pool = [*person, *others]
    entries = []
    for offset, (i, null) in enumerate(layout):
        value = pool[i % len(pool)]
        entries.append((offset, [None if null else h(value)]))
    hits = find_hits(
        [receipt(entries=entries)], keyed(Person.parse([f"resident_id={p}" for p in person]), KEY)
    )
    expected = {
        o for o, (i, null) in enumerate(layout) if not null and pool[i % len(pool)] in person
    }
    assert {x.offset for x in hits} == expected
    assert len({x.delivery_id for x in hits}) == len(hits)
