"""Where a version's quality rules live: ``v<N>.quality.yaml`` beside ``v<N>.avsc``.

The rules are kept beside the schema, not in it, so a registered version's text (and with it
its id and compatibility) never changes when a rule is added or tightened: plausibility is
policy and moves faster than structure. A producer finds the rules of the schema it encodes
with by content: the local version whose Parsing Canonical Form equals the registered one's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from fastavro.schema import to_parsing_canonical_form

from hub.conditions import Clock
from hub.quality.rules import RuleProblem, RuleSet, compile_rules, parse_rules, utc_now

log = logging.getLogger(__name__)

SUFFIX = ".quality.yaml"


class QualityFileError(ValueError):
    """A quality file cannot be used; the message names the file, the rule and the field."""

    def __init__(self, path: Path, problems: list[RuleProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("; ".join(f"{path}: {p}" for p in problems))


def quality_path(version_file: Path) -> Path:
    """``.../v2.avsc`` → ``.../v2.quality.yaml``."""
    return Path(version_file).with_name(f"{Path(version_file).stem}{SUFFIX}")


def read_quality_file(path: Path) -> Any:
    """The YAML of a quality file; QualityFileError naming it when it cannot be read."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise QualityFileError(
            Path(path), [RuleProblem("quality-file", "", f"cannot read: {error}")]
        ) from None


def check_quality_file(
    path: Path, schema: Mapping[str, Any], *, clock: Clock = utc_now
) -> tuple[RuleSet, list[RuleProblem]]:
    """The rules of ``path`` compiled against ``schema`` (standalone), and every problem."""
    from hub.agreements.avro_types import index_schema  # the flat field index

    try:
        raw = read_quality_file(path)
    except QualityFileError as error:
        return RuleSet(), error.problems
    rules, problems = parse_rules(raw)
    compiled, found = compile_rules(rules, index_schema(dict(schema)).fields, clock=clock)
    return compiled, problems + found


def load_rules(path: Path, schema: Mapping[str, Any], *, clock: Clock = utc_now) -> RuleSet:
    """The rules of a quality file; QualityFileError with every problem if any rule is bad."""
    rules, problems = check_quality_file(path, schema, clock=clock)
    if problems:
        raise QualityFileError(Path(path), problems)
    return rules


def canonical(schema: Any) -> str | None:
    """The Parsing Canonical Form of a standalone schema, as JSON text or data (None if it
    does not parse)."""
    try:
        return to_parsing_canonical_form(json.loads(schema) if isinstance(schema, str) else schema)
    except Exception:  # fastavro raises several types for a schema it cannot parse
        return None


class RuleBook:
    """The quality rules of the schema tree under ``root``, by topic and schema, read lazily
    (a producer reads only the folders of the topics it publishes to)."""

    def __init__(self, root: Path | None, *, clock: Clock = utc_now) -> None:
        self.root = Path(root) if root is not None else None
        self.clock = clock
        self._cache: dict[tuple[str, str | None], RuleSet] = {}

    def rules_for(self, topic: str, schema: Any) -> RuleSet:
        """The rules of the local version of ``topic`` that is ``schema`` (the registered one);
        empty when the topic or the version is not in the tree. QualityFileError when its
        quality file is broken (``hub schemas lint`` says the same)."""
        key = (topic, canonical(schema))
        if key not in self._cache:
            self._cache[key] = self._find(topic, key[1])
        return self._cache[key]

    def _find(self, topic: str, form: str | None) -> RuleSet:
        from hub.schemas.catalog import SchemaCatalogError, load_schema_file

        department, _, entity_event = topic.partition(".")
        folder = self.root / department / entity_event if self.root is not None else None
        if folder is None or not entity_event or form is None or not folder.is_dir():
            return RuleSet()
        for version_file in sorted(folder.glob("v*.avsc")):
            try:
                local = load_schema_file(version_file, self.root)
            except SchemaCatalogError:
                continue  # lint names it; another version may still match
            if canonical(local.schema) != form:
                continue
            rules_file = quality_path(version_file)
            if not rules_file.exists():
                return RuleSet()
            return load_rules(rules_file, local.schema, clock=self.clock)
        log.warning(
            "the registered schema matches no local version: its quality rules are not checked",
            extra={"topic": topic, "schemas_dir": str(self.root)},
        )
        return RuleSet()


def default_rulebook() -> RuleBook:
    """The rules of this installation's schema tree (HUB_SCHEMAS_DIR, else the repository's)."""
    from hub.schemas.catalog import default_schemas_dir
    from hub.settings import get_settings

    configured = get_settings().schemas_dir
    root = configured if configured.is_dir() else default_schemas_dir()
    return RuleBook(root if root.is_dir() else None)
