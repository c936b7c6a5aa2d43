"""The staff page *Auskunft*: a data-protection officer answers a resident's access request
(Art. 15 DSGVO) in the browser, as ``hub rights access`` does on the command line.

Three parts. The pure core reads the form (identifier lines ``name=value``, the case number,
an optional date) into a query or into German errors naming the line, and knows which
identifier names the catalog's schemas have. ``RightsLookup`` is the I/O edge: it runs the
rights service as ``hub-rights`` with that principal's own credential, read from the credential
store at each request, so the portal's own principal ``hub-portal`` never needs the ACLs of
``hub-rights`` and a rotated password counts at the next lookup. ``Results`` keeps a finished
letter for a short while, bound to the session, so its Markdown and PDF downloads are the same
answer (not a second lookup with a second trail record) and identifiers never have to travel in
a URL or back to the browser.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from consumers.rights.letter import Block, html_fragment, letter_blocks, to_html, to_markdown
from consumers.rights.person import MAX_VALUE_CHARS, Identifier, Person
from consumers.rights.report import AccessReport
from hub.credentials import CredentialsError, CredentialStore
from hub.kafka import KafkaSecurity
from hub.receipts import identifiers as direct_identifiers
from hub.schemas.catalog import Catalog
from hub.settings import Settings
from portal.audit import CITY_TZ
from portal.organisation import Organisation

log = logging.getLogger("hub.portal")

PRINCIPAL = "hub-rights"
ROLE = "darf Auskunftsersuchen beantworten"
TOOL = "portal"
MAX_LINES = 20
MAX_CASE_CHARS = 100
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


# -- the form (pure) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FormError:
    """One problem with the form: ``field`` is the form field it belongs to (for the label the
    message points at), ``message`` a German sentence that never repeats an identifier value."""

    field: str
    message: str


@dataclass(frozen=True)
class Query:
    person: Person
    case: str
    since: dt.datetime | None


def known_identifier_names(catalog: Catalog | None) -> frozenset[str]:
    """The names a request may use: each direct identifier of every schema version, as its
    dotted path and as its last segment (what ``hub.receipts.matches`` compares)."""
    names: set[str] = set()
    for subject in (catalog or {}).values():
        for version in subject.versions:
            for ident in direct_identifiers(version.schema):
                names.update((ident.path, ident.names[-1]))
    return frozenset(names)


def parse_identifier_lines(
    text: str, known: frozenset[str]
) -> tuple[list[Identifier], list[FormError]]:
    """The identifier lines of the form (blank lines skipped). Errors name the line by its
    number and the identifier by its name, never by its value (it is personal data, and an
    error text may end up in a screenshot or a ticket). ``known`` empty: no name check (the
    schema catalog could not be read; the lookup itself still works)."""
    found: list[Identifier] = []
    errors: list[FormError] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    numbered = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    if not numbered:
        return [], [FormError("kennungen", "Bitte geben Sie mindestens eine Kennung an.")]
    if len(numbered) > MAX_LINES:
        return [], [
            FormError("kennungen", f"Bitte höchstens {MAX_LINES} Kennungen auf einmal angeben.")
        ]
    for n, line in numbered:
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            errors.append(
                FormError(
                    "kennungen",
                    f"Zeile {n}: Es fehlt das Gleichheitszeichen. Schreiben Sie je Zeile "
                    "name=wert, zum Beispiel resident_id=HAM-00156209.",
                )
            )
        elif not name:
            errors.append(
                FormError("kennungen", f"Zeile {n}: Vor dem Gleichheitszeichen fehlt der Name.")
            )
        elif not _NAME.match(name):
            errors.append(
                FormError(
                    "kennungen",
                    f"Zeile {n}: „{name[:60]}“ ist kein Name einer Kennung (ein Feldname wie "
                    "resident_id oder ein Pfad wie guardian.email).",
                )
            )
        elif known and name not in known:
            errors.append(
                FormError(
                    "kennungen",
                    f"Zeile {n}: Eine Kennung „{name}“ kommt in keinem Datensatz vor. Bekannt "
                    f"sind: {', '.join(sorted(known))}.",
                )
            )
        elif not value:
            errors.append(
                FormError("kennungen", f"Zeile {n}: Der Wert der Kennung „{name}“ ist leer.")
            )
        elif len(value) > MAX_VALUE_CHARS:
            errors.append(
                FormError(
                    "kennungen",
                    f"Zeile {n}: Der Wert der Kennung „{name}“ ist länger als "
                    f"{MAX_VALUE_CHARS} Zeichen.",
                )
            )
        else:
            found.append(Identifier(name, value))
    return found, errors


def parse_case(text: str) -> tuple[str | None, FormError | None]:
    case = text.strip()
    if not case:
        return None, FormError("aktenzeichen", "Bitte geben Sie das Aktenzeichen an.")
    if len(case) > MAX_CASE_CHARS or any(c in case for c in "\n\r\t"):
        return None, FormError(
            "aktenzeichen",
            f"Das Aktenzeichen steht in einer Zeile und hat höchstens {MAX_CASE_CHARS} Zeichen.",
        )
    return case, None


def parse_since(text: str) -> tuple[dt.datetime | None, FormError | None]:
    """A calendar day (``<input type=date>`` sends ``YYYY-MM-DD``) from its start in Hamm."""
    text = text.strip()
    if not text:
        return None, None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None, FormError("seit", "„Seit“: Bitte ein Datum wie 2026-01-31 angeben.")
    return dt.datetime.combine(day, dt.time(), CITY_TZ), None


def parse_form(
    identifiers: str, case: str, since: str, known: frozenset[str]
) -> tuple[Query | None, list[FormError]]:
    """The whole form: a query, or every error at once (so one round fixes them all)."""
    found, errors = parse_identifier_lines(identifiers, known)
    case_value, case_error = parse_case(case)
    since_value, since_error = parse_since(since)
    errors += [e for e in (case_error, since_error) if e is not None]
    if errors or case_value is None:
        return None, errors
    # Person.parse drops repeats; the checks above are those of hub rights access --id.
    person = Person.parse(f"{i.name}={i.value}" for i in found)
    return Query(person, case_value, since_value), []


def letter(report: AccessReport, organisation: Organisation | None) -> list[Block]:
    """The letter blocks, with the controller and the DPO from ``organisation.yaml``, as the CLI
    writes them."""
    if organisation is None:
        return letter_blocks(report)
    c = organisation.controller
    return letter_blocks(report, [c.name, c.address, c.email], organisation.dpo.name)


def filename(case: str, suffix: str) -> str:
    """``auskunft-<case>.<suffix>``, the case reduced to what every file system and header
    takes."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", case).strip("-.")[:60] or "ersuchen"
    return f"auskunft-{slug}.{suffix}"


