"""Feature view definitions as written in ``catalog/features/*.yaml``.

This module checks what a definition says on its own (names, window, aggregations); whether it
fits its agreement and the delivered schema is checked in ``binding.py``.

```yaml
name: noise_complaints_hourly            # the Feast feature view, and hub.features.<name>
description: Lärmbeschwerden je PLZ und Stunde
agreement: ki-featurestore-noise-complaints   # or source: <delivery topic>
entity: {name: postcode, field: postcode}     # field: dotted path in the delivery, or $key
event_time: occurred_at
window: {type: tumbling, size: 1h}            # hopping: {type: hopping, size: 7d, slide: 1d}
allowed_lateness: 15m
k: 5                                          # default 5
contributor: complainant_name                 # who counts for k: a field or $key
aggregations:
  - {name: complaints, fn: count}
  - {name: night_share, fn: mean, field: night_time}
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from consumers.features.durations import DurationMs

KEY = "$key"
"""Names the delivered message key (the transformed entity id) instead of a record field."""
DEFAULT_K = 5
AggregationFn = Literal["count", "sum", "mean", "min", "max", "distinct_count", "last"]
NUMERIC_FNS = frozenset({"sum", "mean", "min", "max"})
# Names Feast or the published record use for their own columns.
RESERVED = frozenset({"window_start", "window_end", "event_timestamp", "created", "entity"})

_VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PATH = re.compile(r"^(\$key|[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)$")


class FeatureDefinitionError(ValueError):
    """One or more definitions are wrong; every issue names the file and the field."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass(frozen=True, slots=True)
class Issue:
    file: str
    field: str | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.field}: {self.message}"
            if self.field
            else f"{self.file}: {self.message}"
        )


def _path(value: str) -> str:
    if not _PATH.match(value):
        raise ValueError(
            f"{value!r} is not a dotted field path (like new_address.postcode) or $key"
        )
    return value


class EntitySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """The Feast entity (and join key), e.g. ``postcode``, ``h3_cell``, ``station``."""
    field: str
    """Where the entity value is in the delivered record (dotted path), or ``$key``."""
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> EntitySpec:
        if not _IDENT.match(self.name):
            raise ValueError(f"entity name {self.name!r} must be lowercase letters, digits, '_'")
        _path(self.field)
        return self


class WindowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["tumbling", "hopping"]
    size: DurationMs
    slide: DurationMs | None = None

    @model_validator(mode="after")
    def _check(self) -> WindowSpec:
        if self.size <= 0:
            raise ValueError("window size must be positive")
        if self.type == "tumbling":
            if self.slide is not None and self.slide != self.size:
                raise ValueError("a tumbling window has no slide (it is its size); use hopping")
            object.__setattr__(self, "slide", self.size)
        else:
            if self.slide is None:
                raise ValueError("a hopping window needs slide, e.g. {size: 7d, slide: 1d}")
            if not 0 < self.slide <= self.size or self.size % self.slide:
                raise ValueError("slide must be positive, at most size, and divide size evenly")
        return self

    @property
    def step(self) -> int:
        assert self.slide is not None
        return self.slide


class AggregationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """The feature's name in Feast."""
    fn: AggregationFn
    field: str | None = None
    """The delivered field aggregated; ``count`` without it counts events."""

    @model_validator(mode="after")
    def _check(self) -> AggregationSpec:
        if not _IDENT.match(self.name):
            raise ValueError(f"feature name {self.name!r} must be lowercase letters, digits, '_'")
        if self.name in RESERVED:
            raise ValueError(f"feature name {self.name!r} is reserved")
        if self.field is None and self.fn != "count":
            raise ValueError(f"{self.fn} needs a field")
        if self.field is not None:
            _path(self.field)
        return self


class FeatureDefinition(BaseModel):
    """One feature view: windowed aggregates of one ki-featurestore delivery per entity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    agreement: str | None = None
    source: str | None = None
    entity: EntitySpec
    event_time: str = "occurred_at"
    window: WindowSpec
    allowed_lateness: DurationMs = 0
    aggregations: list[AggregationSpec] = Field(min_length=1)
    k: int = Field(default=DEFAULT_K, ge=1)
    contributor: str
    """Who counts as a distinct contributor for k: a delivered field (a pseudonym) or $key."""
    person_keyed: StrictBool = False
    """The entity is a pseudonymous person id; only valid when the agreement has
    ``allows_identifying: true`` (checked in binding)."""
    ttl: DurationMs | None = None
    """How long Feast serves a value after its window closed; default twice the window size."""

    @model_validator(mode="after")
    def _check(self) -> FeatureDefinition:
        if not _VIEW_NAME.match(self.name) or self.name == "state":
            raise ValueError(
                f"view name {self.name!r} must be lowercase letters, digits, '_' (not 'state')"
            )
        if (self.agreement is None) == (self.source is None):
            raise ValueError("name exactly one of agreement (id) or source (delivery topic)")
        _path(self.event_time)
        _path(self.contributor)
        if self.event_time == KEY:
            raise ValueError("event_time must be a field, not $key")
        names = [a.name for a in self.aggregations]
        dupes = sorted({n for n in names if names.count(n) > 1} | ({self.entity.name} & set(names)))
        if dupes:
            raise ValueError(f"feature names must be unique and differ from the entity: {dupes}")
        return self

    @property
    def ttl_ms(self) -> int:
        return self.ttl if self.ttl is not None else 2 * self.window.size


def _loc(loc: tuple[Any, ...]) -> str | None:
    return ".".join(str(p) for p in loc) or None


def parse_definition(raw: Any, file: str | Path) -> FeatureDefinition:
    """Validate one parsed YAML document; errors name the file and field."""
    if not isinstance(raw, dict):
        raise FeatureDefinitionError([Issue(str(file), None, "a feature view must be a mapping")])
    try:
        return FeatureDefinition.model_validate(raw)
    except ValidationError as exc:
        issues = []
        for e in exc.errors():
            ctx = e.get("ctx") or {}
            msg = str(ctx["error"]) if "error" in ctx else str(e["msg"])
            issues.append(Issue(str(file), _loc(e["loc"]), msg))
        raise FeatureDefinitionError(issues) from None


@dataclass(frozen=True)
class LoadedDefinition:
    definition: FeatureDefinition
    file: Path


def load_definitions(directory: Path) -> list[LoadedDefinition]:
    """Every ``*.yaml`` in ``directory``, sorted; all problems collected, then raised together."""
    if not directory.is_dir():
        raise FeatureDefinitionError([Issue(str(directory), None, "no such directory")])
    issues: list[Issue] = []
    loaded: list[LoadedDefinition] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            loaded.append(LoadedDefinition(parse_definition(raw, path), path))
        except yaml.YAMLError as exc:
            issues.append(Issue(str(path), None, f"invalid YAML: {exc}"))
        except FeatureDefinitionError as exc:
            issues.extend(exc.issues)
    seen: dict[str, Path] = {}
    for item in loaded:
        name = item.definition.name
        if name in seen:
            issues.append(
                Issue(str(item.file), "name", f"duplicate view {name!r}, also in {seen[name]}")
            )
        seen.setdefault(name, item.file)
    if issues:
        raise FeatureDefinitionError(issues)
    return loaded
