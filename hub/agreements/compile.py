"""Compile an agreement against its source schema into a fast, deny-by-default delivery function.

Checks (all collected, then raised together as `AgreementCheckError`):

- every named field path exists in the source schema, and no path is named along with one of
  its enclosing records;
- every transform fits its field's Avro type;
- a `direct` identifier (the message key included) is delivered as it is (`keep`) only with
  `allows_identifying: true`; `mask` never passes a whole value, so it needs no such flag;
- a `sensitive` field (Art. 9 GDPR) is delivered or filtered on only when the agreement names
  `sensitive_legal_basis`;
- the filter's paths and operand types fit the schema.

Output schema: a record `<SourceRecord>For<Subscriber>` in namespace `de.hamm.deliver.<sub>`,
holding only the named fields in source order, nested records kept for nested paths (named
after their path, so the names stay stable across source versions). Nullable source fields
stay nullable (default null). `x-pii` of an output field: `redact` → none (a constant),
`pseudonymize` of a direct identifier → quasi (still personal data, no longer direct), anything
else keeps the source class (generalized data stays personal until aggregated with k
contributors); a nested record carries the most severe class of what it holds. The record
carries the agreement in custom props (`x-agreement`, `x-source`, `x-purpose`, `x-legal-basis`),
so a subscriber learns from the registry alone why and on which basis it receives the data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import cached_property
from typing import Any

from fastavro import parse_schema

from hub.agreements.avro_types import OutputTypes, SourceField, index_schema, most_severe
from hub.agreements.errors import AgreementCheckError, CheckIssue, SpecError, TransformError
from hub.agreements.history import content_hash
from hub.agreements.keys import derive_keys
from hub.agreements.model import Agreement
from hub.agreements.transforms import (
    CITY_TZ,
    EVENT_TIME,
    TIMESTAMPS,
    KeyFn,
    Transform,
    TransformContext,
    build_key_transform,
    build_transform,
)
from hub.agreements.where import Predicate, WhereCheckError, compile_where, where_paths

OUTPUT_NAMESPACE = "de.hamm.deliver"

ValueFn = Callable[[Any, bytes | None, dict[str, Any]], Any]
# One output field of one record level: (name, transform or None for identity, nullable, path)
Step = tuple[str, ValueFn | None, bool, str]


class CompiledAgreement:
    """An agreement bound to a source schema and the agreement's keys; pure and reusable."""

    __slots__ = (
        "__dict__",  # for cached_property
        "_transform",
        "agreement",
        "field_transforms",
        "key_id",
        "key_transform",
        "matches",
        "output_schema",
    )

    def __init__(
        self,
        agreement: Agreement,
        output_schema: dict[str, Any],
        field_transforms: dict[str, str],
        key_id: str,
        matches: Predicate,
        value: Callable[[bytes | None, dict[str, Any]], dict[str, Any]],
        key: KeyFn,
    ) -> None:
        self.agreement = agreement
        self.output_schema = output_schema
        self.field_transforms = field_transforms
        self.key_transform = str(agreement.key)
        self.key_id = key_id
        # Instance attribute, not a method: the router calls it for every record.
        self.matches: Predicate = matches
        self._transform = _transformer(key, value)

    @property
    def delivery_topic(self) -> str:
        return self.agreement.topic

    @cached_property
    def content_hash(self) -> str:
        """The agreement version's name in audit records and receipts (``history``)."""
        return content_hash(self.agreement)

    @cached_property
    def parsed_schema(self) -> Any:
        """The output schema parsed by fastavro, for the encoder."""
        return parse_schema(self.output_schema)

    def is_active(self, at: dt.datetime) -> bool:
        """valid_from ≤ at ≤ valid_until, by calendar day in Hamm (end of day inclusive)."""
        if at.tzinfo is None:
            raise ValueError("is_active needs a timezone-aware datetime")
        day = at.astimezone(CITY_TZ).date()
        a = self.agreement
        return (a.valid_from is None or a.valid_from <= day) and day <= a.valid_until

    @property
    def ends_at(self) -> dt.datetime:
        """The end of the last valid day in Hamm: midnight after ``valid_until``, local time
        (so 23:00 or 22:00 UTC, by season)."""
        after = self.agreement.valid_until + dt.timedelta(days=1)
        return dt.datetime.combine(after, dt.time(), tzinfo=CITY_TZ)

    def transform(self, key: str | bytes | None, record: dict[str, Any]) -> tuple[str | None, dict]:
        """The delivered (key, value): only the named fields, transformed; nothing else."""
        return self._transform(key, record)


