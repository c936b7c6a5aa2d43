"""The portal's HTTP app: public pages, staff pages behind a login, their JSON twins, the DCAT
catalog, /metrics and /healthz. Each page is a function of ``pages`` rendered by a template."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from portal import auskunft, dcat, pages
from portal.audit import CITY_TZ
from portal.glossary import link_terms
from portal.live import Live, LiveState
from portal.metrics import PortalMetrics
from portal.pdf import html_pdf, record_pdf
from portal.sessions import (
    CSRF_FIELD,
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    LoginLimiter,
    Session,
    SessionCodec,
)

log = logging.getLogger("hub.portal")
HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
PUBLIC_NAV = (
    ("/", "Start"),
    ("/datensaetze", "Datensätze"),
    ("/qualitaet", "Datenqualität"),
    ("/vereinbarungen", "Vereinbarungen"),
    ("/datenfluesse", "Datenflüsse"),
    ("/wissen", "Wissen"),
    ("/verarbeitungsverzeichnis", "Verarbeitungsverzeichnis"),
)
STAFF_NAV = (
    ("/intern/audit", "Protokoll"),
    ("/intern/schemaaenderungen", "Schemaänderungen"),
    ("/intern/unzustellbar", "Unzustellbare Nachrichten"),
    ("/intern/lagebild", "Lagebild"),
)
# Only for staff with the role ``rights`` (catalog/portal.yaml): the others never see it.
RIGHTS_NAV = (("/intern/auskunft", "Auskunft"),)


def today_in_hamm() -> dt.date:
    return dt.datetime.now(CITY_TZ).date()


def _german_date(value: str | dt.date | None) -> str:
    if not value:
        return "–"
    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return f"{day:%d.%m.%Y}"


def _german_time(value: str | None) -> str:
    if not value:
        return "–"
    at = dt.datetime.fromisoformat(value).astimezone(CITY_TZ)
    return f"{at:%d.%m.%Y, %H:%M} Uhr"


def _number(value: int | float) -> str:
    return f"{value:,.0f}".replace(",", ".")


def _share(value: float | None) -> str:
    """A share as German percent: 0.0241 → "2,41 %" (below 10 %: two decimals); None → "–"."""
    if value is None:
        return "–"
    digits = 2 if value < 0.1 else 1
    return f"{value * 100:.{digits}f}".replace(".", ",") + " %"


def _value(value: float | None, digits: int = 1) -> str:
    """A measured value with ``digits`` decimals, German; None (not published) → "–"."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["terms"] = link_terms
    env.filters["datum"] = _german_date
    env.filters["zeit"] = _german_time
    env.filters["zahl"] = _number
    env.filters["anteil"] = _share
    env.filters["wert"] = _value
    env.filters["svg"] = Markup  # only the portal's own, escaped drawings are passed here
    env.filters["url"] = lambda s: quote(str(s))
    return env


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
    )


