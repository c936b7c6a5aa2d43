"""Caching client of a Confluent-compatible schema registry (the hub's own, or Confluent's).

Speaks Confluent's REST API with httpx. Schemas by id never change, so they are cached forever;
ids of (subject, schema) pairs are cached after register/lookup. ``RegistryClient`` is
synchronous, ``AsyncRegistryClient`` the same API for asyncio services; both share the request
and response handling below.

Schema references (Confluent's ``references``: each ``{name, subject, version}`` says which
subject version defines a type the schema names) go with ``register``, ``lookup`` and
``test_compatibility``. What a client hands out is always *standalone*: ``schema_by_id``,
``version``/``latest`` and ``lookup`` fetch every referenced subject version (recursively,
cached: a subject version never changes) and write each referenced type out at its first use
(``hub.schemas.references.inline``), so fastavro and every caller read one self-contained
schema. The text as stored stays on ``RegisteredSchema.raw_schema`` with its ``references``.

Both authenticate with HTTP Basic, as Confluent's clients do with ``basic.auth.user.info``:
``auth`` if given, else credentials in the URL (``http://user:password@host``, Confluent's
``basic.auth.credentials.source=URL``), else ``hub.kafka.registry_credentials()`` (this
process's principal: HUB_KAFKA_USERNAME, else ``principal``, the component's own name). A
registry's 401/403 surfaces as RegistryError with its message.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx
import orjson

from hub.credentials import Credentials
from hub.schemas.references import (
    Reference,
    ReferenceError,
    inline,
    order_dependencies,
    parse_references,
)

if TYPE_CHECKING:
    from hub.outage import RegistryWatch

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_HEADERS = {"Content-Type": CONTENT_TYPE, "Accept": f"{CONTENT_TYPE}, application/json"}


class RegistryError(Exception):
    """The registry answered with an error (or could not be reached: status 0)."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(f"{message} (HTTP {status}, error code {error_code})")
        self.status = status
        self.error_code = error_code
        self.message = message


References = Sequence[Reference | Mapping[str, Any]]
"""``references`` as a caller gives them: ``Reference`` objects or Confluent's JSON objects."""


@dataclass(frozen=True)
class RegisteredSchema:
    """A schema as registered under a subject. ``schema`` is standalone (every referenced type
    written out); ``raw_schema`` the text as stored, naming the types of ``references``."""

    subject: str
    version: int
    id: int
    schema: str
    schema_type: str = "AVRO"
    references: tuple[Reference, ...] = ()
    raw_schema: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not self.raw_schema:  # no references: one form
            object.__setattr__(self, "raw_schema", self.schema)


@dataclass(frozen=True)
class CompatibilityResult:
    is_compatible: bool
    messages: tuple[str, ...] = ()


def schema_text(schema: str | Mapping[str, Any] | list[Any]) -> str:
    """The schema as the JSON string the REST API carries."""
    if isinstance(schema, str):
        return schema
    return orjson.dumps(schema).decode()


def _path(*parts: str | int) -> str:
    return "/" + "/".join(quote(str(p), safe="") for p in parts)


def _check(response: httpx.Response) -> Any:
    if response.status_code < 400:
        return orjson.loads(response.content) if response.content else None
    try:
        body = orjson.loads(response.content)
        code, message = int(body.get("error_code", response.status_code)), body.get("message", "")
    except (orjson.JSONDecodeError, AttributeError, ValueError):
        code, message = response.status_code, response.text[:200]
    raise RegistryError(response.status_code, code, message or response.reason_phrase)


def _registered(body: Mapping[str, Any], standalone: str, references: tuple) -> RegisteredSchema:
    return RegisteredSchema(
        subject=body["subject"],
        version=int(body["version"]),
        id=int(body["id"]),
        schema=standalone,
        schema_type=body.get("schemaType", "AVRO"),
        references=references,
        raw_schema=body["schema"],
    )


def as_references(references: References | None) -> tuple[Reference, ...]:
    """``references`` as ``Reference`` objects (None or [] is none); ValueError if malformed."""
    if not references:
        return ()
    items = [r.to_json() if isinstance(r, Reference) else dict(r) for r in references]
    return parse_references(items)