def _transformer(
    key_fn: KeyFn, value: Callable[[bytes | None, dict[str, Any]], dict[str, Any]]
) -> Callable[[str | bytes | None, dict[str, Any]], tuple[str | None, dict[str, Any]]]:
    def transform(key: str | bytes | None, record: dict[str, Any]) -> tuple[str | None, dict]:
        return key_fn(key), value(key.encode("utf-8") if type(key) is str else key, record)

    return transform


def _pascal(text: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", text) if p)


def _avro_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def _level(steps: list[Step]) -> ValueFn:
    """The function building one output record level from the matching source level."""
    steps_t = tuple(steps)

    def apply(src: dict[str, Any], k: bytes | None, r: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, fn, nullable, path in steps_t:
            v = src.get(name)
            if v is None:
                if not nullable:
                    raise TransformError(f"{path} is missing or null but not nullable")
                out[name] = None
            elif fn is None:
                out[name] = v
            else:
                out[name] = fn(v, k, r)
        return out

    return apply


def compile_agreement(
    agreement: Agreement,
    source_schema: dict[str, Any],
    master_secret: bytes,
    *,
    tz: Any = CITY_TZ,
) -> CompiledAgreement:
    """Check `agreement` against `source_schema` and build its delivery functions.

    Raises `AgreementCheckError` listing every problem, each naming the file and field.
    """
    origin = agreement.origin
    issues: list[CheckIssue] = []

    def issue(field: str | None, message: str) -> None:
        issues.append(CheckIssue(origin, field, message))

    try:
        source = index_schema(source_schema)
    except SpecError as exc:
        raise AgreementCheckError([CheckIssue(origin, "source", str(exc))]) from None
    fields = source.fields
    event_time = fields.get(EVENT_TIME)
    ctx = TransformContext(
        keys=derive_keys(master_secret, agreement.id),
        tz=tz,
        has_event_time=event_time is not None
        and event_time.kind == "long"
        and event_time.logical in TIMESTAMPS
        and event_time.parent is None,
    )
    subscriber = agreement.subscriber
    out_types = OutputTypes(f"{OUTPUT_NAMESPACE}.{_avro_name(subscriber)}")
    art9 = agreement.sensitive_legal_basis is not None

    # 1. paths and transforms
    transforms: dict[str, Transform] = {}
    named = set(agreement.fields)
    for path in agreement.fields:
        if path not in fields:
            hint = " (the message key is set by the top-level `key:`)" if path == "key" else ""
            issue(f"fields.{path}", f"no such field in {agreement.source}{hint}")
    # Schema order, so shared named types (an enum kept twice) are defined at first use.
    for path, field in fields.items():
        spec = agreement.fields.get(path)
        if spec is None:
            continue
        parents = [p for p in _ancestors(path) if p in named]
        if parents:
            issue(f"fields.{path}", f"named together with its enclosing record {parents[0]}")
            continue
        try:
            transforms[path] = build_transform(spec, field, ctx, out_types)
        except SpecError as exc:
            issue(f"fields.{path}", str(exc))
            continue
        _check_policy(agreement, field, transforms[path], art9, issue)

    # 2. the message key, a direct identifier
    try:
        key_fn = build_key_transform(agreement.key, ctx)
    except SpecError as exc:
        issue("key", str(exc))
        key_fn = build_key_transform(type(agreement.key)(kind="drop"), ctx)
    if agreement.key.kind == "keep" and not agreement.allows_identifying:
        issue("key", "the message key (entity id) is kept as it is without allows_identifying")

    # 3. the row filter
    try:
        matches = compile_where(agreement.where, fields)
    except WhereCheckError as exc:
        for p in exc.problems:
            issue(p.loc, p.message)
        matches = _never
    if not art9:
        for path in where_paths(agreement.where):
            f = fields.get(path)
            if f is not None and f.pii == "sensitive":
                issue(
                    "where",
                    f"filters on the sensitive field {path} (Art. 9 GDPR) without "
                    "sensitive_legal_basis",
                )

    delivered = {p: t for p, t in transforms.items() if t.out_type is not None}
    if not issues and not delivered:
        issue("fields", "delivers no field (every named field is dropped)")
    if issues:
        raise AgreementCheckError(issues)

    # 4. output schema and the per-record function, both in source order
    record_name = f"{source.name}For{_pascal(subscriber)}"
    full_name, _ = out_types.claim(record_name, {"top": agreement.id})
    tree = _tree(delivered, fields)
    avro_fields, steps = _emit(tree, "", agreement, fields, out_types, record_name)
    output_schema = {
        "type": "record",
        "name": full_name,
        "doc": (
            f"{source.name} from {agreement.source} for {subscriber} under agreement "
            f"{agreement.id}: {agreement.purpose}"
        ),
        "x-agreement": agreement.id,
        "x-source": agreement.source,
        # The subscriber's SDK has no catalog: purpose and legal basis reach it in the schema.
        "x-purpose": agreement.purpose,
        "x-legal-basis": agreement.legal_basis,
        "fields": avro_fields,
    }
    try:
        parse_schema(output_schema)
    except Exception as exc:  # a bug here, not in the agreement; still name the agreement
        raise AgreementCheckError(
            [CheckIssue(origin, None, f"invalid output schema: {exc}")]
        ) from exc
    top = _level(steps)

    def value(k: bytes | None, record: dict[str, Any]) -> dict[str, Any]:
        return top(record, k, record)  # the top level reads from the record itself

    return CompiledAgreement(
        agreement=agreement,
        output_schema=output_schema,
        field_transforms={p: str(s) for p, s in agreement.fields.items()},
        key_id=ctx.keys.key_id,
        matches=matches,
        value=value,
        key=key_fn,
    )


def _never(record: dict[str, Any]) -> bool:
    return False


def _ancestors(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _check_policy(
    agreement: Agreement,
    field: SourceField,
    transform: Transform,
    art9: bool,
    issue: Callable[[str | None, str], None],
) -> None:
    where = f"fields.{field.path}"
    if transform.identifying and not agreement.allows_identifying:
        issue(
            where,
            f"direct identifier delivered as it is ({transform.spec}) without "
            "allows_identifying: true; pseudonymize, mask or drop it",
        )
    if field.pii == "sensitive" and transform.spec.kind != "drop" and not art9:
        issue(
            where,
            f"special category data (Art. 9 GDPR) delivered ({transform.spec}) without "
            "sensitive_legal_basis, e.g. 'Art. 9 Abs. 2 lit. h DSGVO'",
        )


def _tree(delivered: dict[str, Transform], fields: dict[str, SourceField]) -> dict[str, Any]:
    """Nested dict of delivered paths in source-schema order; leaves are transforms."""
    tree: dict[str, Any] = {}
    for path in fields:  # schema order, parents before children
        if path not in delivered:
            continue
        node = tree
        for part in path.split(".")[:-1]:
            node = node.setdefault(part, {})
        node[path.rsplit(".", 1)[-1]] = delivered[path]
    return _order(tree, "", fields)


def _order(node: dict[str, Any], prefix: str, fields: dict[str, SourceField]) -> dict[str, Any]:
    # Intermediate records are created when their first child is met; re-sort by schema order.
    rank = {p: i for i, p in enumerate(fields)}
    items = sorted(node.items(), key=lambda kv: rank[f"{prefix}{kv[0]}"])
    return {k: (_order(v, f"{prefix}{k}.", fields) if isinstance(v, dict) else v) for k, v in items}


def _nullable(t: Any) -> Any:
    return ["null", *t] if isinstance(t, list) else ["null", t]


def _emit(
    node: dict[str, Any],
    prefix: str,
    agreement: Agreement,
    fields: dict[str, SourceField],
    out_types: OutputTypes,
    top: str,
) -> tuple[list[dict[str, Any]], list[Step]]:
    avro_fields: list[dict[str, Any]] = []
    steps: list[Step] = []
    for name, item in node.items():
        path = f"{prefix}{name}"
        field = fields[path]
        if isinstance(item, Transform):
            out_type, pii, fn = item.out_type, item.pii, item.fn
            doc = f"{agreement.source}: {path}, {item.spec}."
        else:
            sub_fields, sub_steps = _emit(item, f"{path}.", agreement, fields, out_types, top)
            body = {"type": "record", "fields": sub_fields}
            # Named after the path within this delivery: stable, and unique per subscriber.
            full, seen = out_types.claim(f"{top}{_pascal(path.replace('.', '_'))}", body)
            out_type = full if seen else {"name": full, **body}
            pii = most_severe([f["x-pii"] for f in sub_fields])
            fn = _level(sub_steps)
            doc = f"{agreement.source}: {path}, selected fields."
        if field.doc:
            doc = f"{doc} {field.doc}"
        entry: dict[str, Any] = {"name": name, "type": out_type, "doc": doc, "x-pii": pii}
        if field.nullable:
            entry["type"] = _nullable(out_type)
            entry["default"] = None
        avro_fields.append(entry)
        steps.append((name, fn, field.nullable, path))
    return avro_fields, steps
