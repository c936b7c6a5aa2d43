"""The fold over ``_schemas``: ids, races, soft and permanent deletes, config, determinism."""

from __future__ import annotations

import json

import orjson
from hypothesis import given
from hypothesis import strategies as st

from hub.registry import records
from hub.registry.canonical import identity
from hub.registry.state import State, apply, fold


def schema(name: str, *fields: str) -> str:
    return json.dumps(
        {"type": "record", "name": name, "fields": [{"name": f, "type": "string"} for f in fields]}
    )


A, B, C = schema("A", "a"), schema("B", "b"), schema("C", "c")


def put(
    subject: str,
    version: int,
    schema_id: int,
    text: str,
    proposal: str | None = "p",
    deleted: bool = False,
) -> tuple[bytes, bytes]:
    proposal = None if proposal is None else f"{proposal}-{subject}-{version}-{schema_id}"
    return (
        records.schema_key(subject, version, proposal),
        records.schema_value(subject, version, schema_id, text, deleted=deleted),
    )


def ids(state: State) -> dict[tuple[str, int], int]:
    return {(v.subject, v.version): v.id for vs in state.subjects.values() for v in vs.values()}


# --- registration ---


def test_empty_log_gives_empty_state() -> None:
    state = fold([])
    assert state.subjects == {} and state.schemas == {} and state.max_id == 0


def test_accepted_schema_is_visible_by_subject_id_and_identity() -> None:
    state = fold([put("s", 1, 1, A)])
    held = state.subjects["s"][1]
    assert (held.subject, held.version, held.id, held.schema, held.deleted) == ("s", 1, 1, A, False)
    assert state.schemas[1].schema == A
    assert state.ids[identity(json.loads(A))] == 1
    assert state.max_id == 1


def test_same_schema_under_two_subjects_shares_the_id() -> None:
    state = fold([put("s", 1, 1, A), put("t", 1, 1, A)])
    assert ids(state) == {("s", 1): 1, ("t", 1): 1}
    assert [(v.subject, v.version) for v in state.holders(1)] == [("s", 1), ("t", 1)]


def test_whitespace_and_key_order_do_not_make_another_schema() -> None:
    reordered = json.dumps(dict(reversed(list(json.loads(A).items()))), indent=3)
    state = fold([put("s", 1, 1, A), put("t", 1, 1, reordered)])
    assert ids(state) == {("s", 1): 1, ("t", 1): 1}


def test_a_doc_change_is_another_schema() -> None:
    with_doc = json.dumps({**json.loads(A), "doc": "Baum"})
    state = fold([put("s", 1, 1, A), put("t", 1, 1, with_doc)])
    assert ids(state) == {("s", 1): 1}
    assert "belongs to another schema" in next(iter(state.rejected.values()))[1]


def test_version_race_first_writer_wins() -> None:
    state = fold([put("s", 1, 1, A, "x"), put("s", 1, 2, B, "y")])
    assert ids(state) == {("s", 1): 1}
    ((raw_key, reason),) = state.rejected.values()
    assert raw_key == put("s", 1, 2, B, "y")[0]
    assert "version 1 of s is taken" in reason


def test_id_race_first_writer_wins() -> None:
    state = fold([put("s", 1, 5, A), put("t", 1, 5, B)])
    assert ids(state) == {("s", 1): 5}
    assert "id 5 belongs to another schema" in next(iter(state.rejected.values()))[1]


def test_a_schema_never_gets_a_second_id() -> None:
    state = fold([put("s", 1, 1, A), put("t", 1, 2, A)])
    assert ids(state) == {("s", 1): 1}
    assert "already has id 1" in next(iter(state.rejected.values()))[1]


def test_tombstone_of_a_rejected_proposal_clears_it() -> None:
    losing = put("s", 1, 2, B, "y")
    state = fold([put("s", 1, 1, A, "x"), losing, (losing[0], None)])
    assert state.rejected == {} and ids(state) == {("s", 1): 1}