# -- who answers (the I/O edge) --------------------------------------------------------------


class Lookup(Protocol):
    """What the page needs of the rights service (a fake in the unit tests)."""

    def problem(self) -> str | None:
        """None when a lookup can run, else a German explanation for staff and operators."""

    async def access(self, query: Query, requested_by: str) -> AccessReport: ...


NOT_WIRED = (
    "Die Auskunft ist in diesem Portal nicht eingerichtet: es wurde ohne Anbindung an den Dienst "
    f"{PRINCIPAL} gestartet. Mit „hub portal serve“ gestartet, braucht es dafür nur den Zugang "
    f"von {PRINCIPAL} auf seinem Rechner (siehe README, „Transparency portal“)."
)


def failure_text(error: BaseException) -> str:
    """What staff read when a lookup fails: the hub's own errors are one line that names the
    topic or principal (never a credential or an identifier value); anything else only by
    its kind, the details are in the portal's log."""
    from consumers.rights.broker import RightsError
    from hub.kafka import KafkaAuthError, KafkaUnreachable
    from hub.secret import SecretError
    from hub.serde import RegistryError

    known = (RightsError, RegistryError, KafkaAuthError, KafkaUnreachable, SecretError)
    detail = str(error) if isinstance(error, known) else type(error).__name__
    return (
        "Die Abfrage ist fehlgeschlagen; es wurde keine Auskunft erstellt. Bitte versuchen Sie "
        f"es später noch einmal. Technische Meldung: {detail}"
    )


