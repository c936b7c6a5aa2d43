"""HTTP layer: Confluent Schema Registry's REST API over a ``Registry``.

Handlers take the raw request and answer orjson bytes; no pydantic models on the hot path
(lookups must be cheap). Errors answer ``{"error_code": ..., "message": ...}`` with Confluent's
status codes. Content types are negotiated as Confluent does (``media``): 406 for an Accept the
registry cannot answer, 415 for a body it does not read.

Subjects may hold any character but control characters, ``/`` included: routing works on the
encoded path (``/subjects/a%2Fb/versions`` is the subject ``a/b``), as in Confluent.

With an ``Authenticator`` every route but ``/metrics`` and ``/healthz`` asks for HTTP Basic
credentials (401 without) and is authorized by ``access.authorize`` (403); the check is part of
each route (``_GuardedRoute``), so no route can be added without it.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import unquote

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hub import outage
from hub.access.principals import Principals
from hub.outage import BrokerWatch
from hub.registry import errors, media
from hub.registry.access import Action, action_of, authorize
from hub.registry.auth import Authenticator, IdentityProviderUnavailable, parse_basic
from hub.registry.errors import ContractViolation, RegistryError
from hub.registry.openapi import openapi_document
from hub.registry.service import Registry, schema_body, valid_subject, version_body

CONTENT_TYPE = media.V1
log = logging.getLogger(__name__)
_STATUS_REASONS = {404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable"}
_STATUS_REASONS[415] = "Unsupported Media Type"


class _SubjectConvertor(Convertor):
    """A path segment as the client encoded it: ``_EncodedPaths`` keeps ``%2F`` and ``%25``
    escaped inside a segment, so a subject with a slash stays one segment."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value.replace("%2F", "/").replace("%25", "%")

    def to_string(self, value: str) -> str:
        return value.replace("%", "%25").replace("/", "%2F")


register_url_convertor("segment", _SubjectConvertor())


def _escape_segment(segment: str) -> str:
    return unquote(segment).replace("%", "%25").replace("/", "%2F")


