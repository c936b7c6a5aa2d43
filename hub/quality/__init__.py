"""Quality rules of the contracts (``x-quality``): model, evaluator, the files beside schemas."""

from hub.quality.book import (
    QualityFileError,
    RuleBook,
    check_quality_file,
    default_rulebook,
    load_rules,
    quality_path,
)
from hub.quality.rules import (
    SEVERITIES,
    Rule,
    RuleProblem,
    RuleSet,
    Violation,
    compile_rules,
    evaluate,
    parse_rules,
)

__all__ = [
    "SEVERITIES",
    "QualityFileError",
    "Rule",
    "RuleBook",
    "RuleProblem",
    "RuleSet",
    "Violation",
    "check_quality_file",
    "compile_rules",
    "default_rulebook",
    "evaluate",
    "load_rules",
    "parse_rules",
    "quality_path",
]
