"""Base classes and constrained types of the generated event models (``producers.models.<dept>``).

Models validate on construction (types, enum symbols, Avro int ranges, no unknown fields), so
department code finds a mistake where it makes it, before the publisher sees the record.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
"""Avro ``int``."""
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
"""Avro ``long``."""


class RecordModel(BaseModel):
    """An Avro record: unknown fields are an error, Avro names usable where Python needs aliases."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_avro(self) -> dict[str, Any]:
        """The record as fastavro writes it (nested dicts, Avro field names)."""
        return self.model_dump(by_alias=True)


class EventModel(RecordModel):
    """An event type: one topic ``<department>.<entity>.<event>``."""

    TOPIC: ClassVar[str]
