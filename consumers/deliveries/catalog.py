"""Who may pull what: subscribers with pull tokens and their agreements.

The pure part, ``PullCatalog``, answers the three questions of a request in order: whose token
is this (401 otherwise), is there such an agreement (404), is it this subscriber's and valid
today, by calendar day in Hamm (403). ``CatalogSource`` reads it from the catalog folder
(``departments.yaml`` and ``agreements/``) and reads it again when a file changes, so a new
token or agreement needs no restart; a broken change keeps the last good catalog and says why
in the log. Broker ACLs back this up: ``hub-deliveries`` may read only the delivery topics of
valid agreements of subscribers with pull tokens (``hub/access/acls.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hub.access.principals import Principals, PrincipalsError, load_principals
from hub.access.service import today_in_hamm
from hub.access.tokens import TokenIndex
from hub.agreements.errors import AgreementError
from hub.agreements.model import Agreement, load_agreement

log = logging.getLogger(__name__)

__all__ = ["CatalogError", "CatalogSource", "PullCatalog", "Refusal", "today_in_hamm"]


class CatalogError(ValueError):
    """The pull catalog is inconsistent; the message names the file and key."""


class Refusal(Exception):
    """A request the catalog refuses: HTTP ``status`` and a ``detail`` for the client."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class PullCatalog:
    """Who pulls (subscribers, or subscribing departments, with ``pull_tokens``: their token
    hashes by name) and every agreement by id."""

    agreements: Mapping[str, Agreement]
    subscribers: Mapping[str, tuple[str, ...]]
    source: str = "<memory>"
    problems: tuple[str, ...] = ()
    _index: TokenIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            index = TokenIndex(self.subscribers, where="pull_tokens")
        except ValueError as exc:
            raise CatalogError(f"{self.source}: {exc}") from None
        object.__setattr__(self, "_index", index)

    @classmethod
    def of(
        cls,
        principals: Principals,
        agreements: list[Agreement],
        problems: tuple[str, ...] = (),
    ) -> PullCatalog:
        names = [*principals.subscribers, *principals.departments]
        pullers = {n: principals.pull_tokens(n) for n in names if principals.pull_tokens(n)}
        return cls({a.id: a for a in agreements}, pullers, principals.source, problems)

    def authenticate(self, token: str | None) -> str | None:
        """The subscriber whose pull token this is, or None."""
        return self._index.owner(token)

    def authorize(self, subscriber: str, agreement_id: str, today: dt.date) -> Agreement:
        """The agreement ``subscriber`` may pull today; Refusal (404, 403) otherwise."""
        agreement = self.agreements.get(agreement_id)
        if agreement is None:
            raise Refusal(404, f"unknown agreement {agreement_id!r}")
        if agreement.subscriber != subscriber:
            raise Refusal(
                403,
                f"agreement {agreement_id} delivers to {agreement.subscriber}, not to {subscriber}",
            )
        if agreement.valid_from is not None and today < agreement.valid_from:
            raise Refusal(
                403, f"agreement {agreement_id} is valid from {agreement.valid_from}, not yet today"
            )
        if today > agreement.valid_until:
            raise Refusal(
                403,
                f"agreement {agreement_id} expired on {agreement.valid_until}: it delivers "
                "nothing any more",
            )
        return agreement

    def readable(self, subscriber: str, today: dt.date) -> list[Agreement]:
        """The agreements ``subscriber`` may pull today, by id."""
        out = []
        for agreement_id in sorted(self.agreements):
            try:
                out.append(self.authorize(subscriber, agreement_id, today))
            except Refusal:
                continue
        return out


def _agreements(directory: Path) -> tuple[list[Agreement], list[str]]:
    """Each file on its own: a broken agreement is left out and named, the others serve."""
    agreements: list[Agreement] = []
    problems: list[str] = []
    if not directory.is_dir():
        return agreements, [f"{directory}: no such directory"]
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            agreements.append(load_agreement(path))
        except AgreementError as error:
            problems.extend(str(issue) for issue in error.issues)
    return agreements, problems


def load_pull_catalog(catalog_dir: Path, departments_file: Path | None = None) -> PullCatalog:
    """``departments.yaml`` and ``agreements/`` of ``catalog_dir``. A broken register raises
    CatalogError naming file and key; a broken agreement is left out (``problems``)."""
    try:
        principals = load_principals(departments_file or catalog_dir / "departments.yaml")
    except PrincipalsError as error:
        raise CatalogError(str(error)) from None
    agreements, problems = _agreements(catalog_dir / "agreements")
    return PullCatalog.of(principals, agreements, tuple(problems))


def _fingerprint(catalog_dir: Path, departments_file: Path | None) -> tuple:
    files = [departments_file or catalog_dir / "departments.yaml"]
    folder = catalog_dir / "agreements"
    if folder.is_dir():
        files += sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    stamps = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


class CatalogSource:
    """The current ``PullCatalog``, read again when a file of it changes (checked at most every
    ``interval`` seconds, on a request)."""

    def __init__(
        self,
        catalog_dir: Path,
        departments_file: Path | None = None,
        *,
        interval: float = 5.0,
        clock: object = time.monotonic,
    ) -> None:
        self.catalog_dir = catalog_dir
        self.departments_file = departments_file
        self.interval = interval
        self._clock = clock
        self._stamp = _fingerprint(catalog_dir, departments_file)
        self._catalog = load_pull_catalog(catalog_dir, departments_file)  # raises at start
        self._checked = self._now()
        self._log_problems(self._catalog)

    def _now(self) -> float:
        return self._clock()  # type: ignore[operator]

    @staticmethod
    def _log_problems(catalog: PullCatalog) -> None:
        for problem in catalog.problems:
            log.warning("agreement left out of the pull API", extra={"problem": problem})

    def current(self) -> PullCatalog:
        now = self._now()
        if now - self._checked < self.interval:
            return self._catalog
        self._checked = now
        stamp = _fingerprint(self.catalog_dir, self.departments_file)
        if stamp == self._stamp:
            return self._catalog
        self._stamp = stamp
        try:
            catalog = load_pull_catalog(self.catalog_dir, self.departments_file)
        except CatalogError as error:
            log.error(
                "catalog change not taken: keeping the last good one", extra={"error": str(error)}
            )
            return self._catalog
        self._log_problems(catalog)
        log.info(
            "pull catalog reloaded",
            extra={
                "subscribers": sorted(catalog.subscribers),
                "agreements": len(catalog.agreements),
            },
        )
        self._catalog = catalog
        return catalog
