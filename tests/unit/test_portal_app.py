"""The portal's pages over HTTP (no broker): every page and its JSON twin, every link, the
staff login with CSRF and its limit, and no personal data of a dead letter on any page."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_portal_audit import record

from consumers.router.deadletter import DeadLetter, dead_letter_headers
from portal.app import create_app
from portal.dcat import Endpoints
from portal.facts import load_facts
from portal.live import LiveState
from portal.sessions import LoginLimiter, SessionCodec, session_key
from portal.staff import Staff

REPO = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 1)
PASSWORD = "ein-langes-passwort"
PUBLIC = [
    "/",
    "/datensaetze",
    "/datensaetze/buergeramt.resident.moved",
    "/qualitaet",
    "/qualitaet/buergeramt.resident.moved",
    "/vereinbarungen",
    "/vereinbarungen/statistikstelle-resident-moved",
    "/datenfluesse",
    "/wissen",
    "/verarbeitungsverzeichnis",
]
STAFF = ["/intern/audit", "/intern/schemaaenderungen", "/intern/unzustellbar", "/intern/lagebild"]
FACTS = load_facts(REPO / "catalog", REPO / "schemas")
STAFF_REGISTER = Staff({}).with_member("dsb", "Datenschutzbeauftragte", PASSWORD)


def make_state() -> LiveState:
    state = LiveState(FACTS, STAFF_REGISTER)
    state.caught_up = {"hub.audit": True, "hub.dlq": True}
    at = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
    state.audit.add_all(
        [
            record("statistikstelle-resident-moved", "statistikstelle", 40, 0, at),
            record(
                "statistikstelle-resident-moved",
                "statistikstelle",
                2,
                0,
                at - dt.timedelta(days=10),
            ),
            record("ordnungsamt-resident-moved", "ordnungsamt", 7, 3, at),
        ]
    )
    return state


def client(state: LiveState | None = None, attempts: int = 5) -> TestClient:
    app = create_app(
        state or make_state(),
        SessionCodec(session_key(b"s" * 32), 3600),
        endpoints=Endpoints("https://portal.test", "https://registry.test", "https://gateway.test"),
        limiter=LoginLimiter(attempts, 300),
        today=lambda: TODAY,
    )
    return TestClient(app, base_url="https://testserver")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(c: TestClient, password: str = PASSWORD, name: str = "dsb"):
    token = csrf_of(c.get("/anmelden").text)
    return c.post(
        "/anmelden",
        data={"login": name, "password": password, "csrf_token": token, "weiter": "/intern/audit"},
        follow_redirects=False,
    )


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: set[str] = set()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.add(attrs["href"])


@pytest.mark.parametrize("path", PUBLIC)
def test_every_public_page_renders_in_german_with_its_json_twin(path):
    c = client()
    page = c.get(path)
    assert page.status_code == 200
    assert '<html lang="de">' in page.text and "<h1>" in page.text
    twin = "/index.json" if path == "/" else f"{path}.json"
    assert f'href="{twin}"' in page.text
    data = c.get(twin)
    assert data.status_code == 200 and data.headers["content-type"] == "application/json"
    assert data.json()["title"]
    assert not any(k.startswith("_") for k in data.json())


def test_the_start_page_counts_from_the_audit_trail():
    figures = client().get("/index.json").json()["figures"]
    assert figures["deliveries_7_days"] == 47
    assert figures["deliveries_30_days"] == 49
    assert figures["departments"] == 7 and figures["datasets"] == 16
    assert figures["agreements_in_force"] == len(FACTS.agreements)


def test_the_agreement_page_says_what_the_statistics_office_gets():
    c = client()
    html = c.get("/vereinbarungen/statistikstelle-resident-moved").text
    assert "Geburtsdatum der Person:</strong> nur die Altersgruppe" in html
    assert "Kommunale Wanderungsstatistik" in html and "StatG NRW" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"' in html
    assert "<summary>Lieferungen je Tag als Tabelle</summary>" in html
    data = c.get("/vereinbarungen/statistikstelle-resident-moved.json").json()
    assert data["delivered"] == 42 and len(data["per_day"]) == 30
    assert data["per_day"][-2] == {"day": "2026-11-30", "delivered": 40}
    assert 'href="/wissen#pseudonym"' in c.get("/vereinbarungen/ordnungsamt-resident-moved").text


def test_an_expired_agreement_is_marked():
    c = client()
    app = c.app
    late = dt.date(2029, 1, 1)
    app_state = app.state.live_state
    data = (
        TestClient(
            create_app(
                app_state,
                SessionCodec(b"k" * 32, 60),
                endpoints=Endpoints("a", "b", "c"),
                today=lambda: late,
            ),
            base_url="https://testserver",
        )
        .get("/vereinbarungen.json")
        .json()
    )
    assert {a["status"] for a in data["agreements"]} == {"abgelaufen"}
    html = (
        TestClient(
            create_app(
                app_state,
                SessionCodec(b"k" * 32, 60),
                endpoints=Endpoints("a", "b", "c"),
                today=lambda: late,
            ),
            base_url="https://testserver",
        )
        .get("/vereinbarungen/statistikstelle-resident-moved")
        .text
    )
    assert "Diese Vereinbarung ist abgelaufen." in html


def test_every_link_of_every_page_leads_somewhere():
    c = client()
    assert login(c).status_code == 303
    seen: dict[str, Links] = {}
    todo = [*PUBLIC, *STAFF]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        response = c.get(path)
        assert response.status_code == 200, path
        if "text/html" not in response.headers["content-type"]:
            seen[path] = Links()
            continue
        links = Links()
        links.feed(response.text)
        seen[path] = links
        for href in links.hrefs:
            url = urlsplit(href)
            if url.scheme or href.startswith("mailto:"):
                continue
            target = url.path or path
            if url.fragment:
                todo.append(target)
            if target not in seen:
                todo.append(target)
    # every fragment points at an id on its page
    for links in list(seen.values()):
        for href in links.hrefs:
            url = urlsplit(href)
            if url.fragment and not url.scheme and url.path in seen and "html" not in url.path:
                assert url.fragment in seen[url.path].ids, href
    assert "/verarbeitungsverzeichnis.pdf" in seen and "/dcat/catalog.ttl" in seen


def test_the_pdf_and_the_catalog():
    c = client()
    pdf = c.get("/verarbeitungsverzeichnis.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "dcat:Dataset" in c.get("/dcat/catalog.ttl").text
    assert c.get("/dcat/catalog.jsonld").headers["content-type"].startswith("application/ld+json")


def test_staff_pages_need_a_login():
    c = client()
    for path in STAFF:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/anmelden?weiter=")
        assert c.get(f"{path}.json").status_code == 401


def test_login_logout_and_the_cookie():
    c = client()
    r = login(c)
    assert r.status_code == 303 and r.headers["location"] == "/intern/audit"
    cookie = r.headers["set-cookie"]
    assert "hub_portal_session=" in cookie
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag.lower() in cookie.lower()
    page = c.get("/intern/audit")
    assert page.status_code == 200 and "Abmelden (dsb)" in page.text
    assert page.headers["cache-control"] == "no-store"
    audit = c.get("/intern/audit.json?empfaenger=statistikstelle").json()
    assert (
        audit["delivered"] == 42
        and audit["command"] == "hub audit report --subscriber statistikstelle"
    )
    assert [s["agreement_id"] for s in audit["summaries"]] == ["statistikstelle-resident-moved"]
    since = c.get("/intern/audit.json?von=2026-11-25").json()
    assert since["delivered"] == 47
    token = csrf_of(page.text)
    out = c.post("/abmelden", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert c.get("/intern/audit", follow_redirects=False).status_code == 303


def test_a_revoked_session_stays_out_even_with_the_old_cookie():
    c = client()
    r = login(c)
    old = r.cookies.get("hub_portal_session") or c.cookies.get("hub_portal_session")
    token = csrf_of(c.get("/intern/audit").text)
    c.post("/abmelden", data={"csrf_token": token})
    c.cookies.set("hub_portal_session", old)
    assert c.get("/intern/audit.json").status_code == 401


def test_forms_without_the_csrf_token_are_refused():
    c = client()
    c.get("/anmelden")
    r = c.post("/anmelden", data={"login": "dsb", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and "Sicherheitsprüfung fehlgeschlagen" in r.text
    other = client()  # a token of another browser does not fit this one's cookie
    token = csrf_of(other.get("/anmelden").text)
    r = c.post(
        "/anmelden",
        data={"login": "dsb", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert login(c).status_code == 303
    r = c.post("/abmelden", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert r.status_code == 403
    assert c.get("/intern/audit.json").status_code == 200  # still logged in


def test_wrong_passwords_are_limited():
    c = client(attempts=3)
    for _ in range(3):
        r = login(c, password="falsch")
        assert r.status_code == 401 and "stimmen nicht" in r.text
    r = login(c, password=PASSWORD)  # even the right one waits now
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_no_open_redirect_after_login():
    c = client()
    token = csrf_of(c.get("/anmelden").text)
    r = c.post(
        "/anmelden",
        data={
            "login": "dsb",
            "password": PASSWORD,
            "csrf_token": token,
            "weiter": "//evil.example/intern/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/intern/audit"


def test_security_headers_and_no_script():
    r = client().get("/")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert "<script" not in r.text


def test_unknown_pages_are_404_in_german():
    c = client()
    assert c.get("/datensaetze/gibt.es.nicht").status_code == 404
    assert c.get("/vereinbarungen/nichts.json").json()["error"] == "nicht gefunden"
    assert "Diese Seite gibt es nicht" in c.get("/irgendwas").text


def test_healthz_says_unavailable_until_the_logs_are_read():
    state = make_state()
    state.caught_up["hub.dlq"] = False
    assert client(state).get("/healthz").status_code == 503
    state.caught_up["hub.dlq"] = True
    assert client(state).get("/healthz").json()["status"] == "ok"


def test_metrics_count_pages():
    c = client()
    c.get("/")
    text = c.get("/metrics").text
    assert 'hub_portal_requests_total{page="start",status="200"} 1.0' in text
    assert "hub_portal_deliveries_counted 49.0" in text


planted = st.text(
    st.characters(min_codepoint=48, max_codepoint=0x24F), min_size=8, max_size=30
).map(lambda s: "PII-" + s)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(planted)
def test_no_personal_data_of_a_dead_letter_appears_on_any_page(secret):
    """A dead letter's message may quote the event's values: the portal never shows it."""
    state = make_state()
    reason = DeadLetter(
        "TransformError",
        f"cannot bucket {secret!r} of {secret}",
        "buergeramt.resident.moved",
        0,
        7,
        "statistikstelle-resident-moved",
        "hub-router-0",
        "2026-11-30T10:00:00+00:00",
    )
    state.dead_letters.add(0, 0, dead_letter_headers([("ce_subject", secret.encode())], reason))
    c = client(state)
    assert login(c).status_code == 303
    for path in [*PUBLIC, *STAFF]:
        for url in (path, "/index.json" if path == "/" else f"{path}.json"):
            assert secret not in c.get(url).text, url
    page = c.get("/intern/unzustellbar.json").json()
    assert page["total"] == 1 and page["by_reason"][0]["error_class"] == "TransformError"
    assert page["latest"][0]["source"] == "buergeramt.resident.moved/0/7"