def _with_references(body: dict[str, Any], references: tuple[Reference, ...]) -> dict[str, Any]:
    # Only when there are some: a registry without reference support reads the rest as before.
    if references:
        body["references"] = [r.to_json() for r in references]
    return body


def _register_request(
    subject: str, schema: str, normalize: bool, references: tuple[Reference, ...] = ()
) -> tuple[str, str, dict, dict]:
    """(method, path, body, params) of a registration; shared by both clients."""
    params = {"normalize": "true"} if normalize else {}
    body = _with_references({"schema": schema}, references)
    return "POST", _path("subjects", subject, "versions"), body, params


def _lookup_request(
    subject: str, schema: str, deleted: bool, references: tuple[Reference, ...] = ()
) -> tuple[str, str, dict, dict]:
    params = {"deleted": "true"} if deleted else {}
    return (
        "POST",
        _path("subjects", subject),
        _with_references({"schema": schema}, references),
        params,
    )


def _compatibility_request(
    subject: str, schema: str, version: int | str, references: tuple[Reference, ...]
) -> tuple[str, str, dict, dict]:
    path = _path("compatibility", "subjects", subject, "versions", version)
    return "POST", path, _with_references({"schema": schema}, references), {"verbose": "true"}


def _version_path(subject: str, version: int | str) -> str:
    return _path("subjects", subject, "versions", "latest" if version == -1 else version)


_Graph = dict[Reference, tuple[str, tuple[Reference, ...]]]
"""Each referenced subject version: its stored text and its own references."""


def _standalone(text: str, references: tuple[Reference, ...], graph: _Graph) -> str:
    """``text`` with every type of ``references`` (and theirs) written out: each referenced
    schema made standalone first, dependencies before the schemas that use them."""
    if not references:
        return text
    needs = {ref: own for ref, (_, own) in graph.items()}
    try:
        ordered = order_dependencies(references, needs)
        done: dict[Reference, Any] = {}
        for ref in ordered:
            raw, own = graph[ref]
            done[ref] = inline(orjson.loads(raw), [done[d] for d in order_dependencies(own, needs)])
        result = inline(orjson.loads(text), [done[r] for r in ordered])
    except (ReferenceError, orjson.JSONDecodeError) as exc:
        raise RegistryError(
            422, 42201, f"the schema's references cannot be resolved: {exc}"
        ) from None
    return orjson.dumps(result).decode()


def _body_references(body: Mapping[str, Any]) -> tuple[Reference, ...]:
    try:
        return parse_references(body.get("references"))
    except ReferenceError as exc:
        raise RegistryError(
            422, 42201, f"the registry answered malformed references: {exc}"
        ) from None


class _Default:
    """``auth`` not given: the process's own registry credential (see module doc)."""

    def __repr__(self) -> str:
        return "DEFAULT_AUTH"


DEFAULT_AUTH: Any = _Default()


