"""Generate typed delivery models: ``python -m consumers.subscriber.models.generate``.

A subscriber never sees a source schema: it receives the schema the hub *derives* from an
agreement (only the named fields, transformed). This compiles every agreement of
``catalog/agreements/`` against the latest version of its source schema in ``schemas/`` (pure,
no registry: it is the schema the router registers under ``<delivery topic>-value``) and writes
``consumers/subscriber/models/<subscriber>.py``, one pydantic model per agreement, plus
``__init__.py`` (``AGREEMENTS``: agreement id → module, class, schema fingerprint). The output is
committed; ``--check`` (and a unit test) fail when it differs from what the catalog gives, the
same way as ``producers/models`` (whose renderer this reuses) are kept fresh.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import fastavro
import typer

from consumers.subscriber.models.base import fingerprint
from hub.agreements import compile_agreement
from hub.agreements.model import Agreement, load_agreements
from hub.schemas.catalog import Subject, default_schemas_dir, load_catalog
from producers.models.generate import (
    GenerationError,
    _all_list,
    _Class,
    _Department,
    _docstring,
    _import,
    _Renderer,
    class_name,
    literal,
    stale_files,
    write_or_check,
)

OUT_DIR = Path(__file__).resolve().parent
# The output schema does not depend on the master secret (only the pseudonyms do), so any
# secret compiles the schema the router registers.
_SCHEMA_ONLY_SECRET = b"delivery-models: the schema does not depend on the secret"

__all__ = ["OUT_DIR", "DeliverySchemaSpec", "delivery_schemas", "generate", "stale_files"]


def default_agreements_dir() -> Path:
    """The repository's ``catalog/agreements/``: next to the package, else under the cwd."""
    beside_package = Path(__file__).resolve().parents[3] / "catalog" / "agreements"
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / "catalog" / "agreements"


@dataclass(frozen=True)
class DeliverySchemaSpec:
    """One agreement's derived delivery schema, as the router registers it."""

    agreement: Agreement
    schema: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.schema)


def delivery_schemas(
    agreements: Iterable[Agreement], catalog: dict[str, Subject]
) -> list[DeliverySchemaSpec]:
    """Every agreement compiled against the latest schema of its source topic, by agreement id.

    Strict, unlike the router: a generator that left an agreement out would hand a subscriber
    dicts where it expects models, so any problem stops generation, naming the agreement."""
    specs = []
    for agreement in sorted(agreements, key=lambda a: a.id):
        subject = catalog.get(agreement.source)
        if subject is None:
            raise GenerationError(f"{agreement.origin}: no schema for topic {agreement.source!r}")
        compiled = compile_agreement(agreement, subject.latest.schema, _SCHEMA_ONLY_SECRET)
        specs.append(DeliverySchemaSpec(agreement, compiled.output_schema))
    return specs


class _DeliveryRenderer(_Renderer):
    """The producers' renderer, with the agreement's facts as class constants on the top model."""

    def __init__(self, department: _Department, spec: DeliverySchemaSpec, named: Any) -> None:
        super().__init__(department, spec.agreement.topic, named)
        self.spec = spec

    def record_source(self, name: str, schema: dict[str, Any], *, base: str) -> str:
        if base != "DeliveryModel":
            return super().record_source(name, schema, base=base)
        agreement = self.spec.agreement
        body = [self.field_source(f) for f in schema.get("fields", [])]
        self.dept.imports.add("ClassVar")
        constants = {
            "AGREEMENT": agreement.id,
            "SOURCE": agreement.source,
            "TOPIC": agreement.topic,
            "PURPOSE": agreement.purpose,
            "LEGAL_BASIS": agreement.legal_basis,
            "FINGERPRINT": self.spec.fingerprint,
        }
        lines = [f"class {name}({base}):", *_docstring(schema.get("doc"))]
        lines += [_constant(key, value) for key, value in constants.items()]
        lines.append("")
        lines += body
        return "\n".join(lines).rstrip()


def _constant(name: str, value: str) -> str:
    """``NAME: ClassVar[str] = "..."`` as ruff formats it: parenthesized past 100 columns."""
    line = f"    {name}: ClassVar[str] = {literal(value)}"
    if len(line) <= 100:
        return line
    return f"    {name}: ClassVar[str] = (\n        {literal(value)}\n    )"


def module_name(subscriber: str) -> str:
    return subscriber.replace("-", "_")


