"""The registry's state as a deterministic fold over the ``_schemas`` log. Pure: no I/O.

``apply(state, key, value) -> state`` is the whole truth: every instance that folds the same log
holds the same state, so ids agree across restarts and replicas. Writers only *propose* records;
the fold decides. A SCHEMA record is accepted when it contradicts nothing accepted before:

- its subject version is free (or it updates the same key: only ``deleted`` may change),
- its id is free or already belongs to the same schema,
- its schema has no other id.

A rejected proposal changes nothing but ``rejected`` (so its writer, or any instance, can
tombstone it). The rules only look at records that are alive, so folding the compacted log
gives the same state as folding the full log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hub.registry import records
from hub.registry.canonical import SchemaTextError, identity, load
from hub.schemas.references import Reference, ReferenceError, parse_references

COMPATIBILITY_LEVELS = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)
MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")


@dataclass(frozen=True)
class SchemaVersion:
    """One version of a subject, as accepted from the log."""

    subject: str
    version: int
    id: int
    schema: str
    identity: str
    schema_type: str
    deleted: bool
    key: bytes  # raw key of the accepted record: soft deletes and tombstones reuse it
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True)
class SchemaEntry:
    """A schema by its global id."""

    id: int
    schema: str
    identity: str
    schema_type: str
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True)
class State:
    """What the registry knows. Treat as immutable: ``apply``/``fold`` return new states."""

    subjects: dict[str, dict[int, SchemaVersion]] = field(default_factory=dict)
    by_key: dict[str, SchemaVersion] = field(default_factory=dict)
    schemas: dict[int, SchemaEntry] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # identity -> id
    refs: dict[int, int] = field(default_factory=dict)  # id -> number of versions holding it
    compatibility: dict[str | None, str] = field(default_factory=dict)  # None: global
    modes: dict[str | None, str] = field(default_factory=dict)  # None: global
    max_id: int = 0
    rejected: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # ident -> (key, why)
    skipped: int = 0  # malformed records, and changes to accepted records other than ``deleted``

    def versions(self, subject: str, *, deleted: bool = False) -> list[SchemaVersion]:
        """Versions of ``subject``, oldest first; soft-deleted ones only if ``deleted``."""
        held = self.subjects.get(subject, {})
        return [held[v] for v in sorted(held) if deleted or not held[v].deleted]

    def subject_names(self, *, deleted: bool = False) -> list[str]:
        return sorted(
            s
            for s, vs in self.subjects.items()
            if any(deleted or not v.deleted for v in vs.values())
        )

    def holders(self, schema_id: int) -> list[SchemaVersion]:
        """Every version (including soft-deleted) that uses ``schema_id``."""
        return sorted(
            (v for vs in self.subjects.values() for v in vs.values() if v.id == schema_id),
            key=lambda v: (v.subject, v.version),
        )

    def referrers(self, subject: str, version: int) -> list[SchemaVersion]:
        """Every version (including soft-deleted) whose references name ``subject`` v``version``."""
        return sorted(
            (
                v
                for vs in self.subjects.values()
                for v in vs.values()
                if any(r.subject == subject and r.version == version for r in v.references)
            ),
            key=lambda v: (v.subject, v.version),
        )


def _copy(state: State) -> State:
    return replace(
        state,
        subjects={s: dict(vs) for s, vs in state.subjects.items()},
        by_key=dict(state.by_key),
        schemas=dict(state.schemas),
        ids=dict(state.ids),
        refs=dict(state.refs),
        compatibility=dict(state.compatibility),
        modes=dict(state.modes),
        rejected=dict(state.rejected),
    )


def apply(state: State, key: bytes, value: bytes | None) -> State:
    """The state after the record ``key``/``value`` (``None``: tombstone)."""
    return fold([(key, value)], state)


def fold(log_records: Iterable[tuple[bytes, bytes | None]], state: State | None = None) -> State:
    """The state after all ``(key, value)`` records, in order, starting from ``state``."""
    new = State() if state is None else _copy(state)
    max_id, skipped = new.max_id, new.skipped
    for key, value in log_records:
        seen = _apply_in_place(new, key, value)
        if seen is None:
            skipped += 1
        else:
            max_id = max(max_id, seen)
    return replace(new, max_id=max_id, skipped=skipped)


# In-place steps on a private copy; each returns the highest schema id it saw (for max_id), or
# None for a record it skipped.


def _apply_in_place(state: State, raw_key: bytes, raw_value: bytes | None) -> int | None:
    try:
        key = records.parse_key(raw_key)
        value = records.parse_value(raw_value)
    except records.RecordError:
        return None
    if key.keytype == records.SCHEMA:
        return _schema(state, key, raw_key, value)
    if key.keytype == records.CONFIG:
        _setting(
            state.compatibility, key.subject, value, "compatibilityLevel", COMPATIBILITY_LEVELS
        )
    elif key.keytype == records.MODE:
        _setting(state.modes, key.subject, value, "mode", MODES)
    elif key.keytype == records.DELETE_SUBJECT and value is not None:
        _delete_subject(state, value)
    return 0  # NOOP and key types of newer Confluent versions change nothing here


def _setting(
    target: dict[str | None, str],
    subject: str | None,
    value: Mapping[str, Any] | None,
    field_name: str,
    allowed: tuple[str, ...],
) -> None:
    setting = None if value is None else value.get(field_name)
    if setting is None:
        target.pop(subject, None)
    elif isinstance(setting, str) and setting.upper() in allowed:
        target[subject] = setting.upper()


def _delete_subject(state: State, value: Mapping[str, Any]) -> None:
    subject, up_to = value.get("subject"), value.get("version")
    if not isinstance(subject, str) or not isinstance(up_to, int):
        return
    for version, held in list(state.subjects.get(subject, {}).items()):
        if version <= up_to and not held.deleted:
            _put(state, replace(held, deleted=True), records.parse_key(held.key).ident)


def _schema(state: State, key: records.Key, raw_key: bytes, value: Mapping[str, Any] | None) -> int:
    if value is None:
        _tombstone(state, key.ident)
        return 0
    try:
        proposed = _version_of(key, raw_key, value)
    except ValueError as exc:
        state.rejected[key.ident] = (raw_key, str(exc))
        return 0
    current = state.by_key.get(key.ident)
    if current is not None:
        if (current.subject, current.version, current.id, current.identity) != (
            proposed.subject,
            proposed.version,
            proposed.id,
            proposed.identity,
        ):
            # Only the deleted flag of an accepted record may change; keep the first value.
            return None
        _put(state, replace(current, deleted=proposed.deleted), key.ident)
        return proposed.id
    reason = _conflict(state, proposed)
    if reason is not None:
        state.rejected[key.ident] = (raw_key, reason)
        return proposed.id
    state.rejected.pop(key.ident, None)
    _put(state, proposed, key.ident)
    return proposed.id


def _version_of(key: records.Key, raw_key: bytes, value: Mapping[str, Any]) -> SchemaVersion:
    subject, version, schema_id, schema = (
        value.get("subject"),
        value.get("version"),
        value.get("id"),
        value.get("schema"),
    )
    if not isinstance(subject, str) or not isinstance(version, int) or version < 1:
        raise ValueError("value lacks a subject or a positive version")
    if (subject, version) != (key.subject, key.version):
        raise ValueError(f"value names {subject} v{version}, key {key.subject} v{key.version}")
    if not isinstance(schema_id, int) or schema_id < 0 or not isinstance(schema, str):
        raise ValueError("value lacks an id or a schema string")
    try:
        references = parse_references(value.get("references"))
        ident = identity(load(schema), references)
    except (SchemaTextError, ReferenceError) as exc:
        raise ValueError(str(exc)) from None
    return SchemaVersion(
        subject=subject,
        version=version,
        id=schema_id,
        schema=schema,
        identity=ident,
        schema_type=str(value.get("schemaType") or "AVRO"),
        deleted=bool(value.get("deleted", False)),
        key=raw_key,
        references=references,
    )


def _conflict(state: State, proposed: SchemaVersion) -> str | None:
    taken = state.subjects.get(proposed.subject, {}).get(proposed.version)
    if taken is not None:
        return f"version {proposed.version} of {proposed.subject} is taken (id {taken.id})"
    holder = state.schemas.get(proposed.id)
    if holder is not None and holder.identity != proposed.identity:
        return f"id {proposed.id} belongs to another schema"
    known = state.ids.get(proposed.identity)
    if known is not None and known != proposed.id:
        return f"the schema already has id {known}"
    return None


def _put(state: State, version: SchemaVersion, ident: str) -> None:
    previous = state.by_key.get(ident)
    state.by_key[ident] = version
    state.subjects.setdefault(version.subject, {})[version.version] = version
    if previous is None:
        state.refs[version.id] = state.refs.get(version.id, 0) + 1
        if version.id not in state.schemas:
            state.schemas[version.id] = SchemaEntry(
                version.id,
                version.schema,
                version.identity,
                version.schema_type,
                version.references,
            )
        state.ids[version.identity] = version.id


def _tombstone(state: State, ident: str) -> None:
    state.rejected.pop(ident, None)
    gone = state.by_key.pop(ident, None)
    if gone is None:
        return
    versions = state.subjects.get(gone.subject, {})
    versions.pop(gone.version, None)
    if not versions:
        state.subjects.pop(gone.subject, None)
    left = state.refs.get(gone.id, 1) - 1
    if left > 0:
        state.refs[gone.id] = left
    else:
        state.refs.pop(gone.id, None)
        state.schemas.pop(gone.id, None)
        state.ids.pop(gone.identity, None)
