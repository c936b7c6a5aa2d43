"""The HTTP pull API: subscribers that fetch in batches pull their deliveries here.

``GET /v1/deliveries/{agreement}?cursor=...&limit=...`` answers a CloudEvents JSON batch
(``application/cloudevents-batch+json``) and the next cursor in the ``Hub-Next-Cursor`` header.
Order of checks, each with its status: bearer token (401) → the agreement exists (404) → it is
the subscriber's and valid today (403) → ``limit`` and ``cursor`` (400, naming the parameter)
→ read (503 with Retry-After when the broker or the registry cannot serve; an empty batch with
the same position when nothing new arrived within the short wait). ``GET /v1/agreements`` lists
what the token may pull. Every answer carries ``Cache-Control: no-store``: deliveries are
personal data, no proxy may keep them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from consumers.deliveries import encoding
from consumers.deliveries.catalog import CatalogSource, PullCatalog, Refusal, today_in_hamm
from consumers.deliveries.cursor import CursorError
from consumers.deliveries.metrics import DeliveriesMetrics
from consumers.deliveries.openapi import (
    DESCRIPTION,
    NEXT_CURSOR_HEADER,
    QUERY_PARAMETERS,
    document,
    record_schemas,
)
from consumers.deliveries.params import ParameterError, parse_limit
from consumers.deliveries.pull import Puller
from consumers.deliveries.reader import DeliveriesUnavailable
from hub.outage import BrokerWatch

log = logging.getLogger(__name__)

HEALTH_TIMEOUT = 5.0
NO_STORE = {"Cache-Control": "no-store"}
# A derived schema does not depend on the agreement's keys: the docs need no real secret.
_DOCS_SECRET = b"the pull API's docs derive schemas only"


class FieldErrorOut(BaseModel):
    field: str
    message: str


class ProblemOut(BaseModel):
    detail: str
    errors: list[FieldErrorOut] = []


class AgreementOut(BaseModel):
    id: str
    source: str
    purpose: str
    legal_basis: str
    valid_from: dt.date | None
    valid_until: dt.date
    href: str


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A CloudEvents JSON batch, possibly empty (caught up). The cursor to "
        f"continue from is in the `{NEXT_CURSOR_HEADER}` header.",
        "headers": {
            NEXT_CURSOR_HEADER: {
                "description": "Send it as `?cursor=` with the next pull.",
                "schema": {"type": "string"},
            }
        },
        "content": {
            encoding.BATCH_MEDIA_TYPE: {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}}
            }
        },
    },
    400: {
        "model": ProblemOut,
        "description": "A bad `limit`, or a cursor not issued for this "
        "agreement (altered, forged, another agreement's).",
    },
    401: {"model": ProblemOut, "description": "Missing or unknown bearer token."},
    403: {
        "model": ProblemOut,
        "description": "The agreement is another subscriber's, or not valid today.",
    },
    404: {"model": ProblemOut, "description": "No such agreement."},
    503: {"model": ProblemOut, "description": "Broker or registry unavailable; retry later."},
}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status, {**NO_STORE, **(headers or {})}, media_type="application/json"
    )


def _problem(status: int, detail: str, field: str | None = None, **headers: str) -> Response:
    body: dict[str, Any] = {"detail": detail}
    if field is not None:
        body["errors"] = [{"field": field, "message": detail.removeprefix(f"{field}: ")}]
    # keyword arguments cannot hold '-': Retry_After -> Retry-After
    return _json(body, status, {name.replace("_", "-"): v for name, v in headers.items()})


def _unauthorized() -> Response:
    return _problem(
        401,
        "missing or unknown bearer token (Authorization: Bearer <pull token>)",
        WWW_Authenticate="Bearer",
    )


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class _StaticCatalog:
    """A fixed catalog (tests), with the interface of CatalogSource."""

    def __init__(self, catalog: PullCatalog) -> None:
        self._catalog = catalog

    def current(self) -> PullCatalog:
        return self._catalog


def create_app(
    puller: Puller,
    catalog: CatalogSource | PullCatalog,
    *,
    schemas_dir: Path = Path("schemas"),
    metrics: DeliveriesMetrics | None = None,
    today: Callable[[], dt.date] = today_in_hamm,
    manage_lifecycle: bool = False,
) -> FastAPI:
    """The pull API around a ``Puller``. ``catalog``: who may pull what (a ``CatalogSource``
    follows the catalog files). ``schemas_dir``: the contracts, for the record schemas of
    the docs. With ``manage_lifecycle`` the app starts the reader at startup and, after uvicorn
    finished the requests in flight, stops it and closes the registry client; without it
    (tests), the caller owns both."""
    source = _StaticCatalog(catalog) if isinstance(catalog, PullCatalog) else catalog
    metrics = metrics or DeliveriesMetrics()
    # While the broker is away: one line when it goes, one when it is back, counts between.
    broker = getattr(puller.reader, "broker", None) or BrokerWatch("deliveries", log)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await puller.reader.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                log.info("pull API stopping: closing the consumers")
                await puller.reader.stop()
                await puller.registry.aclose()

    app = FastAPI(
        title="Datendrehscheibe pull API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.puller = puller
    app.state.catalog = source

    @app.get(
        "/v1/deliveries/{agreement}",
        responses=_RESPONSES,
        summary="Pull a batch of deliveries of one agreement",
        response_class=Response,
        openapi_extra={"parameters": QUERY_PARAMETERS, "security": [{"bearer": []}]},
    )
    async def pull(agreement: str, request: Request) -> Response:
        started = time.perf_counter()
        catalog = source.current()  # one catalog for the whole request, even across a reload
        subscriber = catalog.authenticate(_bearer(request))
        who = subscriber or "unauthenticated"
        response, served = await _pull(catalog, agreement, request, subscriber)
        # Unbounded label values only from authenticated callers on their own agreements.
        label = agreement if response.status_code not in (401, 403, 404) else "-"
        metrics.requests.labels(who, label, str(response.status_code)).inc()
        metrics.latency.labels(who).observe(time.perf_counter() - started)
        if served is not None:
            metrics.served.labels(who, agreement).inc(served)
            if not served:
                metrics.empty.labels(who, agreement).inc()
        return response

    async def _pull(
        catalog: PullCatalog, agreement_id: str, request: Request, subscriber: str | None
    ) -> tuple[Response, int | None]:
        """The answer, and how many deliveries it hands out (None: an error)."""
        if subscriber is None:
            return _unauthorized(), None
        try:
            agreement = catalog.authorize(subscriber, agreement_id, today())
        except Refusal as refusal:
            return _problem(refusal.status, refusal.detail), None
        params = request.query_params
        try:
            limit = parse_limit(params.get("limit"))
        except ParameterError as exc:
            return _problem(400, str(exc), exc.field), None
        try:
            pulled = await puller.pull(agreement, params.get("cursor"), limit)
        except CursorError as exc:
            return _problem(400, str(exc), "cursor"), None
        except DeliveriesUnavailable as exc:
            watch = getattr(puller.registry, "watch", None)
            if watch is not None and not watch.reachable:
                pass  # the registry's outage: its watch logged it once
            elif not broker.report(exc):  # else counted: the outage is logged once
                log.warning("pull failed", extra={"agreement": agreement_id, "error": str(exc)})
            return _problem(503, str(exc), Retry_After="5"), None
        if pulled.undecodable:
            metrics.undecodable.labels(agreement_id).inc(pulled.undecodable)
        headers = {**NO_STORE, NEXT_CURSOR_HEADER: pulled.cursor}
        body = encoding.batch(pulled.events)
        answer = Response(body, 200, headers, media_type=encoding.BATCH_MEDIA_TYPE)
        return answer, len(pulled.events)

    @app.get(
        "/v1/agreements",
        response_model=list[AgreementOut],
        responses={401: _RESPONSES[401]},
        summary="The agreements this token may pull today",
        openapi_extra={"security": [{"bearer": []}]},
    )
    async def agreements(request: Request) -> Response:
        catalog = source.current()
        subscriber = catalog.authenticate(_bearer(request))
        if subscriber is None:
            return _unauthorized()
        return _json(
            [
                {
                    "id": a.id,
                    "source": a.source,
                    "purpose": a.purpose,
                    "legal_basis": a.legal_basis,
                    "valid_from": a.valid_from.isoformat() if a.valid_from else None,
                    "valid_until": a.valid_until.isoformat(),
                    "href": f"/v1/deliveries/{a.id}",
                }
                for a in catalog.readable(subscriber, today())
            ]
        )

    @app.get("/healthz", summary="Broker and registry reachable")
    async def healthz() -> Response:
        checks = {
            "broker": _check(puller.reader.check()),
            "registry": _check(puller.registry.subjects()),
        }
        results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
        ok = all(v == "ok" for v in results.values())
        return _json({"status": "ok" if ok else "unavailable", **results}, 200 if ok else 503)

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # The document follows the catalog: rebuilt when the catalog or the day changes.
    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        catalog = source.current()
        day = today()
        if cached.get("catalog") is not catalog or cached.get("day") != day:
            base = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            agreements = list(catalog.agreements.values())
            records = record_schemas(agreements, schemas_dir, _DOCS_SECRET)
            cached.update(catalog=catalog, day=day, doc=document(base, agreements, records, day))
        return cached["doc"]

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def _check(awaitable: Any) -> str:
    try:
        await asyncio.wait_for(awaitable, HEALTH_TIMEOUT)
    except Exception as exc:
        return f"unreachable: {exc!r}"
    return "ok"
