"""What a recipient gets, field by field, in sentences a citizen understands: generated from the
agreement's transforms (never written per agreement), so the page cannot drift from what the
router does. Pure: a transform spec and the field's label in, German text out."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import h3

from hub.agreements.model import TransformSpec
from hub.agreements.transforms import age_band_labels

_TRUNCATE = {
    "hour": "nur Datum und volle Stunde, ohne Minuten und Sekunden",
    "day": "nur der Tag, ohne Uhrzeit",
    "month": "nur Monat und Jahr",
    "year": "nur das Jahr",
}
_GENERALIZE = {
    "year": "nur das Jahr",
    "quarter": "nur Jahr und Quartal",
    "month": "nur Jahr und Monat",
}
# The end of a doc's leading noun phrase: a bracket, a colon, a semicolon, an example, a full stop.
_LABEL_END = re.compile(r"\s\(|[:;]\s|, z\. ?B\.|\.\s|\.$|, (?:in|bei|sonst|nur)\s")


@dataclass(frozen=True)
class FieldSentence:
    """One line of an agreement page: ``label: what`` and the transform it came from."""

    path: str
    label: str
    what: str
    transform: str
    kind: str
    delivered: bool

    @property
    def text(self) -> str:
        return f"{self.label}: {self.what}"

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "label": self.label,
            "what": self.what,
            "text": self.text,
            "transform": self.transform,
            "kind": self.kind,
            "delivered": self.delivered,
        }


def label_of(doc: str | None, path: str) -> str:
    """A short name for a field: the leading phrase of its ``doc``, else its path."""
    if not doc or not doc.strip():
        return path
    head = _LABEL_END.split(doc.strip(), maxsplit=1)[0].strip().rstrip(".,")
    return head or path


def _number(x: Any) -> str:
    """German number format: 100.000 and 0,5."""
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if isinstance(x, int):
        return f"{x:,}".replace(",", ".")
    return str(x).replace(".", ",")


def _years(n: int) -> str:
    return "1 Jahr" if n == 1 else f"{n} Jahre"


def _age_bands(arg: int | tuple[int, ...]) -> str:
    if isinstance(arg, int):
        labels, top = age_band_labels(arg)
        return (
            f"nur die Altersgruppe in Schritten von {arg} Jahren (z. B. {labels[min(35, len(labels) - 1)]}"
            f" Jahre), ab {top.rstrip('+')} Jahren eine gemeinsame Gruppe; berechnet zum Zeitpunkt "
            "des Ereignisses, das Geburtsdatum selbst erhält der Empfänger nicht"
        )
    groups = []
    bounds = list(arg)
    if bounds[0] > 0:
        groups.append(f"unter {bounds[0]} Jahre")
    for lo, hi in itertools.pairwise(bounds):
        groups.append(_years(lo) if hi - lo == 1 else f"{lo} bis {_years(hi - 1)}")
    groups.append(f"{bounds[-1]} Jahre und älter")
    return (
        "nur die Altersgruppe (" + ", ".join(groups) + "), berechnet zum Zeitpunkt des "
        "Ereignisses; das Geburtsdatum selbst erhält der Empfänger nicht"
    )


def _buckets(arg: Any) -> str:
    if isinstance(arg, tuple):
        bounds = [_number(b) for b in arg]
        classes = [f"unter {bounds[0]}"]
        classes += [f"{a} bis unter {b}" for a, b in itertools.pairwise(bounds)]
        classes.append(f"ab {bounds[-1]}")
        return "nur die Größenklasse (" + "; ".join(classes) + "), nicht der genaue Wert"
    return f"nur die Größenklasse in Schritten von {_number(arg)}, nicht der genaue Wert"


def _h3(resolution: int) -> str:
    area = h3.average_hexagon_area(resolution, unit="km^2")
    size = f"{_number(round(area, 2))} km²" if area < 10 else f"{_number(round(area))} km²"
    return (
        f"nur die Wabe eines Rasters, in der der Ort liegt (H3-Auflösung {resolution}, "
        f"im Mittel etwa {size} groß), nicht der genaue Ort"
    )


def _mask(n: int) -> str:
    if n == 0:
        return "vollständig unkenntlich gemacht; erkennbar bleibt nur die Länge"
    one = "das letzte Zeichen" if n == 1 else f"die letzten {n} Zeichen"
    return f"nur {one}, alle anderen sind durch Sternchen ersetzt"


def describe(
    spec: TransformSpec, *, pii: str | None = None, allows_identifying: bool = False
) -> str:
    """What the recipient receives of one field under ``spec``, as a phrase after a colon."""
    kind, arg = spec.kind, spec.arg
    if kind == "keep":
        if pii == "direct":
            return "unverändert: die Person ist damit direkt erkennbar (ausdrücklich vereinbart)"
        return "unverändert"
    if kind == "drop":
        return "wird nicht übermittelt"
    if kind == "redact":
        shown = "***" if arg is None else arg
        return f"nur ein fester Platzhalter („{shown}“), nie der eigentliche Wert"
    if kind == "pseudonymize":
        return (
            "ein Pseudonym, das nur dieser Empfänger kennt: gleich für dieselbe Person, aber "
            "nicht mit den Pseudonymen anderer Empfänger verknüpfbar"
        )
    if kind == "mask":
        return _mask(arg)
    if kind == "truncate":
        return _TRUNCATE[arg]
    if kind == "generalize":
        return _GENERALIZE[arg]
    if kind == "age_band":
        return _age_bands(arg)
    if kind == "bucket":
        return _buckets(arg)
    if kind == "postcode_prefix":
        digits = "die erste Stelle" if arg == 1 else f"die ersten {arg} Stellen"
        return f"nur {digits} der Postleitzahl, also nur die ungefähre Gegend"
    if kind == "h3":
        return _h3(arg)
    if kind == "date_shift":
        return (
            f"um eine feste Zahl von Tagen (höchstens {arg}) verschoben, die je Person anders "
            "und geheim ist; Abstände zwischen den Daten derselben Person bleiben erhalten"
        )
    raise ValueError(f"no sentence for the transform {kind!r}")


def key_sentence(spec: TransformSpec) -> FieldSentence:
    """The message key is the entity id (personal data): what the recipient gets of it."""
    if spec.kind == "drop":
        what = "wird nicht übermittelt; die Ereignisse lassen sich keiner Person zuordnen"
    else:
        what = describe(spec, pii="direct")
    return FieldSentence(
        "(key)", "Kennung des Datensatzes", what, str(spec), spec.kind, spec.kind != "drop"
    )


def field_sentence(
    path: str,
    spec: TransformSpec,
    *,
    label: str,
    pii: str | None = None,
    allows_identifying: bool = False,
) -> FieldSentence:
    what = describe(spec, pii=pii, allows_identifying=allows_identifying)
    return FieldSentence(path, label, what, str(spec), spec.kind, spec.kind != "drop")


_OPS = {
    "eq": "gleich",
    "ne": "ungleich",
    "lt": "kleiner als",
    "lte": "höchstens",
    "gt": "größer als",
    "gte": "mindestens",
}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "ja" if v else "nein"
    if isinstance(v, int | float):
        return _number(v)
    return f"„{v}“"


def where_sentence(where: dict[str, Any] | None, labels: dict[str, str]) -> str | None:
    """The row filter in words (``None``: every event is delivered)."""
    if not where:
        return None
    return "Nur Ereignisse, bei denen " + _condition(where, labels) + "."


def _condition(where: dict[str, Any], labels: dict[str, str]) -> str:
    parts = []
    for key, value in where.items():
        if key == "all":
            parts.append("(" + " und ".join(_condition(w, labels) for w in value) + ")")
        elif key == "any":
            parts.append("(" + " oder ".join(_condition(w, labels) for w in value) + ")")
        elif key == "not":
            parts.append("nicht (" + _condition(value, labels) + ")")
        else:
            name = labels.get(key, key)
            for op, operand in value.items():
                if op == "exists":
                    parts.append(f"{name} {'angegeben' if operand else 'nicht angegeben'} ist")
                elif op in ("in", "not_in"):
                    values = ", ".join(_value(v) for v in operand)
                    word = "einer von" if op == "in" else "keiner von"
                    parts.append(f"{name} {word} {values} ist")
                else:
                    parts.append(f"{name} {_OPS[op]} {_value(operand)} ist")
    return " und ".join(parts)


__all__ = [
    "FieldSentence",
    "describe",
    "field_sentence",
    "key_sentence",
    "label_of",
    "where_sentence",
]
