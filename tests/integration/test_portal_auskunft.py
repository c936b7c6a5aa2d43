"""The portal's staff page *Auskunft* against the real broker, registry and router: the world of
test_rights (a person routed under four agreements by the real router, one filtering the person
out), the portal served by uvicorn with hub-rights' credential in HUB_CREDENTIALS_DIR while the
portal itself is hub-portal (without hub-rights' ACLs). A staff member with the role looks the
person up and reads the recipients in the letter; the lookup is in hub.rights under the login,
tool "portal"; the Markdown download is the same letter; a member without the role gets 403;
the form and the letter pass axe in Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from backends import require_chromium
from ports import free_port
from router_world import SECRET
from test_portal_browser import ARGS, CHROMIUM, SERIOUS
from test_rights import PHONE, RESIDENT, routed  # noqa: F401 (the world, as a fixture)

from consumers.rights.broker import Broker
from hub.settings import load_settings
from portal.metrics import PortalMetrics
from portal.service import build_portal
from portal.settings import PortalSettings
from portal.staff import Staff

PASSWORD = "Auskunft-fuer-Hamm-2026"
STAFF = (
    Staff({})
    .with_member("dsb", "Datenschutzbeauftragte", PASSWORD, rights=True)
    .with_member("amt", "Sachbearbeitung", PASSWORD)
)


@dataclass
class Served:
    url: str
    routed: object


@pytest.fixture(scope="module")
async def served(routed, kafka_principal) -> AsyncIterator[Served]:  # noqa: F811
    world = routed.world
    (world.root / "secret").write_bytes(SECRET)
    portal_security = kafka_principal("hub-portal")  # no ACLs of this world's topics at all
    settings = load_settings(
        bootstrap_servers=world.bootstrap,
        registry_url=world.registry_url,
        catalog_dir=world.catalog,
        schemas_dir=world.schemas,
        secret_file=world.root / "secret",
        audit_topic=world.topics.audit,
        dlq_topic=world.topics.dlq,
        receipts_topic=world.topics.receipts,
        agreements_topic=world.topics.agreements,
        rights_topic=world.topics.rights,
        rights_confirmations_prefix=world.topics.rights_confirmations,
        receipts_retention_days=30,
        kafka_username="hub-portal",  # what the portal's own process is
    )
    port = free_port()
    # http://127.0.0.1: the test's HTTP client sends no Secure cookie over plain HTTP
    own = PortalSettings(portal_host="127.0.0.1", portal_port=port, portal_cookie_secure=False)
    portal = build_portal(
        settings, own, staff=STAFF, metrics=PortalMetrics(), security=portal_security
    )
    # No lifespan: the followers of hub.audit and hub.dlq are not what this test is about.
    config = uvicorn.Config(
        portal.app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the portal did not start"
        await asyncio.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", routed)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@contextlib.asynccontextmanager
async def staff(served: Served, login: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as c:
        form = await c.get("/anmelden")
        answer = await c.post(
            "/anmelden",
            data={"login": login, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        )
        assert answer.status_code == 303, answer.text
        yield c


async def test_a_lookup_names_the_recipients_and_is_recorded_under_the_login(served):
    world = served.routed.world
    case = f"DS-PORTAL-{uuid.uuid4().hex[:6]}"
    async with staff(served, "dsb") as c:
        form = await c.get("/intern/auskunft")
        assert form.status_code == 200 and 'name="kennungen"' in form.text, form.text
        answer = await c.post(
            "/intern/auskunft",
            data={
                "csrf_token": csrf_of(form.text),
                "kennungen": f"resident_id={RESIDENT}\ncomplainant_phone={PHONE}",
                "aktenzeichen": case,
                "seit": "",
            },
        )
        assert answer.status_code == 200, answer.text
        letter = answer.text.split('class="letter"', 1)[1]
        # the three recipients of the person's data, not kasse (its filter held the person back)
        for name in ("Ordnungsamt", "Statistik", "Umwelt"):
            assert f". {name}</h3>" in letter, name
        assert "Kasse" not in letter
        assert "an 3 Stellen übermittelt, insgesamt 4 Mal" in letter
        assert RESIDENT not in answer.text and PHONE not in answer.text
        token = re.search(r'name="ergebnis" value="([^"]+)"', answer.text).group(1)
        md = await c.post(
            "/intern/auskunft/herunterladen",
            data={"csrf_token": csrf_of(answer.text), "ergebnis": token, "format": "markdown"},
        )
        assert md.status_code == 200 and "## 1. Ordnungsamt" in md.text
        assert f"Aktenzeichen: {case}" in md.text
    # hub.rights holds the lookup: who asked (the login), with which tool, as hub-rights
    broker = Broker(world.bootstrap, world.registry_url, served.routed.principals["hub-rights"])
    try:
        trail = await broker.trail(world.topics.rights)
    finally:
        await broker.aclose()
    (record,) = [r for r in trail if r["case"] == case]
    assert record["requested_by"] == "dsb" and record["tool"] == "portal"
    assert record["principal"] == "hub-rights" and record["kind"] == "ACCESS"
    assert sorted(record["recipients"]) == ["ordnungsamt", "statistik", "umwelt"]


async def test_staff_without_the_role_get_403(served):
    async with staff(served, "amt") as c:
        page = await c.get("/intern/auskunft")
        assert page.status_code == 403 and "Keine Berechtigung" in page.text
        posted = await c.post(
            "/intern/auskunft",
            data={
                "csrf_token": csrf_of((await c.get("/intern/audit")).text),
                "kennungen": f"resident_id={RESIDENT}",
                "aktenzeichen": "DS-VERBOTEN",
            },
        )
        assert posted.status_code == 403
    async with httpx.AsyncClient(base_url=served.url) as anonymous:
        gone = await anonymous.get("/intern/auskunft")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/anmelden")


async def test_the_form_and_the_letter_pass_axe(served):
    require_chromium()
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    async def no_serious_violations(page, what: str) -> None:
        assert await page.locator("h1").count() == 1, what
        results = await Axe().run(page)
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in SERIOUS
        ]
        assert not bad, (what, bad)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(locale="de-DE", bypass_csp=True)
            page = await context.new_page()
            await page.goto(served.url + "/anmelden")
            await page.get_by_label("Anmeldename").fill("dsb")
            await page.get_by_label("Passwort").fill(PASSWORD)
            await page.get_by_role("button", name="Anmelden").click()
            await page.wait_for_url(served.url + "/intern/audit")
            await page.get_by_role("link", name="Auskunft", exact=True).click()
            await page.wait_for_url(served.url + "/intern/auskunft")
            await no_serious_violations(page, "form")
            await page.get_by_label("Kennungen der Person").fill("resident_id")  # no '='
            await page.get_by_label("Aktenzeichen").fill("DS-AXE")
            await page.get_by_role("button", name="Auskunft erstellen").click()
            assert "Zeile 1" in await page.locator("[role=alert]").inner_text()
            await no_serious_violations(page, "errors")
            await page.get_by_label("Kennungen der Person").fill(f"resident_id={RESIDENT}")
            await page.get_by_role("button", name="Auskunft erstellen").click()
            await page.get_by_role("button", name="Als PDF herunterladen").wait_for()
            await no_serious_violations(page, "letter")
            async with page.expect_download() as download:
                await page.get_by_role("button", name="Als PDF herunterladen").click()
            assert (await download.value).suggested_filename == "auskunft-DS-AXE.pdf"
        finally:
            await browser.close()
