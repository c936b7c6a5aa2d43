"""Erasure requests (Art. 17 DSGVO, notified under Art. 19): one per recipient and agreement,
naming the person only in that recipient's key space. Pure: hits, agreement versions, the
schema catalog and the master secret in, the events to send out.

A recipient learns nothing it did not have: for each of the person's identifiers the agreement
pseudonymizes, the value exactly as the agreement's own ``pseudonymize`` transform makes it
(the compiled agreement's keys, the transform the compiler builds for that field), the message
key as its key transform made it, and the delivery ids, the handle every recipient stores. An
identifier the agreement does not pseudonymize is not sent (the delivery ids find it), so no
request carries anything in clear, and no two recipients' requests can be joined.

The hub's own feature store gets none: it publishes only k-anonymous aggregates (reported as
such). A recipient that got nothing about the person gets nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consumers.rights.contract import (
    CONTENT_TYPE,
    ERASURE_TYPE,
    LEGAL_GROUND,
    RIGHTS_SOURCE,
    confirmations_topic,
)
from consumers.rights.lookup import AgreementHits
from consumers.rights.versions import AgreementVersions
from hub.agreements.avro_types import OutputTypes, index_schema
from hub.agreements.compile import CompiledAgreement, compile_agreement
from hub.agreements.errors import AgreementCheckError, SpecError
from hub.agreements.keys import derive_keys
from hub.agreements.model import Agreement
from hub.agreements.transforms import TransformContext, build_key_transform, build_transform
from hub.schemas.catalog import Subject

AGREEMENT_HEADER = "ce_hubagreement"


@dataclass(frozen=True)
class Pseudonyms:
    """The person in one agreement's key space."""

    fields: tuple[tuple[str, str], ...]  # (field path, pseudonym)
    keys: tuple[str, ...]  # delivered message keys (pseudonymized)
    key_id: str


def compile_version(
    agreement: Agreement, subject: Subject | None, master_secret: bytes
) -> tuple[CompiledAgreement, dict[str, Any]]:
    """The version compiled against the catalog's schema of its source, and that schema: the
    latest version of the schema first, then the earlier ones (the agreement version may
    predate the latest)."""
    if subject is None:
        raise LookupError(f"{agreement.id}: the source {agreement.source} is not in the catalog")
    problems: list[str] = []
    for version in reversed(subject.versions):
        try:
            return compile_agreement(agreement, version.schema, master_secret), version.schema
        except AgreementCheckError as error:
            problems.append(str(error))
    raise LookupError(
        f"{agreement.id}: the agreement version compiles against no schema of "
        f"{agreement.source}: {problems[0] if problems else 'no versions'}"
    )


def _typed(value: str, kind: str) -> Any:
    """The value as the source field carries it: an int or long identifier as its number (the
    receipts hash its digits, so a matched int identifier is always digits)."""
    if kind in ("int", "long"):
        return int(value)
    return value


def person_pseudonyms(
    compiled: CompiledAgreement,
    source_schema: dict[str, Any],
    master_secret: bytes,
    values: Mapping[str, Iterable[str]],
    known_keys: Iterable[str] = (),
) -> Pseudonyms:
    """``values``: identifier path → the person's values matched there; ``known_keys``: message
    keys of the person's deliveries read back from the delivery topic (already transformed)."""
    agreement = compiled.agreement
    fields = index_schema(source_schema).fields
    # The compiler's own parts: the agreement's keys, its transform of this field's type.
    ctx = TransformContext(keys=derive_keys(master_secret, agreement.id))
    out_types = OutputTypes("de.hamm.rights")
    found: list[tuple[str, str]] = []
    for path, given in sorted(values.items()):
        spec = agreement.fields.get(path)
        source = fields.get(path)
        if spec is None or spec.kind != "pseudonymize" or source is None:
            continue
        transform = build_transform(spec, source, ctx, out_types)
        assert transform.fn is not None
        for value in sorted(set(given)):
            found.append((path, transform.fn(_typed(value, source.kind), None, {})))
    keys: set[str] = set()
    if agreement.key.kind == "pseudonymize":
        key_field = source_schema.get("x-key")
        key_fn = build_key_transform(agreement.key, ctx)
        source = fields.get(key_field) if isinstance(key_field, str) else None
        for value in values.get(key_field, ()) if source is not None else ():
            # Producers key an event by the text of its x-key field (str of a number).
            pseudonym = key_fn(str(_typed(value, source.kind)))
            if pseudonym is not None:
                keys.add(pseudonym)
        keys.update(known_keys)
    for _, pseudonym in found:
        if not pseudonym.startswith(compiled.key_id + "."):
            raise SpecError(f"{agreement.id}: a pseudonym under a key other than the agreement's")
    return Pseudonyms(tuple(dict.fromkeys(found)), tuple(sorted(keys)), compiled.key_id)


