"""Dead letters as the staff page shows them: by reason and source, with the command to replay.

Never the content nor the router's message: both may quote the event's values (personal data).
What is shown is where a dead letter came from, which class of error stopped it, and whether it
still waits for ``hub dlq replay``; ``hub dlq list`` on an operator's machine says the rest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consumers.router.deadletter import parse_dead_letter

REPLAY_COMMAND = "hub dlq replay"
LIST_COMMAND = "hub dlq list --pending"

# The error classes the router and the feature pipeline write, in words.
REASONS: dict[str, str] = {
    "MagicByteError": "keine Nachricht im vereinbarten Format (Avro mit Schema-Kennung)",
    "UnknownSchemaError": "mit einem Schema geschrieben, das die Registry nicht kennt",
    "DecodeError": "ließ sich mit ihrem Schema nicht lesen",
    "SchemaResolutionError": "passt nicht zum Schema, das die Vereinbarung erwartet",
    "EncodeError": "ließ sich für den Empfänger nicht schreiben",
    "TransformError": "ein Feld ließ sich nicht wie vereinbart umwandeln",
    "NotADeadLetter": "Nachricht ohne Angaben zur Herkunft",
}


def reason_text(error_class: str) -> str:
    return REASONS.get(error_class, "sonstiger Fehler bei der Verarbeitung")


@dataclass(frozen=True)
class DeadLetterRow:
    partition: int
    offset: int
    error_class: str
    source_topic: str
    source_partition: int
    source_offset: int
    agreement_id: str | None
    service: str
    time: str

    def as_json(self, pending: bool) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "offset": self.offset,
            "pending": pending,
            "error_class": self.error_class,
            "reason": reason_text(self.error_class),
            "source": f"{self.source_topic}/{self.source_partition}/{self.source_offset}",
            "source_topic": self.source_topic,
            "agreement": self.agreement_id,
            "service": self.service,
            "time": self.time,
        }


@dataclass
class DeadLetterFold:
    """Every dead letter of ``hub.dlq`` (only where it came from and why, never what it held)."""

    rows: list[DeadLetterRow] = field(default_factory=list)
    # Per DLQ partition: the first offset `hub dlq replay` has not handled yet.
    replayed_until: dict[int, int] = field(default_factory=dict)

    def add(self, partition: int, offset: int, headers: Iterable[tuple[str, bytes]]) -> None:
        try:
            reason, _ = parse_dead_letter(list(headers))
        except ValueError:
            self.rows.append(
                DeadLetterRow(partition, offset, "NotADeadLetter", "?", -1, -1, None, "", "")
            )
            return
        self.rows.append(
            DeadLetterRow(
                partition,
                offset,
                reason.error_class,
                reason.topic,
                reason.partition,
                reason.offset,
                reason.agreement_id,
                reason.router,
                reason.time,
            )
        )

    def set_replayed(self, committed: Mapping[int, int | None]) -> None:
        self.replayed_until = {p: o for p, o in committed.items() if o is not None}

    def pending(self, row: DeadLetterRow) -> bool:
        return row.offset >= self.replayed_until.get(row.partition, 0)

    def summary(self) -> dict[str, Any]:
        """Counts by reason and by source topic, and how many wait for a replay."""
        by_reason = Counter(r.error_class for r in self.rows)
        by_source = Counter(r.source_topic for r in self.rows)
        pending = Counter(r.error_class for r in self.rows if self.pending(r))
        return {
            "total": len(self.rows),
            "pending": sum(pending.values()),
            "by_reason": [
                {
                    "error_class": name,
                    "reason": reason_text(name),
                    "count": n,
                    "pending": pending.get(name, 0),
                }
                for name, n in by_reason.most_common()
            ],
            "by_source": [{"source_topic": t, "count": n} for t, n in by_source.most_common()],
            "replay_command": REPLAY_COMMAND,
            "list_command": LIST_COMMAND,
        }

    def latest(self, limit: int = 200) -> list[dict[str, Any]]:
        return [r.as_json(self.pending(r)) for r in reversed(self.rows[-limit:])]
