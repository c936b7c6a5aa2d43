"""Read what access derives from: principals, agreements and feature views, from the catalog."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hub.access.acls import Binding, Grant, HubTopics, desired_bindings
from hub.access.principals import Principals, load_principals
from hub.agreements.errors import AgreementError
from hub.agreements.model import Agreement, load_agreement


@dataclass(frozen=True)
class AccessCatalog:
    principals: Principals
    grants: tuple[Grant, ...]
    feature_topics: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())
    webhook_agreements: tuple[str, ...] = ()
    feature_views: tuple[str, ...] = ()

    def bindings(self, today: dt.date, topics: HubTopics | None = None) -> set[Binding]:
        return desired_bindings(
            self.principals,
            self.grants,
            self.feature_topics,
            today=today,
            topics=topics or HubTopics(),
            webhook_agreements=self.webhook_agreements,
            feature_views=self.feature_views,
        )


def grant_of(agreement: Agreement) -> Grant:
    return Grant(
        agreement_id=agreement.id,
        subscriber=agreement.subscriber,
        source=agreement.source,
        delivery_topic=agreement.topic,
        purpose=agreement.purpose,
        valid_from=agreement.valid_from,
        valid_until=agreement.valid_until,
    )


def _agreements(directory: Path, principals: Principals) -> tuple[list[Grant], list[str]]:
    """Each file on its own: a broken agreement opens nothing, and the others still apply."""
    grants: list[Grant] = []
    problems: list[str] = []
    if not directory.is_dir():
        return grants, [f"{directory}: no such directory"]
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            agreement = load_agreement(path)
        except AgreementError as error:
            problems.extend(str(issue) for issue in error.issues)
            continue
        if not principals.may_subscribe(agreement.subscriber):
            problems.append(
                f"{path}: subscriber: {agreement.subscriber!r} is not registered in "
                f"{principals.source}: the agreement opens nothing"
            )
            continue
        grants.append(grant_of(agreement))
    return grants, problems


def _yaml_files(directory: Path, problems: list[str]) -> Iterator[tuple[Path, dict]]:
    """Each YAML file of ``directory`` that is a mapping; what is not goes to ``problems``."""
    if not directory.is_dir():
        return
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path}: expected a mapping")
            continue
        yield path, data


def _feature_topics(directory: Path, grants: list[Grant]) -> tuple[list[str], list[str]]:
    """The delivery topics the feature views read (``agreement: <id>`` or ``source: <topic>``)."""
    by_id = {g.agreement_id: g.delivery_topic for g in grants}
    topics: list[str] = []
    problems: list[str] = []
    for path, data in _yaml_files(directory, problems):
        if isinstance(data.get("source"), str):
            topics.append(data["source"])
        elif data.get("agreement") in by_id:
            topics.append(by_id[data["agreement"]])
        else:
            problems.append(
                f"{path}: agreement: {data.get('agreement')!r} is not a valid agreement"
            )
    return topics, problems


# As ``consumers.features.definition`` allows them: never ``state``, the changelog's topic.
_VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _feature_views(directory: Path) -> list[str]:
    """The names of the feature views: each publishes its windows to ``hub.features.<name>``."""
    names = (data.get("name") for _, data in _yaml_files(directory, []))
    return sorted({n for n in names if isinstance(n, str) and _VIEW_NAME.match(n) and n != "state"})


def _webhook_agreements(directory: Path, grants: list[Grant]) -> tuple[list[str], list[str]]:
    """The agreements the webhook subscriptions (``subscriptions/*.yaml``) push: those named
    under ``agreements``, each of the subscription's own ``subscriber``."""
    by_id = {g.agreement_id: g for g in grants}
    found: list[str] = []
    problems: list[str] = []
    for path, data in _yaml_files(directory, problems):
        names = data.get("agreements")
        if not isinstance(names, list):
            problems.append(f"{path}: agreements: expected a list of agreement ids")
            continue
        for name in names:
            grant = by_id.get(name)
            if grant is None:
                problems.append(f"{path}: agreements: {name!r} is not a valid agreement")
            elif grant.subscriber != data.get("subscriber"):
                problems.append(
                    f"{path}: agreements: {name!r} is {grant.subscriber}'s, not "
                    f"{data.get('subscriber')!r}'s"
                )
            else:
                found.append(name)
    return found, problems


def load_access_catalog(catalog_dir: Path) -> AccessCatalog:
    """``departments.yaml``, ``agreements/`` and ``features/`` of one catalog folder.

    A broken principal register stops everything (PrincipalsError); a broken agreement or
    feature view only leaves its own access out and is listed in ``problems``.
    """
    principals = load_principals(catalog_dir / "departments.yaml")
    grants, problems = _agreements(catalog_dir / "agreements", principals)
    feature_topics, feature_problems = _feature_topics(catalog_dir / "features", grants)
    pushed, push_problems = _webhook_agreements(catalog_dir / "subscriptions", grants)
    return AccessCatalog(
        principals,
        tuple(grants),
        tuple(feature_topics),
        tuple(problems + feature_problems + push_problems),
        tuple(pushed),
        tuple(_feature_views(catalog_dir / "features")),
    )
