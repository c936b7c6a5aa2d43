"""Schema changes for the staff page: each version beside the one before, the changed fields
marked, classification changes and the data-protection officer's approval records. Pure but for
reading the approval files that sit beside the schema versions."""

from __future__ import annotations

import json
from typing import Any

from hub.schemas.approval import ApprovalError, approval_path, load_approval
from hub.schemas.catalog import Catalog, SchemaFile
from hub.schemas.fields import iter_fields
from hub.schemas.privacy import PiiChange, pii_changes
from portal import classification


def _type(avro_type: Any) -> str:
    if isinstance(avro_type, dict):
        kind = avro_type.get("type")
        if kind in ("record", "enum", "fixed"):
            return f"{kind} {avro_type.get('name')}"
        logical = avro_type.get("logicalType")
        return f"{kind} ({logical})" if logical else str(kind)
    if isinstance(avro_type, list):
        return " | ".join(_type(t) for t in avro_type)
    return str(avro_type)


def _fields(schema: Any) -> dict[str, dict[str, Any]]:
    return {
        f.path: {"type": _type(f.avro_type), "pii": f.pii, "doc": f.doc or ""}
        for f in iter_fields(schema)
    }


def _approval(version: SchemaFile) -> dict[str, Any] | None:
    path = approval_path(version.path)
    if not path.exists():
        return None
    try:
        a = load_approval(path)
    except ApprovalError as error:
        return {"file": path.name, "error": str(error)}
    return {
        "file": path.name,
        "reviewer": a.reviewer,
        "role": a.role,
        "date": a.date.isoformat(),
        "reason": a.reason,
        "fields": list(a.fields) if a.fields is not None else None,
    }


def _in_words(change: PiiChange) -> str:
    if change.change == "added":
        return f"neues Feld, eingestuft als {classification.word(change.new)} ({change.new})"
    return f"Einstufung gesenkt von {change.old} auf {change.new}"


def compare(old: SchemaFile, new: SchemaFile) -> dict[str, Any]:
    """One version beside the one before: every field, and what changed about it."""
    before, after = _fields(old.schema), _fields(new.schema)
    needs = {c.path: _in_words(c) for c in pii_changes(old.schema, new.schema)}
    rows = []
    for path in [*after, *(p for p in before if p not in after)]:
        a, b = before.get(path), after.get(path)
        if a is None:
            change = "neu"
        elif b is None:
            change = "entfernt"
        else:
            changed = [k for k in ("type", "pii", "doc") if a[k] != b[k]]
            change = ", ".join(
                {"type": "Typ", "pii": "Einstufung", "doc": "Beschreibung"}[k] for k in changed
            )
        rows.append(
            {
                "path": path,
                "old": a and {**a, "classification_text": classification.word(a["pii"])},
                "new": b and {**b, "classification_text": classification.word(b["pii"])},
                "change": change,
                "needs_approval": needs.get(path),
            }
        )
    return {
        "from_version": old.version,
        "to_version": new.version,
        "fields": rows,
        "changed": sum(1 for r in rows if r["change"]),
        "classification_changes": [{"path": p, "what": why} for p, why in needs.items()],
        "approval": _approval(new),
        "doc_changed": old.schema.get("doc") != new.schema.get("doc"),
    }


def schema_changes(catalog: Catalog) -> list[dict[str, Any]]:
    """Every subject with more than one version, newest change first within a subject."""
    out = []
    for topic, subject in sorted(catalog.items()):
        versions = subject.versions
        if len(versions) < 2:
            continue
        out.append(
            {
                "topic": topic,
                "subject": subject.subject,
                "compatibility": subject.compatibility,
                "versions": [v.version for v in versions],
                "changes": [
                    compare(versions[i - 1], versions[i]) for i in range(len(versions) - 1, 0, -1)
                ],
            }
        )
    return out


def schema_text(version: SchemaFile) -> str:
    return json.dumps(version.schema, ensure_ascii=False, indent=2)
