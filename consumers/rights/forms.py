"""In which form a recipient got each field under one agreement version, in German sentences.

The sentences are the transparency portal's (``portal.sentences``), generated from the
transforms, so a letter cannot say something else than what the router did; the labels come
from the source schema's field docs. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.agreements.avro_types import SourceField, index_schema
from hub.agreements.errors import SpecError
from hub.agreements.model import Agreement
from portal.sentences import field_sentence, key_sentence, label_of, where_sentence


@dataclass(frozen=True)
class FieldForm:
    """One delivered field: its path, its label, and what the recipient got of it."""

    path: str
    label: str
    form: str
    transform: str

    def as_json(self) -> dict[str, str]:
        return {
            "path": self.path,
            "label": self.label,
            "form": self.form,
            "transform": self.transform,
        }


def source_fields(schema: dict[str, Any] | None) -> dict[str, SourceField]:
    """The source schema's fields by path (empty when the schema is unknown or unusable)."""
    if schema is None:
        return {}
    try:
        return index_schema(schema).fields
    except SpecError:
        return {}


def labels(fields: dict[str, SourceField]) -> dict[str, str]:
    """Each path's label; nested ones carry their record's label ("Neue Anschrift – PLZ")."""
    out: dict[str, str] = {}
    for path, f in fields.items():
        own = label_of(f.doc, f.name)
        out[path] = f"{out[f.parent]} – {own}" if f.parent in out else own
    return out


def field_forms(agreement: Agreement, schema: dict[str, Any] | None) -> list[FieldForm]:
    """The fields the agreement delivers (``drop`` left out) and the message key, if delivered."""
    fields = source_fields(schema)
    named = labels(fields)
    # In the source schema's order (a version from hub.agreements has its keys sorted).
    rank = {p: i for i, p in enumerate(fields)}
    ordered = sorted(agreement.fields.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
    out = []
    for path, spec in ordered:
        if spec.kind == "drop":
            continue
        sentence = field_sentence(
            path,
            spec,
            label=named.get(path, path),
            pii=fields[path].pii if path in fields else None,
            allows_identifying=agreement.allows_identifying,
        )
        out.append(FieldForm(path, sentence.label, sentence.what, sentence.transform))
    key = key_sentence(agreement.key)
    if key.delivered:
        out.append(FieldForm("(key)", key.label, key.what, key.transform))
    return out


def filter_text(agreement: Agreement, schema: dict[str, Any] | None) -> str | None:
    """The agreement's row filter in words (None: every event went out)."""
    return where_sentence(agreement.where, labels(source_fields(schema)))


def identifier_label(path: str, schema: dict[str, Any] | None) -> str:
    """A label for an identifier path, for the letter ("Ordnungsmerkmal der Person")."""
    return labels(source_fields(schema)).get(path, path)
