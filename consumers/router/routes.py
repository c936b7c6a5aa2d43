"""What the router applies: for each source topic, the compiled agreements on it.

Building the routing table reads the agreements and the schema catalog, compiles every
agreement against the latest version of its source schema, and registers each output schema
under ``<delivery topic>-value``. It fails closed: an agreement that does not load, compile or
register delivers nothing, and the reason is kept in ``problems`` for logs and metrics; every
other agreement keeps working.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from hub.agreements import (
    AgreementCheckError,
    AgreementError,
    CompiledAgreement,
    compile_agreement,
    load_agreement,
)
from hub.agreements.model import Agreement
from hub.quality.summary import optional_fields
from hub.receipts import Identifier, identifiers
from hub.schemas.catalog import Subject
from hub.serde import ParsedSchema, RegistryError, parse

Register = Callable[[str, dict[str, Any]], Awaitable[int]]
"""Registers a schema under a subject and returns its id (``AsyncRegistryClient.register``)."""


@dataclass(frozen=True)
class Route:
    """One agreement on one source topic, ready to deliver."""

    compiled: CompiledAgreement
    schema_id: int  # of the output schema, under <delivery topic>-value

    @property
    def agreement_id(self) -> str:
        return self.compiled.agreement.id

    @property
    def topic(self) -> str:
        return self.compiled.delivery_topic


@dataclass(frozen=True)
class SourceRoutes:
    """Everything on one source topic: how to read it and whom to deliver to."""

    topic: str
    reader: ParsedSchema  # the catalog version the agreements were compiled against
    routes: tuple[Route, ...]

    @cached_property
    def identifiers(self) -> tuple[Identifier, ...]:
        """The direct identifiers whose keyed hashes go into receipts."""
        return tuple(identifiers(orjson.loads(self.reader.canonical)))

    @cached_property
    def optional(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The optional fields whose null share the quality summary counts."""
        return tuple(optional_fields(orjson.loads(self.reader.canonical)))


@dataclass(frozen=True)
class RoutingTable:
    sources: dict[str, SourceRoutes] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def topics(self) -> list[str]:
        return sorted(self.sources)

    @property
    def routes(self) -> list[Route]:
        return [r for s in self.sources.values() for r in s.routes]

    def route(self, agreement_id: str) -> Route | None:
        return next((r for r in self.routes if r.agreement_id == agreement_id), None)


def agreement_files(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_valid_agreements(directory: Path) -> tuple[list[Agreement], list[str]]:
    """Each file on its own, so one broken file does not stop the others; duplicates refused."""
    agreements: list[Agreement] = []
    problems: list[str] = []
    if not directory.is_dir():
        return [], [f"{directory}: no such directory"]
    ids: dict[str, Agreement] = {}
    topics: dict[str, Agreement] = {}
    for path in agreement_files(directory):
        try:
            agreement = load_agreement(path)
        except AgreementError as error:
            problems.extend(str(issue) for issue in error.issues)
            continue
        if agreement.id in ids:
            problems.append(
                f"{path}: id: {agreement.id!r} already used by {ids[agreement.id].origin}"
            )
            continue
        if agreement.topic in topics:
            problems.append(
                f"{path}: delivery_topic: {agreement.topic!r} already written by "
                f"{topics[agreement.topic].origin}"
            )
            continue
        ids[agreement.id] = topics[agreement.topic] = agreement
        agreements.append(agreement)
    return agreements, problems


def compile_all(
    agreements: Iterable[Agreement], catalog: dict[str, Subject], master_secret: bytes
) -> tuple[list[CompiledAgreement], list[str]]:
    """Compile each agreement against the latest schema of its source topic."""
    compiled: list[CompiledAgreement] = []
    problems: list[str] = []
    for agreement in agreements:
        subject = catalog.get(agreement.source)
        if subject is None:
            problems.append(f"{agreement.origin}: source: no schema for topic {agreement.source!r}")
            continue
        try:
            compiled.append(compile_agreement(agreement, subject.latest.schema, master_secret))
        except AgreementCheckError as error:
            problems.extend(str(issue) for issue in error.issues)
    return compiled, problems


async def build_routing_table(
    agreements_dir: Path,
    catalog: dict[str, Subject],
    master_secret: bytes,
    register: Register,
) -> RoutingTable:
    """Load, compile and register; what fails is left out and said in ``problems``."""
    agreements, problems = load_valid_agreements(agreements_dir)
    compiled, compile_problems = compile_all(agreements, catalog, master_secret)
    problems += compile_problems
    by_topic: dict[str, list[Route]] = {}
    for agreement in compiled:
        try:
            schema_id = await register(f"{agreement.delivery_topic}-value", agreement.output_schema)
        except RegistryError as error:
            if error.status == 0:  # registry unreachable: not the agreement's fault, retry all
                raise
            # e.g. 409: the agreement changed incompatibly; it needs a new delivery topic.
            problems.append(
                f"{agreement.agreement.origin}: output schema not registered under "
                f"{agreement.delivery_topic}-value: {error}"
            )
            continue
        by_topic.setdefault(agreement.agreement.source, []).append(Route(agreement, schema_id))
    sources = {
        topic: SourceRoutes(topic, parse(catalog[topic].latest.schema), tuple(routes))
        for topic, routes in by_topic.items()
    }
    return RoutingTable(sources, tuple(problems))
