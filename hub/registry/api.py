"""HTTP layer: Confluent Schema Registry's REST API over a ``Registry``.

Handlers take the raw request and answer orjson bytes with Confluent's content type; no pydantic
models on the hot path (lookups must be cheap). Errors answer
``{"error_code": ..., "message": ...}`` with Confluent's status codes.

With an ``Authenticator`` every route but ``/metrics`` and ``/healthz`` asks for HTTP Basic
credentials (401 without) and is authorized by ``access.authorize`` (403); the check is part of
each route (``_GuardedRoute``), so no route can be added without it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.access.principals import Principals
from hub.registry import errors
from hub.registry.access import Action, action_of, authorize
from hub.registry.auth import Authenticator, IdentityProviderUnavailable, parse_basic
from hub.registry.errors import ContractViolation, RegistryError
from hub.registry.service import Registry, version_body

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
log = logging.getLogger(__name__)


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=CONTENT_TYPE)


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RegistryError(400, 400, f"Unrecognized JSON in the request body: {exc}") from None


class Metrics:
    """Prometheus metrics of one app (own CollectorRegistry: several apps may share a process)."""

    def __init__(self, registry: Registry) -> None:
        self.collector = CollectorRegistry()
        self.requests = Counter(
            "registry_requests",
            "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=self.collector,
        )
        schemas = Gauge("registry_schemas", "Schema ids known", registry=self.collector)
        schemas.set_function(lambda: len(registry.state.schemas))
        subjects = Gauge(
            "registry_subjects", "Subjects with a live version", registry=self.collector
        )
        subjects.set_function(lambda: len(registry.state.subject_names()))
        self.denials = Counter(
            "registry_denials",
            "Requests refused: reason no-credentials or bad-credentials (401), forbidden (403)",
            ["reason", "action"],
            registry=self.collector,
        )
        self.contract_rejections = Counter(
            "registry_contract_rejections",
            "Registrations under raw subjects refused for a field without doc or x-pii (422)",
            registry=self.collector,
        )
        self._children: dict[tuple[str, str, int], Any] = {}

    def count(self, endpoint: str, method: str, status: int) -> None:
        key = (endpoint, method, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(endpoint, method, str(status))
        child.inc()


class _Observe:
    """ASGI middleware: count every request by route template and status; log slow/failed ones."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            self.metrics.count(endpoint, scope["method"], status)
            if status >= 500:
                log.warning(
                    "request failed",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )


class Guard:
    """Authentication and authorization of requests; ``authenticator`` None: an open registry
    (no principals to know: every request is allowed)."""

    def __init__(
        self, authenticator: Authenticator | None, principals: Principals, metrics: Metrics
    ) -> None:
        self.authenticator = authenticator
        self.principals = principals
        self.metrics = metrics

    async def principal(self, request: Request, action: Action) -> str:
        """The authenticated principal of ``request``; 401 or 503 otherwise."""
        assert self.authenticator is not None
        header = request.headers.get("authorization")
        credentials = parse_basic(header)
        if credentials is None:
            self.metrics.denials.labels("no-credentials", action.value).inc()
            raise errors.unauthorized(
                "send the principal's Kafka credential as HTTP Basic (basic.auth.user.info="
                "<principal>:<password>)"
                if header is None
                else "the Authorization header is not HTTP Basic <principal>:<password>"
            )
        try:
            verified = await self.authenticator.verify(credentials.username, credentials.password)
        except IdentityProviderUnavailable as exc:
            log.warning(
                "cannot verify a registry credential",
                extra={"principal": credentials.username, "reason": str(exc)},
            )
            raise errors.identity_provider_unavailable(str(exc)) from None
        if not verified:
            self.metrics.denials.labels("bad-credentials", action.value).inc()
            raise errors.unauthorized(
                f"Kafka refused the credential of the principal {credentials.username}"
            )
        return credentials.username

    async def check(self, request: Request, action: Action) -> None:
        if self.authenticator is None:
            return
        principal = await self.principal(request, action)
        if action is Action.READ:
            return
        subject = request.path_params.get("subject")
        decision = authorize(principal, action, subject, self.principals)
        if not decision.allowed:
            self.metrics.denials.labels("forbidden", action.value).inc()
            log.warning(
                "registry request forbidden",
                extra={"principal": principal, "action": action.value, "subject": subject},
            )
            raise errors.forbidden(decision.reason)