def test_max_id_counts_rejected_proposals_too() -> None:
    state = fold([put("s", 1, 1, A), put("t", 1, 1, B)])
    assert state.max_id == 1
    state = fold([put("s", 1, 1, A), put("t", 1, 7, A)])
    assert state.max_id == 7


def test_confluent_keys_without_proposal_fold_the_same() -> None:
    state = fold([put("s", 1, 1, A, None), put("s", 2, 2, B, None)])
    assert ids(state) == {("s", 1): 1, ("s", 2): 2}


def test_value_not_matching_its_key_is_rejected() -> None:
    key = records.schema_key("s", 1, "p")
    value = records.schema_value("other", 1, 1, A)
    state = fold([(key, value)])
    assert state.subjects == {} and "key s v1" in next(iter(state.rejected.values()))[1]


def test_malformed_records_are_skipped() -> None:
    state = fold(
        [
            (b"not json", b"{}"),
            (b'{"no": "keytype"}', b"{}"),
            (records.schema_key("s", 1, "p"), b"[1]"),
            (
                records.schema_key("s", 1, "q"),
                orjson.dumps({"subject": "s", "version": 1, "id": 1, "schema": "{bad"}),
            ),
            put("s", 1, 1, A),
        ]
    )
    assert ids(state) == {("s", 1): 1}
    assert state.skipped == 3 and len(state.rejected) == 1  # the unparsable schema


def test_unknown_key_types_and_noop_change_nothing() -> None:
    before = fold([put("s", 1, 1, A)])
    after = fold([(records.noop_key(), None), (b'{"keytype":"CONTEXT","magic":0}', b"{}")], before)
    assert ids(after) == ids(before) and after.compatibility == before.compatibility


# --- deletes ---


def test_soft_delete_rewrites_the_same_key() -> None:
    key, value = put("s", 1, 1, A)
    deleted = records.schema_value("s", 1, 1, A, deleted=True)
    state = fold([(key, value), (key, deleted)])
    assert state.subjects["s"][1].deleted
    assert state.versions("s") == [] and [v.version for v in state.versions("s", deleted=True)] == [
        1
    ]
    assert state.subject_names() == [] and state.subject_names(deleted=True) == ["s"]
    assert state.schemas[1].schema == A  # a soft-deleted schema is still found by id


def test_accepted_record_cannot_be_changed_except_deleted_flag() -> None:
    key, value = put("s", 1, 1, A)
    state = fold([(key, value), (key, records.schema_value("s", 1, 1, B))])
    assert state.subjects["s"][1].schema == A
    assert state.skipped == 1


def test_permanent_delete_frees_the_id_when_no_one_holds_it() -> None:
    s_key, s_value = put("s", 1, 1, A)
    t_key, t_value = put("t", 1, 1, A)
    state = fold([(s_key, s_value), (t_key, t_value), (s_key, None)])
    assert ids(state) == {("t", 1): 1} and state.schemas[1].schema == A
    state = apply(state, t_key, None)
    assert state.subjects == {} and state.schemas == {} and state.ids == {}


def test_tombstone_for_an_unknown_key_is_ignored() -> None:
    state = fold([put("s", 1, 1, A), (records.schema_key("s", 9, "zzz"), None)])
    assert ids(state) == {("s", 1): 1}


def test_delete_subject_record_soft_deletes_up_to_its_version() -> None:
    state = fold(
        [
            put("s", 1, 1, A),
            put("s", 2, 2, B),
            put("s", 3, 3, C),
            (
                b'{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}',
                b'{"subject":"s","version":2}',
            ),
        ]
    )
    assert [v.version for v in state.versions("s")] == [3]


def test_version_number_reused_after_permanent_delete() -> None:
    key, value = put("s", 1, 1, A, "first")
    state = fold(
        [
            (key, value),
            (key, records.schema_value("s", 1, 1, A, deleted=True)),
            (key, None),
            put("s", 1, 2, B, "second"),
        ]
    )
    assert ids(state) == {("s", 1): 2}


# --- config and mode ---


