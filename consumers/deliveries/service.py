"""Run the pull API as a service: uvicorn, one reader pool, SIGTERM handled gracefully.

It reads as its own principal, ``hub-deliveries``, which Kafka lets read only the delivery
topics of valid agreements of subscribers with pull tokens; which subscriber may pull what is
this service's token check on top of that. SIGTERM/SIGINT start uvicorn's graceful shutdown:
no new connections, the pulls in flight are answered (each waits at most its short poll), then
the lifespan closes the consumers. The handlers are our own (uvicorn's would re-raise the signal
afterwards, so a clean stop would exit with -15).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from prometheus_client import REGISTRY

from consumers.deliveries.app import create_app
from consumers.deliveries.catalog import CatalogSource
from consumers.deliveries.cursor import CursorCodec
from consumers.deliveries.metrics import DeliveriesMetrics
from consumers.deliveries.pull import Puller
from consumers.deliveries.reader import PRINCIPAL, DeliveryReader
from consumers.deliveries.settings import DeliveriesSettings
from hub.kafka import KafkaSecurity, check_login, registry_auth
from hub.outage import RegistryWatch
from hub.secret import load_master_secret
from hub.serde import AsyncRegistryClient
from hub.settings import get_settings
from hub.web import serve_app

log = logging.getLogger(__name__)


def build_app(own: DeliveriesSettings | None = None) -> FastAPI:
    """The service's app from the HUB_* settings (reader started by the app's lifespan)."""
    settings = get_settings()
    own = own or DeliveriesSettings()
    catalog = CatalogSource(
        settings.catalog_dir,
        own.deliveries_departments_file,
        interval=own.deliveries_reload_interval,
    )
    security = KafkaSecurity.from_settings(principal=PRINCIPAL)
    reader = DeliveryReader(
        settings.bootstrap_servers,
        security,
        consumers=own.deliveries_consumers,
        wait=own.deliveries_wait,
    )
    registry = AsyncRegistryClient(
        settings.registry_url,
        auth=registry_auth(security),
        watch=RegistryWatch("deliveries", log),  # its lines, once an outage
    )
    # Cursors are signed with a key derived from the master secret: every instance behind a
    # load balancer accepts the others' cursors, and a restart keeps them valid.
    codec = CursorCodec.from_master_secret(load_master_secret(settings.secret_file))
    log.info(
        "pull API configured",
        extra={
            "subscribers": sorted(catalog.current().subscribers),
            "catalog": str(settings.catalog_dir),
            "principal": security.principal,
        },
    )
    # The process-wide registry: /metrics then shows the process's own metrics too.
    metrics = DeliveriesMetrics(REGISTRY)
    return create_app(
        Puller(reader, registry, codec),
        catalog,
        schemas_dir=settings.schemas_dir,
        metrics=metrics,
        manage_lifecycle=True,
    )


def serve(host: str = "127.0.0.1", port: int = 8002) -> None:
    """Serve until SIGTERM or SIGINT; exit 0 after a graceful stop."""
    app = build_app()
    reader = app.state.puller.reader
    # A refused credential stops the command with one line naming the principal.
    asyncio.run(check_login(reader.bootstrap, reader.security))
    serve_app(app, name="pull API", host=host, port=port)