def _date_param(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def create_app(
    state: LiveState,
    codec: SessionCodec,
    *,
    live: Live | None = None,
    endpoints: dcat.Endpoints,
    metrics: PortalMetrics | None = None,
    limiter: LoginLimiter | None = None,
    cookie_secure: bool = True,
    today: Callable[[], dt.date] = today_in_hamm,
    ready_wait: float = 60.0,
    rights: auskunft.Lookup | None = None,
    results: auskunft.Results | None = None,
) -> FastAPI:
    """The portal around ``state``. With ``live`` the app folds the hub's logs: at startup it
    starts the followers (and waits, up to ``ready_wait``, until they have read what was there),
    at shutdown, after the requests in flight, it stops them. ``rights`` answers the access
    requests of the staff page *Auskunft* (as ``hub-rights``); without it the page says it is
    not set up."""
    metrics = metrics or PortalMetrics()
    results = results or auskunft.Results()
    identifier_names = auskunft.known_identifier_names(state.facts.catalog)
    limiter = limiter or LoginLimiter(5, 300.0)
    env = templates()
    pdf_cache: dict[str, bytes] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if live is not None:
            await live.start()
            caught_up = await live.wait_caught_up(ready_wait)
            log.info(
                "portal folded the hub's logs" if caught_up else "portal still folding",
                extra={
                    "audit_records": state.audit.records,
                    "deliveries": state.audit.delivered,
                    "dead_letters": len(state.dead_letters.rows),
                },
            )
        try:
            yield
        finally:
            if live is not None:
                log.info("portal stopping: closing the followers")
                await live.stop()

    app = FastAPI(
        title="Transparenzportal der Datendrehscheibe",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.live_state = state
    app.state.metrics = metrics
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "name", None) or "other"
        elapsed = time.perf_counter() - started
        metrics.requests.labels(name, str(response.status_code)).inc()
        metrics.latency.labels(name).observe(elapsed)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        log.debug(
            "request",
            extra={
                "path": request.url.path,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 1),
            },
        )
        return response

    # -- helpers --------------------------------------------------------------------------------
    def session_of(request: Request) -> Session | None:
        return codec.read(request.cookies.get(SESSION_COOKIE))

    def render(
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        status: int = 200,
        json_href: str | None = None,
        session: Session | None = None,
    ) -> HTMLResponse:
        session = session or session_of(request)
        html = env.get_template(template).render(
            **context,
            ctx=context,
            nav=PUBLIC_NAV,
            staff_nav=STAFF_NAV + RIGHTS_NAV
            if session and state.staff.may_answer_requests(session.login)
            else STAFF_NAV,
            path=request.url.path,
            user=session.login if session else None,
            logout_csrf=codec.csrf_token(session.sid) if session else None,
            csrf_field=CSRF_FIELD,
            json_href=json_href,
            organisation=state.facts.organisation,
        )
        response = HTMLResponse(html, status_code=status)
        if session is not None:
            response.headers["Cache-Control"] = "no-store"
        return response

    def page_or_json(
        request: Request, template: str, context: dict[str, Any] | None, as_json: bool, href: str
    ) -> Response:
        if context is None:
            return not_found(request, as_json)
        if as_json:
            return _json(pages.public(context))
        return render(request, template, context, json_href=href + ".json")

    def not_found(request: Request, as_json: bool) -> Response:
        if as_json:
            return _json({"error": "nicht gefunden", "path": request.url.path}, 404)
        return render(
            request,
            "fehler.html",
            {"title": "Nicht gefunden", "message": "Diese Seite gibt es nicht."},
            status=404,
        )

    # -- public pages ---------------------------------------------------------------------------
    @app.get("/", name="start", response_class=HTMLResponse)
    async def start(request: Request) -> Response:
        return page_or_json(request, "start.html", pages.start(state, today()), False, "/index")

    @app.get("/index.json", name="start_json")
    async def start_json(request: Request) -> Response:
        return _json(pages.public(pages.start(state, today())))

    @app.get("/datensaetze", name="datensaetze")
    async def datasets(request: Request) -> Response:
        return page_or_json(
            request, "datensaetze.html", pages.datasets(state), False, "/datensaetze"
        )

    @app.get("/datensaetze.json", name="datensaetze_json")
    async def datasets_json(request: Request) -> Response:
        return _json(pages.public(pages.datasets(state)))

    @app.get("/datensaetze/{name}", name="datensatz")
    async def dataset(request: Request, name: str) -> Response:
        topic, as_json = (name[:-5], True) if name.endswith(".json") else (name, False)
        context = pages.dataset(state, topic, today())
        return page_or_json(
            request, "datensatz.html", context, as_json, f"/datensaetze/{quote(topic)}"
        )

    @app.get("/qualitaet", name="qualitaet")
    async def quality_overview(request: Request) -> Response:
        return page_or_json(
            request, "qualitaet.html", pages.quality_overview(state, today()), False, "/qualitaet"
        )

    @app.get("/qualitaet.json", name="qualitaet_json")
    async def quality_overview_json(request: Request) -> Response:
        return _json(pages.public(pages.quality_overview(state, today())))

    @app.get("/qualitaet/{name}", name="datenqualitaet")
    async def dataset_quality(request: Request, name: str) -> Response:
        topic, as_json = (name[:-5], True) if name.endswith(".json") else (name, False)
        context = pages.dataset_quality(state, topic, today())
        return page_or_json(
            request, "datenqualitaet.html", context, as_json, f"/qualitaet/{quote(topic)}"
        )

    @app.get("/vereinbarungen", name="vereinbarungen")
    async def agreements(request: Request) -> Response:
        return page_or_json(
            request,
            "vereinbarungen.html",
            pages.agreements(state, today()),
            False,
            "/vereinbarungen",
        )

    @app.get("/vereinbarungen.json", name="vereinbarungen_json")
    async def agreements_json(request: Request) -> Response:
        return _json(pages.public(pages.agreements(state, today())))

    @app.get("/vereinbarungen/{name}", name="vereinbarung")
    async def agreement(request: Request, name: str) -> Response:
        agreement_id, as_json = (name[:-5], True) if name.endswith(".json") else (name, False)
        context = pages.agreement(state, agreement_id, today())
        return page_or_json(
            request, "vereinbarung.html", context, as_json, f"/vereinbarungen/{quote(agreement_id)}"
        )

    @app.get("/datenfluesse", name="datenfluesse")
    async def flows(request: Request) -> Response:
        return page_or_json(
            request, "datenfluesse.html", pages.flows(state), False, "/datenfluesse"
        )

    @app.get("/datenfluesse.json", name="datenfluesse_json")
    async def flows_json(request: Request) -> Response:
        return _json(pages.public(pages.flows(state)))

    @app.get("/wissen", name="wissen")
    async def knowledge(request: Request) -> Response:
        return page_or_json(request, "wissen.html", pages.knowledge(), False, "/wissen")

    @app.get("/wissen.json", name="wissen_json")
    async def knowledge_json(request: Request) -> Response:
        return _json(pages.knowledge())

    @app.get("/verarbeitungsverzeichnis", name="verarbeitungsverzeichnis")
    async def record(request: Request) -> Response:
        return page_or_json(
            request,
            "verarbeitungsverzeichnis.html",
            pages.record(state, today()),
            False,
            "/verarbeitungsverzeichnis",
        )

    @app.get("/verarbeitungsverzeichnis.json", name="verarbeitungsverzeichnis_json")
    async def record_json(request: Request) -> Response:
        return _json(pages.record(state, today()))

    @app.get("/verarbeitungsverzeichnis.pdf", name="verarbeitungsverzeichnis_pdf")
    async def record_pdf_page(request: Request) -> Response:
        context = pages.record(state, today())
        key = orjson.dumps(context, option=orjson.OPT_SORT_KEYS).decode()
        if key not in pdf_cache:
            pdf_cache.clear()
            pdf_cache[key] = await asyncio.to_thread(
                record_pdf, env, {**context, "organisation": state.facts.organisation}
            )
        return Response(
            pdf_cache[key],
            media_type="application/pdf",
            headers={"Content-Disposition": 'inline; filename="verarbeitungsverzeichnis.pdf"'},
        )

    @app.get("/dcat/catalog.jsonld", name="dcat_jsonld")
    async def catalog_jsonld() -> Response:
        graph = dcat.catalog_graph(state.facts, endpoints, today())
        return Response(dcat.jsonld(graph), media_type="application/ld+json")

    @app.get("/dcat/catalog.ttl", name="dcat_ttl")
    async def catalog_ttl() -> Response:
        graph = dcat.catalog_graph(state.facts, endpoints, today())
        return Response(dcat.turtle(graph), media_type="text/turtle; charset=utf-8")

    # -- staff: login --------------------------------------------------------------------------
    def _next(target: str | None) -> str:
        # Only back into the staff pages of this portal, never elsewhere (open redirect).
        if target and target.startswith("/intern/") and "//" not in target and "\\" not in target:
            return target
        return "/intern/audit"

    def login_form(
        request: Request,
        *,
        message: str | None = None,
        status: int = 200,
        target: str | None = None,
    ) -> HTMLResponse:
        pre_cookie = request.cookies.get(PRESESSION_COOKIE)
        presid = codec.read_presession(pre_cookie)
        fresh = None
        if presid is None:
            fresh = codec.presession()
            presid = codec.read_presession(fresh)
        assert presid is not None
        context = {
            "page": "anmelden",
            "title": "Anmeldung für Beschäftigte",
            "message": message,
            "csrf": codec.csrf_token(presid),
            "next": _next(target or request.query_params.get("weiter")),
            "staff_configured": bool(state.staff.members),
        }
        response = render(request, "anmelden.html", context, status=status)
        response.headers["Cache-Control"] = "no-store"
        if fresh is not None:
            response.set_cookie(
                PRESESSION_COOKIE,
                fresh,
                httponly=True,
                secure=cookie_secure,
                samesite="strict",
                path="/",
            )
        return response

    @app.get("/anmelden", name="anmelden")
    async def login_page(request: Request) -> Response:
        return login_form(request)

    @app.post("/anmelden", name="anmelden_post")
    async def login(request: Request) -> Response:
        form = await request.form()
        presid = codec.read_presession(request.cookies.get(PRESESSION_COOKIE))
        if not codec.check_csrf(presid, str(form.get(CSRF_FIELD) or "")):
            metrics.logins.labels("csrf").inc()
            return refused(request)
        login_name = str(form.get("login") or "").strip().lower()[:64]
        password = str(form.get("password") or "")
        target = str(form.get("weiter") or "")
        client = request.client.host if request.client else "?"
        keys = (f"ip:{client}", f"login:{login_name}")
        wait = limiter.retry_after(keys)
        if wait is not None:
            metrics.logins.labels("limited").inc()
            log.warning("staff login limited", extra={"login": login_name})
            response = login_form(
                request,
                message=f"Zu viele fehlgeschlagene Versuche. Bitte warten Sie {int(wait) + 1} Sekunden.",
                status=429,
                target=target,
            )
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        member = await asyncio.to_thread(state.staff.verify, login_name, password)
        if member is None:
            limiter.failed(keys)
            metrics.logins.labels("refused").inc()
            log.warning("staff login refused", extra={"login": login_name})
            return login_form(
                request,
                message="Anmeldename oder Passwort stimmen nicht.",
                status=401,
                target=target,
            )
        limiter.succeeded(f"login:{login_name}")
        metrics.logins.labels("ok").inc()
        cookie, _ = codec.issue(login_name)
        log.info("staff login", extra={"login": login_name})
        response = RedirectResponse(_next(target), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=int(codec.ttl),
            httponly=True,
            secure=cookie_secure,
            samesite="strict",
            path="/",
        )
        response.delete_cookie(PRESESSION_COOKIE, path="/")
        return response

    def refused(request: Request) -> Response:
        log.warning("form refused: CSRF token missing or wrong", extra={"path": request.url.path})
        return render(
            request,
            "fehler.html",
            {
                "title": "Sicherheitsprüfung fehlgeschlagen",
                "message": "Das Formular war abgelaufen oder kam nicht von dieser Seite. Bitte "
                "laden Sie die Seite neu und versuchen Sie es noch einmal.",
            },
            status=403,
        )

    @app.post("/abmelden", name="abmelden")
    async def logout(request: Request) -> Response:
        session = session_of(request)
        form = await request.form()
        if session is None:
            return RedirectResponse("/", status_code=303)
        if not codec.check_csrf(session.sid, str(form.get(CSRF_FIELD) or "")):
            return refused(request)
        codec.revoke(session)
        results.forget(session.sid)
        log.info("staff logout", extra={"login": session.login})
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- staff pages ---------------------------------------------------------------------------
    def staff_page(
        request: Request, name: str, template: str, build: Callable[[], dict[str, Any]]
    ) -> Response:
        as_json = name.endswith(".json")
        session = session_of(request)
        if session is None:
            if as_json:
                return _json({"error": "Anmeldung erforderlich"}, 401)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/anmelden?weiter={quote(target)}", status_code=303)
        context = build()
        if as_json:
            response = _json(pages.public(context))
            response.headers["Cache-Control"] = "no-store"
            return response
        base = request.url.path
        query = f"?{request.url.query}" if request.url.query else ""
        return render(request, template, context, json_href=f"{base}.json{query}", session=session)

    @app.get("/intern", name="intern")
    async def staff_home() -> Response:
        return RedirectResponse("/intern/audit", status_code=303)

    @app.get("/intern/audit", name="audit")
    @app.get("/intern/audit.json", name="audit_json")
    async def audit_page(request: Request) -> Response:
        q = request.query_params
        return staff_page(
            request,
            request.url.path,
            "audit.html",
            lambda: pages.audit(
                state,
                agreement=q.get("vereinbarung") or None,
                subscriber=q.get("empfaenger") or None,
                since=_date_param(q.get("von")),
                until=_date_param(q.get("bis")),
            ),
        )

    @app.get("/intern/schemaaenderungen", name="schemaaenderungen")
    @app.get("/intern/schemaaenderungen.json", name="schemaaenderungen_json")
    async def changes_page(request: Request) -> Response:
        return staff_page(
            request, request.url.path, "schemaaenderungen.html", lambda: pages.changes(state)
        )

    @app.get("/intern/unzustellbar", name="unzustellbar")
    @app.get("/intern/unzustellbar.json", name="unzustellbar_json")
    async def dead_letters_page(request: Request) -> Response:
        return staff_page(
            request, request.url.path, "unzustellbar.html", lambda: pages.dead_letters(state)
        )

    @app.get("/intern/lagebild", name="lagebild")
    @app.get("/intern/lagebild.json", name="lagebild_json")
    async def situation_page(request: Request) -> Response:
        bucket = "tag" if request.query_params.get("einteilung") == "tag" else "woche"
        return staff_page(
            request,
            request.url.path,
            "lagebild.html",
            lambda: pages.situation(state, bucket),
        )

    # -- staff: Auskunft (Art. 15 DSGVO) -------------------------------------------------------
    # No JSON twin: the page is a form whose answer holds personal data, and identifiers travel
    # only in POST bodies (never in a URL, which access logs and browser histories keep).
    def rights_gate(request: Request) -> tuple[Session | None, Response | None]:
        session = session_of(request)
        if session is None:
            return None, RedirectResponse(
                f"/anmelden?weiter={quote('/intern/auskunft')}", status_code=303
            )
        if not state.staff.may_answer_requests(session.login):
            log.warning("auskunft refused: login without the role", extra={"login": session.login})
            return None, render(
                request,
                "fehler.html",
                {
                    "title": "Keine Berechtigung",
                    "message": "Die Auskunft über Übermittlungen an eine Person dürfen nur "
                    f"Beschäftigte nutzen, die {auskunft.ROLE} (Rolle „rights“ in "
                    f"catalog/portal.yaml). Ihr Zugang „{session.login}“ hat diese Rolle nicht; "
                    "wenden Sie sich an die Datenschutzbeauftragte oder den Betrieb des Portals.",
                },
                status=403,
                session=session,
            )
        return session, None

    def rights_page(
        request: Request,
        session: Session,
        *,
        values: dict[str, str] | None = None,
        errors: list[auskunft.FormError] | None = None,
        message: str | None = None,
        result: dict[str, Any] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        problem = rights.problem() if rights is not None else auskunft.NOT_WIRED
        context = {
            "page": "auskunft",
            "title": "Auskunft nach Art. 15 DSGVO",
            "problem": problem,
            "csrf": codec.csrf_token(session.sid),
            "values": values or {"kennungen": "", "aktenzeichen": "", "seit": ""},
            "errors": errors or [],
            "invalid": auskunft.error_fields(errors or []),
            "message": message,
            "identifier_names": sorted(identifier_names),
            "result": result,
        }
        return render(request, "auskunft.html", context, status=status, session=session)

    @app.get("/intern/auskunft", name="auskunft")
    async def rights_form(request: Request) -> Response:
        session, refusal = rights_gate(request)
        if session is None:
            return refusal  # type: ignore[return-value]
        return rights_page(request, session)

    @app.post("/intern/auskunft", name="auskunft_post")
    async def rights_lookup(request: Request) -> Response:
        session, refusal = rights_gate(request)
        if session is None:
            return refusal  # type: ignore[return-value]
        form = await request.form()
        if not codec.check_csrf(session.sid, str(form.get(CSRF_FIELD) or "")):
            return refused(request)
        values = {k: str(form.get(k) or "") for k in ("kennungen", "aktenzeichen", "seit")}
        if rights is None or rights.problem() is not None:
            return rights_page(request, session, values=values, status=503)
        query, errors = auskunft.parse_form(
            values["kennungen"], values["aktenzeichen"], values["seit"], identifier_names
        )
        if query is None:
            return rights_page(request, session, values=values, errors=errors, status=422)
        try:
            report = await rights.access(query, session.login)
        except Exception as error:  # the page says so; the portal stays up
            log.error(
                "auskunft failed",
                extra={"login": session.login, "case": query.case, "error": str(error)[:300]},
            )
            return rights_page(
                request,
                session,
                values=values,
                message=auskunft.failure_text(error),
                status=502,
            )
        blocks = auskunft.letter(report, state.facts.organisation)
        token = results.keep(session.sid, query.case, blocks)
        log.info(
            "auskunft answered",
            extra={
                "login": session.login,
                "case": query.case,
                "request_id": report.request_id,
                "recipients": len(report.recipients),
                "deliveries": report.deliveries,
            },
        )
        return rights_page(
            request,
            session,
            result={
                "token": token,
                "case": query.case,
                "request_id": report.request_id,
                "found": report.found,
                "recipients": len(report.recipients),
                "deliveries": report.deliveries,
                "problems": list(report.problems),
                "_letter": Markup(auskunft.html_fragment(blocks, heading_offset=1)),
            },
        )

    @app.post("/intern/auskunft/herunterladen", name="auskunft_download")
    async def rights_download(request: Request) -> Response:
        session, refusal = rights_gate(request)
        if session is None:
            return refusal  # type: ignore[return-value]
        form = await request.form()
        if not codec.check_csrf(session.sid, str(form.get(CSRF_FIELD) or "")):
            return refused(request)
        kind = str(form.get("format") or "")
        found = results.get(session.sid, str(form.get("ergebnis") or ""))
        if found is None or kind not in ("markdown", "pdf"):
            return rights_page(
                request,
                session,
                message="Dieses Ergebnis ist nicht mehr vorhanden (es wird nach 30 Minuten, "
                "beim Abmelden und bei einem Neustart des Portals verworfen). Bitte fragen Sie "
                "noch einmal ab.",
                status=410,
            )
        if kind == "markdown":
            body = auskunft.to_markdown(found.blocks).encode("utf-8")
            media, name = "text/markdown; charset=utf-8", auskunft.filename(found.case, "md")
        else:
            body = await asyncio.to_thread(html_pdf, auskunft.to_html(found.blocks))
            media, name = "application/pdf", auskunft.filename(found.case, "pdf")
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    # -- operations ----------------------------------------------------------------------------
    @app.get("/healthz", name="healthz")
    async def healthz() -> Response:
        ok = state.ready
        body = {
            "status": "ok" if ok else "unavailable",
            "caught_up": state.caught_up,
            "problems": state.problems,
            "audit_records": state.audit.records,
        }
        return _json(body, 200 if ok else 503)

    @app.get("/metrics", name="metrics")
    async def prometheus() -> Response:
        metrics.deliveries.set(state.audit.delivered)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(404)
    async def missing(request: Request, exc: Exception) -> Response:
        return not_found(request, request.url.path.endswith(".json"))

    @app.get("/robots.txt", name="robots")
    async def robots() -> Response:
        return PlainTextResponse("User-agent: *\nDisallow: /intern/\nDisallow: /anmelden\n")

    return app