def test_config_records_set_and_clear_levels() -> None:
    state = fold(
        [
            (records.config_key(None), records.config_value("FULL")),
            (records.config_key("s"), records.config_value("none")),
            (records.config_key("t"), records.config_value("BOGUS")),
        ]
    )
    assert state.compatibility == {None: "FULL", "s": "NONE"}
    state = apply(state, records.config_key("s"), None)
    assert state.compatibility == {None: "FULL"}


def test_confluent_config_value_layout() -> None:
    state = apply(
        State(),
        b'{"keytype":"CONFIG","subject":null,"magic":0}',
        b'{"compatibilityLevel":"FORWARD_TRANSITIVE"}',
    )
    assert state.compatibility == {None: "FORWARD_TRANSITIVE"}


def test_mode_records() -> None:
    state = fold([(records.mode_key(None), records.mode_value("READONLY"))])
    assert state.modes == {None: "READONLY"}
    assert apply(state, records.mode_key(None), None).modes == {}


# --- purity and determinism ---


def test_apply_does_not_change_its_input() -> None:
    before = fold([put("s", 1, 1, A)])
    snapshot = (ids(before), dict(before.schemas), dict(before.ids), before.max_id)
    apply(before, *put("s", 2, 2, B))
    apply(before, put("s", 1, 1, A)[0], None)
    assert (ids(before), dict(before.schemas), dict(before.ids), before.max_id) == snapshot


SCHEMAS = [A, B, C, schema("D", "d"), schema("A", "a", "b")]
RECORD = st.one_of(
    st.builds(
        put,
        st.sampled_from(["s", "t", "u"]),
        st.integers(1, 4),
        st.integers(1, 6),
        st.sampled_from(SCHEMAS),
        st.sampled_from(["p", "q"]),
        st.booleans(),
    ),
    st.builds(
        lambda r: (r[0], None),
        st.builds(
            put,
            st.sampled_from(["s", "t"]),
            st.integers(1, 4),
            st.integers(1, 6),
            st.sampled_from(SCHEMAS),
            st.sampled_from(["p", "q"]),
        ),
    ),
    st.builds(
        lambda s, lvl: (records.config_key(s), records.config_value(lvl)),
        st.sampled_from([None, "s"]),
        st.sampled_from([None, "FULL", "NONE"]),
    ),
)


@given(st.lists(RECORD, max_size=30))
def test_folding_the_same_log_twice_gives_the_same_state(log: list) -> None:
    assert fold(log) == fold(log)
    # ...and record by record equals all at once.
    state = State()
    for key, value in log:
        state = apply(state, key, value)
    assert state == fold(log)


@given(st.lists(RECORD, max_size=30))
def test_invariants_hold_after_any_log(log: list) -> None:
    state = fold(log)
    # An id always names one schema, and a schema has one id.
    by_id: dict[int, set[str]] = {}
    by_identity: dict[str, set[int]] = {}
    for versions in state.subjects.values():
        for v in versions.values():
            by_id.setdefault(v.id, set()).add(v.identity)
            by_identity.setdefault(v.identity, set()).add(v.id)
            assert state.schemas[v.id].identity == v.identity
    assert all(len(x) == 1 for x in by_id.values())
    assert all(len(x) == 1 for x in by_identity.values())
    assert set(state.schemas) == set(by_id) == set(state.refs)
    assert all(state.refs[i] == len(state.holders(i)) for i in state.refs)


@given(st.lists(RECORD, max_size=20), st.lists(RECORD, max_size=20))
def test_fold_is_associative_over_log_splits(first: list, second: list) -> None:
    assert fold(second, fold(first)) == fold(first + second)


@given(
    st.permutations(
        [
            put("s", 1, 1, A),
            put("t", 1, 2, B),
            put("u", 1, 3, C),
            (records.config_key("s"), records.config_value("FULL")),
        ]
    )
)
def test_non_conflicting_records_commute(log: list) -> None:
    state = fold(log)
    assert ids(state) == {("s", 1): 1, ("t", 1): 2, ("u", 1): 3}
    assert state.compatibility == {"s": "FULL"}
