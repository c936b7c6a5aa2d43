"""The glossary of the Wissen page, and the links from where a term appears. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Term:
    slug: str
    term: str
    definition: str
    forms: tuple[str, ...]  # the words in running text that link here, longest first


TERMS: tuple[Term, ...] = (
    Term(
        "datennutzungsvereinbarung",
        "Datennutzungsvereinbarung",
        "Eine schriftlich festgelegte Regel, welches Amt welche Angaben eines Datensatzes zu "
        "welchem Zweck und auf welcher Rechtsgrundlage erhält, wie lange, und in welcher Form "
        "(zum Beispiel nur das Geburtsjahr). Ohne Vereinbarung erhält niemand etwas.",
        (
            "Datennutzungsvereinbarungen",
            "Datennutzungsvereinbarung",
            "Vereinbarungen",
            "Vereinbarung",
        ),
    ),
    Term(
        "rechtsgrundlage",
        "Rechtsgrundlage",
        "Das Gesetz, das eine Verarbeitung personenbezogener Daten erlaubt, etwa § 34 "
        "Bundesmeldegesetz oder Art. 6 Abs. 1 lit. e DSGVO. Jede Vereinbarung nennt ihre.",
        ("Rechtsgrundlagen", "Rechtsgrundlage"),
    ),
    Term(
        "zweckbindung",
        "Zweckbindung",
        "Daten dürfen nur für den Zweck genutzt werden, für den sie übermittelt wurden (Art. 5 "
        "Abs. 1 lit. b DSGVO). Deshalb nennt jede Vereinbarung einen Zweck, und ein anderer Zweck "
        "braucht eine eigene Vereinbarung.",
        ("Zweckbindung", "Zweck"),
    ),
    Term(
        "personenbezogen",
        "Personenbezogene Daten",
        "Angaben, die sich auf eine bestimmte oder bestimmbare Person beziehen (Art. 4 Nr. 1 "
        "DSGVO): unmittelbar wie Name und Anschrift, oder mittelbar, wenn sie zusammen mit "
        "anderen Angaben auf eine Person schließen lassen, wie Geburtsdatum und Postleitzahl.",
        ("personenbezogenen", "personenbezogene", "personenbezogen"),
    ),
    Term(
        "besondere-kategorie",
        "Besondere Kategorien",
        "Besonders schützenswerte Angaben nach Art. 9 DSGVO, etwa zur Gesundheit. Sie werden nur "
        "übermittelt, wenn eine Vereinbarung eine eigene Ausnahme nach Art. 9 Abs. 2 DSGVO nennt.",
        ("besondere Kategorie", "besonderen Kategorien", "Art. 9 DSGVO"),
    ),
    Term(
        "pseudonym",
        "Pseudonym",
        "Eine Ersatzkennung statt der echten Kennung einer Person. Die Datendrehscheibe bildet sie "
        "mit einem geheimen Schlüssel je Vereinbarung (HMAC-SHA256): derselbe Empfänger erkennt "
        "dieselbe Person wieder, zwei Empfänger können ihre Daten aber nicht über das Pseudonym "
        "verknüpfen. Pseudonymisierte Daten bleiben personenbezogen.",
        ("Pseudonymisierung", "pseudonymisiert", "Pseudonyme", "Pseudonym"),
    ),
    Term(
        "anonymisierung",
        "Anonymisierung",
        "Daten so verändern, dass sie keiner Person mehr zugeordnet werden können. Einzelne "
        "Ereignisse gelten in der Datendrehscheibe nie als anonym; anonym sind erst Zählungen "
        "über genügend viele Personen (siehe k-Anonymität).",
        ("Anonymisierung", "anonymisiert", "anonym"),
    ),
    Term(
        "k-anonymitaet",
        "k-Anonymität",
        "Eine Zählung wird nur veröffentlicht, wenn mindestens k verschiedene Personen zu ihr "
        "beigetragen haben (in Hamm k = 5). So lässt sich aus einer Zahl nicht auf eine einzelne "
        "Person schließen. Der KI-Feature-Store hält jede Zählung mit weniger Beitragenden zurück.",
        ("k-Anonymität", "k-anonym"),
    ),
    Term(
        "datensatz",
        "Datensatz",
        "Eine Art von Ereignis, die ein Fachamt meldet, etwa „eine Person ist umgezogen“, mit "
        "einem festen Aufbau (Schema), in dem jedes Feld beschrieben und eingestuft ist.",
        ("Datensätze", "Datensatz"),
    ),
    Term(
        "schema",
        "Schema",
        "Der verbindliche Aufbau eines Datensatzes: welche Felder er hat, was sie bedeuten und "
        "wie schutzbedürftig sie sind. Neue Felder mit Personenbezug brauchen die Freigabe der "
        "Datenschutzbeauftragten.",
        ("Schemas", "Schema"),
    ),
    Term(
        "deny-by-default",
        "Grundsätzlich verboten (deny by default)",
        "Was eine Vereinbarung nicht ausdrücklich nennt, wird nie übermittelt, auch kein Feld, "
        "das später zu einem Datensatz hinzukommt. Der Kafka-Server selbst verweigert jedem den "
        "Zugriff, den der Katalog nicht erlaubt.",
        ("deny by default",),
    ),
    Term(
        "protokoll",
        "Protokoll (Audit)",
        "Zu jeder Lieferung schreibt die Datendrehscheibe im selben Arbeitsschritt auf, was unter "
        "welcher Vereinbarung an wen ging. Das Protokoll kann keine Lieferung verpassen oder "
        "erfinden; die Zahlen dieses Portals stammen daraus.",
        ("Protokolls", "Protokoll"),
    ),
    Term(
        "verarbeitungsverzeichnis",
        "Verzeichnis von Verarbeitungstätigkeiten",
        "Die Übersicht, die jede verantwortliche Stelle nach Art. 30 DSGVO führen muss: Zwecke, "
        "Kategorien von Personen und Daten, Empfänger, Löschfristen und Schutzmaßnahmen.",
        ("Verarbeitungsverzeichnis", "Art. 30 DSGVO"),
    ),
    Term(
        "loeschfrist",
        "Löschfrist",
        "Wie lange Daten aufbewahrt werden, bevor sie gelöscht werden. In der Datendrehscheibe "
        "ist das die Aufbewahrungsdauer der Kafka-Themen.",
        ("Löschfristen", "Löschfrist"),
    ),
    Term(
        "qualitaetsregel",
        "Qualitätsregel",
        "Was ein plausibler Wert ist, steht im Vertrag eines Datensatzes, etwa: die "
        "Postleitzahl liegt in Hamm. Verletzt ein Ereignis eine Regel, die abweist, nimmt die "
        "Datendrehscheibe es nicht an; verletzt es eine Regel, die markiert, nimmt sie es an "
        "und zählt es (Seite Datenqualität).",
        ("Qualitätsregeln", "Qualitätsregel"),
    ),
)
BY_SLUG = {t.slug: t for t in TERMS}


@cache
def _pattern() -> re.Pattern[str]:
    forms = sorted({f for t in TERMS for f in t.forms}, key=len, reverse=True)
    return re.compile(r"(?<![\wÄÖÜäöüß-])(" + "|".join(map(re.escape, forms)) + r")(?![\wÄÖÜäöüß])")


@cache
def _slug_of_form() -> dict[str, str]:
    return {f: t.slug for t in TERMS for f in t.forms}


def link_terms(text: str, *, skip: frozenset[str] = frozenset()) -> Markup:
    """``text`` escaped, with the first occurrence of each glossary term linked to the Wissen
    page (``skip``: slugs not to link, e.g. the term a definition is about)."""
    seen: set[str] = set(skip)
    slugs = _slug_of_form()
    out: list[str] = []
    last = 0
    for match in _pattern().finditer(text):
        slug = slugs[match.group(1)]
        if slug in seen:
            continue
        seen.add(slug)
        out.append(str(escape(text[last : match.start()])))
        out.append(f'<a class="term" href="/wissen#{slug}">{escape(match.group(1))}</a>')
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def terms_in(text: str) -> set[str]:
    """The slugs of the glossary terms ``text`` uses."""
    slugs = _slug_of_form()
    return {slugs[m.group(1)] for m in _pattern().finditer(text)}
