"""The staff page *Auskunft* (no broker): only staff with the role ``rights`` may use it, the
form is read line by line with German errors that name the line and never an identifier's
value, a lookup runs as hub-rights with the login as ``requested_by`` and tool "portal", the
letter shows as HTML and downloads as the same Markdown and PDF, identifiers travel only in
POST bodies, and without hub-rights' credential the page says how to set it up."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from test_portal_app import FACTS, PASSWORD, TODAY, csrf_of, make_state
from test_rights_letter import report_for

from consumers.rights.letter import TITLE, to_markdown
from hub.access.acls import READ, WRITE, desired_bindings
from hub.access.catalog import load_access_catalog
from hub.credentials import Credentials, CredentialStore
from hub.settings import load_settings
from portal import auskunft
from portal.app import create_app
from portal.auskunft import (
    Query,
    Results,
    RightsLookup,
    known_identifier_names,
    parse_form,
    parse_identifier_lines,
)
from portal.dcat import Endpoints
from portal.live import LiveState
from portal.sessions import SessionCodec, session_key
from portal.staff import Staff, StaffMember, load_staff

REPO = Path(__file__).resolve().parents[2]
KNOWN = known_identifier_names(FACTS.catalog)
RESIDENT = "HAM-00004711"  # the report_for fixture's person
STAFF = (
    Staff({})
    .with_member("dsb", "Datenschutzbeauftragte", PASSWORD, rights=True)
    .with_member("amt", "Sachbearbeitung", PASSWORD)
)


# -- the role ------------------------------------------------------------------------------------


def test_the_role_is_off_unless_given(tmp_path):
    file = tmp_path / "portal.yaml"
    digest = STAFF.members["dsb"].password_hash
    file.write_text(
        f'staff:\n  dsb:\n    name: DSB\n    password_hash: "{digest}"\n    rights: true\n'
        f'  amt:\n    name: Amt\n    password_hash: "{digest}"\n'
    )
    staff = load_staff(file)
    assert staff.may_answer_requests("dsb")
    assert not staff.may_answer_requests("amt")
    assert not staff.may_answer_requests("nobody")  # a login no longer listed
    assert StaffMember(name="x", password_hash=digest).rights is False
    # the shipped file (its comment documents the role) still parses
    assert load_staff(REPO / "catalog" / "portal.yaml").members == {}
    assert "rights: true" in (REPO / "catalog" / "portal.yaml").read_text()


def test_hub_portal_never_gets_what_hub_rights_may():
    catalog = load_access_catalog(REPO / "catalog")
    bindings = desired_bindings(catalog.principals, catalog.grants, today=TODAY)
    portal = {(b.name, b.operation) for b in bindings if b.principal == "hub-portal"}
    assert ("hub.receipts", READ) not in portal and ("hub.agreements", READ) not in portal
    assert not any(name.startswith("hub.rights") for name, _ in portal)
    assert not any(name.startswith("deliver.") for name, op in portal if op in (READ, WRITE))


# -- the form ------------------------------------------------------------------------------------


def test_good_lines_become_a_person_without_repeats():
    query, errors = parse_form(
        f"resident_id={RESIDENT}\n\n  guardian.email = a@b.de \r\nresident_id={RESIDENT}\n",
        " DS-2026-0042 ",
        "2026-01-31",
        KNOWN,
    )
    assert errors == []
    assert isinstance(query, Query) and query.case == "DS-2026-0042"
    assert [(i.name, i.value) for i in query.person.identifiers] == [
        ("resident_id", RESIDENT),
        ("guardian.email", "a@b.de"),
    ]
    # the day from its start in Hamm (CET in January)
    assert query.since == dt.datetime(2026, 1, 30, 23, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"resident_id={RESIDENT}\n{RESIDENT}", "Zeile 2: Es fehlt das Gleichheitszeichen"),
        ("resident_id=", "Zeile 1: Der Wert der Kennung „resident_id“ ist leer"),
        ("=abc", "Zeile 1: Vor dem Gleichheitszeichen fehlt der Name"),
        ("shoe_size=44", "Zeile 1: Eine Kennung „shoe_size“ kommt in keinem Datensatz vor"),
        ("resident id=1", "Zeile 1: „resident id“ ist kein Name einer Kennung"),
        ("\n \n", "mindestens eine Kennung"),
        ("resident_id=" + "x" * 1001, "länger als 1000 Zeichen"),
    ],
)
def test_a_bad_line_is_named_in_german(text, expected):
    query, errors = parse_form(text, "DS-1", "", KNOWN)
    assert query is None
    assert [e.field for e in errors] == ["kennungen"]
    assert expected in errors[0].message, errors[0].message


def test_every_error_at_once_and_the_unknown_name_lists_the_known_ones():
    query, errors = parse_form("shoe_size=44\nresident_id", "  ", "31.01.2026", KNOWN)
    assert query is None
    assert [e.field for e in errors] == ["kennungen", "kennungen", "aktenzeichen", "seit"]
    assert "resident_id" in errors[0].message and "guardian.email" in errors[0].message
    assert errors[2].message == "Bitte geben Sie das Aktenzeichen an."
    assert "2026-01-31" in errors[3].message
    _, long_case = parse_form("resident_id=1", "x" * 101, "", KNOWN)
    assert long_case[0].field == "aktenzeichen"


def test_without_a_readable_schema_catalog_any_name_is_taken():
    found, errors = parse_identifier_lines("shoe_size=44", frozenset())
    assert errors == [] and found[0].name == "shoe_size"


VALUES = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs"), blacklist_characters="="),
    min_size=4,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_no_error_ever_repeats_a_value(value):
    def parsed(v: str):
        lines = [v, f"shoe_size={v}", f"resident_id={v * 300}", f"resident_id={v}"]
        return parse_identifier_lines("\n".join(lines), KNOWN)

    found, errors = parsed(value)
    assert len(errors) == 3 and [i.value for i in found] == [value]
    # A message that never depends on the value cannot repeat it (a plain substring check
    # would trip on values like "appl" that occur in the list of known names).
    _, reference = parsed("\u2603" * len(value))
    assert [e.message for e in errors] == [e.message for e in reference]


def test_known_names_are_paths_and_last_segments():
    assert {"resident_id", "guardian.email", "email", "complainant_phone"} <= KNOWN
    assert known_identifier_names(None) == frozenset()


def test_a_download_gets_a_plain_file_name():
    assert auskunft.filename("DS-2026/0042 ä", "pdf") == "auskunft-DS-2026-0042.pdf"
    assert auskunft.filename("///", "md") == "auskunft-ersuchen.md"


def test_a_result_is_for_its_session_and_a_while():
    now = [0.0]
    results = Results(ttl=60, limit=2, clock=lambda: now[0])
    token = results.keep("sid-1", "DS-1", [])
    assert results.get("sid-1", token) is not None
    assert results.get("sid-2", token) is None  # another session never gets it
    now[0] = 61
    assert results.get("sid-1", token) is None
    a, b, c = (results.keep("s", f"DS-{i}", []) for i in range(3))
    assert results.get("s", a) is None and results.get("s", c) is not None  # bounded
    results.forget("s")
    assert results.get("s", b) is None and results.get("s", c) is None


# -- the credential of hub-rights ------------------------------------------------------------------


def test_without_hub_rights_credential_the_page_says_how_to_set_it_up(tmp_path):
    settings_ = load_settings(
        credentials_dir=tmp_path, kafka_username="hub-portal", kafka_password="portal-secret"
    )
    lookup = RightsLookup.from_settings(settings_)
    problem = lookup.problem()
    assert problem is not None
    assert "noch nicht eingerichtet" in problem and "hub access users add hub-rights" in problem
    assert str(tmp_path) in problem and "hub access apply" in problem
    CredentialStore(tmp_path).write(Credentials("hub-rights", "the-rights-password"))
    assert lookup.problem() is None
    # hub-rights' own credential, never the portal's (HUB_KAFKA_USERNAME is hub-portal here)
    security = lookup._security()
    assert security.principal == "hub-rights"
    assert security.credentials.password == "the-rights-password"
    assert "the-rights-password" not in repr(security) + repr(lookup)


# -- the page ------------------------------------------------------------------------------------


class FakeLookup:
    """The rights service as the page sees it: records what it was asked."""

    def __init__(self, problem: str | None = None, fail: Exception | None = None) -> None:
        self._problem, self.fail = problem, fail
        self.asked: list[tuple[Query, str]] = []

    def problem(self) -> str | None:
        return self._problem

    async def access(self, query: Query, requested_by: str):
        self.asked.append((query, requested_by))
        if self.fail is not None:
            raise self.fail
        report = report_for([f"{i.name}={i.value}" for i in query.person.identifiers])
        report.request_id = "req-1"
        return report


def client(lookup: FakeLookup | None) -> TestClient:
    state: LiveState = make_state()
    state.staff = STAFF
    app = create_app(
        state,
        SessionCodec(session_key(b"s" * 32), 3600),
        endpoints=Endpoints("https://portal.test", "https://registry.test", "https://gateway.test"),
        today=lambda: TODAY,
        rights=lookup,
    )
    return TestClient(app, base_url="https://testserver")


def logged_in(lookup: FakeLookup | None, name: str = "dsb") -> TestClient:
    c = client(lookup)
    token = csrf_of(c.get("/anmelden").text)
    answer = c.post(
        "/anmelden",
        data={"login": name, "password": PASSWORD, "csrf_token": token, "weiter": "/intern/audit"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return c


def ask(c: TestClient, identifiers: str, case: str = "DS-2026-0042", since: str = ""):
    token = csrf_of(c.get("/intern/auskunft").text)
    return c.post(
        "/intern/auskunft",
        data={"csrf_token": token, "kennungen": identifiers, "aktenzeichen": case, "seit": since},
    )


def test_not_logged_in_goes_to_the_login():
    c = client(FakeLookup())
    for answer in (
        c.get("/intern/auskunft", follow_redirects=False),
        c.post("/intern/auskunft", data={"kennungen": "a=b"}, follow_redirects=False),
    ):
        assert answer.status_code == 303
        assert answer.headers["location"] == "/anmelden?weiter=/intern/auskunft"


def test_staff_without_the_role_get_403_and_no_menu_entry():
    lookup = FakeLookup()
    c = logged_in(lookup, "amt")
    page = c.get("/intern/auskunft")
    assert page.status_code == 403
    assert "Keine Berechtigung" in page.text and "Auskunftsersuchen beantworten" in page.text
    assert 'href="/intern/auskunft"' not in c.get("/intern/audit").text
    token = csrf_of(c.get("/intern/audit").text)
    posted = c.post(
        "/intern/auskunft",
        data={"csrf_token": token, "kennungen": f"resident_id={RESIDENT}", "aktenzeichen": "D"},
    )
    assert posted.status_code == 403 and lookup.asked == []


def test_staff_with_the_role_see_the_form_in_the_menu():
    c = logged_in(FakeLookup())
    assert 'href="/intern/auskunft"' in c.get("/intern/audit").text
    page = c.get("/intern/auskunft")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "<h1>Auskunft nach Art. 15 DSGVO</h1>" in page.text
    assert '<form method="post" action="/intern/auskunft"' in page.text
    assert 'aria-current="page">Auskunft</a>' in page.text
    assert "<code>guardian.email</code>" in page.text  # the names there are


def test_a_form_without_its_token_is_refused():
    lookup = FakeLookup()
    c = logged_in(lookup)
    answer = c.post(
        "/intern/auskunft",
        data={"csrf_token": "forged", "kennungen": f"resident_id={RESIDENT}", "aktenzeichen": "D"},
    )
    assert answer.status_code == 403 and "Sicherheitsprüfung" in answer.text
    assert lookup.asked == []


def test_bad_input_gives_the_form_back_naming_the_line():
    lookup = FakeLookup()
    c = logged_in(lookup)
    answer = ask(c, f"resident_id={RESIDENT}\nresident_id", case="")
    assert answer.status_code == 422 and lookup.asked == []
    assert "Zeile 2: Es fehlt das Gleichheitszeichen" in answer.text
    assert "Bitte geben Sie das Aktenzeichen an." in answer.text
    assert 'role="alert"' in answer.text and 'aria-invalid="true"' in answer.text
    assert f"resident_id={RESIDENT}" in answer.text  # the textarea keeps what was typed


def test_a_lookup_shows_the_letter_and_downloads_the_same_answer():
    lookup = FakeLookup()
    c = logged_in(lookup)
    answer = ask(c, f"resident_id={RESIDENT}", since="2026-11-01")
    assert answer.status_code == 200, answer.text
    ((query, by),) = lookup.asked
    assert by == "dsb" and query.case == "DS-2026-0042"
    assert query.since == dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)
    html = answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert f"<h2>{TITLE}</h2>" in html and "<h3>1. Ordnungsamt</h3>" in html
    assert "§ 34 Abs. 1 BMG" in html and "<code>req-1</code>" in html
    assert "<h1>" not in html.split('class="letter"', 1)[1]  # one h1 a page
    assert RESIDENT not in html  # the answer names the person by identifier names only
    token = re.search(r'name="ergebnis" value="([^"]+)"', html).group(1)
    csrf = csrf_of(html)
    md = c.post(
        "/intern/auskunft/herunterladen",
        data={"csrf_token": csrf, "ergebnis": token, "format": "markdown"},
    )
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.headers["content-disposition"] == 'attachment; filename="auskunft-DS-2026-0042.md"'
    report = report_for([f"resident_id={RESIDENT}"])
    expected = to_markdown(auskunft.letter(report, FACTS.organisation))
    assert md.text == expected  # the same letter, not a second lookup
    pdf = c.post(
        "/intern/auskunft/herunterladen",
        data={"csrf_token": csrf, "ergebnis": token, "format": "pdf"},
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert len(lookup.asked) == 1
    # after logout the letter is gone, and another login never gets it
    c.post("/abmelden", data={"csrf_token": csrf})
    again = logged_in(lookup)
    gone = again.post(
        "/intern/auskunft/herunterladen",
        data={"csrf_token": csrf_of(again.get("/intern/auskunft").text), "ergebnis": token,
              "format": "markdown"},
    )  # fmt: skip
    assert gone.status_code == 410 and "nicht mehr vorhanden" in gone.text


def test_identifiers_never_travel_in_a_url():
    c = logged_in(FakeLookup())
    html = ask(c, f"resident_id={RESIDENT}").text
    for action in re.findall(r'(?:action|href)="([^"]*)"', html):
        assert "?" not in action or "kennungen" not in action
    assert all(m == "post" for m in re.findall(r'<form method="(\w+)"', html))


def test_without_the_credential_the_page_explains_and_asks_nothing():
    lookup = FakeLookup(problem="Die Auskunft ist noch nicht eingerichtet: hub-rights fehlt.")
    c = logged_in(lookup)
    page = c.get("/intern/auskunft")
    assert page.status_code == 200 and "hub-rights fehlt" in page.text
    assert 'name="kennungen"' not in page.text
    answer = c.post(
        "/intern/auskunft",
        data={"csrf_token": csrf_of(page.text), "kennungen": "resident_id=1", "aktenzeichen": "D"},
    )
    assert answer.status_code == 503 and lookup.asked == []
    unwired = logged_in(None).get("/intern/auskunft")
    assert "nicht eingerichtet" in unwired.text


def test_a_failed_lookup_says_so_and_keeps_the_form():
    from consumers.rights.broker import RightsError

    c = logged_in(FakeLookup(fail=RightsError("hub-rights may not read hub.receipts")))
    answer = ask(c, f"resident_id={RESIDENT}")
    assert answer.status_code == 502
    assert (
        "Abfrage ist fehlgeschlagen" in answer.text and "may not read hub.receipts" in answer.text
    )
    assert 'name="kennungen"' in answer.text
    c = logged_in(FakeLookup(fail=RuntimeError(f"boom {RESIDENT}")))
    answer = ask(c, f"resident_id={RESIDENT}")
    assert answer.status_code == 502 and "RuntimeError" in answer.text and "boom" not in answer.text
