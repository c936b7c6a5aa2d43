"""Data-subject requests end to end, for the CLI and the portal: look the person up in the
receipts, answer (access), notify the recipients (erasure), record each request in the trail,
and fold where a case stands. Wiring only: the decisions are in the pure modules.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consumers.rights.broker import Broker
from consumers.rights.contract import ACCESS, ERASURE, confirmations_topic
from consumers.rights.copies import Copy, hub_copies
from consumers.rights.erasure import ErasurePlan, plan_erasure
from consumers.rights.lookup import AgreementHits, Hit, find_hits, group_hits
from consumers.rights.person import KeyedPerson, Person, keyed
from consumers.rights.report import FEATURE_STORE_NOTE, AccessReport, Recipient, build_report
from consumers.rights.trail import CaseStatus, fold_cases, trail_record
from consumers.rights.versions import AgreementVersions, fold_versions
from hub.access.acls import HubTopics
from hub.access.catalog import load_access_catalog
from hub.access.principals import PrincipalsError, load_principals
from hub.agreements.errors import AgreementError
from hub.agreements.model import Agreement, load_agreement
from hub.kafka import KafkaSecurity
from hub.receipts import receipts_key
from hub.schemas.catalog import Catalog, SchemaCatalogError, load_catalog
from hub.secret import load_master_secret
from hub.settings import Settings

log = logging.getLogger("hub.rights")
PRINCIPAL = "hub-rights"


@dataclass
class RightsConfig:
    bootstrap: str
    registry_url: str
    catalog_dir: Path
    schemas_dir: Path
    master_secret: bytes = field(repr=False)
    security: KafkaSecurity
    receipts_topic: str = "hub.receipts"
    agreements_topic: str = "hub.agreements"
    rights_topic: str = "hub.rights"
    confirmations_prefix: str = "hub.rights.confirmations."
    retention_days: int = 3653
    transactional_id: str = "hub-rights-cli"
    topics: HubTopics = field(default_factory=HubTopics)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RightsConfig:
        from hub.access.service import hub_topics

        values: dict[str, Any] = {
            "bootstrap": settings.bootstrap_servers,
            "registry_url": settings.registry_url,
            "catalog_dir": settings.catalog_dir,
            "schemas_dir": settings.schemas_dir,
            "master_secret": load_master_secret(settings.secret_file),
            "security": KafkaSecurity.from_settings(settings, principal=PRINCIPAL),
            "receipts_topic": settings.receipts_topic,
            "agreements_topic": settings.agreements_topic,
            "rights_topic": settings.rights_topic,
            "confirmations_prefix": settings.rights_confirmations_prefix,
            "retention_days": settings.receipts_retention_days,
            "topics": hub_topics(settings),
        }
        values.update(overrides)
        return cls(**values)

    def confirm_topic(self, subscriber: str) -> str:
        return confirmations_topic(subscriber, self.confirmations_prefix)


@dataclass
class Lookup:
    """What the receipts say about a person, with everything needed to describe it."""

    person: KeyedPerson
    hits: list[Hit]
    versions: AgreementVersions
    catalog: Catalog
    visible: set[str]


@dataclass
class ErasureOutcome:
    case: str
    request_id: str
    plan: ErasurePlan
    deliveries: int
    copies: list[Copy]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "erasure",
            "case": self.case,
            "request_id": self.request_id,
            "deliveries": self.deliveries,
            "notified": [
                {
                    "subscriber": r.subscriber,
                    "agreement_id": r.agreement_id,
                    "delivery_topic": r.topic,
                    "request_id": r.request_id,
                    "deliveries": len(r.record["agreements"][0]["delivery_ids"]),
                }
                for r in self.plan.requests
            ],
            "not_notified": [
                {"subscriber": s.subscriber, "agreement_id": s.agreement_id, "reason": s.reason}
                for s in self.plan.skipped
            ],
            "notes": self.plan.notes,
            "hub_copies": [c.as_json() for c in self.copies],
        }


def _catalog_agreements(directory: Path) -> list[Agreement]:
    """Today's agreement files (a broken one is left out: hub.agreements still names it)."""
    out = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            out.append(load_agreement(path))
        except AgreementError as error:
            log.warning("agreement file left out", extra={"file": str(path), "error": str(error)})
    return out