@dataclass(frozen=True)
class Outgoing:
    """One erasure request, ready to send to a delivery topic."""

    subscriber: str
    agreement_id: str
    topic: str
    key: bytes | None
    record: dict[str, Any]
    headers: list[tuple[str, bytes]]

    @property
    def request_id(self) -> str:
        return self.record["request_id"]


@dataclass(frozen=True)
class Skipped:
    """A recipient (or one agreement of it) that gets no request, and why."""

    subscriber: str
    agreement_id: str
    reason: str


@dataclass
class ErasurePlan:
    requests: list[Outgoing] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the DPO: what to follow up by hand

    @property
    def recipients(self) -> list[str]:
        return sorted({r.subscriber for r in self.requests})


def rfc3339(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def request_headers(request_id: str, agreement_id: str, at: dt.datetime) -> list[tuple[str, bytes]]:
    """CloudEvents binary mode, as every delivery; ``ce_type`` says it is no delivery."""
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", request_id.encode()),
        ("ce_source", RIGHTS_SOURCE.encode()),
        ("ce_type", ERASURE_TYPE.encode()),
        ("ce_time", rfc3339(at).encode()),
        ("content-type", CONTENT_TYPE.encode()),
        (AGREEMENT_HEADER, agreement_id.encode()),
    ]


def plan_erasure(
    groups: Iterable[AgreementHits],
    *,
    case: str,
    versions: AgreementVersions,
    catalog: Mapping[str, Subject],
    master_secret: bytes,
    now: dt.datetime,
    internal_topics: frozenset[str] = frozenset(),
    known_keys: Mapping[str, Iterable[str]] | None = None,
    confirm_topic: Callable[[str], str] = confirmations_topic,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> ErasurePlan:
    """One request per recipient and agreement version that delivered the person's data.
    ``internal_topics``: delivery topics the hub's own feature store reads; ``known_keys``:
    delivery id → the delivered message key, for deliveries still kept."""
    plan = ErasurePlan()
    known_keys = known_keys or {}
    today = now.date()
    for group in groups:
        if group.delivery_topic in internal_topics:
            plan.skipped.append(
                Skipped(
                    group.subscriber,
                    group.agreement_id,
                    "the hub's own feature store: it publishes only k-anonymous aggregates",
                )
            )
            continue
        agreement = versions.get(group.agreement_hash)
        if agreement is None:
            plan.skipped.append(
                Skipped(
                    group.subscriber,
                    group.agreement_id,
                    f"agreement version {group.agreement_hash} unknown: notify the recipient "
                    f"by hand with the delivery ids ({len(group.hits)})",
                )
            )
            continue
        try:
            compiled, schema = compile_version(
                agreement, catalog.get(agreement.source), master_secret
            )
            values: dict[str, set[str]] = {}
            for hit in group.hits:
                for path, value in hit.values.items():
                    values.setdefault(path, set()).add(value)
            keys = [k for h in group.hits for k in known_keys.get(h.delivery_id, ())]
            pseudonyms = person_pseudonyms(compiled, schema, master_secret, values, keys)
        except (LookupError, SpecError) as error:
            plan.skipped.append(Skipped(group.subscriber, group.agreement_id, str(error)))
            continue
        request_id = new_id()
        record = {
            "request_id": request_id,
            "case": case,
            "subscriber": group.subscriber,
            "agreements": [
                {
                    "agreement_id": group.agreement_id,
                    "agreement_version": group.agreement_hash,
                    "delivery_topic": group.delivery_topic,
                    "pseudonyms": [{"field": f, "pseudonym": p} for f, p in pseudonyms.fields],
                    "key_pseudonyms": list(pseudonyms.keys),
                    "delivery_ids": [h.delivery_id for h in group.hits],
                    "first_delivered": min(h.event_time for h in group.hits),
                    "last_delivered": max(h.event_time for h in group.hits),
                }
            ],
            "legal_ground": LEGAL_GROUND,
            "confirm_topic": confirm_topic(group.subscriber),
            "requested_at": now,
        }
        # The key of the person's deliveries: the request lands on their partition, after them.
        key = pseudonyms.keys[0].encode() if len(pseudonyms.keys) == 1 else None
        plan.requests.append(
            Outgoing(
                group.subscriber,
                group.agreement_id,
                group.delivery_topic,
                key,
                record,
                request_headers(request_id, group.agreement_id, now),
            )
        )
        if agreement.valid_until < today or (
            agreement.valid_from is not None and agreement.valid_from > today
        ):
            plan.notes.append(
                f"{group.subscriber}: agreement {group.agreement_id} is not valid today, so "
                f"the recipient can no longer read {group.delivery_topic}: notify it in writing "
                f"as well (case {case})"
            )
    return plan
