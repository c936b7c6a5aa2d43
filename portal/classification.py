"""A field's ``x-pii`` class in the words a citizen reads."""

from __future__ import annotations

# (short word, explanation) per class; "personenbezogen" is what GDPR calls personal data.
WORDS: dict[str, tuple[str, str]] = {
    "direct": (
        "personenbezogen",
        "identifiziert eine Person unmittelbar (z. B. Name, Anschrift, Kennung)",
    ),
    "quasi": (
        "personenbezogen",
        "kann zusammen mit anderen Angaben auf eine Person schließen lassen",
    ),
    "sensitive": (
        "besondere Kategorie",
        "besonders schützenswert nach Art. 9 DSGVO (z. B. Gesundheit)",
    ),
    "none": ("nicht personenbezogen", "sagt nichts über eine bestimmte Person"),
}
UNKNOWN = ("nicht eingestuft", "die Einstufung fehlt im Schema")
PERSONAL = frozenset({"direct", "quasi", "sensitive"})


def word(pii: str | None) -> str:
    """``personenbezogen`` / ``besondere Kategorie`` / ``nicht personenbezogen``."""
    return WORDS.get(pii or "", UNKNOWN)[0]


def explanation(pii: str | None) -> str:
    return WORDS.get(pii or "", UNKNOWN)[1]


def is_personal(pii: str | None) -> bool:
    return pii in PERSONAL