def _guarded_route(guard: Guard) -> type[APIRoute]:
    class _GuardedRoute(APIRoute):
        """A route whose handler first authenticates and authorizes (its action is fixed by
        method and path, at startup)."""

        def get_route_handler(self) -> Any:
            handler = super().get_route_handler()
            (method,) = self.methods  # one method a route: see the decorators below
            action = action_of(method, self.path)
            if action is Action.OPEN:
                return handler

            async def guarded(request: Request) -> Response:
                await guard.check(request, action)
                return await handler(request)

            return guarded

    return _GuardedRoute


def create_app(
    registry: Registry,
    *,
    authenticator: Authenticator | None = None,
    principals: Principals | None = None,
) -> FastAPI:
    """The REST API of ``registry`` as an ASGI app; with ``authenticator``, only for
    authenticated principals, each allowed what ``principals`` implies."""
    app = FastAPI(title="Datendrehscheibe schema registry", docs_url=None, redoc_url=None)
    metrics = Metrics(registry)
    guard = Guard(authenticator, principals or Principals({}, {}), metrics)
    app.router.route_class = _guarded_route(guard)
    app.state.registry = registry
    app.state.metrics = metrics
    app.state.guard = guard
    app.add_middleware(_Observe, metrics=metrics)

    @app.exception_handler(RegistryError)
    async def registry_error(_: Request, exc: RegistryError) -> Response:
        response = _json({"error_code": exc.error_code, "message": exc.message}, exc.status)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return _json({"error_code": exc.status_code, "message": str(exc.detail)}, exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", extra={"path": request.url.path})
        return _json(
            {"error_code": 50001, "message": f"Error in the backend data store: {exc}"}, 500
        )

    # Routes are matched in order: the hot paths of producers and consumers come first.
    @app.post("/subjects/{subject}")
    async def lookup(subject: str, request: Request) -> Response:
        held = registry.lookup(subject, await _body(request), deleted=_flag(request, "deleted"))
        return _json(version_body(held))

    # --- schemas by id ---

    @app.get("/schemas/ids/{schema_id}")
    async def schema_by_id(schema_id: int) -> Response:
        held = registry.schema(schema_id)
        body: dict[str, Any] = {"schema": held.schema}
        if held.schema_type != "AVRO":
            body["schemaType"] = held.schema_type
        return _json(body)

    @app.get("/schemas/ids/{schema_id}/schema")
    async def schema_text_by_id(schema_id: int) -> Response:
        return Response(registry.schema(schema_id).schema, media_type=CONTENT_TYPE)

    @app.get("/schemas/ids/{schema_id}/subjects")
    async def schema_subjects(schema_id: int, request: Request) -> Response:
        return _json(registry.schema_subjects(schema_id, deleted=_flag(request, "deleted")))

    @app.get("/schemas/ids/{schema_id}/versions")
    async def schema_versions(schema_id: int, request: Request) -> Response:
        return _json(registry.schema_versions(schema_id, deleted=_flag(request, "deleted")))

    @app.get("/")
    async def root() -> Response:
        return _json({})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.collector), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    async def healthz() -> Response:
        return _json({"status": "ok", "schemas": len(registry.state.schemas)})

    @app.get("/schemas/types")
    async def schema_types() -> Response:
        return _json(["AVRO"])

    # --- subjects ---

    @app.get("/subjects")
    async def list_subjects(request: Request) -> Response:
        prefix = request.query_params.get("subjectPrefix", "")
        return _json(registry.subjects(deleted=_flag(request, "deleted"), prefix=prefix))

    @app.get("/subjects/{subject}/versions")
    async def list_versions(subject: str, request: Request) -> Response:
        return _json(registry.versions(subject, deleted=_flag(request, "deleted")))

    @app.post("/subjects/{subject}/versions")
    async def register(subject: str, request: Request) -> Response:
        try:
            return _json({"id": await registry.register(subject, await _body(request))})
        except ContractViolation:
            metrics.contract_rejections.inc()
            raise

    @app.get("/subjects/{subject}/versions/{version}")
    async def get_version(subject: str, version: str, request: Request) -> Response:
        held = registry.version(subject, version, deleted=_flag(request, "deleted"))
        return _json(version_body(held))

    @app.get("/subjects/{subject}/versions/{version}/schema")
    async def get_version_schema(subject: str, version: str, request: Request) -> Response:
        held = registry.version(subject, version, deleted=_flag(request, "deleted"))
        return Response(held.schema, media_type=CONTENT_TYPE)

    @app.get("/subjects/{subject}/versions/{version}/referencedby")
    async def referenced_by(subject: str, version: str, request: Request) -> Response:
        registry.version(subject, version, deleted=_flag(request, "deleted"))
        return _json([])  # references are not supported, so nothing refers to a version

    @app.delete("/subjects/{subject}")
    async def delete_subject(subject: str, request: Request) -> Response:
        permanent = _flag(request, "permanent")
        return _json(await registry.delete_subject(subject, permanent=permanent))

    @app.delete("/subjects/{subject}/versions/{version}")
    async def delete_version(subject: str, version: str, request: Request) -> Response:
        permanent = _flag(request, "permanent")
        return _json(await registry.delete_version(subject, version, permanent=permanent))

    # --- compatibility ---

    async def _compatibility(subject: str, version: str | None, request: Request) -> Response:
        body = await _body(request)
        compatible, messages = registry.test_compatibility(subject, version, body)
        answer: dict[str, Any] = {"is_compatible": compatible}
        if _flag(request, "verbose"):
            answer["messages"] = messages
        return _json(answer)

    @app.post("/compatibility/subjects/{subject}/versions/{version}")
    async def compatibility_with_version(subject: str, version: str, request: Request) -> Response:
        return await _compatibility(subject, version, request)

    @app.post("/compatibility/subjects/{subject}/versions")
    async def compatibility_with_all(subject: str, request: Request) -> Response:
        return await _compatibility(subject, None, request)

    # --- config and mode ---

    @app.get("/config")
    async def get_global_config() -> Response:
        return _json({"compatibilityLevel": registry.compatibility(None)})

    @app.put("/config")
    async def put_global_config(request: Request) -> Response:
        return _json(
            {"compatibility": await registry.set_compatibility(None, await _body(request))}
        )

    @app.delete("/config")
    async def delete_global_config() -> Response:
        return _json({"compatibilityLevel": await registry.delete_compatibility(None)})

    @app.get("/config/{subject}")
    async def get_subject_config(subject: str, request: Request) -> Response:
        default = _flag(request, "defaultToGlobal")
        level = registry.subject_compatibility(subject, default_to_global=default)
        return _json({"compatibilityLevel": level})

    @app.put("/config/{subject}")
    async def put_subject_config(subject: str, request: Request) -> Response:
        level = await registry.set_compatibility(subject, await _body(request))
        return _json({"compatibility": level})

    @app.delete("/config/{subject}")
    async def delete_subject_config(subject: str) -> Response:
        return _json({"compatibilityLevel": await registry.delete_compatibility(subject)})

    @app.get("/mode")
    async def get_mode() -> Response:
        return _json({"mode": registry.mode(None)})

    @app.put("/mode")
    async def put_mode(request: Request) -> Response:
        return _json({"mode": await registry.set_mode(None, await _body(request))})

    @app.get("/mode/{subject}")
    async def get_subject_mode(subject: str) -> Response:
        return _json({"mode": registry.mode(subject)})

    @app.put("/mode/{subject}")
    async def put_subject_mode(subject: str, request: Request) -> Response:
        return _json({"mode": await registry.set_mode(subject, await _body(request))})

    return app
