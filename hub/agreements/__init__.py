"""Data-sharing agreements: model, row filter, anonymization transforms, compilation.

The core is pure (no I/O besides `load_agreements` reading YAML); the CLI lives in `cli.py`.
"""

from hub.agreements.compile import CompiledAgreement, compile_agreement
from hub.agreements.errors import (
    AgreementCheckError,
    AgreementError,
    CheckIssue,
    SpecError,
    TransformError,
)
from hub.agreements.keys import AgreementKeys, derive_keys
from hub.agreements.model import Agreement, TransformSpec, load_agreement, load_agreements
from hub.agreements.where import compile_where, parse_where

__all__ = [
    "Agreement",
    "AgreementCheckError",
    "AgreementError",
    "AgreementKeys",
    "CheckIssue",
    "CompiledAgreement",
    "SpecError",
    "TransformError",
    "TransformSpec",
    "compile_agreement",
    "compile_where",
    "derive_keys",
    "load_agreement",
    "load_agreements",
    "parse_where",
]
