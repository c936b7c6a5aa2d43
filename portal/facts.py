"""The catalog as the pages see it: departments, data sets (event types), agreements with their
field sentences, recipients and feature views. Built once from the files (``load_facts``, I/O)
by a pure function (``build_facts``), so tests build it from data of their own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.access.principals import Principals, load_principals
from hub.agreements.avro_types import SourceField, index_schema
from hub.agreements.errors import AgreementError, SpecError
from hub.agreements.model import Agreement, load_agreement
from hub.schemas.catalog import Catalog, load_catalog
from portal import classification
from portal.organisation import Organisation, load_organisation
from portal.sentences import FieldSentence, field_sentence, key_sentence, label_of, where_sentence


@dataclass(frozen=True)
class FieldRow:
    """One field of a data set as the Datensätze page lists it."""

    path: str
    label: str
    doc: str
    pii: str
    type: str

    @property
    def word(self) -> str:
        return classification.word(self.pii)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "label": self.label,
            "doc": self.doc,
            "classification": self.pii,
            "classification_text": self.word,
            "type": self.type,
        }


@dataclass(frozen=True)
class Dataset:
    topic: str
    department: str
    title: str
    description: str
    versions: tuple[int, ...]
    fields: tuple[FieldRow, ...]
    data_subjects: str
    agreements: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        return self.topic

    @property
    def personal(self) -> bool:
        return any(classification.is_personal(f.pii) for f in self.fields)

    @property
    def sensitive(self) -> bool:
        return any(f.pii == "sensitive" for f in self.fields)


@dataclass(frozen=True)
class AgreementFacts:
    agreement: Agreement
    dataset_title: str
    key: FieldSentence
    sentences: tuple[FieldSentence, ...]
    withheld: tuple[str, ...]
    """Labels of the source fields the agreement does not name: never delivered."""
    filter: str | None
    features: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.agreement.id

    def status(self, today: dt.date) -> str:
        """``gültig``, ``abgelaufen`` or ``noch nicht gültig`` on ``today`` (Hamm's calendar)."""
        a = self.agreement
        if today > a.valid_until:
            return "abgelaufen"
        if a.valid_from is not None and today < a.valid_from:
            return "noch nicht gültig"
        return "gültig"


@dataclass(frozen=True)
class Recipient:
    name: str
    description: str
    contact: str
    agreements: tuple[str, ...]


@dataclass(frozen=True)
class FeatureView:
    name: str
    description: str
    agreement: str | None
    k: int


@dataclass(frozen=True)
class Facts:
    organisation: Organisation
    datasets: dict[str, Dataset]
    agreements: dict[str, AgreementFacts]
    recipients: dict[str, Recipient]
    features: dict[str, FeatureView]
    principals: Principals
    catalog: Catalog | None = None
    problems: tuple[str, ...] = field(default=())

    def department_name(self, name: str) -> str:
        department = self.principals.departments.get(name)
        return department.description or name if department else name

    def recipient_name(self, name: str) -> str:
        recipient = self.recipients.get(name)
        return recipient.description or name if recipient else name


def _label_paths(fields: Mapping[str, SourceField]) -> dict[str, str]:
    """Each path's label; nested ones carry their record's label: "Neue Anschrift – PLZ"."""
    labels: dict[str, str] = {}
    for path, f in fields.items():
        own = label_of(f.doc, f.name)
        labels[path] = f"{labels[f.parent]} – {own}" if f.parent in labels else own
    return labels


def _type_name(f: SourceField) -> str:
    label = f.logical or f.kind
    return f"{label} (optional)" if f.nullable else label


def _dataset(
    topic: str, subject: Any, principals: Principals, organisation: Organisation
) -> Dataset:
    latest = subject.latest
    schema = latest.schema
    source = index_schema(schema)
    labels = _label_paths(source.fields)
    rows = tuple(
        FieldRow(path, labels[path], f.doc, f.pii, _type_name(f))
        for path, f in source.fields.items()
    )
    owner = principals.owner_of(topic)
    doc = str(schema.get("doc") or topic)
    subjects = organisation.subjects_of(topic) or (
        "Personen, auf die sich die Ereignisse beziehen"
        if any(classification.is_personal(r.pii) for r in rows)
        else "keine (der Datensatz enthält keine personenbezogenen Daten)"
    )
    return Dataset(
        topic=topic,
        department=owner.name if owner else latest.department,
        title=label_of(doc, topic),
        description=doc,
        versions=tuple(v.version for v in subject.versions),
        fields=rows,
        data_subjects=subjects,
    )


def _agreement(agreement: Agreement, dataset: Dataset | None, schema: Any) -> AgreementFacts:
    fields: dict[str, SourceField] = {}
    if schema is not None:
        try:
            fields = index_schema(schema).fields
        except SpecError:
            fields = {}
    labels = _label_paths(fields)
    sentences = tuple(
        field_sentence(
            path,
            spec,
            label=labels.get(path, path),
            pii=fields[path].pii if path in fields else None,
            allows_identifying=agreement.allows_identifying,
        )
        for path, spec in agreement.fields.items()
    )
    named = set(agreement.fields)
    withheld = tuple(
        labels[path]
        for path, f in fields.items()
        if f.kind not in ("record", "error")
        and path not in named
        and not any(path.startswith(n + ".") for n in named)
    )
    return AgreementFacts(
        agreement=agreement,
        dataset_title=dataset.title if dataset else agreement.source,
        key=key_sentence(agreement.key),
        sentences=sentences,
        withheld=withheld,
        filter=where_sentence(agreement.where, labels),
    )


def build_facts(
    organisation: Organisation,
    principals: Principals,
    catalog: Catalog,
    agreements: Sequence[Agreement],
    features: Sequence[FeatureView] = (),
    problems: Sequence[str] = (),
) -> Facts:
    """Everything the pages show, from the parsed catalog (pure)."""
    datasets = {t: _dataset(t, s, principals, organisation) for t, s in catalog.items()}
    by_agreement: dict[str, list[str]] = {}
    for view in features:
        if view.agreement:
            by_agreement.setdefault(view.agreement, []).append(view.name)
    built: dict[str, AgreementFacts] = {}
    for a in sorted(agreements, key=lambda a: a.id):
        subject = catalog.get(a.source)
        facts = _agreement(a, datasets.get(a.source), subject.latest.schema if subject else None)
        built[a.id] = AgreementFacts(
            **{**facts.__dict__, "features": tuple(sorted(by_agreement.get(a.id, ())))}
        )
    for topic, dataset in datasets.items():
        ids = tuple(a.id for a in built.values() if a.agreement.source == topic)
        datasets[topic] = Dataset(**{**dataset.__dict__, "agreements": ids})
    recipients: dict[str, Recipient] = {}
    for name in sorted({a.agreement.subscriber for a in built.values()}):
        sub = principals.subscribers.get(name)
        dept = principals.departments.get(name)
        described = sub or dept
        recipients[name] = Recipient(
            name=name,
            description=(described.description if described else "") or name,
            contact=principals.contact(name),
            agreements=tuple(a.id for a in built.values() if a.agreement.subscriber == name),
        )
    return Facts(
        organisation=organisation,
        datasets=datasets,
        agreements=built,
        recipients=recipients,
        features={v.name: v for v in features},
        principals=principals,
        catalog=catalog,
        problems=tuple(problems),
    )


def _load_agreements(directory: Path) -> tuple[list[Agreement], list[str]]:
    """Each file on its own: a broken agreement is listed as a problem, the rest is shown."""
    found: list[Agreement] = []
    problems: list[str] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            found.append(load_agreement(path))
        except AgreementError as exc:
            problems.extend(str(issue) for issue in exc.issues)
    return found, problems


def _load_features(directory: Path) -> tuple[list[FeatureView], list[str]]:
    if not directory.is_dir():
        return [], []
    try:
        from consumers.features.definition import FeatureDefinitionError, load_definitions
    except ModuleNotFoundError:  # a trimmed deployment without the feature store
        return [], []
    try:
        loaded = load_definitions(directory)
    except FeatureDefinitionError as exc:
        return [], [str(exc)]
    views = [
        FeatureView(
            item.definition.name,
            " ".join(item.definition.description.split()),
            item.definition.agreement,
            item.definition.k,
        )
        for item in loaded
    ]
    return views, []


def load_facts(catalog_dir: Path, schemas_dir: Path) -> Facts:
    """Read the catalog folder and the schema tree (CatalogFileError, PrincipalsError and
    SchemaCatalogError name the file)."""
    organisation = load_organisation(catalog_dir / "organisation.yaml")
    principals = load_principals(catalog_dir / "departments.yaml")
    catalog = load_catalog(schemas_dir)
    agreements, problems = _load_agreements(catalog_dir / "agreements")
    features, feature_problems = _load_features(catalog_dir / "features")
    return build_facts(
        organisation, principals, catalog, agreements, features, [*problems, *feature_problems]
    )
