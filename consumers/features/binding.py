"""Bind feature definitions to the ki-featurestore agreements and their delivered schemas.

The pipeline's input topics are derived from here and nowhere else: a definition whose source
is not the delivery topic of an agreement with subscriber ``ki-featurestore`` is refused, so
the feature store never reads a raw topic. Other checks, each naming file and field:

- entity, event time, contributor and aggregated fields exist in the *delivered* schema, with
  fitting types (numbers or booleans for sum/mean/min/max, a timestamp for the event time);
- a view keyed by a pseudonymous person id (a pseudonymized field, the key of a person, or a
  direct identifier) needs ``person_keyed: true`` in the definition *and*
  ``allows_identifying: true`` in the agreement; otherwise it is refused;
- ``k`` below the default 5 is allowed only when every field the view uses (entity,
  contributor, aggregated fields) is classified ``x-pii: none`` in the delivery (e.g. air
  quality stations): k protects persons, and there are none to protect.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consumers.features.definition import (
    DEFAULT_K,
    KEY,
    NUMERIC_FNS,
    FeatureDefinition,
    FeatureDefinitionError,
    Issue,
    LoadedDefinition,
    load_definitions,
)
from hub.agreements import Agreement, AgreementCheckError, AgreementError, compile_agreement
from hub.schemas.fields import FieldInfo, iter_fields

SUBSCRIBER = "ki-featurestore"
# Checking does not depend on the master secret (only pseudonym values do).
_CHECK_SECRET = b"hub-features-check-dummy-secret"
_NUMERIC = {"int", "long", "float", "double", "boolean"}
_SCALAR = {"string", "int", "long", "float", "double", "boolean", "enum"}
_TIMESTAMPS = {"timestamp-millis", "timestamp-micros"}


@dataclass(frozen=True)
class Column:
    """A delivered value a view reads: where, its scalar kind, its privacy class."""

    path: str
    kind: str  # string | int | long | float | double | boolean | enum | timestamp | date
    pii: str
    transform: str  # how the agreement delivers it (keep, pseudonymize, h3: 8, ...)
    person_id: bool = False  # identifies a person, directly or by pseudonym


@dataclass(frozen=True)
class BoundView:
    """A feature definition checked against its agreement: everything the pipeline needs."""

    definition: FeatureDefinition
    file: Path
    agreement: Agreement
    topic: str
    columns: dict[str, Column]

    @property
    def name(self) -> str:
        return self.definition.name

    def kind(self, path: str) -> str:
        return self.columns[path].kind


@dataclass
class FeatureCatalog:
    views: list[BoundView] = field(default_factory=list)

    @property
    def topics(self) -> list[str]:
        """The pipeline's input: delivery topics of ki-featurestore agreements, nothing else."""
        return sorted({v.topic for v in self.views})

    def for_topic(self, topic: str) -> list[BoundView]:
        return [v for v in self.views if v.topic == topic]

    def view(self, name: str) -> BoundView:
        for v in self.views:
            if v.name == name:
                return v
        raise KeyError(f"no feature view {name!r}; known: {', '.join(v.name for v in self.views)}")


def _kind(info: FieldInfo) -> str | None:
    name = info.type_name
    if name == "long" and info.logical_type in _TIMESTAMPS:
        return "timestamp"
    if name == "int" and info.logical_type == "date":
        return "date"  # read as an ISO date string
    if name in _SCALAR:
        return name
    return None


def _key_column(agreement: Agreement, source_schema: dict[str, Any]) -> Column | None:
    """The delivered message key; it identifies a person when the source's key field
    (``x-key``) is a direct identifier, pseudonymized or not."""
    kind = agreement.key.kind
    if kind == "drop":
        return None
    key_field = source_schema.get("x-key")
    source_pii = next((f.pii for f in iter_fields(source_schema) if f.path == key_field), "none")
    if kind == "redact":
        return Column(KEY, "string", "none", str(agreement.key))
    pii = source_pii if kind == "keep" else ("quasi" if source_pii == "direct" else source_pii)
    return Column(KEY, "string", pii or "none", str(agreement.key), source_pii == "direct")


def _columns(
    agreement: Agreement,
    source_schema: dict[str, Any],
    output_schema: dict[str, Any],
    transforms: dict[str, str],
) -> dict[str, Column]:
    columns: dict[str, Column] = {}
    for info in iter_fields(output_schema):
        kind = _kind(info)
        if kind is None:
            continue
        how = transforms.get(info.path, "keep")
        pii = info.pii or "none"
        person = pii in ("direct", "sensitive") or how == "pseudonymize"
        columns[info.path] = Column(info.path, kind, pii, how, person)
    key = _key_column(agreement, source_schema)
    if key is not None:
        columns[KEY] = key
    return columns


