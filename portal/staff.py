"""``catalog/portal.yaml``: the staff who may sign in to the portal's staff pages, with Argon2id
hashes of their passwords (never the passwords)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from portal.catalog_files import CatalogFileError, parse_model, read_yaml

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_HASHER = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _HASHER.hash("not a password of anyone")


class StaffMember(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    password_hash: str
    rights: bool = False
    """Darf Auskunftsersuchen beantworten: the staff page *Auskunft* (Art. 15 DSGVO), which
    looks a resident up in the receipts. Off unless given: most staff never need it."""

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str) -> str:
        if not value.startswith("$argon2id$"):
            raise ValueError(
                "expected an Argon2id hash ($argon2id$...), as `hub portal passwd` prints it; "
                "never the password itself"
            )
        return value


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    staff: dict[str, StaffMember] = Field(default_factory=dict)

    @field_validator("staff")
    @classmethod
    def _names(cls, value: dict[str, StaffMember]) -> dict[str, StaffMember]:
        for login in value:
            if not _NAME.match(login):
                raise ValueError(f"{login!r}: a login is lowercase letters, digits, '.', '_', '-'")
        return value


def hash_password(password: str) -> str:
    """What ``portal.yaml`` keeps for ``password``."""
    return _HASHER.hash(password)


@dataclass(frozen=True)
class Staff:
    """Login → member. ``verify`` is slow on purpose (Argon2id): call it off the event loop."""

    members: dict[str, StaffMember]

    def verify(self, login: str, password: str) -> StaffMember | None:
        member = self.members.get(login)
        try:
            _HASHER.verify(member.password_hash if member else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        return member

    def may_answer_requests(self, login: str) -> bool:
        """Whether ``login`` holds the role ``rights`` (a login no longer listed holds none)."""
        member = self.members.get(login)
        return member is not None and member.rights

    def with_member(self, login: str, name: str, password: str, *, rights: bool = False) -> Staff:
        """A copy with one more member (the demo's login, which lives only in memory)."""
        member = StaffMember(name=name, password_hash=hash_password(password), rights=rights)
        return Staff({**self.members, login: member})


def load_staff(path: Path) -> Staff:
    """Read ``portal.yaml``; a missing file means no staff (the staff pages stay closed)."""
    if not Path(path).exists():
        return Staff({})
    data = read_yaml(path)
    if data is None:
        return Staff({})
    file = parse_model(_File, data, str(path))
    return Staff(dict(file.staff))


__all__ = ["CatalogFileError", "Staff", "StaffMember", "hash_password", "load_staff"]
