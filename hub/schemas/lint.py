"""Lint the schema tree: layout, naming, documentation, classification, evolution, approvals.

Unlike ``load_catalog`` it does not stop at the first problem: it reports every one it finds.
The shared types (``schemas/_types/<full name>/v<N>.avsc``) are checked by the same rules of
documentation and classification, each problem reported once, in the file that has it: an
event schema's own rules read the file as written, the rules that need the whole schema
(parsing, compatibility, approvals) read its standalone form.

Rules (the ``rule`` of a LintError):

==========================  =================================================================
unreadable                  the file cannot be read
invalid-json                not JSON
invalid-schema              not a valid Avro schema (unknown type, bad default, ...)
invalid-logical-type        a logicalType Avro would silently ignore
layout                      path is not <department>/<entity>.<event>/v<N>.avsc
                            (_types/<full name>/v<N>.avsc for a shared type)
unknown-type                the schema names a shared type that schemas/_types/ does not define
type-version                a shared type's version is missing, pinned wrongly (x-type-versions)
                            or reached in two versions
type-cycle                  shared types that name each other in a circle
type-name                   a shared type is not one named type whose full name is its folder
redefines-type              an event schema defines a type in de.hamm.types instead of naming it
top-level-record            the (event) schema is not a record
namespace                   namespace is not de.hamm.<department>
record-name                 record name is not the PascalCase of <entity>.<event>
missing-doc                 the record or a field (any depth) has no doc
missing-x-pii               a field (any depth) has no x-pii
invalid-x-pii               x-pii is not direct, quasi, sensitive or none
occurred-at                 no top-level occurred_at {"type":"long","logicalType":"timestamp-millis"}
key-field                   x-key does not name a required top-level string/long field
enum-default                an enum has no default symbol (old readers could not read new ones)
version-sequence            versions are not 1, 2, ... without gaps
subject-config              subject.yaml is malformed or names an unknown level
incompatible                a version breaks an earlier one at the subject's level
pii-approval-missing        a version adds personal data (or lowers a class) without approval
pii-approval-invalid        the approval file is malformed or does not cover the change
quality-file                v<N>.quality.yaml is unreadable, malformed or has no v<N>.avsc beside it
quality-rule                a quality rule has no valid name, an unknown key, or a name used twice
quality-severity            a quality rule's severity is not reject or flag
quality-description         a quality rule has no German description
quality-field               a quality rule names a field the schema does not have
quality-condition           a quality rule's check is malformed or does not fit the field's type
==========================  =================================================================
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.quality.book import SUFFIX as QUALITY_SUFFIX
from hub.quality.book import check_quality_file, quality_path
from hub.schemas.approval import ApprovalError, approval_path, load_approval
from hub.schemas.catalog import SchemaCatalogError, read_compatibility, read_schema_json
from hub.schemas.compatibility import check_compatibility
from hub.schemas.fields import PII_CLASSES, iter_fields, resolve_named_types
from hub.schemas.naming import (
    APPROVAL_FILE_RE,
    DEFAULT_COMPATIBILITY,
    namespace_for,
    parse_location,
    record_name_for,
)
from hub.schemas.parsing import InvalidSchemaError, ignored_logical_types, parse_schema
from hub.schemas.privacy import pii_changes
from hub.schemas.references import definitions
from hub.schemas.shared_types import (
    TYPES_DIR,
    TYPES_NAMESPACE,
    SharedType,
    TypeFile,
    load_types,
    resolve,
)

OCCURRED_AT = "occurred_at"
_KEY_TYPES = ("string", "long", "int")


@dataclass(frozen=True)
class LintError:
    file: Path
    field: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = f" field {self.field}:" if self.field else ""
        return f"{_display(self.file)}:{where} {self.rule}: {self.message}"


def lint(root: Path) -> list[LintError]:
    """Every rule violation under ``root``, ordered by file (the shared types first)."""
    root = Path(root)
    if not root.is_dir():
        return [LintError(root, None, "unreadable", "not a directory")]
    types, problems = load_types(root)
    errors = [LintError(p.path, None, p.rule, p.message) for p in problems]
    errors += _lint_types(types)
    subjects: dict[Path, dict[int, tuple[Path, dict]]] = {}
    for path in sorted(root.rglob("*.avsc")):
        if path.relative_to(root).parts[0] == TYPES_DIR:
            continue
        schema = _lint_file(path, root, types, errors)
        if schema is not None:
            location = parse_location(path.relative_to(root))
            subjects.setdefault(path.parent, {})[location.version] = (path, schema)
            errors += _quality(path, schema)
    for subject_dir in sorted(subjects):
        errors += _lint_subject(subject_dir, subjects[subject_dir])
    errors += _stray_approvals(root)
    errors += _stray_quality_files(root)
    return errors


def _quality(path: Path, schema: dict) -> list[LintError]:
    """The rules of ``v<N>.quality.yaml`` against the standalone schema of ``v<N>.avsc``."""
    rules_file = quality_path(path)
    if not rules_file.exists():
        return []
    _, problems = check_quality_file(rules_file, schema)
    return [
        LintError(
            rules_file,
            problem.field,
            problem.kind,
            f"rule {problem.rule}: {problem.loc}: {problem.message}"
            if problem.rule
            else f"{problem.loc}: {problem.message}".lstrip(": "),
        )
        for problem in problems
    ]


def _stray_quality_files(root: Path) -> list[LintError]:
    return [
        LintError(path, None, "quality-file", "no v<N>.avsc beside it whose rules it could hold")
        for path in sorted(root.rglob(f"*{QUALITY_SUFFIX}"))
        if not re.match(r"^v[1-9][0-9]*\.quality\.yaml$", path.name)
        or not path.with_name(path.name.replace(QUALITY_SUFFIX, ".avsc")).exists()
    ]


def _lint_types(types: Mapping[str, SharedType]) -> list[LintError]:
    """The file rules of each shared type's versions, then compatibility between them."""
    errors: list[LintError] = []
    for shared in types.values():
        for version in shared.versions:
            errors += _logical_types(version.path, version.schema, _referenced(version, types))
            errors += _documentation(version.path, version.raw, "type")
            errors += _enum_defaults(version.path, version.raw)
        for position in range(1, len(shared.versions)):
            new, earlier = shared.versions[position], shared.versions[:position]
            for item in check_compatibility(
                new.schema, [v.schema for v in earlier], shared.compatibility
            ):
                old = earlier[(item.version or position) - 1]
                errors.append(
                    LintError(
                        new.path,
                        None,
                        "incompatible",
                        f"{item.type} against {old.path.name} at {shared.compatibility}: "
                        f"{item.message}",
                    )
                )
    return errors


