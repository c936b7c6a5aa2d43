"""The portal in a real browser (Debian's Chromium through Playwright) against a real hub: the
router routes and writes its audit trail and a dead letter, quality summaries and published
feature windows are in their topics and a forecast in Feast's offline store, the portal folds
them as hub-portal; every public and staff page renders, its links work, login and logout, a
forged form is refused, axe-core finds nothing serious, and a screenshot of each page is kept
under tests/artifacts/."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from backends import require_chromium
from portal_world import (
    STAFF_LOGIN,
    STAFF_PASSWORD,
    prepare_catalog,
    publish_summaries,
    publish_windows,
    serving,
    write_forecast,
)
from router_world import ORDNUNGSAMT, STATISTIK, World, resident
from test_router import read, running

from consumers.audit.cli import read_audit
from consumers.audit.report import summarize

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "portal"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS = {"serious", "critical"}
CITY = ZoneInfo("Europe/Berlin")
SUMMARIES = [
    {"events": 30, "flagged": {"bisherige-plz-in-hamm": 2}, "nulls": {"new_address.street": 3}},
    {"events": 20, "dead_letters": 1, "late": 2, "duplicates": 1},
]


@pytest.fixture(scope="module")
def chromium_available():
    require_chromium()


@pytest.fixture(scope="module")
async def hub(
    chromium_available,
    kafka_bootstrap,
    registry_url,
    kafka_security,
    router_security,
    kafka_principal,
    tmp_path_factory,
):
    """A governed world with two agreements, 6 events routed (one filtered, one dead), quality
    summaries of yesterday, two days of published windows of every feature view and a
    forecast, then the portal serving it as its own principal."""
    portal_security = kafka_principal("hub-portal")
    world = World(kafka_bootstrap, registry_url, tmp_path_factory.mktemp("portal"))
    prepare_catalog(world, features=True)  # before govern: the views' topics get their ACLs
    world.govern(kafka_security, router_security)
    world.agree("ordnungsamt", ORDNUNGSAMT)
    world.agree("statistik", STATISTIK)
    yesterday = dt.datetime.now(CITY).date() - dt.timedelta(days=1)
    await asyncio.to_thread(publish_summaries, world, kafka_security, yesterday, SUMMARIES)
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    await asyncio.to_thread(publish_windows, world, hour)
    feast_repo = world.root / "feast"
    await asyncio.to_thread(write_forecast, feast_repo, hour)
    events = [resident(i) for i in range(4)] + [
        resident(8, city="Unna"),
        resident(9, birth_date=date(2090, 1, 1)),
    ]
    await asyncio.to_thread(world.produce, events)
    async with running(world) as router:
        await read(world, world.delivery_topic("ordnungsamt"), 4)
        await read(world, world.dlq, 1)
        async with serving(world, portal_security, feast_repo=feast_repo) as portal:
            yield world, portal, router
    world.close()


@pytest.fixture(scope="module")
async def browser(chromium_available):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="hub-portal-chromium-"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            locale="de-DE",
            viewport={"width": 1280, "height": 900},
            bypass_csp=True,  # axe-core is injected by the test; the portal itself runs no script
        )
        try:
            yield context
        finally:
            await context.close()


def public_pages(world: World) -> list[str]:
    return [
        "/",
        "/datensaetze",
        f"/datensaetze/{world.source}",
        "/qualitaet",
        f"/qualitaet/{world.source}",
        "/vereinbarungen",
        f"/vereinbarungen/{world.dept}-statistik",
        "/datenfluesse",
        "/wissen",
        "/verarbeitungsverzeichnis",
    ]


STAFF_PAGES = [
    "/intern/audit",
    "/intern/schemaaenderungen",
    "/intern/unzustellbar",
    "/intern/lagebild",
    "/intern/lagebild?einteilung=tag",
]


async def log_in(page, url: str) -> None:
    await page.goto(f"{url}/anmelden")
    await page.get_by_label("Anmeldename").fill(STAFF_LOGIN)
    await page.get_by_label("Passwort").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    await page.wait_for_url(f"{url}/intern/audit")


async def check_page(page, url: str, path: str, name: str) -> None:
    from axe_playwright_python.async_playwright import Axe

    response = await page.goto(url + path)
    assert response is not None and response.status == 200, path
    assert await page.locator("html").get_attribute("lang") == "de"
    assert await page.locator("h1").count() == 1, path
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    results = await Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]
    assert not bad, (path, bad)


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "start"


async def test_every_public_page_renders_without_serious_accessibility_violations(hub, browser):
    world, portal, _ = hub
    page = await browser.new_page()
    for path in public_pages(world):
        await check_page(page, portal.url, path, _slug(path))
    await page.close()


async def test_every_staff_page_renders_after_login_and_passes_axe(hub, browser):
    _world, portal, _ = hub
    page = await browser.new_page()
    await check_page(page, portal.url, "/anmelden", "anmelden")
    await log_in(page, portal.url)
    for path in STAFF_PAGES:
        await check_page(page, portal.url, path, _slug(path))
    await page.goto(portal.url + "/intern/unzustellbar")
    text = await page.locator("main").inner_text()
    assert "ein Feld ließ sich nicht wie vereinbart umwandeln" in text
    assert "hub dlq replay" in text
    await browser.clear_cookies()
    await page.close()


async def test_links_work(hub, browser):
    world, portal, _ = hub
    page = await browser.new_page()
    await log_in(page, portal.url)
    checked: set[str] = set()
    for path in [*public_pages(world), *STAFF_PAGES]:
        await page.goto(portal.url + path)
        hrefs = await page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.getAttribute('href'))"
        )
        for href in hrefs:
            if href.startswith("mailto:"):
                continue
            target = urljoin(portal.url + path, href)
            if urlsplit(target).netloc != urlsplit(portal.url).netloc:
                continue
            target = target.split("#")[0]
            if target in checked:
                continue
            checked.add(target)
            response = await page.request.get(target)
            assert response.status == 200, (path, href, response.status)
    assert len(checked) > 20
    # a node of the lineage graph is a link a person can follow
    await page.goto(portal.url + "/datenfluesse")
    await page.locator(f'svg a[href="/vereinbarungen/{world.dept}-statistik"]').click()
    await page.wait_for_url(f"{portal.url}/vereinbarungen/{world.dept}-statistik")
    await browser.clear_cookies()
    await page.close()


async def test_login_and_logout(hub, browser):
    _, portal, _ = hub
    page = await browser.new_page()
    await page.goto(portal.url + "/intern/audit")
    assert page.url.startswith(portal.url + "/anmelden")
    await page.get_by_label("Anmeldename").fill(STAFF_LOGIN)
    await page.get_by_label("Passwort").fill("falsch")
    await page.get_by_role("button", name="Anmelden").click()
    assert "stimmen nicht" in await page.locator("[role=alert]").inner_text()
    await log_in(page, portal.url)
    cookies = {c["name"]: c for c in await browser.cookies()}
    session = cookies["hub_portal_session"]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict"
    await page.get_by_role("button", name=re.compile("Abmelden")).click()
    await page.wait_for_url(portal.url + "/")
    await page.goto(portal.url + "/intern/audit")
    assert page.url.startswith(portal.url + "/anmelden")
    await page.close()


async def test_a_forged_form_is_refused(hub, browser):
    _, portal, _ = hub
    page = await browser.new_page()
    await page.goto(portal.url + "/anmelden")
    # What another site's form would send: the right fields, but not this browser's token.
    await page.eval_on_selector("input[name=csrf_token]", "e => e.value = 'forged'")
    await page.get_by_label("Anmeldename").fill(STAFF_LOGIN)
    await page.get_by_label("Passwort").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    assert await page.locator("h1").inner_text() == "Sicherheitsprüfung fehlgeschlagen"
    assert "hub_portal_session" not in {c["name"] for c in await browser.cookies()}
    await page.close()


async def test_the_portal_counts_what_hub_audit_report_counts_and_follows_the_trail(hub, browser):
    world, portal, _ = hub
    state = portal.portal.state

    async def agree_with_report() -> dict:
        records = await read_audit(world.bootstrap, world.registry_url, world.audit)
        expected = {
            s.agreement_id: (s.delivered, s.filtered, s.batches) for s in summarize(records)
        }
        for _ in range(100):
            ours = {
                s.agreement_id: (s.delivered, s.filtered, s.batches)
                for s in state.audit.summaries()
            }
            if ours == expected:
                return expected
            await asyncio.sleep(0.1)
        raise AssertionError((ours, expected))

    first = await agree_with_report()
    assert first[f"{world.dept}-ordnungsamt"][:2] == (5, 1)  # the Unna move is filtered
    assert first[f"{world.dept}-statistik"][0] == 5  # the unborn one is a dead letter there
    page = await browser.new_page()
    await page.goto(portal.url + "/index.json")
    before = (await page.evaluate("() => JSON.parse(document.body.innerText)"))["figures"][
        "deliveries_total"
    ]
    await asyncio.to_thread(world.produce, [resident(20 + i) for i in range(3)])
    await read(world, world.delivery_topic("statistik"), 8)
    later = await agree_with_report()
    assert later[f"{world.dept}-statistik"][0] == first[f"{world.dept}-statistik"][0] + 3
    for _ in range(50):
        response = await page.request.get(portal.url + "/index.json")
        if (await response.json())["figures"]["deliveries_total"] == before + 6:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the start page did not follow the audit trail")
    health = await page.request.get(portal.url + "/healthz")
    assert health.status == 200 and (await health.json())["status"] == "ok"
    await page.close()


async def test_quality_and_the_lagebild_show_what_their_topics_and_feast_hold(hub, browser):
    world, portal, _ = hub
    page = await browser.new_page()
    response = await page.request.get(f"{portal.url}/qualitaet/{world.source}.json")
    quality = await response.json()
    day = next(d for d in quality["per_day"] if d["events"] == 50)
    assert (day["flags"], day["dead_letters"], day["late"], day["duplicates"]) == (2, 1, 2, 1)
    assert quality["rules"][0]["rule"] == "bisherige-plz-in-hamm"
    assert {n["path"]: n["count"] for n in quality["nulls"]}["new_address.street"] == 3
    # and today what the world's router measured of the (at least six) events it routed
    today = quality["per_day"][-1]
    assert today["events"] >= 6 and today["dead_letters"] == 1, today
    await log_in(page, portal.url)
    await page.goto(portal.url + "/intern/lagebild")
    text = await page.locator("main").inner_text()
    assert "Lärmbeschwerden" in text and "Stadt gesamt" in text and "Prognose je Bezirk" in text
    response = await page.request.get(portal.url + "/intern/lagebild.json?einteilung=tag")
    situation = await response.json()
    sections = {s["slug"]: s for s in situation["sections"]}
    assert all(s["has_data"] for s in sections.values()), sections.keys()
    noise = sections["laerm"]
    assert {r["label"] for r in noise["rows"]} == {"59063", "59065"}
    (forecast,) = situation["forecasts"]
    assert forecast["horizon"] == 24 and len(forecast["districts"]) == 2
    assert all(d["published_before"] for d in forecast["districts"])  # actuals beside it
    await browser.clear_cookies()
    await page.close()