def split_userinfo(url: str) -> tuple[str, Credentials | None]:
    """``url`` without ``user:password@``, and that credential (None if the URL has none)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    bare = urlunsplit(parts._replace(netloc=hostport))
    if not username:
        return bare, None
    return bare, Credentials(unquote(username), unquote(password))


@dataclass(frozen=True)
class _Auth:
    """What a client sends; ``missing`` says why it sends nothing (for a 401's message)."""

    headers: dict[str, str] | None  # the Authorization header, per request: any httpx client
    principal: str | None
    missing: str = ""

    def __repr__(self) -> str:
        return f"_Auth(principal={self.principal!r})"


def _resolve_auth(
    url: str, auth: Credentials | None, principal: str | None = None
) -> tuple[str, _Auth]:
    """The URL to show (never with a password) and the auth to send."""
    bare, from_url = split_userinfo(url)
    chosen = auth if isinstance(auth, Credentials) else from_url
    missing = ""
    if chosen is None and auth is DEFAULT_AUTH:
        chosen, missing = _default_credentials(principal)
    elif chosen is None:
        missing = "none was given (auth=None)"
    if chosen is None:
        return bare.rstrip("/"), _Auth(None, None, missing)
    token = base64.b64encode(f"{chosen.username}:{chosen.password}".encode()).decode("ascii")
    return bare.rstrip("/"), _Auth({"Authorization": f"Basic {token}"}, chosen.username)


def _default_credentials(principal: str | None) -> tuple[Credentials | None, str]:
    # Never fail construction over credentials: the registry's 401 then says what is missing.
    from hub.credentials import CredentialsError
    from hub.kafka import registry_credentials
    from hub.settings import SettingsError

    try:
        found = registry_credentials(principal=principal)
    except (CredentialsError, SettingsError) as exc:
        return None, str(exc)
    if found is None:
        return None, "no registry credential is configured (an insecure broker)"
    return found, ""


def _explain(error: RegistryError, auth: _Auth) -> RegistryError:
    """A 401 or 403 says who this client is (or why it sent no credential)."""
    if error.status == 401 and auth.headers is None:
        hint = f"this client sent no credential: {auth.missing}"
        return RegistryError(error.status, error.error_code, f"{error.message} ({hint})")
    if error.status in (401, 403) and auth.principal is not None:
        who = f"sent as the principal {auth.principal}"
        if auth.principal not in error.message:
            return RegistryError(error.status, error.error_code, f"{error.message} ({who})")
    return error


class _Cache:
    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}  # id -> standalone text
        self.ids: dict[tuple[str, str, tuple[Reference, ...]], int] = {}
        self.referenced: dict[tuple[str, int], tuple[str, tuple[Reference, ...]]] = {}

    def referenced_version(self, ref: Reference) -> tuple[str, tuple[Reference, ...]] | None:
        return self.referenced.get((ref.subject, ref.version)) if ref.version > 0 else None

    def keep_referenced(self, ref: Reference, body: Mapping[str, Any]) -> tuple:
        found = (body["schema"], _body_references(body))
        if ref.version > 0:  # -1 (latest) may change
            self.referenced[(ref.subject, ref.version)] = found
        return found


