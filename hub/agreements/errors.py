"""Errors of the agreement core: each one names the agreement file and the field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckIssue:
    """One problem found in an agreement: where (file, field) and what."""

    file: str
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class AgreementError(ValueError):
    """An agreement file cannot be loaded (YAML, model validation, duplicate id)."""

    def __init__(self, issues: list[CheckIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class AgreementCheckError(ValueError):
    """An agreement does not fit its source schema; carries every problem, not just the first."""

    def __init__(self, issues: list[CheckIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class SpecError(ValueError):
    """A transform or filter does not fit the field it is applied to (compile time)."""


class TransformError(ValueError):
    """A record value cannot be transformed (bad data at run time; the router dead-letters it)."""
