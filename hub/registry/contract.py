"""The lint's contract, enforced by the registry: a raw event says of every field what it is
(``doc``) and whether it is personal data (``x-pii``), even if its writer skipped the lint.

Only new registrations are checked (see ``Registry.register``): what is already in ``_schemas``
stays readable and may be registered again, whatever it looks like.
"""

from __future__ import annotations

from typing import Any

from hub.access.principals import Principals
from hub.registry import errors
from hub.registry.access import subject_topic
from hub.schemas.fields import PII_CLASSES, PII_KEY, iter_fields


def contract_problems(schema: Any) -> list[str]:
    """``<field path>: <what is missing>`` for every field (any depth) without a doc or a
    valid x-pii, in declaration order; the same walk as ``hub schemas lint``."""
    problems = []
    for info in iter_fields(schema):
        if not (isinstance(info.doc, str) and info.doc.strip()):
            problems.append(f"{info.path}: no doc")
        if info.pii is None:
            problems.append(f"{info.path}: no {PII_KEY}")
        elif info.pii not in PII_CLASSES:
            problems.append(
                f"{info.path}: {PII_KEY} is {info.pii!r}, expected one of {', '.join(PII_CLASSES)}"
            )
    return problems


class RawContract:
    """``contract(subject, schema)`` raises 42201 for a raw subject whose schema breaks it."""

    def __init__(self, principals: Principals) -> None:
        self.principals = principals

    def owner(self, subject: str) -> str | None:
        """The department whose raw topic ``subject`` belongs to, or None (not raw)."""
        topic = subject_topic(subject)
        department = self.principals.owner_of(topic) if topic is not None else None
        return department.name if department is not None else None

    def __call__(self, subject: str, schema: Any) -> None:
        owner = self.owner(subject)
        if owner is None:
            return
        problems = contract_problems(schema)
        if problems:
            raise errors.contract_violated(subject, owner, problems)