def _referenced(schema: TypeFile, types: Mapping[str, SharedType]) -> list[dict]:
    """The standalone forms of the shared types ``schema`` names itself."""
    found = (types[r.name].version(r.version) for r in schema.references if r.name in types)
    return [f.schema for f in found if f is not None]


def _lint_file(
    path: Path, root: Path, types: Mapping[str, SharedType], errors: list[LintError]
) -> dict | None:
    """Per-file rules; returns the standalone schema if it can take part in the subject rules."""
    try:
        location = parse_location(path.relative_to(root))
    except ValueError as error:
        errors.append(LintError(path, None, "layout", str(error)))
        location = None
    try:
        raw = read_schema_json(path)
    except SchemaCatalogError as error:
        rule = "invalid-json" if "bad JSON" in str(error) else "unreadable"
        errors.append(LintError(path, None, rule, str(error).split(": ", 1)[-1]))
        return None
    if not isinstance(raw, dict) or raw.get("type") != "record":
        try:
            parse_schema(raw, "schema")
        except InvalidSchemaError as error:
            errors.append(LintError(path, None, "invalid-schema", _after_path(error)))
            return None
        errors.append(LintError(path, None, "top-level-record", "the schema must be a record"))
        return None
    resolved, problems = resolve(raw, types)
    if problems:
        errors += [LintError(path, None, rule, message) for rule, message in problems]
        return None
    schema = resolved.schema
    try:
        parse_schema(schema, "schema")
    except InvalidSchemaError as error:
        errors.append(LintError(path, None, "invalid-schema", _after_path(error)))
        return None
    referenced = [types[r.name].version(r.version) for r in resolved.references]
    errors += _logical_types(path, schema, [t.schema for t in referenced if t is not None])
    if location is not None:
        errors += _naming(path, raw, location.department, location.entity_event)
    errors += _documentation(path, raw)
    errors += _conventions(path, raw)
    errors += _enum_defaults(path, raw)
    errors += _redefined_types(path, raw)
    return schema if location is not None else None