def check_view(
    definition: FeatureDefinition, file: Path, agreement: Agreement, columns: dict[str, Column]
) -> list[Issue]:
    """Every problem of ``definition`` against the delivery of ``agreement``."""
    issues: list[Issue] = []
    origin = str(file)

    def need(path: str, where: str) -> Column | None:
        col = columns.get(path)
        if col is None:
            hint = " (the agreement drops the message key)" if path == KEY else ""
            known = ", ".join(sorted(columns))
            issues.append(
                Issue(
                    origin,
                    where,
                    f"{path!r} is not delivered under {agreement.id}{hint}; delivered: {known}",
                )
            )
        return col

    entity = need(definition.entity.field, "entity.field")
    if entity is not None and entity.kind not in ("string", "int", "long", "enum", "date"):
        issues.append(
            Issue(
                origin,
                "entity.field",
                f"{entity.path} is {entity.kind}; an entity is a string, int or enum",
            )
        )
    event_time = need(definition.event_time, "event_time")
    if event_time is not None and event_time.kind != "timestamp":
        issues.append(
            Issue(origin, "event_time", f"{event_time.path} is {event_time.kind}, not a timestamp")
        )
    contributor = need(definition.contributor, "contributor")
    used = [c for c in (entity, contributor) if c is not None]
    for i, agg in enumerate(definition.aggregations):
        if agg.field is None:
            continue
        col = need(agg.field, f"aggregations.{i}.field")
        if col is None:
            continue
        used.append(col)
        if agg.fn in NUMERIC_FNS and col.kind not in _NUMERIC:
            issues.append(
                Issue(
                    origin,
                    f"aggregations.{i}.field",
                    f"{agg.fn} needs a number or boolean; {col.path} is {col.kind}",
                )
            )

    if entity is not None:
        if entity.person_id and not (definition.person_keyed and agreement.allows_identifying):
            issues.append(
                Issue(
                    origin,
                    "entity.field",
                    f"{entity.path} is a pseudonymous person id ({entity.transform}, x-pii {entity.pii}); "
                    "a view keyed by it needs person_keyed: true here and allows_identifying: true "
                    f"in agreement {agreement.id}",
                )
            )
        if definition.person_keyed and not agreement.allows_identifying:
            issues.append(
                Issue(
                    origin,
                    "person_keyed",
                    f"agreement {agreement.id} does not allow identifying data (allows_identifying)",
                )
            )
    if definition.k < DEFAULT_K:
        personal = sorted({f"{c.path} (x-pii {c.pii})" for c in used if c.pii != "none"})
        if personal:
            issues.append(
                Issue(
                    origin,
                    "k",
                    f"k={definition.k} is below {DEFAULT_K}, allowed only without personal data; uses {', '.join(personal)}",
                )
            )
    return issues


def _agreement_for(definition: FeatureDefinition, agreements: list[Agreement]) -> Agreement | str:
    if definition.agreement is not None:
        found = next((a for a in agreements if a.id == definition.agreement), None)
        if found is None:
            return f"no agreement with id {definition.agreement!r}"
    else:
        found = next((a for a in agreements if a.topic == definition.source), None)
        if found is None:
            return f"{definition.source!r} is not the delivery topic of any agreement; the feature store reads only deliveries to {SUBSCRIBER}"
    if found.subscriber != SUBSCRIBER:
        return f"agreement {found.id} delivers to {found.subscriber!r}, not to {SUBSCRIBER!r}; the feature store reads only its own deliveries"
    return found


def bind_definitions(
    loaded: Iterable[LoadedDefinition],
    agreements: list[Agreement],
    schemas: dict[str, dict[str, Any]],
) -> FeatureCatalog:
    """Check every definition against its agreement; raise one error listing every problem."""
    issues: list[Issue] = []
    views: list[BoundView] = []
    compiled: dict[str, dict[str, Column] | None] = {}
    for item in loaded:
        d, file = item.definition, item.file
        found = _agreement_for(d, agreements)
        if isinstance(found, str):
            issues.append(Issue(str(file), "agreement" if d.agreement else "source", found))
            continue
        if found.id not in compiled:
            schema = schemas.get(found.source)
            if schema is None:
                issues.append(
                    Issue(
                        str(file), "agreement", f"{found.id}: unknown source topic {found.source!r}"
                    )
                )
                compiled[found.id] = None
                continue
            try:
                c = compile_agreement(found, schema, _CHECK_SECRET)
            except AgreementCheckError as exc:
                issues.append(Issue(str(file), "agreement", f"{found.id} does not check: {exc}"))
                compiled[found.id] = None
                continue
            compiled[found.id] = _columns(found, schema, c.output_schema, c.field_transforms)
        columns = compiled[found.id]
        if columns is None:
            continue
        problems = check_view(d, file, found, columns)
        if problems:
            issues.extend(problems)
            continue
        views.append(BoundView(d, file, found, found.topic, columns))
    if issues:
        raise FeatureDefinitionError(issues)
    return FeatureCatalog(views)


def load_feature_catalog(
    features_dir: Path, agreements_dir: Path, schemas_dir: Path
) -> FeatureCatalog:
    """Definitions, agreements and schemas from their folders, bound and checked."""
    from hub.agreements import load_agreements
    from hub.schemas.catalog import load_catalog

    loaded = load_definitions(features_dir)
    try:
        agreements = load_agreements(agreements_dir)
    except AgreementError as exc:
        raise FeatureDefinitionError(
            [Issue(i.file, i.field, i.message) for i in exc.issues]
        ) from None
    schemas = {topic: s.latest.schema for topic, s in load_catalog(schemas_dir).items()}
    return bind_definitions(loaded, agreements, schemas)
