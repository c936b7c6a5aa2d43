"""The HTTP ingest gateway: department systems that are not Python services publish JSON here.

``POST /v1/topics/{topic}/events`` takes one event (a JSON object) or a batch (a JSON array of
event objects). Order of checks, each with its status: bearer token (401 with WWW-Authenticate)
→ the department publishes through the gateway and the topic is its own (403) → a schema is
registered for the topic (404) → the body is at most ``max_body_bytes`` (413, refused by its
Content-Length or while it streams in, never held whole in memory) → the body is JSON, an
object or a non-empty array of at most `max_batch` events (400) → rate limit (429 with Retry-After) →
every event converts to the latest schema (422 listing each bad event's index and field;
nothing of the batch is published) → publish and wait for the broker's acknowledgement of every
event (201 with ids, partitions and offsets; 503 with Retry-After when the broker fails, in
which case the client retries: events carry fresh ids, so a retry after a partial failure may
duplicate what was acknowledged).

``/openapi.json`` (and ``/docs``, ``/redoc``) describe each topic's events exactly: one
operation ``POST /v1/topics/<topic>/events`` per topic, its body the JSON Schema derived from
the schema the gateway converts to (``producers.gateway.openapi``, ``document``). The generic
route serves them all and is left out of the document, which it could only describe loosely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from hub.kafka import registry_auth
from hub.outage import BrokerWatch
from hub.serde import AsyncRegistryClient
from producers.gateway.convert import ConversionError
from producers.gateway.departments import Department, Departments
from producers.gateway.document import ApiDocument, DocumentUnavailable
from producers.gateway.idempotency import (
    IdempotencyKeyError,
    IdempotencyStore,
    InProgress,
    Remembered,
    fingerprint,
    parse_key,
)
from producers.gateway.metrics import GatewayMetrics
from producers.gateway.openapi import SECURITY_SCHEME
from producers.gateway.ratelimit import RateLimiter
from producers.gateway.schemas import SchemaCache, TopicSchema
from producers.sdk.errors import PublisherError, RecordValidationError

log = logging.getLogger(__name__)

MAX_BATCH = 10_000
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
HEALTH_TIMEOUT = 5.0
DOCUMENT_TTL = 10.0
TITLE = "Datendrehscheibe ingest gateway"
DESCRIPTION = (
    "Publish events of a department system to the city data hub as JSON: one operation per "
    "topic, its body the topic's registered schema as JSON Schema. Authenticate with "
    "`Authorization: Bearer <token>` (see `hub gateway token`). With that header, "
    "`/openapi.json` lists only the department's own topics."
)


class PublishedEventOut(BaseModel):
    event_id: str = Field(description="The CloudEvents id (header ce_id) of the event.")
    partition: int
    offset: int


class PublishedOut(BaseModel):
    topic: str
    count: int = Field(description="How many events were published.")
    events: list[PublishedEventOut] = Field(description="One entry per event, in the order sent.")


class FieldErrorOut(BaseModel):
    index: int | None = Field(
        default=None, description="The event's position in the batch (only for a batch)."
    )
    field: str = Field(description="Dotted path of the field (location.lat, measures[2]).")
    message: str
    rule: str | None = Field(
        default=None, description="The contract's quality rule the event breaks (x-quality)."
    )


class ProblemOut(BaseModel):
    detail: str
    errors: list[FieldErrorOut] = Field(
        default=[], description="For 422: every problem of every event."
    )


class HealthOut(BaseModel):
    status: str = Field(description="ok, or unavailable when a check failed.")
    broker: str = Field(description="ok, or why the broker is unreachable.")
    registry: str = Field(description="ok, or why the schema registry is unreachable.")


def _problem(status: int, detail: str, errors: list[dict] | None = None, **headers: str) -> Any:
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    # keyword arguments cannot hold '-': Retry_After -> Retry-After
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return _json(body, status, named)


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def create_app(
    publisher: Any,
    departments: Departments,
    *,
    registry: AsyncRegistryClient | None = None,
    limiter: RateLimiter | None = None,
    metrics: GatewayMetrics | None = None,
    manage_lifecycle: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch: int = MAX_BATCH,
    document_ttl: float = DOCUMENT_TTL,
    idempotency: IdempotencyStore | None = None,
    broker_timeout: float = 5.0,
    on_start: Callable[[], Awaitable[Any]] | None = None,
    on_stop: Callable[[], Awaitable[Any]] | None = None,
    broker: BrokerWatch | None = None,
) -> FastAPI:
    """The gateway app around a Publisher (``producers.sdk.Publisher``).

    With ``manage_lifecycle`` the app starts the publisher at startup and, at shutdown (after
    uvicorn has finished the requests in flight), stops it, which flushes the producer, and
    closes the registry client. Without it (tests), the caller owns both. ``max_body_bytes``:
    larger bodies are 413; ``max_batch``: most events a request (more: 400); ``document_ttl``: seconds a built ``/openapi.json`` is reused.
    """
    limiter = limiter or RateLimiter()
    metrics = metrics or GatewayMetrics()
    pending: set[asyncio.Future] = set()  # publishes answered 503 that still run
    if idempotency is None:  # (an empty store is falsy: it has a length)
        idempotency = IdempotencyStore()  # in memory only, unless Kafka is wired
    registry = registry or AsyncRegistryClient(
        publisher.registry_url, auth=registry_auth(publisher.security)
    )
    schemas = SchemaCache(publisher)
    # While the broker is away: one line when it goes, one when it is back, counts between.
    broker = broker or BrokerWatch("gateway", log)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await publisher.start()
            await broker.start(publisher.bootstrap_servers, publisher.security)
        if on_start is not None:
            await on_start()
        try:
            yield
        finally:
            if on_stop is not None:
                await on_stop()
            if manage_lifecycle:
                log.info("gateway stopping: flushing the producer")
                await broker.stop()
                await publisher.stop()
                await registry.aclose()

    # Our own /openapi.json and /docs: the document is built (asynchronously) from the registry.
    app = FastAPI(
        title=TITLE,
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.metrics = metrics
    app.state.publisher = publisher
    app.state.departments = departments
    app.state.broker = broker

    def base_document() -> dict[str, Any]:
        spec = get_openapi(title=TITLE, version="1", description=DESCRIPTION, routes=app.routes)
        components = spec.setdefault("components", {})
        _, defs = models_json_schema(
            [(PublishedOut, "serialization"), (ProblemOut, "serialization")],
            ref_template="#/components/schemas/{model}",
        )
        components.setdefault("schemas", {}).update(defs.get("$defs", {}))
        components["securitySchemes"] = {
            SECURITY_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "The department's gateway token (`hub gateway token "
                "<department>`; departments.yaml keeps only its hash).",
            }
        }
        return spec

    api_document = ApiDocument(
        base_document,
        registry,
        schemas,
        departments,
        max_batch=max_batch,
        max_body_bytes=max_body_bytes,
        ttl=document_ttl,
    )
    app.state.api_document = api_document
    app.openapi = api_document.latest  # type: ignore[method-assign]

    @app.post("/v1/topics/{topic}/events", include_in_schema=False)
    async def publish(topic: str, request: Request) -> Any:
        started = time.perf_counter()
        department = departments.authenticate(_bearer(request))
        dept_label = department.name if department else "unauthenticated"
        response = await _publish(topic, request, department)
        # Unbounded label values only from authenticated callers on their own, known topics.
        topic_label = topic if response.status_code not in (401, 403, 404) else "-"
        metrics.requests.labels(dept_label, topic_label, str(response.status_code)).inc()
        metrics.latency.labels(dept_label).observe(time.perf_counter() - started)
        return response

    async def _publish(topic: str, request: Request, department: Department | None) -> Response:
        if department is None:
            return _problem(
                401,
                "missing or unknown bearer token (Authorization: Bearer <token>)",
                WWW_Authenticate="Bearer",
            )
        if not department.gateway:
            return _problem(
                403,
                f"department {department.name} does not publish through the gateway "
                "(gateway: false in departments.yaml)",
            )
        if not department.may_publish(topic):
            return _problem(
                403,
                f"department {department.name} may publish only to "
                f"{department.topic_prefix}.* topics, not to {topic}",
            )
        try:
            topic_schema = await schemas.get(topic)
        except PublisherError as exc:
            return _problem(503, f"schema registry unavailable: {exc}", Retry_After="5")
        if topic_schema is None:
            return _problem(404, f"unknown topic {topic}: no schema registered for {topic}-value")
        raw = await _read_body(request, max_body_bytes)
        if raw is None:
            return _problem(
                413,
                f"the body is larger than {max_body_bytes} bytes: send smaller batches",
            )
        header = request.headers.get("idempotency-key")
        if header is None:
            return await _bounded(_accept(topic, topic_schema, raw, department), topic)
        try:
            key = parse_key(header)
        except IdempotencyKeyError as exc:
            return _problem(400, str(exc))
        return await _bounded(_keyed(topic, topic_schema, raw, department, key), topic)

    async def _keyed(
        topic: str, topic_schema: TopicSchema, raw: bytes, department: Department, key: str
    ) -> Response:
        """A request with an Idempotency-Key: the first answer again, or publish and remember."""
        request_fingerprint = fingerprint(topic, raw)
        seen = await idempotency.find(department.name, key)
        if seen is not None:
            if seen.fingerprint != request_fingerprint:
                return _problem(
                    422,
                    "this Idempotency-Key was used within the last 24 h for another request "
                    "(another topic or body): use a new key for a new request",
                )
            metrics.replays.labels(department.name).inc()
            return _json(seen.body, seen.status, {"Idempotent-Replayed": "true"})
        try:
            release = idempotency.hold(department.name, key)
        except InProgress:
            return _problem(
                409, "a request with this Idempotency-Key is still being answered: retry later"
            )
        try:
            response = await _accept(topic, topic_schema, raw, department)
            if response.status_code == 201:
                await idempotency.remember(
                    Remembered(
                        department.name,
                        key,
                        request_fingerprint,
                        201,
                        orjson.loads(response.body),
                        time.time(),
                    )
                )
            return response
        finally:
            # Held until the publish has an outcome, even past a 503: a retry meanwhile is
            # 409, one after the acknowledgement gets its answer, so nothing is doubled.
            release()

    async def _bounded(publishing: Awaitable[Response], topic: str) -> Response:
        """The answer within ``broker_timeout``, else 503 while the publish goes on."""
        task = asyncio.ensure_future(publishing)
        done, _ = await asyncio.wait({task}, timeout=broker_timeout)
        if task in done:
            return task.result()
        pending.add(task)
        task.add_done_callback(pending.discard)
        if not broker.report(TimeoutError(f"no acknowledgement within {broker_timeout:g} s")):
            log.warning("broker did not acknowledge in time", extra={"topic": topic})
        return _problem(
            503,
            f"the broker did not acknowledge within {broker_timeout:g} s; retry with the same "
            "Idempotency-Key, so that nothing is published twice",
            Retry_After=str(max(1, int(broker_timeout))),
        )

    async def _accept(
        topic: str, topic_schema: TopicSchema, raw: bytes, department: Department
    ) -> Response:
        """Convert and publish a body that passed every check before it."""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return _problem(400, f"the body is not valid JSON: {exc}")
        batch = isinstance(body, list)
        events = body if batch else [body]
        if not isinstance(body, list | dict):
            return _problem(400, "expected a JSON object (one event) or a JSON array (a batch)")
        if not events:
            return _problem(400, "the batch is empty")
        if len(events) > max_batch:
            return _problem(400, f"a batch holds at most {max_batch} events, got {len(events)}")
        limit = department.rate_limit
        wait = limiter.take(department.name, limit.events_per_second, limit.burst, len(events))
        if wait == float("inf"):
            return _problem(
                429,
                f"a batch of {len(events)} events exceeds the burst of {limit.burst} events "
                f"allowed for {department.name}: send smaller batches",
            )
        if wait > 0:
            return _problem(
                429,
                f"rate limit of {limit.events_per_second:g} events/s for {department.name} "
                f"exceeded; retry after {wait:.2f} s",
                Retry_After=str(max(1, int(wait + 0.999))),
            )
        records, errors = _convert_all(topic_schema.converter, events, batch)
        if errors:
            metrics.rejected.labels(department.name, topic).inc(len(events))
            if batch:
                bad = len({e["index"] for e in errors})
                what = f"{bad} of {len(events)} events do not"
            else:
                what = "the event does not"
            return _problem(
                422, f"{what} match the schema of {topic}; nothing was published", errors
            )
        try:
            # publish_many encodes every record before sending any: all or nothing
            published = await publisher.publish_many(topic, records)
        except RecordValidationError as exc:
            return _problem(422, str(exc), [{"field": exc.field or "", "message": exc.message}])
        except Exception as exc:  # broker unavailable, timeout, fenced, ...
            if not broker.report(exc):  # else counted: the outage is logged once
                log.warning("publish failed", extra={"topic": topic, "error": repr(exc)})
            return _problem(503, f"the broker did not acknowledge: {exc!r}", Retry_After="5")
        broker.ok()
        metrics.events.labels(department.name, topic).inc(len(published))
        return _json(
            {
                "topic": topic,
                "count": len(published),
                "events": [
                    {"event_id": p.event_id, "partition": p.partition, "offset": p.offset}
                    for p in published
                ],
            },
            201,
        )

    @app.get(
        "/healthz",
        summary="Broker and registry reachable",
        tags=["operations"],
        response_model=HealthOut,
        responses={503: {"model": HealthOut, "description": "The broker or the registry is not."}},
    )
    async def healthz() -> Any:
        async def broker() -> None:
            await publisher.producer.client.fetch_all_metadata()

        checks = {"broker": _check(broker()), "registry": _check(registry.subjects())}
        results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
        ok = all(v == "ok" for v in results.values())
        return _json({"status": "ok" if ok else "unavailable", **results}, 200 if ok else 503)

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        tags=["operations"],
        response_class=PlainTextResponse,
        responses={200: {"description": "Prometheus' text exposition format."}},
    )
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json(request: Request) -> Response:
        department = None
        if request.headers.get("authorization"):
            department = departments.authenticate(_bearer(request))
            if department is None:
                return _problem(401, "unknown bearer token", WWW_Authenticate="Bearer")
        try:
            return _json(await api_document.get(department), 200)
        except DocumentUnavailable as exc:
            return _problem(503, str(exc), Retry_After="5")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{TITLE} - Swagger UI")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{TITLE} - ReDoc")

    return app


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``limit`` bytes (by its
    Content-Length or while streaming it), so a huge body is never held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _convert_all(converter: Any, events: list[Any], batch: bool) -> tuple[list[dict], list[dict]]:
    records: list[dict] = []
    errors: list[dict] = []
    for index, event in enumerate(events):
        try:
            records.append(converter.convert(event))
        except ConversionError as exc:
            for error in exc.errors:
                item = {"field": error.path, "message": error.message}
                if error.rule:
                    item["rule"] = error.rule
                errors.append({"index": index, **item} if batch else item)
    return records, errors


async def _check(awaitable: Any) -> str:
    try:
        await asyncio.wait_for(awaitable, HEALTH_TIMEOUT)
    except Exception as exc:
        return f"unreachable: {exc!r}"
    return "ok"
