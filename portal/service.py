"""``hub portal serve`` wired: settings, catalog, the portal's own principal, the followers of the
hub's logs, and uvicorn with a graceful SIGTERM (``hub.web``)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from prometheus_client import REGISTRY

from hub.kafka import KafkaSecurity, check_login, registry_auth
from hub.secret import load_master_secret
from hub.serde import AsyncRegistryClient
from hub.settings import Settings, get_settings
from hub.web import serve_app
from portal.app import create_app
from portal.auskunft import RightsLookup
from portal.dcat import Endpoints
from portal.facts import load_facts
from portal.forecasts import ForecastFiles, forecast_files
from portal.live import KafkaSources, Live, LiveState
from portal.metrics import PortalMetrics
from portal.quality import load_rule_texts
from portal.sessions import LoginLimiter, SessionCodec, session_key
from portal.settings import PRINCIPAL, PortalSettings
from portal.staff import Staff, load_staff

log = logging.getLogger("hub.portal")


@dataclass
class Portal:
    app: FastAPI
    live: Live
    state: LiveState
    security: KafkaSecurity
    url: str


def build_portal(
    settings: Settings | None = None,
    own: PortalSettings | None = None,
    *,
    staff: Staff | None = None,
    metrics: PortalMetrics | None = None,
    security: KafkaSecurity | None = None,
    features: Any | None = None,
) -> Portal:
    """The portal from the HUB_* settings; ``staff`` replaces ``portal.yaml`` (the demo's);
    ``features``: the feature store's settings (``HUB_FEATURES_*``: where its windows are
    published and its Feast repository, for the Lagebild)."""
    settings = settings or get_settings()
    own = own or PortalSettings()
    facts = load_facts(settings.catalog_dir, settings.schemas_dir)
    staff = staff or load_staff(own.portal_staff_file or settings.catalog_dir / "portal.yaml")
    prefix, forecasts = _feature_sources(features)
    state = LiveState(
        facts,
        staff,
        audit_topic=settings.audit_topic,
        dlq_topic=settings.dlq_topic,
        receipts_topic=settings.receipts_topic,
        receipts_retention_days=settings.receipts_retention_days,
        quality_topic=settings.quality_topic,
        features_prefix=prefix,
        forecasts=forecasts,
        rule_texts=load_rule_texts(facts.catalog),
    )
    security = security or KafkaSecurity.from_settings(settings, principal=PRINCIPAL)
    registry = AsyncRegistryClient(settings.registry_url, auth=registry_auth(security, settings))
    metrics = metrics or PortalMetrics(REGISTRY)
    live = Live(
        state,
        KafkaSources(
            settings.bootstrap_servers,
            security,
            registry,
            replay_group=f"{settings.router_group}-dlq-replay",
            dlq_refresh=own.portal_dlq_refresh,
        ),
        metrics,
    )
    codec = SessionCodec(
        session_key(load_master_secret(settings.secret_file)), own.portal_session_hours * 3600
    )
    url = own.base_url()
    app = create_app(
        state,
        codec,
        live=live,
        endpoints=Endpoints(url, settings.registry_url, own.portal_gateway_url),
        metrics=metrics,
        limiter=LoginLimiter(own.portal_login_attempts, own.portal_login_window),
        cookie_secure=own.portal_cookie_secure,
        # Auskunft as hub-rights with that principal's credential on this machine (read at
        # each lookup; the page says how to set it up while it is missing).
        rights=RightsLookup.from_settings(settings),
    )
    log.info(
        "portal configured",
        extra={
            "datasets": len(facts.datasets),
            "agreements": len(facts.agreements),
            "staff": len(staff.members),
            "principal": security.principal,
            "problems": list(facts.problems),
        },
    )
    return Portal(app, live, state, security, url)


def _feature_sources(features: Any | None) -> tuple[str, ForecastFiles]:
    """The topic prefix of the published windows and where the forecasts are."""
    if features is None:
        try:
            from consumers.features.settings import load_feature_settings
        except ModuleNotFoundError:  # a trimmed deployment without the feature store
            return "hub.features.", ForecastFiles(None, "ohne Feature-Store installiert")
        features = load_feature_settings()
    return features.output_prefix, forecast_files(Path(features.feast_repo), features.offline_store)


def serve(host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGTERM or SIGINT; exit 0 after a graceful stop."""
    settings = get_settings()
    own = PortalSettings()
    portal = build_portal(settings, own)
    # A refused credential stops the command with one line naming the principal.
    asyncio.run(check_login(settings.bootstrap_servers, portal.security))
    serve_app(
        portal.app,
        name="portal",
        host=host or own.portal_host,
        port=own.portal_port if port is None else port,
    )
