"""Agreement versions by content hash: what was in force when a delivery happened.

The router writes each version it applies to the compacted ``hub.agreements`` (key: the content
hash, value: the agreement's JSON). A receipt names its version by that hash, so an answer years
later describes the fields in the form they went out in, after the file in
``catalog/agreements`` has changed. The catalog's current files count as well (a version is the
same whoever hashes it), for a version whose record is not there (yet). Pure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.agreements.errors import AgreementError
from hub.agreements.history import agreement_from_bytes, content_hash
from hub.agreements.model import Agreement

log = logging.getLogger("hub.rights")


@dataclass
class AgreementVersions:
    """Agreement versions by content hash; ``problems``: records that did not parse."""

    by_hash: dict[str, Agreement] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def get(self, version: str) -> Agreement | None:
        return self.by_hash.get(version)

    def add(self, agreement: Agreement) -> None:
        self.by_hash.setdefault(content_hash(agreement), agreement)


def fold_versions(
    records: Iterable[tuple[bytes | None, bytes | None]],
    catalog: Iterable[Agreement] = (),
    *,
    where: str = "hub.agreements",
) -> AgreementVersions:
    """``records``: (key, value) of the versions topic in log order (a tombstone forgets its
    key); ``catalog``: the agreements of today's files."""
    versions = AgreementVersions()
    for key, value in records:
        if key is None:
            continue
        name = key.decode("utf-8", "replace")
        if value is None:
            versions.by_hash.pop(name, None)
            continue
        try:
            agreement = agreement_from_bytes(value, f"{where} {name}")
        except (AgreementError, ValueError) as error:
            versions.problems.append(f"{where} {name}: not an agreement: {error}")
            continue
        actual = content_hash(agreement)
        if actual != name:  # the record's key must be the content it holds
            versions.problems.append(f"{where} {name}: its content hashes to {actual}")
            continue
        versions.by_hash[name] = agreement
    for agreement in catalog:
        versions.add(agreement)
    return versions
