"""Which personal-data changes does a new schema version make? (Input to the approval gate.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.schemas.fields import iter_fields

PERSONAL = ("direct", "quasi", "sensitive")
# How much protection a class demands; lowering it needs the same sign-off as adding a field.
PROTECTION_RANK = {"none": 0, "quasi": 1, "direct": 2, "sensitive": 3}


@dataclass(frozen=True)
class PiiChange:
    path: str
    change: str  # "added" or "downgraded"
    old: str | None
    new: str

    def describe(self) -> str:
        if self.change == "added":
            return f"adds a field classified {self.new}"
        return f"lowers the classification from {self.old} to {self.new}"


def pii_changes(old: Any, new: Any) -> list[PiiChange]:
    """Fields ``new`` adds with a personal classification, and fields it classifies lower."""
    before = {info.path: info.pii for info in iter_fields(old)}
    changes: list[PiiChange] = []
    for info in iter_fields(new):
        if info.pii not in PROTECTION_RANK:
            continue  # unclassified: the lint reports it on its own
        if info.path not in before:
            if info.pii in PERSONAL:
                changes.append(PiiChange(info.path, "added", None, info.pii))
            continue
        old_class = before[info.path]
        if old_class in PROTECTION_RANK and PROTECTION_RANK[info.pii] < PROTECTION_RANK[old_class]:
            changes.append(PiiChange(info.path, "downgraded", old_class, info.pii))
    return changes