class Rights:
    """``async with Rights(config) as rights:`` then ``access``, ``erase``, ``status``."""

    def __init__(self, config: RightsConfig) -> None:
        self.config = config
        self.broker = Broker(config.bootstrap, config.registry_url, config.security)
        self._key = receipts_key(config.master_secret)

    async def __aenter__(self) -> Rights:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.aclose()

    @property
    def principal(self) -> str:
        return self.config.security.principal or PRINCIPAL

    # -- the lookup ---------------------------------------------------------------------------
    async def lookup(self, person: Person, since: dt.datetime | None = None) -> Lookup:
        cfg = self.config
        kp = keyed(person, self._key)
        visible = await self.broker.visible_topics()
        receipts = await self.broker.receipts(cfg.receipts_topic, visible)
        hits = find_hits(receipts, kp, since=since)
        versions = fold_versions(
            await self.broker.versions(cfg.agreements_topic, visible),
            _catalog_agreements(cfg.catalog_dir / "agreements"),
            where=cfg.agreements_topic,
        )
        for problem in versions.problems:
            log.warning("agreement version unusable", extra={"problem": problem})
        try:
            catalog = load_catalog(cfg.schemas_dir)
        except SchemaCatalogError as error:
            log.warning("schema catalog unreadable", extra={"error": str(error)})
            catalog = Catalog()
        return Lookup(kp, hits, versions, catalog, visible)

    def recipients(self) -> dict[str, Recipient]:
        try:
            principals = load_principals(self.config.catalog_dir / "departments.yaml")
        except PrincipalsError as error:
            log.warning("principals unreadable", extra={"error": str(error)})
            return {}
        internal = self.internal_topics()
        out: dict[str, Recipient] = {}
        for name, s in principals.subscribers.items():
            out[name] = Recipient(name, s.description, s.contact)
        for name, d in principals.departments.items():
            out.setdefault(name, Recipient(name, d.description, d.contact))
        return {
            n: r if not self._feature_store(n, internal) else _with_note(r, FEATURE_STORE_NOTE)
            for n, r in out.items()
        }

    def internal_topics(self) -> frozenset[str]:
        """The delivery topics the hub's own feature store reads."""
        try:
            return frozenset(load_access_catalog(self.config.catalog_dir).feature_topics)
        except PrincipalsError:
            return frozenset()

    def _feature_store(self, subscriber: str, internal: frozenset[str]) -> bool:
        return any(t.startswith(f"deliver.{subscriber}.") for t in internal)

    # -- access (Art. 15) ---------------------------------------------------------------------
    async def access(
        self,
        person: Person,
        *,
        case: str,
        requested_by: str,
        since: dt.datetime | None = None,
        tool: str = "cli",
        now: dt.datetime | None = None,
    ) -> AccessReport:
        """The report; recorded in the trail before it is returned (no answer without it)."""
        now = now or dt.datetime.now(dt.UTC)
        found = await self.lookup(person, since)
        delivered = await self.broker.delivered(found.hits, found.visible)
        report = build_report(
            case=case,
            generated_at=now,
            since=since,
            identifier_names=person.names,
            hits=found.hits,
            versions=found.versions,
            schemas={t: s.latest.schema for t, s in found.catalog.items()},
            recipients=self.recipients(),
            delivered=delivered,
        )
        report.request_id = str(uuid.uuid4())
        record = trail_record(
            request_id=report.request_id,
            kind=ACCESS,
            case=case,
            requested_by=requested_by,
            principal=self.principal,
            tool=tool,
            references=found.person.references,
            since=since,
            recipients=[r.subscriber for r in report.recipients],
            deliveries=report.deliveries,
            at=now,
        )
        await self.broker.record(self.config.rights_topic, record, self.config.retention_days)
        return report

    # -- erasure (Art. 17, 19) ----------------------------------------------------------------
    async def erase(
        self,
        person: Person,
        *,
        case: str,
        requested_by: str,
        tool: str = "cli",
        now: dt.datetime | None = None,
    ) -> ErasureOutcome:
        cfg = self.config
        now = now or dt.datetime.now(dt.UTC)
        found = await self.lookup(person)
        groups = group_hits(found.hits)
        # A delivery still kept tells its delivered key, for agreements whose key is not one
        # of the identifiers asked for.
        delivered = await self.broker.delivered(found.hits, found.visible)
        known_keys = {d: [v.key] for d, v in delivered.items() if v.key is not None}
        plan = plan_erasure(
            groups,
            case=case,
            versions=found.versions,
            catalog=found.catalog,
            master_secret=cfg.master_secret,
            now=now,
            internal_topics=self.internal_topics(),
            known_keys=_pseudonymized_keys(known_keys, groups, found.versions),
            confirm_topic=cfg.confirm_topic,
        )
        request_id = str(uuid.uuid4())
        record = trail_record(
            request_id=request_id,
            kind=ERASURE,
            case=case,
            requested_by=requested_by,
            principal=self.principal,
            tool=tool,
            references=found.person.references,
            since=None,
            recipients=plan.recipients,
            deliveries=len(found.hits),
            requests=plan.requests,
            at=now,
        )
        await self.broker.send_erasure(
            plan.requests,
            cfg.rights_topic,
            record,
            confirmation_topics=[cfg.confirm_topic(s) for s in plan.recipients],
            retention_days=cfg.retention_days,
            transactional_id=cfg.transactional_id,
        )
        copies = hub_copies(
            cfg.topics,
            receipts_retention_days=cfg.retention_days,
            sources={h.source_topic for h in found.hits},
            deliveries={h.delivery_topic for h in found.hits},
        )
        return ErasureOutcome(case, request_id, plan, len(found.hits), copies)

    # -- where cases stand --------------------------------------------------------------------
    async def cases(self) -> dict[str, CaseStatus]:
        trail = await self.broker.trail(self.config.rights_topic)
        confirmations = await self.broker.confirmations(self.config.confirmations_prefix)
        return fold_cases(trail, confirmations)


