"""Run the gateway as a service: uvicorn, one Publisher, SIGTERM handled gracefully.

SIGTERM/SIGINT start uvicorn's graceful shutdown: it stops accepting connections, lets the
requests in flight finish (each waits for its broker acknowledgement), then runs the app's
lifespan shutdown, which stops the Publisher and so flushes the producer. The handlers are our
own (uvicorn's would re-raise the signal afterwards, so a clean stop would exit with -15).
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY

from hub.kafka import check_login, registry_auth
from hub.outage import BrokerWatch, RegistryWatch
from hub.serde import AsyncRegistryClient
from hub.settings import get_settings
from hub.web import serve_app
from producers.gateway.app import create_app
from producers.gateway.departments import load_departments
from producers.gateway.idempotency import IdempotencyStore, KafkaIdempotency
from producers.gateway.metrics import GatewayMetrics
from producers.gateway.settings import GatewaySettings
from producers.sdk.publisher import Publisher

log = logging.getLogger(__name__)


def build_app() -> object:
    """The service's app from the HUB_* settings (publisher started by the app's lifespan)."""
    settings = get_settings()
    own = GatewaySettings()
    departments_file = own.gateway_departments_file or settings.catalog_dir / "departments.yaml"
    departments = load_departments(departments_file)
    # The gateway publishes as its own principal, hub-gateway (Write on the topics of the
    # departments it accepts); which department may send what is its token check.
    publisher = Publisher(
        source=own.gateway_source,
        bootstrap_servers=settings.bootstrap_servers,
        registry_url=settings.registry_url,
        principal="hub-gateway",
        # Bounded: a client gets 503 within this time, and its events are not sent later.
        request_timeout_ms=int(own.gateway_broker_timeout * 1000),
    )
    idempotency = IdempotencyStore()
    broker = BrokerWatch("gateway", logging.getLogger("producers.gateway.app"))
    keys = KafkaIdempotency(
        idempotency,
        producer_of=lambda: publisher.producer,
        consumer_factory=lambda: AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            **publisher.security.aiokafka(),
            enable_auto_commit=False,
            client_id="hub-gateway-idempotency",
        ),
        admin_factory=lambda: AIOKafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers, **publisher.security.aiokafka()
        ),
        topic=own.gateway_idempotency_topic,
        broker=broker,
    )
    registry = AsyncRegistryClient(
        settings.registry_url,
        auth=registry_auth(publisher.security),
        watch=RegistryWatch("gateway", logging.getLogger("producers.gateway.app")),
    )
    log.info(
        "gateway configured",
        extra={"departments": sorted(departments.by_name), "file": str(departments_file)},
    )
    # The process-wide registry: /metrics then shows the Publisher's metrics too.
    metrics = GatewayMetrics(REGISTRY)
    return create_app(
        publisher,
        departments,
        registry=registry,
        metrics=metrics,
        manage_lifecycle=True,
        max_body_bytes=own.gateway_max_body_bytes,
        max_batch=own.gateway_max_batch,
        document_ttl=own.gateway_openapi_ttl,
        idempotency=idempotency,
        broker_timeout=own.gateway_broker_timeout,
        on_start=keys.start,
        on_stop=keys.stop,
        broker=broker,
    )


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until SIGTERM or SIGINT; exit 0 after a graceful stop."""
    app = build_app()
    publisher = app.state.publisher
    # A refused credential stops the command with one line naming the principal.
    asyncio.run(check_login(publisher.bootstrap_servers, publisher.security))
    serve_app(app, name="gateway", host=host, port=port)
