"""The registry's operations, Confluent's semantics, over a log: reads from the folded state,
writes appended to the log and answered once this instance has folded them back.

No HTTP here (see ``api``) and no Kafka (see ``kafka_log``): a ``SchemaLog`` is anything with a
``state`` and an ``append`` that returns after the records were folded into that state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from hub.registry import errors, records
from hub.registry.canonical import SchemaTextError, compact, identity, load, with_references
from hub.registry.state import COMPATIBILITY_LEVELS, MODES, SchemaEntry, SchemaVersion, State
from hub.schemas.references import Reference, ReferenceError, inline, parse_references

log = logging.getLogger(__name__)

DEFAULT_COMPATIBILITY = "BACKWARD"  # Confluent's; the hub sets its own subjects' levels itself
MAX_REFERENCE_DEPTH = 32
MAX_VERSION = 2**31 - 1
MAX_PROPOSALS = 20  # a registration that lost this many races in a row gives up with 50001

Record = tuple[bytes, bytes | None]
Checker = Callable[[Any, Sequence[Any], str], list[Any]]
Contract = Callable[[str, Any], None]
"""``contract(subject, parsed_schema)`` raises a RegistryError for a schema it refuses."""


class SchemaLog(Protocol):
    @property
    def state(self) -> State: ...

    async def append(self, batch: Sequence[Record]) -> None:
        """Write ``batch`` in order; return once this instance's ``state`` includes it."""


def _default_checker() -> Checker:
    from functools import partial

    from hub.schemas.compatibility import check_compatibility

    # Stored versions were accepted once: not judged again by today's name and default rules.
    return partial(check_compatibility, strict_existing=False)


def _invalid_schema_types() -> tuple[type[Exception], ...]:
    try:
        from hub.schemas.compatibility import InvalidSchemaError
    except ImportError:  # pragma: no cover - only while hub.schemas is missing
        return (ValueError,)
    return (InvalidSchemaError,)


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> tuple[Any, str]:
    """Parsed JSON and identity of a submitted schema string (cached: lookups repeat)."""
    data = load(text)
    return data, identity(data)


def parse_version(version: str | int) -> int | None:
    """A version path parameter: an int, or None for ``latest``/-1; 42202 otherwise."""
    text = str(version)
    if text == "latest" or text == "-1":
        return None
    try:
        number = int(text)
    except ValueError:
        raise errors.invalid_version(text) from None
    if not 1 <= number <= MAX_VERSION:
        raise errors.invalid_version(text)
    return number


def version_body(held: SchemaVersion) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": held.subject,
        "version": held.version,
        "id": held.id,
    }
    if held.schema_type != "AVRO":
        body["schemaType"] = held.schema_type
    if held.references:
        body["references"] = [r.to_json() for r in held.references]
    body["schema"] = held.schema
    return body


def schema_body(held: SchemaEntry) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": held.schema}
    if held.schema_type != "AVRO":
        body["schemaType"] = held.schema_type
    if held.references:
        body["references"] = [r.to_json() for r in held.references]
    return body


def valid_subject(subject: str) -> bool:
    """Confluent accepts any subject name but an empty one or one with control characters."""
    return bool(subject) and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in subject)