def render_subscriber(subscriber: str, specs: list[DeliverySchemaSpec]) -> str:
    """The source of ``consumers/subscriber/models/<subscriber>.py``."""
    dept = _Department(subscriber)
    for spec in specs:
        parsed = fastavro.parse_schema(spec.schema)
        renderer = _DeliveryRenderer(dept, spec, parsed.get("__named_schemas", {}))
        top = class_name(parsed["name"])
        renderer.event_class = top
        if top in dept.used:
            raise GenerationError(f"{spec.agreement.origin}: model name {top} is taken")
        dept.used.add(top)
        dept.by_fullname[parsed["name"]] = (top, "")
        dept.classes.append(_Class(top, renderer.record_source(top, parsed, base="DeliveryModel")))
    header = "\n".join(
        [
            f'"""Delivery models of the subscriber {subscriber}, one per agreement: generated from',
            "catalog/agreements/ and schemas/ by ``python -m consumers.subscriber.models.generate``;",
            "do not edit, regenerate.",
            '"""',
        ]
    )
    imports = []
    if "dt" in dept.imports:
        imports.append("import datetime as dt")
    if "Decimal" in dept.imports:
        imports.append("from decimal import Decimal")
    if "StrEnum" in dept.imports:
        imports.append("from enum import StrEnum")
    imports.append("from typing import ClassVar")
    base = ["DeliveryModel", *sorted(dept.imports & {"Int32", "Int64"})]
    if any("(RecordModel)" in c.source for c in dept.classes):
        base.append("RecordModel")
    blocks = [
        "\n".join(imports),
        "from pydantic import Field",
        _import("consumers.subscriber.models.base", base),
    ]
    exports = _all_list(c.name for c in dept.classes)
    head = f"{header}\n\n" + "\n\n".join(b for b in blocks if b) + f"\n\n{exports}"
    return "\n\n\n".join([head, *(c.source for c in dept.classes)]) + "\n"


def render_init(models: list[tuple[str, str, str, str]]) -> str:
    """The source of ``__init__.py``: agreement id → (module, class, fingerprint), imported lazily
    (a broken or stale module must not keep the generator, which imports the package, from
    repairing it)."""
    lines = [
        '"""Typed delivery models, one module per subscriber, generated from the agreements by',
        "``python -m consumers.subscriber.models.generate``; do not edit, regenerate.",
        "",
        "    from consumers.subscriber.models.ordnungsamt import ResidentMovedForOrdnungsamt",
        "    from consumers.subscriber.models import model_for  # the model of a delivery schema",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import Any",
        "",
        "from consumers.subscriber.models.base import DeliveryModel, fingerprint",
        "",
        "AGREEMENTS: dict[str, tuple[str, str, str]] = {",
    ]
    for agreement_id, module, name, print_ in sorted(models):
        lines += [
            f"    {literal(agreement_id)}: (",
            f"        {literal(module)},",
            f"        {literal(name)},",
            f"        {literal(print_)},",
            "    ),",
        ]
    lines += [
        "}",
        '"""Agreement id → (module, class, fingerprint of the schema it was generated from)."""',
        "",
        "",
        "def model_of(agreement_id: str) -> type[DeliveryModel]:",
        '    """The generated model of an agreement; KeyError naming the agreement if it has none."""',
        "    try:",
        "        module, name, _ = AGREEMENTS[agreement_id]",
        "    except KeyError:",
        '        raise KeyError(f"no delivery model for agreement {agreement_id!r}") from None',
        '    return getattr(importlib.import_module(f"{__name__}.{module}"), name)',
        "",
        "",
        "def model_for(agreement_id: str | None, schema_fingerprint: str) -> type[DeliveryModel] | None:",
        '    """The model generated from exactly this schema of the agreement, else None."""',
        "    found = AGREEMENTS.get(agreement_id) if agreement_id is not None else None",
        "    if found is None or found[2] != schema_fingerprint:",
        "        return None",
        "    return model_of(agreement_id)  # type: ignore[arg-type]",
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        '    if name == "MODELS":',
        "        return {agreement_id: model_of(agreement_id) for agreement_id in AGREEMENTS}",
        '    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        "",
        "",
    ]
    names = ["AGREEMENTS", "MODELS", "DeliveryModel", "fingerprint", "model_for", "model_of"]
    lines.append(_all_list(names))
    return "\n".join(lines) + "\n"


def generate(agreements_dir: Path | None = None, schemas_dir: Path | None = None) -> dict[str, str]:
    """File name (relative to ``consumers/subscriber/models/``) → source, for the whole catalog."""
    agreements = load_agreements(agreements_dir or default_agreements_dir())
    catalog = load_catalog(schemas_dir or default_schemas_dir())
    by_subscriber: dict[str, list[DeliverySchemaSpec]] = {}
    for spec in delivery_schemas(agreements, catalog):
        by_subscriber.setdefault(spec.agreement.subscriber, []).append(spec)
    files: dict[str, str] = {}
    models: list[tuple[str, str, str, str]] = []
    for subscriber, specs in sorted(by_subscriber.items()):
        module = module_name(subscriber)
        if module in ("base", "generate"):
            raise GenerationError(f"subscriber {subscriber!r}: its module name is reserved")
        files[f"{module}.py"] = render_subscriber(subscriber, specs)
        models += [
            (s.agreement.id, module, class_name(s.schema["name"]), s.fingerprint) for s in specs
        ]
    files["__init__.py"] = render_init(models)
    return files


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    agreements_dir: Annotated[
        Path | None, typer.Option(help="agreements (default: the repository's catalog/agreements/)")
    ] = None,
    schemas_dir: Annotated[
        Path | None, typer.Option(help="schema tree (default: the repository's schemas/)")
    ] = None,
    out_dir: Annotated[Path, typer.Option(help="where the modules go")] = OUT_DIR,
    check: Annotated[
        bool, typer.Option("--check", help="only report stale files; exit 1 if any")
    ] = False,
) -> None:
    """Write (or with --check, verify) the generated delivery model modules."""
    write_or_check(
        generate(agreements_dir, schemas_dir),
        out_dir,
        check,
        "delivery models",
        "python -m consumers.subscriber.models.generate",
    )


if __name__ == "__main__":
    sys.exit(app())
