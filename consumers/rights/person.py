"""The person a request is about: the identifiers a resident is known by, and their keyed hashes.

A resident is known by several identifiers across departments (a registration number at the
Bürgeramt, an e-mail address in a complaint, a licence plate), so a request names each as
``name=value``: the name is an identifier path's last segment (``resident_id``) or the whole
path (``guardian.email``), as ``hub.receipts.matches`` compares them. Pure: no I/O, and the
values never leave this module except as keyed hashes (the receipts key) or as the pseudonyms
an agreement's own transform makes of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hub.receipts import identifier_hash

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MAX_VALUE_CHARS = 1000


class PersonError(ValueError):
    """An identifier given on the command line or in the form is not usable (names it)."""


@dataclass(frozen=True, slots=True)
class Identifier:
    """One identifier the person is known by. ``repr`` hides the value."""

    name: str
    value: str

    def __repr__(self) -> str:
        return f"Identifier({self.name!r}, <{len(self.value)} characters>)"


def parse_identifier(text: str) -> Identifier:
    """``name=value`` (the value taken as given, surrounding whitespace removed); PersonError
    with a one-line reason naming the identifier (its name, never its value)."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep:
        raise PersonError(
            f"--id {name or text[:40]!r}: expected name=value, e.g. resident_id=R-000123"
        )
    if not _NAME.match(name):
        raise PersonError(
            f"--id {name!r}: the name is a field name or a dotted path like guardian.email"
        )
    if not value:
        raise PersonError(f"--id {name}: the value is empty")
    if len(value) > MAX_VALUE_CHARS:
        raise PersonError(f"--id {name}: the value is longer than {MAX_VALUE_CHARS} characters")
    return Identifier(name, value)


@dataclass(frozen=True)
class Person:
    """The identifiers of one person (at least one), in the order given, without repeats."""

    identifiers: tuple[Identifier, ...]

    def __post_init__(self) -> None:
        if not self.identifiers:
            raise PersonError("name the person by at least one --id name=value")

    @classmethod
    def parse(cls, texts: Iterable[str]) -> Person:
        seen: dict[tuple[str, str], Identifier] = {}
        for text in texts:
            ident = parse_identifier(text)
            seen.setdefault((ident.name, ident.value), ident)
        return cls(tuple(seen.values()))

    @property
    def names(self) -> list[str]:
        return sorted({i.name for i in self.identifiers})


@dataclass(frozen=True)
class KeyedPerson:
    """A person's identifiers under the receipts key: what a lookup compares with receipts."""

    wanted: dict[str, set[bytes]]  # name -> keyed hashes (``hub.receipts.matches``)
    values: dict[bytes, str]  # keyed hash -> the value it was made of
    references: tuple[tuple[str, str], ...]  # (name, hex of the hash): all the trail keeps

    def value_of(self, digest: bytes | None) -> str | None:
        return None if digest is None else self.values.get(digest)


def keyed(person: Person, receipts_key: bytes) -> KeyedPerson:
    """Hash every identifier with the receipts key (``hub.receipts.identifier_hash``): a value
    is hashed as the text given, which is what a string identifier is hashed as and also what
    an int or long identifier is (its decimal digits)."""
    wanted: dict[str, set[bytes]] = {}
    values: dict[bytes, str] = {}
    references: list[tuple[str, str]] = []
    for ident in person.identifiers:
        digest = identifier_hash(receipts_key, ident.value)
        assert digest is not None  # a non-empty str always hashes
        wanted.setdefault(ident.name, set()).add(digest)
        values[digest] = ident.value
        references.append((ident.name, digest.hex()))
    return KeyedPerson(wanted, values, tuple(references))