def not_set_up(store: CredentialStore, detail: str) -> str:
    return (
        "Die Auskunft ist auf diesem Portal-Rechner noch nicht eingerichtet: ihm fehlt der "
        f"Zugang des Dienstes {PRINCIPAL}, unter dem die Nachweise der Übermittlungen gelesen "
        "werden (das Portal selbst darf das als hub-portal nicht). Eine Administratorin oder ein "
        f"Administrator legt den Zugang mit „hub access users add {PRINCIPAL}“ an (oder kopiert "
        f"die vorhandene Datei {PRINCIPAL}.properties mit Modus 0600) in das Verzeichnis "
        f"{store.directory} (HUB_CREDENTIALS_DIR) und gibt {PRINCIPAL} mit „hub access apply“ "
        f"seine Rechte; danach funktioniert diese Seite ohne Neustart. ({detail})"
    )


@dataclass
class RightsLookup:
    """The rights service as ``hub-rights``, for the portal. The credential is read from
    ``store`` at each lookup (never kept, never logged); ``overrides`` go to ``RightsConfig``
    (the topics of a test world)."""

    settings: Settings
    store: CredentialStore
    overrides: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> RightsLookup:
        return cls(settings, CredentialStore(settings.credentials_dir), dict(overrides))

    def _security(self) -> KafkaSecurity:
        # The portal's own HUB_KAFKA_USERNAME/PASSWORD name hub-portal: take only the protocol
        # from the settings and hub-rights' credential from its own file.
        base = KafkaSecurity.from_settings(self.settings, principal=PRINCIPAL)
        if not base.sasl:
            return base  # a broker without authentication (``--insecure``): no ACLs either
        return base.for_principal(self.store.read(PRINCIPAL))

    def problem(self) -> str | None:
        try:
            self._security()
        except CredentialsError as error:
            return not_set_up(self.store, _without_path(str(error), self.store.directory))
        return None

    async def access(self, query: Query, requested_by: str) -> AccessReport:
        from consumers.rights.service import RightsConfig

        config = RightsConfig.from_settings(
            self.settings, **{**self.overrides, "security": self._security()}
        )
        # In a thread with a loop of its own: a lookup scans all of hub.receipts and decodes
        # every receipt, seconds of CPU for a city's volume that would stall every other page.
        return await asyncio.to_thread(asyncio.run, _access(config, query, requested_by))


async def _access(config: object, query: Query, requested_by: str) -> AccessReport:
    from consumers.rights.service import Rights, RightsConfig

    assert isinstance(config, RightsConfig)
    async with Rights(config) as rights:
        return await rights.access(
            query.person,
            case=query.case,
            since=query.since,
            requested_by=requested_by,
            tool=TOOL,
        )


def _without_path(message: str, directory: Path) -> str:
    """The credential error as staff see it: the directory is named once already."""
    return message.replace(str(Path(directory)) + "/", "")


# -- finished letters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    sid: str
    case: str
    blocks: tuple[Block, ...]
    expires: float


@dataclass
class Results:
    """Finished letters by a random token, each for the session that asked and ``ttl`` seconds
    (they hold what recipients received about a person: not longer than the answer needs).
    In this process only: after a restart, or on another portal instance, a download asks for
    a new lookup."""

    ttl: float = 1800.0
    limit: int = 100
    clock: Callable[[], float] = time.monotonic
    _items: dict[str, Result] = field(default_factory=dict)

    def _expire(self) -> None:
        now = self.clock()
        self._items = {k: r for k, r in self._items.items() if r.expires > now}

    def keep(self, sid: str, case: str, blocks: Sequence[Block]) -> str:
        self._expire()
        while len(self._items) >= self.limit:
            self._items.pop(next(iter(self._items)))  # the oldest first
        token = secrets.token_urlsafe(18)
        self._items[token] = Result(sid, case, tuple(blocks), self.clock() + self.ttl)
        return token

    def get(self, sid: str, token: str) -> Result | None:
        self._expire()
        found = self._items.get(token)
        return found if found is not None and secrets.compare_digest(found.sid, sid) else None

    def forget(self, sid: str) -> None:
        """At logout: the session's letters go with it."""
        self._items = {k: r for k, r in self._items.items() if r.sid != sid}


def error_fields(errors: Iterable[FormError]) -> set[str]:
    return {e.field for e in errors}


__all__ = [
    "ROLE",
    "FormError",
    "Lookup",
    "Query",
    "Results",
    "RightsLookup",
    "html_fragment",
    "known_identifier_names",
    "letter",
    "parse_form",
    "to_html",
    "to_markdown",
]
