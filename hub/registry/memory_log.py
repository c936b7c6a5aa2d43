"""A ``SchemaLog`` in memory: the fold without Kafka, for unit tests and dry runs."""

from __future__ import annotations

from collections.abc import Sequence

from hub.registry.state import State, fold


class MemoryLog:
    """Appends to a list and folds at once; ``records`` is what would be in ``_schemas``."""

    def __init__(self, records: Sequence[tuple[bytes, bytes | None]] = ()) -> None:
        self.records: list[tuple[bytes, bytes | None]] = list(records)
        self._state = fold(self.records)

    @property
    def state(self) -> State:
        return self._state

    async def append(self, batch: Sequence[tuple[bytes, bytes | None]]) -> None:
        self.records.extend(batch)
        self._state = fold(batch, self._state)