def _logical_types(path: Path, schema: dict, referenced: Iterable[dict]) -> list[LintError]:
    """Ignored logical types of ``schema`` that are not those of the types it references
    (reported in their own files)."""
    problems = Counter(ignored_logical_types(schema))
    for each in referenced:
        problems -= Counter(ignored_logical_types(each))
    return [LintError(path, None, "invalid-logical-type", p) for p in problems.elements()]


def _redefined_types(path: Path, raw: dict) -> list[LintError]:
    return [
        LintError(
            path,
            None,
            "redefines-type",
            f"defines {name} itself; the namespace {TYPES_NAMESPACE} belongs to the shared "
            f"types: name the one in schemas/{TYPES_DIR}/ (or add it there)",
        )
        for name in definitions(raw)
        if name.startswith(f"{TYPES_NAMESPACE}.")
    ]


def _naming(path: Path, schema: dict, department: str, entity_event: str) -> list[LintError]:
    errors = []
    name = schema.get("name", "")
    namespace = schema.get("namespace")
    if "." in name:
        namespace, _, name = name.rpartition(".")
    expected_ns = namespace_for(department)
    if namespace != expected_ns:
        errors.append(
            LintError(
                path, None, "namespace", f"namespace is {namespace!r}, expected {expected_ns!r}"
            )
        )
    expected_name = record_name_for(entity_event)
    if name != expected_name:
        errors.append(
            LintError(
                path, None, "record-name", f"record name is {name!r}, expected {expected_name!r}"
            )
        )
    return errors


def _documentation(path: Path, schema: dict, what: str = "record") -> list[LintError]:
    errors = []
    if not _has_text(schema.get("doc")):
        errors.append(LintError(path, None, "missing-doc", f"the {what} has no doc"))
    for info in iter_fields(schema):
        if not _has_text(info.doc):
            errors.append(LintError(path, info.path, "missing-doc", "every field needs a doc"))
        if info.pii is None:
            errors.append(
                LintError(
                    path,
                    info.path,
                    "missing-x-pii",
                    f'every field needs "x-pii": one of {", ".join(PII_CLASSES)}',
                )
            )
        elif info.pii not in PII_CLASSES:
            errors.append(
                LintError(
                    path,
                    info.path,
                    "invalid-x-pii",
                    f"x-pii is {info.pii!r}, expected one of {', '.join(PII_CLASSES)}",
                )
            )
    return errors


def _conventions(path: Path, schema: dict) -> list[LintError]:
    errors = []
    top = {f.get("name"): f for f in schema.get("fields", []) if isinstance(f, Mapping)}
    occurred = top.get(OCCURRED_AT)
    expected = {"type": "long", "logicalType": "timestamp-millis"}
    if occurred is None or not _is_type(occurred.get("type"), expected):
        errors.append(
            LintError(
                path,
                OCCURRED_AT,
                "occurred-at",
                'every event needs a top-level occurred_at {"type": "long", '
                '"logicalType": "timestamp-millis"} (event time, required)',
            )
        )
    key = schema.get("x-key")
    key_field = top.get(key) if isinstance(key, str) else None
    key_type = key_field.get("type") if key_field is not None else None
    if isinstance(key_type, Mapping):
        key_type = key_type.get("type")
    if key_type not in _KEY_TYPES:
        errors.append(
            LintError(
                path,
                key if isinstance(key, str) else None,
                "key-field",
                '"x-key" must name a required top-level string or long field: the entity id '
                "producers use as the message key",
            )
        )
    return errors