class RegistryClient:
    """Synchronous caching registry client. ``with RegistryClient(url) as client: ...``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        auth: Credentials | None = DEFAULT_AUTH,
        principal: str | None = None,
    ):
        self.url, self._auth = _resolve_auth(url, auth, principal)
        self._http = client or httpx.Client(base_url=self.url, timeout=timeout, headers=_HEADERS)
        self._cache = _Cache()

    @property
    def principal(self) -> str | None:
        """Whom this client authenticates as (None: it sends no credential)."""
        return self._auth.principal

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        try:
            response = self._http.request(
                method,
                path,
                content=None if body is None else orjson.dumps(body),
                params=params,
                headers=self._auth.headers,
            )
        except httpx.HTTPError as exc:
            raise RegistryError(0, 0, f"registry {self.url} unreachable: {exc}") from exc
        try:
            return _check(response)
        except RegistryError as exc:
            raise _explain(exc, self._auth) from None

    def register(
        self,
        subject: str,
        schema: Any,
        *,
        references: References | None = None,
        normalize: bool = False,
    ) -> int:
        """Register ``schema`` under ``subject`` (or find it registered); returns its id."""
        text, refs = schema_text(schema), as_references(references)
        cached = self._cache.ids.get((subject, text, refs))
        if cached is not None:
            return cached
        schema_id = int(self._call(*_register_request(subject, text, normalize, refs))["id"])
        self._cache.ids[(subject, text, refs)] = schema_id
        if not refs:  # the text is standalone: it is what schema_by_id answers
            self._cache.schemas.setdefault(schema_id, text)
        return schema_id

    def lookup(
        self,
        subject: str,
        schema: Any,
        *,
        references: References | None = None,
        deleted: bool = False,
    ) -> RegisteredSchema:
        """The registration of ``schema`` (with ``references``) under ``subject``;
        RegistryError 40401/40403 if none."""
        text, refs = schema_text(schema), as_references(references)
        body = self._call(*_lookup_request(subject, text, deleted, refs))
        found = self._registered(body, _body_references(body) or refs)
        self._cache.ids[(subject, text, refs)] = found.id
        return found

    def schema_by_id(self, schema_id: int) -> str:
        """The standalone schema string of a global id (cached forever: ids are immutable)."""
        cached = self._cache.schemas.get(schema_id)
        if cached is None:
            body = self._call("GET", _path("schemas", "ids", schema_id))
            cached = self._resolve(body["schema"], _body_references(body))
            self._cache.schemas[schema_id] = cached
        return cached

    def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema:
        """A version of ``subject`` (``"latest"`` by default), its schema standalone."""
        body = self._call("GET", _version_path(subject, version))
        return self._registered(body, _body_references(body))

    def latest(self, subject: str) -> RegisteredSchema:
        return self.version(subject, "latest")

    def _registered(
        self, body: Mapping[str, Any], references: tuple[Reference, ...]
    ) -> RegisteredSchema:
        standalone = self._cache.schemas.get(int(body["id"]))
        if standalone is None:
            standalone = self._resolve(body["schema"], references)
            self._cache.schemas[int(body["id"])] = standalone
        return _registered(body, standalone, references)

    def _resolve(self, text: str, references: tuple[Reference, ...]) -> str:
        """Fetch what ``references`` reach (each subject version once), then inline."""
        graph: _Graph = {}
        pending = list(references)
        while pending:
            ref = pending.pop()
            if ref in graph:
                continue
            found = self._cache.referenced_version(ref)
            if found is None:
                found = self._cache.keep_referenced(
                    ref, self._call("GET", _version_path(ref.subject, ref.version))
                )
            graph[ref] = found
            pending.extend(found[1])
        return _standalone(text, references, graph)

    def subjects(self) -> list[str]:
        return self._call("GET", "/subjects")

    def versions(self, subject: str) -> list[int]:
        return self._call("GET", _path("subjects", subject, "versions"))

    def compatibility(self, subject: str | None = None) -> str:
        """Compatibility level of ``subject`` (falling back to global) or the global one."""
        path = "/config" if subject is None else _path("config", subject)
        params = None if subject is None else {"defaultToGlobal": "true"}
        return self._call("GET", path, params=params)["compatibilityLevel"]

    def subject_compatibility(self, subject: str) -> str | None:
        """The level configured for ``subject`` itself; None if it has none (40408)."""
        try:
            return self._call("GET", _path("config", subject))["compatibilityLevel"]
        except RegistryError as exc:
            if exc.error_code == 40408:
                return None
            raise

    def set_compatibility(self, level: str, subject: str | None = None) -> str:
        path = "/config" if subject is None else _path("config", subject)
        return self._call("PUT", path, {"compatibility": level})["compatibility"]

    def test_compatibility(
        self,
        subject: str,
        schema: Any,
        version: int | str = "latest",
        *,
        references: References | None = None,
    ) -> CompatibilityResult:
        request = _compatibility_request(
            subject, schema_text(schema), version, as_references(references)
        )
        body = self._call(*request)
        return CompatibilityResult(body["is_compatible"], tuple(body.get("messages") or ()))

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        params = {"permanent": "true"} if permanent else None
        return self._call("DELETE", _path("subjects", subject), params=params)


class AsyncRegistryClient:
    """The asyncio twin of ``RegistryClient`` for services: register, lookup, schema_by_id,
    version/latest, test_compatibility, subjects, set_compatibility (awaitable, same caching
    and reference resolution)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        auth: Credentials | None = DEFAULT_AUTH,
        principal: str | None = None,
        watch: RegistryWatch | None = None,
    ) -> None:
        self.url, self._auth = _resolve_auth(url, auth, principal)
        self._http = client or httpx.AsyncClient(
            base_url=self.url, timeout=timeout, headers=_HEADERS
        )
        self._cache = _Cache()
        # A service's outage lines: the first failed request and the first answer after it.
        self.watch = watch

    @property
    def principal(self) -> str | None:
        """Whom this client authenticates as (None: it sends no credential)."""
        return self._auth.principal

    async def __aenter__(self) -> AsyncRegistryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        try:
            response = await self._http.request(
                method,
                path,
                content=None if body is None else orjson.dumps(body),
                params=params,
                headers=self._auth.headers,
            )
        except httpx.HTTPError as exc:
            error = RegistryError(0, 0, f"registry {self.url} unreachable: {exc}")
            if self.watch is not None:
                self.watch.failed(error)
            raise error from exc
        if self.watch is not None:
            if response.status_code >= 500:
                self.watch.failed(f"registry {self.url}: HTTP {response.status_code}")
            else:
                self.watch.ok()
        try:
            return _check(response)
        except RegistryError as exc:
            raise _explain(exc, self._auth) from None

    async def register(
        self,
        subject: str,
        schema: Any,
        *,
        references: References | None = None,
        normalize: bool = False,
    ) -> int:
        text, refs = schema_text(schema), as_references(references)
        cached = self._cache.ids.get((subject, text, refs))
        if cached is not None:
            return cached
        request = _register_request(subject, text, normalize, refs)
        schema_id = int((await self._call(*request))["id"])
        self._cache.ids[(subject, text, refs)] = schema_id
        if not refs:
            self._cache.schemas.setdefault(schema_id, text)
        return schema_id

    async def lookup(
        self,
        subject: str,
        schema: Any,
        *,
        references: References | None = None,
        deleted: bool = False,
    ) -> RegisteredSchema:
        text, refs = schema_text(schema), as_references(references)
        body = await self._call(*_lookup_request(subject, text, deleted, refs))
        found = await self._registered(body, _body_references(body) or refs)
        self._cache.ids[(subject, text, refs)] = found.id
        return found

    async def schema_by_id(self, schema_id: int) -> str:
        cached = self._cache.schemas.get(schema_id)
        if cached is None:
            body = await self._call("GET", _path("schemas", "ids", schema_id))
            cached = await self._resolve(body["schema"], _body_references(body))
            self._cache.schemas[schema_id] = cached
        return cached

    def cached_schema(self, schema_id: int) -> str | None:
        """The schema of ``schema_id`` if already fetched (for a sync ``AvroSerde`` source)."""
        return self._cache.schemas.get(schema_id)

    async def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema:
        body = await self._call("GET", _version_path(subject, version))
        return await self._registered(body, _body_references(body))

    async def latest(self, subject: str) -> RegisteredSchema:
        return await self.version(subject, "latest")

    async def test_compatibility(
        self,
        subject: str,
        schema: Any,
        version: int | str = "latest",
        *,
        references: References | None = None,
    ) -> CompatibilityResult:
        request = _compatibility_request(
            subject, schema_text(schema), version, as_references(references)
        )
        body = await self._call(*request)
        return CompatibilityResult(body["is_compatible"], tuple(body.get("messages") or ()))

    async def _registered(
        self, body: Mapping[str, Any], references: tuple[Reference, ...]
    ) -> RegisteredSchema:
        standalone = self._cache.schemas.get(int(body["id"]))
        if standalone is None:
            standalone = await self._resolve(body["schema"], references)
            self._cache.schemas[int(body["id"])] = standalone
        return _registered(body, standalone, references)

    async def _resolve(self, text: str, references: tuple[Reference, ...]) -> str:
        graph: _Graph = {}
        pending = list(references)
        while pending:
            ref = pending.pop()
            if ref in graph:
                continue
            found = self._cache.referenced_version(ref)
            if found is None:
                body = await self._call("GET", _version_path(ref.subject, ref.version))
                found = self._cache.keep_referenced(ref, body)
            graph[ref] = found
            pending.extend(found[1])
        return _standalone(text, references, graph)

    async def subjects(self) -> list[str]:
        return await self._call("GET", "/subjects")

    async def set_compatibility(self, level: str, subject: str | None = None) -> str:
        path = "/config" if subject is None else _path("config", subject)
        return (await self._call("PUT", path, {"compatibility": level}))["compatibility"]
