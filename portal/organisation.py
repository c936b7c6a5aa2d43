"""``catalog/organisation.yaml``: the controller and the data-protection officer that the record
of processing activities names, the place the data sets describe, who the data is about."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from portal.catalog_files import parse_model, read_yaml

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ENTITY = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9-]*$")


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    email: str
    phone: str = ""
    website: str = ""

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


class Spatial(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    municipality_key: str = Field(pattern=r"^\d{8}$")
    """Amtlicher Gemeindeschlüssel (8 digits), e.g. 05915000 for Hamm."""
    name: str = Field(min_length=1)


class Organisation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    controller: Contact
    dpo: Contact
    spatial: Spatial
    data_subjects: dict[str, str] = Field(default_factory=dict)
    third_country_transfers: str = "Keine."
    measures: tuple[str, ...] = ()

    @field_validator("data_subjects")
    @classmethod
    def _entities(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _ENTITY.match(key):
                raise ValueError(f"{key!r} is not <department>.<entity>, e.g. buergeramt.resident")
        return value

    def subjects_of(self, topic: str) -> str | None:
        """Who the events of ``topic`` (``<department>.<entity>.<event>``) are about."""
        return self.data_subjects.get(topic.rsplit(".", 1)[0])


def load_organisation(path: Path) -> Organisation:
    """Read and validate ``organisation.yaml``; CatalogFileError names the file and field."""
    return parse_model(Organisation, read_yaml(path), str(path))