class Registry:
    """Confluent Schema Registry operations over a ``SchemaLog``."""

    def __init__(
        self,
        schema_log: SchemaLog,
        *,
        default_compatibility: str = DEFAULT_COMPATIBILITY,
        checker: Checker | None = None,
        contract: Contract | None = None,
    ) -> None:
        if default_compatibility.upper() not in COMPATIBILITY_LEVELS:
            raise ValueError(f"unknown default compatibility level {default_compatibility!r}")
        self.log = schema_log
        self.default_compatibility = default_compatibility.upper()
        self._checker = checker
        self._contract = contract
        self._invalid = _invalid_schema_types()
        self._write_lock = asyncio.Lock()

    @property
    def state(self) -> State:
        return self.log.state

    # --- subjects and versions -------------------------------------------------------------

    def subjects(self, *, deleted: bool = False, prefix: str = "") -> list[str]:
        return [s for s in self.state.subject_names(deleted=deleted) if s.startswith(prefix)]

    def versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        held = self.state.versions(subject, deleted=deleted)
        if not held:
            raise errors.subject_not_found(subject)
        return [v.version for v in held]

    def version(self, subject: str, version: str | int, *, deleted: bool = False) -> SchemaVersion:
        number = parse_version(version)
        held = self.state.versions(subject, deleted=deleted)
        if not held:
            raise errors.subject_not_found(subject)
        if number is None:
            return held[-1]
        for candidate in held:
            if candidate.version == number:
                return candidate
        raise errors.version_not_found(number)

    def lookup(self, subject: str, body: Any, *, deleted: bool = False) -> SchemaVersion:
        """The version of ``subject`` holding the schema in ``body`` (POST /subjects/{s}).

        As in Confluent, a schema that is not valid Avro is 42201 whether or not the subject
        exists; a valid one under an unknown subject is 40401, else 40403."""
        text, wanted = self._submission(body)
        data, text_identity = self._parsed(text)
        references = self._resolve(wanted)
        ident = with_references(text_identity, references)
        held = self.state.versions(subject, deleted=deleted)
        for candidate in reversed(held):
            if candidate.identity == ident:
                return candidate
        self._validate(data, references)
        if not held:
            raise errors.subject_not_found(subject)
        raise errors.schema_not_found()

    def schemas(
        self,
        *,
        prefix: str = "",
        deleted: bool = False,
        latest_only: bool = False,
        offset: int = 0,
        limit: int = -1,
    ) -> list[SchemaVersion]:
        """GET /schemas: every version under subjects starting with ``prefix``, by subject and
        version (``latest_only``: the latest of each subject); ``limit`` <= 0: no limit."""
        found: list[SchemaVersion] = []
        for subject in self.state.subject_names(deleted=deleted):
            if not subject.startswith(prefix):
                continue
            held = self.state.versions(subject, deleted=deleted)
            found.extend(held[-1:] if latest_only else held)
        offset = max(offset, 0)
        return found[offset : offset + limit] if limit > 0 else found[offset:]

    def referenced_by(self, subject: str, version: str | int) -> list[int]:
        """Ids of the live schemas whose references name this version."""
        held = self.version(subject, version, deleted=True)
        return sorted(
            {v.id for v in self.state.referrers(held.subject, held.version) if not v.deleted}
        )

    # --- schemas by id ---------------------------------------------------------------------

    def schema(self, schema_id: int) -> SchemaEntry:
        held = self.state.schemas.get(schema_id)
        if held is None:
            raise errors.schema_not_found(schema_id)
        return held

    def schema_subjects(self, schema_id: int, *, deleted: bool = False) -> list[str]:
        return sorted({v.subject for v in self._holders(schema_id, deleted)})

    def schema_versions(self, schema_id: int, *, deleted: bool = False) -> list[dict[str, Any]]:
        return [
            {"subject": v.subject, "version": v.version} for v in self._holders(schema_id, deleted)
        ]

    def _holders(self, schema_id: int, deleted: bool) -> list[SchemaVersion]:
        self.schema(schema_id)
        return [v for v in self.state.holders(schema_id) if deleted or not v.deleted]

    def standalone(self, held: SchemaVersion | SchemaEntry) -> Any:
        """The stored schema with every referenced type written out (what Avro parsers read)."""
        return self._inline(load(held.schema), held.references, 0)

    # --- registration and compatibility ----------------------------------------------------

    async def register(self, subject: str, body: Any) -> int:
        """Register the schema in ``body`` under ``subject``; its (global) id."""
        if not valid_subject(subject):
            raise errors.invalid_subject(subject)
        text, wanted = self._submission(body)
        data = self._json(text)
        self._check_writable(subject)
        # Clients may send empty placeholders (id -1/0, version 0); only real ones mean import.
        if body.get("id") not in (None, 0, -1) or body.get("version") not in (None, 0, -1):
            references = self._resolve(wanted)
            self._validate(data, references)
            return await self._import(subject, body, data, references)
        async with self._write_lock:
            for _ in range(MAX_PROPOSALS):
                state = self.state
                references = self._resolve(wanted)
                ident = identity(data, references)
                existing = state.versions(subject)
                for held in existing:
                    if held.identity == ident:
                        return held.id  # already registered: nothing to write
                whole = self._validate(data, references)
                if self._contract is not None:
                    # Only here, for a version about to be written: what the log already holds
                    # (and registering it again) is never judged by today's contract.
                    self._contract(subject, whole)
                level = self.compatibility(subject)
                problems = self._incompatibilities(whole, existing, level)
                if problems:
                    raise errors.incompatible(subject, _details(problems, existing, level))
                known = state.ids.get(ident)
                schema_id = state.max_id + 1 if known is None else known
                # A known schema is stored with its first text, so every holder serves the same.
                stored = compact(data) if known is None else state.schemas[known].schema
                version = max(state.subjects.get(subject, {}), default=0) + 1
                if await self._propose(subject, version, schema_id, stored, references):
                    return schema_id
        raise errors.store_error(f"registration under {subject!r} kept losing races; try again")

    async def _import(
        self, subject: str, body: dict, data: Any, references: tuple[Reference, ...]
    ) -> int:
        """IMPORT mode (migrating from another registry): keep the given id and version.

        The contract is not applied: an import copies history as it was, and only hub-admin
        can put a subject into IMPORT mode."""
        if self.mode(subject) != "IMPORT":
            raise errors.RegistryError(
                422, 42205, f"Subject {subject} is not in import mode: 'id'/'version' not allowed"
            )
        ident = identity(data, references)
        schema_id = body.get("id")
        version = None if body.get("version") in (None, 0, -1) else body["version"]
        if not isinstance(schema_id, int) or schema_id < 1:
            raise errors.invalid_schema(f"import needs a positive integer 'id', got {schema_id!r}")
        async with self._write_lock:
            state = self.state
            held_versions = state.subjects.get(subject, {})
            if version is None:
                version = max(held_versions, default=0) + 1
            number = parse_version(version)
            if number is None:
                raise errors.invalid_version(str(version))
            taken = held_versions.get(number)
            if taken is not None:
                if (taken.id, taken.identity) == (schema_id, ident):
                    return schema_id
                raise errors.RegistryError(
                    422, 42205, f"Overwrite of version {number} of {subject} is not permitted"
                )
            holder = state.schemas.get(schema_id)
            if holder is not None and holder.identity != ident:
                raise errors.RegistryError(
                    422, 42205, f"Overwrite new schema with id {schema_id} is not permitted"
                )
            stored = compact(data) if holder is None else holder.schema
            if not await self._propose(subject, number, schema_id, stored, references):
                reason = "a concurrent write took the id or version"
                raise errors.RegistryError(422, 42205, f"Import refused: {reason}")
            return schema_id

    async def _propose(
        self,
        subject: str,
        version: int,
        schema_id: int,
        stored: str,
        references: tuple[Reference, ...] = (),
    ) -> bool:
        """Write a SCHEMA record; True if the fold accepted it (else it is tombstoned)."""
        key = records.schema_key(subject, version, records.new_proposal())
        value = records.schema_value(subject, version, schema_id, stored, references=references)
        await self.log.append([(key, value)])
        ident_key = records.parse_key(key).ident
        fields = {"subject": subject, "version": version, "id": schema_id}
        if ident_key in self.state.by_key:
            log.info("registered schema", extra=fields)
            return True
        reason = self.state.rejected.get(ident_key, (b"", "?"))[1]
        log.info("proposal lost a race", extra={**fields, "reason": reason})
        await self.log.append([(key, None)])  # tombstone the losing proposal
        return False

    def test_compatibility(
        self, subject: str, version: str | int | None, body: Any
    ) -> tuple[bool, list[str]]:
        """Is the schema in ``body`` compatible with ``version`` (None: all per level)?"""
        text, wanted = self._submission(body)
        whole = self._validate(self._json(text), self._resolve(wanted))
        level = self.compatibility(subject)
        live = self.state.versions(subject)
        if version is None:
            existing = live
        else:
            number = parse_version(version)
            if not live:
                if number is not None:  # Confluent: a version of an unknown subject is 40402
                    raise errors.version_not_found(number)
                existing = []  # nothing registered yet: anything is compatible, as in Confluent
            else:
                existing = [self.version(subject, version)]
        problems = self._incompatibilities(whole, existing, level)
        return not problems, _details(problems, existing, level) if problems else []

    def _incompatibilities(
        self, whole: Any, existing: list[SchemaVersion], level: str
    ) -> list[tuple[Any, SchemaVersion | None]]:
        if level == "NONE" or not existing:
            return []
        checker = self._checker or _default_checker()
        try:
            found = checker(whole, [self.standalone(v) for v in existing], level)
        except self._invalid as exc:
            raise errors.invalid_schema(str(exc)) from None
        out = []
        for item in found:
            position = getattr(item, "version", None)
            held = existing[position - 1] if position and position <= len(existing) else None
            out.append((item, held))
        return out

    # --- references ------------------------------------------------------------------------

    def _resolve(self, wanted: tuple[Reference, ...]) -> tuple[Reference, ...]:
        """The references with concrete versions (-1: the latest live one); 42201 naming the
        reference that points nowhere."""
        resolved = []
        for ref in wanted:
            held = self.state.versions(ref.subject, deleted=True)
            if ref.version == -1:
                live = [v for v in held if not v.deleted]
                target = live[-1] if live else None
            else:
                target = next((v for v in held if v.version == ref.version), None)
            if target is None:
                version = "latest" if ref.version == -1 else ref.version
                raise errors.invalid_schema(
                    f"reference {ref.name!r} points to {ref.subject} version {version}, "
                    "which is not registered"
                )
            resolved.append(Reference(ref.name, ref.subject, target.version))
        return tuple(resolved)

    def _inline(self, data: Any, references: tuple[Reference, ...], depth: int) -> Any:
        if not references:
            return data
        if depth > MAX_REFERENCE_DEPTH:
            raise errors.invalid_schema(
                f"schema references nest deeper than {MAX_REFERENCE_DEPTH} (a cycle?)"
            )
        parts = []
        for ref in references:
            held = self.state.subjects.get(ref.subject, {}).get(ref.version)
            if held is None:
                raise errors.invalid_schema(
                    f"reference {ref.name!r} points to {ref.subject} version {ref.version}, "
                    "which is not registered"
                )
            parts.append(self._inline(load(held.schema), held.references, depth + 1))
        return inline(data, parts)

    def _validate(self, data: Any, references: tuple[Reference, ...]) -> Any:
        """The standalone form of a new schema, validated as Avro (42201 otherwise)."""
        whole = self._inline(data, references, 0)
        checker = self._checker or _default_checker()
        try:
            checker(whole, [], "NONE")  # parses and validates the schema itself
        except self._invalid as exc:
            raise errors.invalid_schema(str(exc)) from None
        return whole

    # --- config and mode -------------------------------------------------------------------

    def compatibility(self, subject: str | None = None) -> str:
        """The effective level: the subject's, else the global one, else the default."""
        levels = self.state.compatibility
        if subject is not None and subject in levels:
            return levels[subject]
        return levels.get(None, self.default_compatibility)

    def subject_compatibility(self, subject: str, *, default_to_global: bool = False) -> str:
        level = self.state.compatibility.get(subject)
        if level is None:
            if default_to_global:
                return self.compatibility(None)
            raise errors.compatibility_not_configured(subject)
        return level

    async def set_compatibility(self, subject: str | None, body: Any) -> str:
        level = body.get("compatibility") if isinstance(body, dict) else None
        if not isinstance(level, str) or level.upper() not in COMPATIBILITY_LEVELS:
            raise errors.invalid_compatibility_level(level)
        level = level.upper()
        await self.log.append([(records.config_key(subject), records.config_value(level))])
        log.info("compatibility set", extra={"subject": subject, "compatibility": level})
        return level

    async def delete_compatibility(self, subject: str | None) -> str:
        if subject is None:
            previous = self.compatibility(None)
        else:
            if not self.state.versions(subject, deleted=True):
                raise errors.subject_not_found(subject)
            previous = self.subject_compatibility(subject)
        await self.log.append([(records.config_key(subject), None)])
        return previous

    def mode(self, subject: str | None = None) -> str:
        """The effective mode: the subject's, else the global one, else READWRITE."""
        modes = self.state.modes
        if subject is not None and subject in modes:
            return modes[subject]
        return modes.get(None, "READWRITE")

    def subject_mode(self, subject: str, *, default_to_global: bool = False) -> str:
        mode = self.state.modes.get(subject)
        if mode is None:
            if default_to_global:
                return self.mode(None)
            raise errors.mode_not_configured(subject)
        return mode

    async def set_mode(self, subject: str | None, body: Any) -> str:
        mode = body.get("mode") if isinstance(body, dict) else None
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise errors.invalid_mode(mode)
        mode = mode.upper()
        await self.log.append([(records.mode_key(subject), records.mode_value(mode))])
        log.info("mode set", extra={"subject": subject, "mode": mode})
        return mode

    async def delete_mode(self, subject: str) -> str:
        previous = self.subject_mode(subject)
        await self.log.append([(records.mode_key(subject), None)])
        return previous

    # --- deletion --------------------------------------------------------------------------

    async def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Soft-delete every live version, or (``permanent``) drop every soft-deleted one."""
        self._check_writable(subject)
        async with self._write_lock:
            held = self.state.versions(subject, deleted=True)
            if not held:
                raise errors.subject_not_found(subject)
            live = [v for v in held if not v.deleted]
            if permanent:
                if live:
                    raise errors.subject_not_soft_deleted(subject)
                for version in held:
                    self._check_unreferenced(version, permanent=True)
                await self.log.append([(v.key, None) for v in held])
                log.info("subject deleted permanently", extra={"subject": subject})
                return [v.version for v in held]
            if not live:
                raise errors.subject_soft_deleted(subject)
            for version in live:
                self._check_unreferenced(version, permanent=False)
            await self.log.append([_soft_deleted(v) for v in live])
            log.info("subject soft-deleted", extra={"subject": subject})
            return [v.version for v in live]

    async def delete_version(
        self, subject: str, version: str | int, *, permanent: bool = False
    ) -> int:
        number = parse_version(version)
        self._check_writable(subject)
        async with self._write_lock:
            everything = self.state.versions(subject, deleted=True)
            if not everything:
                raise errors.subject_not_found(subject)
            if number is None:
                live = [v for v in everything if not v.deleted]
                target = live[-1] if live else (everything[-1] if permanent else None)
                if target is None:
                    raise errors.version_not_found("latest")
            else:
                target = next((v for v in everything if v.version == number), None)
                if target is None:
                    raise errors.version_not_found(number)
            if permanent:
                if not target.deleted:
                    raise errors.version_not_soft_deleted(subject, target.version)
                self._check_unreferenced(target, permanent=True)
                await self.log.append([(target.key, None)])
            else:
                if target.deleted:
                    raise errors.version_soft_deleted(subject, target.version)
                self._check_unreferenced(target, permanent=False)
                await self.log.append([_soft_deleted(target)])
            log.info(
                "version deleted",
                extra={"subject": subject, "version": target.version, "permanent": permanent},
            )
            return target.version

    def _check_unreferenced(self, held: SchemaVersion, *, permanent: bool) -> None:
        """42206 while another schema refers to ``held``: a live one (soft delete), or any one
        that can still be read by id (permanent delete)."""
        referrers = self.state.referrers(held.subject, held.version)
        if any(permanent or not r.deleted for r in referrers):
            raise errors.reference_exists(held.subject, held.version)

    # --- helpers ---------------------------------------------------------------------------

    def _check_writable(self, subject: str) -> None:
        if self.mode(subject) in ("READONLY", "READONLY_OVERRIDE"):
            raise errors.operation_not_permitted(subject)

    @staticmethod
    def _submission(body: Any) -> tuple[str, tuple[Reference, ...]]:
        """The schema text and references of a request body (42201 when malformed)."""
        if not isinstance(body, dict):
            raise errors.invalid_schema("the request body must be a JSON object with 'schema'")
        schema_type = body.get("schemaType")
        if schema_type not in (None, "AVRO", "avro"):
            raise errors.invalid_schema(
                f"schema type {schema_type!r} is not supported: this registry holds AVRO only"
            )
        try:
            references = parse_references(body.get("references"))
        except ReferenceError as exc:
            raise errors.invalid_schema(str(exc)) from None
        text = body.get("schema")
        if not isinstance(text, str) or not text.strip():
            raise errors.invalid_schema("empty schema")
        return text, references  # 'metadata' and 'ruleSet' of newer clients are ignored

    @staticmethod
    def _parsed(text: str) -> tuple[Any, str]:
        """The JSON of a submitted schema and the identity of its text (cached)."""
        try:
            return _parse_text(text)
        except SchemaTextError as exc:
            raise errors.invalid_schema(str(exc)) from None

    @classmethod
    def _json(cls, text: str) -> Any:
        return cls._parsed(text)[0]


def _soft_deleted(held: SchemaVersion) -> Record:
    return held.key, records.schema_value(
        held.subject, held.version, held.id, held.schema, deleted=True, references=held.references
    )


def _details(
    problems: list[tuple[Any, SchemaVersion | None]], existing: list[SchemaVersion], level: str
) -> list[str]:
    details = []
    for item, held in problems:
        old = f", oldSchemaVersion: {held.version}" if held is not None else ""
        details.append(
            f"{{errorType:'{getattr(item, 'type', 'INCOMPATIBLE')}', "
            f"description:'{getattr(item, 'message', item)}', "
            f"additionalInfo:'{getattr(item, 'path', '')}'{old}}}"
        )
    details.append(f"{{compatibility: '{level}'}}")
    return details
