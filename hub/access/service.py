"""Plan and apply access for one catalog and one broker (what the CLI, the router and the demo
call). The pure parts are in ``acls`` and ``plan``; this module only wires them to the broker."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.access.acls import HubTopics
from hub.access.broker import AccessError, BrokerAccess
from hub.access.catalog import AccessCatalog, load_access_catalog
from hub.access.plan import PROTECTED_USERS, Plan, make_plan
from hub.access.principals import PrincipalsError
from hub.credentials import Credentials, CredentialsError, CredentialStore, new_password
from hub.kafka import KafkaSecurity, kafka_login
from hub.settings import Settings

log = logging.getLogger("hub.access")
CITY_TZ = ZoneInfo("Europe/Berlin")
ADMIN = "hub-admin"


def today_in_hamm() -> dt.date:
    """Agreements are valid by calendar day in Hamm."""
    return dt.datetime.now(CITY_TZ).date()


def hub_topics(settings: Settings) -> HubTopics:
    return HubTopics(
        dlq=settings.dlq_topic,
        audit=settings.audit_topic,
        receipts=settings.receipts_topic,
        agreements=settings.agreements_topic,
        quality=settings.quality_topic,
        router_group=settings.router_group,
        registry=settings.registry_topic,
        access_ledger=settings.access_topic,
        rights=settings.rights_topic,
        rights_confirmations=settings.rights_confirmations_prefix,
        features_prefix=_features_prefix(),
    )


def _features_prefix() -> str:
    """Where the feature pipeline publishes (``HUB_FEATURES_OUTPUT_PREFIX``): its own ACLs and
    the portal's read of each view's windows follow it."""
    try:
        from consumers.features.settings import get_feature_settings
    except ModuleNotFoundError:  # a trimmed deployment without the feature store
        return HubTopics.features_prefix
    return get_feature_settings().output_prefix


def broker_access(settings: Settings, security: KafkaSecurity) -> BrokerAccess:
    """The broker's access, changed as ``security`` (the super user)."""
    return BrokerAccess(
        settings.bootstrap_servers, security, ledger_topic=hub_topics(settings).access_ledger
    )


def admin_security(settings: Settings) -> KafkaSecurity | None:
    """The super user's security, if this process has it: as its own identity, or from the
    local credential store. None: this process cannot change access (and says so)."""
    if settings.kafka_username in (None, ADMIN):
        security = KafkaSecurity.from_settings(settings, principal=ADMIN)
        try:
            # resolved now: whether this process holds it is the question
            if security.credentials is not None or not security.sasl:
                return security
        except CredentialsError:
            pass
    store = CredentialStore(settings.credentials_dir)
    if store.exists(ADMIN):
        return KafkaSecurity.from_settings(settings, principal=ADMIN).for_principal(
            store.read(ADMIN)
        )
    return None


@dataclass(frozen=True)
class AccessPlan:
    plan: Plan
    catalog: AccessCatalog


def plan_access(
    catalog_dir: Path,
    access: BrokerAccess,
    *,
    today: dt.date | None = None,
    topics: HubTopics | None = None,
) -> AccessPlan:
    catalog = load_access_catalog(catalog_dir)
    desired = catalog.bindings(today or today_in_hamm(), topics)
    plan = make_plan(
        desired,
        access.bindings(),
        access.ledger(),
        desired_users=catalog.principals.names(),
        actual_users=access.users(),
    )
    return AccessPlan(plan, catalog)


def apply_catalog(
    settings: Settings, security: KafkaSecurity, *, catalog_dir: Path | None = None
) -> AccessPlan:
    """Plan and apply in one go; returns what was applied."""
    access = broker_access(settings, security)
    planned = plan_access(catalog_dir or settings.catalog_dir, access, topics=hub_topics(settings))
    if not planned.plan.empty:
        access.apply(planned.plan, CredentialStore(settings.credentials_dir))
    return planned


async def ensure_local_credentials(
    access: BrokerAccess, store: CredentialStore, principals: list[str]
) -> list[str]:
    """Make every principal's credential in ``store`` one the broker accepts: for the local
    sandbox (``hub demo``), where every service runs on this machine. A principal on the broker
    whose credential this machine lacks, or holds stale, gets a new password. In a city each
    credential lives with its service instead, and ``hub access users rotate`` is the explicit
    way. Returns the principals rotated."""
    on_broker = set(await asyncio.to_thread(access.users))
    candidates = [n for n in principals if n in on_broker and n not in PROTECTED_USERS]

    async def accepted(name: str) -> bool:
        if not store.exists(name):
            return False
        return await kafka_login(access.bootstrap, access.security.for_principal(store.read(name)))

    verdicts = await asyncio.gather(*(accepted(n) for n in candidates))
    stale = [n for n, ok in zip(candidates, verdicts, strict=True) if not ok]
    for name in stale:
        credential = Credentials(name, new_password())
        await asyncio.to_thread(access.set_password, credential)
        store.write(credential, security_protocol=access.security.protocol)
    return stale


async def apply_if_admin(settings: Settings, component: str) -> AccessPlan | None:
    """For services that apply the plan at start (the router, the demo): apply when this
    machine holds the admin credential, else say once that an operator must run it."""
    security = admin_security(settings)
    if security is None or not security.sasl:
        if security is None:
            log.info(
                "access not applied: no hub-admin credential here; run `hub access apply`",
                extra={"component": component},
            )
        return None
    try:
        planned = await asyncio.to_thread(apply_catalog, settings, security)
    except (AccessError, PrincipalsError) as error:
        # The broker keeps the ACLs it has; the component runs with them and says why.
        log.error("access not applied", extra={"component": component, "error": str(error)})
        return None
    for problem in planned.catalog.problems:
        log.warning("access: catalog problem", extra={"problem": problem})
    if not planned.plan.empty:
        log.info(
            "access applied at start",
            extra={
                "component": component,
                "added": len(planned.plan.add),
                "removed": len(planned.plan.remove),
                "users": list(planned.plan.add_users),
            },
        )
    return planned