def _enum_defaults(path: Path, schema: dict) -> list[LintError]:
    return [
        LintError(
            path,
            None,
            "enum-default",
            f"enum {name} has no default symbol; add one (e.g. OTHER or UNKNOWN) so readers "
            "of this version can read symbols added later",
        )
        for name, definition in resolve_named_types(schema).items()
        if definition.get("type") == "enum" and definition.get("default") is None
    ]


def _lint_subject(subject_dir: Path, versions: dict[int, tuple[Path, dict]]) -> list[LintError]:
    errors: list[LintError] = []
    numbers = sorted(versions)
    if numbers != list(range(1, len(numbers) + 1)):
        errors.append(
            LintError(
                versions[numbers[0]][0].parent,
                None,
                "version-sequence",
                f"versions must be consecutive from 1, found {numbers}",
            )
        )
    try:
        level = read_compatibility(subject_dir)
    except SchemaCatalogError as error:
        errors.append(
            LintError(subject_dir / "subject.yaml", None, "subject-config", _after_path(error))
        )
        level = DEFAULT_COMPATIBILITY
    ordered = [versions[n] for n in numbers]
    for position in range(1, len(ordered)):
        path, schema = ordered[position]
        earlier = ordered[:position]
        for item in check_compatibility(schema, [s for _, s in earlier], level):
            old_path = earlier[(item.version or position) - 1][0]
            errors.append(
                LintError(
                    path,
                    None,
                    "incompatible",
                    f"{item.type} against {old_path.name} at {level}: {item.message}",
                )
            )
        errors += _approval(path, earlier[-1][1], schema)
    return errors


def _approval(path: Path, previous: dict, schema: dict) -> list[LintError]:
    changes = pii_changes(previous, schema)
    if not changes:
        return []
    approval_file = approval_path(path)
    if not approval_file.exists():
        return [
            LintError(
                path,
                change.path,
                "pii-approval-missing",
                f"this version {change.describe()}; add {approval_file.name} with reviewer, "
                "role, date and reason",
            )
            for change in changes
        ]
    try:
        approval = load_approval(approval_file)
    except ApprovalError as error:
        return [LintError(approval_file, None, "pii-approval-invalid", str(error))]
    if approval.fields is None:
        return []
    return [
        LintError(
            approval_file,
            change.path,
            "pii-approval-invalid",
            f"{path.name} {change.describe()} but the approval's fields do not name it",
        )
        for change in changes
        if change.path not in approval.fields
    ]


def _stray_approvals(root: Path) -> list[LintError]:
    errors = []
    for path in sorted(root.rglob("*.approval.yaml")):
        match = APPROVAL_FILE_RE.match(path.name)
        if not match or not path.with_name(f"v{match['version']}.avsc").exists():
            errors.append(
                LintError(path, None, "pii-approval-invalid", "no v<N>.avsc beside it to approve")
            )
    return errors


def _is_type(actual: Any, expected: Mapping[str, Any]) -> bool:
    return isinstance(actual, Mapping) and all(actual.get(k) == v for k, v in expected.items())


def _has_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _after_path(error: Exception) -> str:
    return str(error).split(": ", 1)[-1]


def _display(path: Path) -> str:
    """Relative to the working directory when inside it, as in ``schemas/x/y.z/v2.avsc``."""
    path = Path(path)
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        return path.relative_to(Path.cwd()).as_posix()
    return path.as_posix()


def format_report(errors: Iterable[LintError]) -> list[str]:
    """One line per error, then a summary line."""
    errors = list(errors)
    lines = [str(error) for error in errors]
    files = len({error.file for error in errors})
    lines.append(
        f"{len(errors)} problem(s) in {files} file(s)" if errors else "schemas: no problems found"
    )
    return lines