class _EncodedPaths:
    """ASGI middleware: route on the encoded path. The server decodes ``%2F`` to ``/`` before
    routing, which would split a subject ``a/b`` into two segments; rebuilt from ``raw_path``,
    each segment is decoded on its own (``segment`` convertor)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and b"%" in raw:
            path = raw.split(b"?", 1)[0].decode("latin-1")
            scope = {**scope, "path": "/".join(map(_escape_segment, path.split("/")))}
        await self.app(scope, receive, send)


def _methods_of(app: FastAPI, scope: dict) -> list[str]:
    methods: set[str] = set()
    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.matches(scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=CONTENT_TYPE)


def _error(exc: RegistryError, media_type: str = CONTENT_TYPE) -> Response:
    body = orjson.dumps({"error_code": exc.error_code, "message": exc.message})
    response = Response(body, status_code=exc.status, media_type=media_type)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _flag(request: Request, name: str) -> bool:
    values = request.query_params.getlist(name)
    if not values:
        return False
    if len(values) > 1:
        raise RegistryError(400, 400, f"query parameter {name} is given more than once")
    lowered = values[0].lower()
    if lowered not in ("true", "false"):
        raise RegistryError(400, 400, f"query parameter {name} must be true or false")
    return lowered == "true"


def _int(
    request: Request, name: str, default: int, minimum: int = -(2**31), maximum: int = 2**31 - 1
) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise RegistryError(400, 400, f"query parameter {name} must be an integer") from None
    if not minimum <= number <= maximum:
        raise RegistryError(
            400, 400, f"query parameter {name} must be between {minimum} and {maximum}"
        )
    return number


def _check_subject(subject: str) -> None:
    if not valid_subject(subject):
        raise errors.invalid_subject(subject)


def _schema_id(text: str) -> int:
    """A schema id path parameter; not an integer is 404, as Jersey answers it."""
    try:
        return int(text)
    except ValueError:
        raise errors.http_error(404, "Not Found") from None


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
        outage.expose(self.collector)  # hub_broker_up{service="registry"} and its kin
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

    def __init__(self, app: Any, metrics: Metrics, broker: BrokerWatch | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.broker = broker  # while it is away, failures are counted, not each logged

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
            endpoint = getattr(route, "path_format", None) or "unmatched"
            self.metrics.count(endpoint, scope["method"], status)
            if status >= 500 and (self.broker is None or self.broker.reachable):
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
            action = action_of(method, self.path_format)
            if action is Action.OPEN:
                return handler
            reads_body = method in ("POST", "PUT")

            async def guarded(request: Request) -> Response:
                chosen = media.choose_response_type(request.headers.get("accept"))
                if chosen is None:
                    return _error(errors.http_error(406, "Not Acceptable"))
                try:
                    if reads_body and not media.acceptable_body(
                        request.headers.get("content-type")
                    ):
                        raise errors.http_error(415, "Unsupported Media Type")
                    subject = request.path_params.get("subject")
                    if subject is not None and not valid_subject(subject):
                        # No such subject can exist: writing one is 42208, reading it 40401.
                        if reads_body and action is not Action.READ:
                            raise errors.invalid_subject(subject)
                        raise errors.subject_not_found(subject)
                    await guard.check(request, action)
                    response = await handler(request)
                except RegistryError as exc:
                    return _error(exc, chosen)
                if response.media_type == CONTENT_TYPE and chosen != CONTENT_TYPE:
                    response.headers["content-type"] = chosen
                return response

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
    app = FastAPI(
        title="Datendrehscheibe schema registry", docs_url=None, redoc_url=None, openapi_url=None
    )
    metrics = Metrics(registry)
    guard = Guard(authenticator, principals or Principals({}, {}), metrics)
    app.router.route_class = _guarded_route(guard)
    app.state.registry = registry
    app.state.metrics = metrics
    app.state.guard = guard
    app.add_middleware(_Observe, metrics=metrics, broker=getattr(registry.log, "broker", None))
    app.add_middleware(_EncodedPaths)

    @app.exception_handler(RegistryError)
    async def registry_error(_: Request, exc: RegistryError) -> Response:
        return _error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        reason = _STATUS_REASONS.get(exc.status_code, str(exc.detail))
        message = f"HTTP {exc.status_code} {reason}"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Each route holds one method: list every method any route of this path has.
            headers["Allow"] = ", ".join(_methods_of(app, request.scope))
        return _error(RegistryError(exc.status_code, exc.status_code, message, headers))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        return _error(RegistryError(422, 422, f"Unprocessable request: {exc.errors()}"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", extra={"path": request.url.path})
        return _json(
            {"error_code": 50001, "message": f"Error in the backend data store: {exc}"}, 500
        )

    # Routes are matched in order: the hot paths of producers and consumers come first.
    @app.post("/subjects/{subject:segment}")
    async def lookup(subject: str, request: Request) -> Response:
        held = registry.lookup(subject, await _body(request), deleted=_flag(request, "deleted"))
        return _json(version_body(held))

    # --- schemas by id ---

    @app.get("/schemas/ids/{schema_id}")
    async def schema_by_id(schema_id: str, request: Request) -> Response:
        body = schema_body(registry.schema(_schema_id(schema_id)))
        if _flag(request, "fetchMaxId"):
            body["maxId"] = registry.state.max_id
        return _json(body)

    @app.get("/schemas/ids/{schema_id}/schema")
    async def schema_text_by_id(schema_id: str) -> Response:
        return Response(registry.schema(_schema_id(schema_id)).schema, media_type=CONTENT_TYPE)

    @app.get("/schemas/ids/{schema_id}/subjects")
    async def schema_subjects(schema_id: str, request: Request) -> Response:
        found = registry.schema_subjects(_schema_id(schema_id), deleted=_flag(request, "deleted"))
        only = request.query_params.get("subject")
        return _json([s for s in found if only is None or s == only])

    @app.get("/schemas/ids/{schema_id}/versions")
    async def schema_versions(schema_id: str, request: Request) -> Response:
        found = registry.schema_versions(_schema_id(schema_id), deleted=_flag(request, "deleted"))
        only = request.query_params.get("subject")
        return _json([v for v in found if only is None or v["subject"] == only])

    @app.get("/schemas")
    async def list_schemas(request: Request) -> Response:
        found = registry.schemas(
            prefix=request.query_params.get("subjectPrefix", ""),
            deleted=_flag(request, "deleted"),
            latest_only=_flag(request, "latestOnly"),
            offset=_int(request, "offset", 0, minimum=0),
            limit=_int(request, "limit", -1),
        )
        return _json([version_body(v) for v in found])

    @app.get("/")
    async def root() -> Response:
        return _json({})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.collector), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json")
    async def openapi() -> Response:
        return Response(orjson.dumps(openapi_document()), media_type="application/json")

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

    @app.get("/subjects/{subject:segment}/versions/{version}/referencedby")
    async def referenced_by(subject: str, version: str) -> Response:
        return _json(registry.referenced_by(subject, version))

    @app.get("/subjects/{subject:segment}/versions")
    async def list_versions(subject: str, request: Request) -> Response:
        return _json(registry.versions(subject, deleted=_flag(request, "deleted")))

    @app.post("/subjects/{subject:segment}/versions")
    async def register(subject: str, request: Request) -> Response:
        try:
            return _json({"id": await registry.register(subject, await _body(request))})
        except ContractViolation:
            metrics.contract_rejections.inc()
            raise

    @app.get("/subjects/{subject:segment}/versions/{version}")
    async def get_version(subject: str, version: str, request: Request) -> Response:
        held = registry.version(subject, version, deleted=_flag(request, "deleted"))
        return _json(version_body(held))

    @app.get("/subjects/{subject:segment}/versions/{version}/schema")
    async def get_version_schema(subject: str, version: str, request: Request) -> Response:
        held = registry.version(subject, version, deleted=_flag(request, "deleted"))
        return Response(held.schema, media_type=CONTENT_TYPE)

    @app.delete("/subjects/{subject:segment}")
    async def delete_subject(subject: str, request: Request) -> Response:
        permanent = _flag(request, "permanent")
        return _json(await registry.delete_subject(subject, permanent=permanent))

    @app.delete("/subjects/{subject:segment}/versions/{version}")
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

    @app.post("/compatibility/subjects/{subject:segment}/versions/{version}")
    async def compatibility_with_version(subject: str, version: str, request: Request) -> Response:
        return await _compatibility(subject, version, request)

    @app.post("/compatibility/subjects/{subject:segment}/versions")
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

    @app.get("/config/{subject:segment}")
    async def get_subject_config(subject: str, request: Request) -> Response:
        default = _flag(request, "defaultToGlobal")
        level = registry.subject_compatibility(subject, default_to_global=default)
        return _json({"compatibilityLevel": level})

    @app.put("/config/{subject:segment}")
    async def put_subject_config(subject: str, request: Request) -> Response:
        _check_subject(subject)
        level = await registry.set_compatibility(subject, await _body(request))
        return _json({"compatibility": level})

    @app.delete("/config/{subject:segment}")
    async def delete_subject_config(subject: str) -> Response:
        return _json({"compatibilityLevel": await registry.delete_compatibility(subject)})

    @app.get("/mode")
    async def get_mode() -> Response:
        return _json({"mode": registry.mode(None)})

    @app.put("/mode")
    async def put_mode(request: Request) -> Response:
        return _json({"mode": await registry.set_mode(None, await _body(request))})

    @app.get("/mode/{subject:segment}")
    async def get_subject_mode(subject: str, request: Request) -> Response:
        default = _flag(request, "defaultToGlobal")
        return _json({"mode": registry.subject_mode(subject, default_to_global=default)})

    @app.delete("/mode/{subject:segment}")
    async def delete_subject_mode(subject: str) -> Response:
        return _json({"mode": await registry.delete_mode(subject)})

    @app.put("/mode/{subject:segment}")
    async def put_subject_mode(subject: str, request: Request) -> Response:
        _check_subject(subject)
        return _json({"mode": await registry.set_mode(subject, await _body(request))})

    return app