def _with_note(recipient: Recipient, note: str) -> Recipient:
    return Recipient(recipient.name, recipient.description, recipient.contact, note)


def _pseudonymized_keys(
    keys: dict[str, list[str]], groups: list[AgreementHits], versions: AgreementVersions
) -> dict[str, list[str]]:
    """Only keys an agreement pseudonymized count as key pseudonyms (a masked or kept key is
    not the recipient's pseudonym of the person)."""
    out: dict[str, list[str]] = {}
    for group in groups:
        agreement = versions.get(group.agreement_hash)
        if agreement is None or agreement.key.kind != "pseudonymize":
            continue
        for hit in group.hits:
            if hit.delivery_id in keys:
                out[hit.delivery_id] = keys[hit.delivery_id]
    return out


async def confirm_erasure(
    *,
    bootstrap: str,
    registry_url: str,
    security: KafkaSecurity,
    subscriber: str,
    case: str,
    request_ids: tuple[str, ...] = (),
    note: str | None = None,
    prefix: str = "hub.rights.confirmations.",
    now: dt.datetime | None = None,
) -> str:
    """A recipient's confirmation on its own topic, as its own principal; returns the topic."""
    topic = confirmations_topic(subscriber, prefix)
    record = {
        "case": case,
        "subscriber": subscriber,
        "request_ids": list(request_ids),
        "note": note,
        "confirmed_at": now or dt.datetime.now(dt.UTC),
    }
    broker = Broker(bootstrap, registry_url, security)
    try:
        await broker.confirm(topic, record)
    finally:
        await broker.aclose()
    return topic
