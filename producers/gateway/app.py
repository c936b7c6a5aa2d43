"""The HTTP ingest gateway: department systems that are not Python services publish JSON here.

``POST /v1/topics/{topic}/events`` takes one event (a JSON object) or a batch (a JSON array of
event objects). Order of checks, each with its status: bearer token (401) → the topic belongs to
the department (403) → a schema is registered for the topic (404) → the body is JSON (400) →
rate limit (429 with Retry-After) → every event converts to the latest schema (422 listing each
bad event's index and field; nothing of the batch is published) → publish and wait for the
broker's acknowledgement of every event (201 with ids, partitions and offsets; 503 when the
broker fails, in which case the client retries: events carry fresh ids, so a retry after a
partial failure may duplicate what was acknowledged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from hub.kafka import registry_auth
from hub.serde import AsyncRegistryClient
from producers.gateway.convert import ConversionError
from producers.gateway.departments import Department, Departments
from producers.gateway.metrics import GatewayMetrics
from producers.gateway.ratelimit import RateLimiter
from producers.gateway.schemas import SchemaCache
from producers.sdk.errors import PublisherError, RecordValidationError

log = logging.getLogger(__name__)

MAX_BATCH = 10_000
HEALTH_TIMEOUT = 5.0


class PublishedEventOut(BaseModel):
    event_id: str
    partition: int
    offset: int


class PublishedOut(BaseModel):
    topic: str
    count: int
    events: list[PublishedEventOut]


class FieldErrorOut(BaseModel):
    index: int | None = None
    field: str
    message: str


class ProblemOut(BaseModel):
    detail: str
    errors: list[FieldErrorOut] = []


_EVENT_SCHEMA = {
    "type": "object",
    "description": "One event: the record as plain JSON. Timestamps as RFC 3339 strings "
    "(with offset) or epoch milliseconds, dates as YYYY-MM-DD, enums as their symbol, "
    "unions as the plain value (not Avro JSON's {'string': ...}), bytes as base64.",
    "additionalProperties": True,
}
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {**_EVENT_SCHEMA, "title": "Event"},
                    {
                        "title": "Batch",
                        "type": "array",
                        "items": _EVENT_SCHEMA,
                        "minItems": 1,
                        "maxItems": MAX_BATCH,
                        "description": "A batch: a JSON array of events, all or nothing.",
                    },
                ]
            },
            "examples": {
                "event": {
                    "summary": "one event",
                    "value": {"tree_id": "B-4711", "occurred_at": "2026-11-25T09:30:00+01:00"},
                },
                "batch": {
                    "summary": "a batch (JSON array)",
                    "value": [{"tree_id": "B-4711"}, {"tree_id": "B-4712"}],
                },
            },
        }
    },
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemOut, "description": "The body is not JSON, or not an object or array."},
    401: {"model": ProblemOut, "description": "Missing or unknown bearer token."},
    403: {"model": ProblemOut, "description": "The topic belongs to another department."},
    404: {"model": ProblemOut, "description": "No schema is registered for the topic."},
    422: {
        "model": ProblemOut,
        "description": "Events that do not fit the schema: index (batch) and field of each.",
    },
    429: {"model": ProblemOut, "description": "Rate limit exceeded; see Retry-After."},
    503: {"model": ProblemOut, "description": "Broker or registry unavailable; retry later."},
}


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
) -> FastAPI:
    """The gateway app around a Publisher (``producers.sdk.Publisher``).

    With ``manage_lifecycle`` the app starts the publisher at startup and, at shutdown (after
    uvicorn has finished the requests in flight), stops it, which flushes the producer, and
    closes the registry client. Without it (tests), the caller owns both.
    """
    limiter = limiter or RateLimiter()
    metrics = metrics or GatewayMetrics()
    registry = registry or AsyncRegistryClient(
        publisher.registry_url, auth=registry_auth(publisher.security)
    )
    schemas = SchemaCache(publisher)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await publisher.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                log.info("gateway stopping: flushing the producer")
                await publisher.stop()
                await registry.aclose()

    app = FastAPI(
        title="Datendrehscheibe ingest gateway",
        version="1",
        description="Publish events of a department system to the city data hub as JSON. "
        "Authenticate with `Authorization: Bearer <token>` (see `hub gateway token`).",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.publisher = publisher
    app.state.departments = departments

    @app.post(
        "/v1/topics/{topic}/events",
        status_code=201,
        response_model=PublishedOut,
        responses=_RESPONSES,
        openapi_extra={"requestBody": _BODY},
        summary="Publish one event (JSON object) or a batch (JSON array)",
    )
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
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            return _problem(400, f"the body is not valid JSON: {exc}")
        batch = isinstance(body, list)
        events = body if batch else [body]
        if not isinstance(body, list | dict):
            return _problem(400, "expected a JSON object (one event) or a JSON array (a batch)")
        if not events:
            return _problem(400, "the batch is empty")
        if len(events) > MAX_BATCH:
            return _problem(400, f"a batch holds at most {MAX_BATCH} events, got {len(events)}")
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
            log.warning("publish failed", extra={"topic": topic, "error": repr(exc)})
            return _problem(503, f"the broker did not acknowledge: {exc!r}", Retry_After="5")
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

    @app.get("/healthz", summary="Broker and registry reachable")
    async def healthz() -> Any:
        async def broker() -> None:
            await publisher.producer.client.fetch_all_metadata()

        checks = {"broker": _check(broker()), "registry": _check(registry.subjects())}
        results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
        ok = all(v == "ok" for v in results.values())
        return _json({"status": "ok" if ok else "unavailable", **results}, 200 if ok else 503)

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _convert_all(converter: Any, events: list[Any], batch: bool) -> tuple[list[dict], list[dict]]:
    records: list[dict] = []
    errors: list[dict] = []
    for index, event in enumerate(events):
        try:
            records.append(converter.convert(event))
        except ConversionError as exc:
            for error in exc.errors:
                item = {"field": error.path, "message": error.message}
                errors.append({"index": index, **item} if batch else item)
    return records, errors


async def _check(awaitable: Any) -> str:
    try:
        await asyncio.wait_for(awaitable, HEALTH_TIMEOUT)
    except Exception as exc:
        return f"unreachable: {exc!r}"
    return "ok"
