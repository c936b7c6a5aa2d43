"""The README's screenshots: the portal on the shipped catalog with a month of example deliveries,
quality summaries, published feature windows and a forecast, photographed by Debian's Chromium
(Playwright), the Lagebild after a staff login. No broker needed.

    .venv/bin/python -m portal.screenshots [--out docs]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import secrets
import socket
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import orjson
import uvicorn

from portal.app import create_app
from portal.dcat import Endpoints
from portal.facts import load_facts
from portal.live import LiveState
from portal.sessions import SessionCodec, session_key
from portal.staff import Staff

REPO = Path(__file__).resolve().parents[1]
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
SHOTS = (
    ("/vereinbarungen/statistikstelle-resident-moved", "portal-agreement.png"),
    ("/datenfluesse", "portal-lineage.png"),
    ("/qualitaet/buergeramt.resident.moved", "portal-quality.png"),
)
STAFF_SHOTS = (("/intern/lagebild", "portal-lagebild.png"),)
LOGIN = "demo"
PASSWORD = secrets.token_urlsafe(16)  # lives only as long as this process


class ExampleForecasts:
    """Forecasts made on the spot by the feature store's own model (no Feast)."""

    note: str | None = None

    def __init__(self, rows: list) -> None:
        self.rows = rows

    def all(self, views: Iterable[str]) -> dict[str, list]:
        return {"noise_complaints_hourly": self.rows} if self.rows else {}


def _example_features(state: LiveState, now: dt.datetime) -> None:
    """Six weeks of noise windows per postcode district (more in the evening), daily moves,
    the air of two stations, roadworks; and a forecast of the next 24 hours."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    postcodes = ("59063", "59065", "59067", "59069", "59071", "59073", "59075", "59077")
    ms = 3_600_000
    end = int(hour.timestamp() * 1000)

    def add(view: str, entity_name: str, entity: str, start: int, size: int, **features) -> None:
        record = {
            "view": view,
            "entity_name": entity_name,
            "entity": entity,
            "window_start_ms": start,
            "window_end_ms": start + size,
            "features": features,
        }
        state.windows.add(view, orjson.dumps(record))

    for h in range(1, 42 * 24):
        start = end - h * ms
        local = dt.datetime.fromtimestamp(start / 1000, dt.UTC).hour
        for i, pc in enumerate(postcodes):
            if (h + i) % 5 == 0:
                continue  # fewer than five complainants: withheld by the k-gate
            evening = 3 if local >= 17 or local < 1 else 1
            add(
                "noise_complaints_hourly",
                "postcode",
                pc,
                start,
                ms,
                complaints=5 + evening * (i % 3) + h % 2,
            )
        if h % 24 == 0:
            day = end - h * ms
            for i, pc in enumerate(postcodes):
                add("moves_in_daily", "postcode", pc, day, 24 * ms, moves_in=5 + (h // 24 + i) % 4)
                add(
                    "moves_out_daily",
                    "postcode",
                    pc,
                    day,
                    24 * ms,
                    moves_out=5 + (h // 24 + 2 * i) % 5,
                )
            add(
                "roadworks_per_h3_7d",
                "h3_cell",
                "881f1d4b5bfffff",
                day - 6 * 24 * ms,
                7 * 24 * ms,
                roadworks=3 + h // 24 % 3,
            )
        for station, base in (("HAM-MI-01", 24.0), ("HAM-WE-02", 38.0)):
            add(
                "air_quality_hourly",
                "station",
                station,
                start,
                ms,
                no2_mean=base + h % 7,
                pm10_mean=base / 2,
                measurements=4,
            )
    try:
        from consumers.features.forecast import forecast_entity
    except ImportError:  # pragma: no cover - without the feature store
        return
    from portal.lagebild import ForecastRow

    rows = []
    by_pc: dict[str, list] = {}
    for w in state.windows.windows("noise_complaints_hourly"):
        start = dt.datetime.fromtimestamp(w.start_ms / 1000, dt.UTC)
        by_pc.setdefault(w.entity, []).append((start, float(w.features["complaints"])))
    for pc, history in sorted(by_pc.items()):
        try:
            f = forecast_entity(
                pc, history, start=hour, step=dt.timedelta(hours=1), horizon=24, seed=42
            )
        except Exception:  # pragma: no cover - scikit-learn missing
            return
        rows.append(
            ForecastRow(
                pc,
                hour,
                hour,
                3600,
                "complaints",
                f.values,
                f.low,
                f.high,
                f.mae_last_horizon,
                f.training_windows,
                "poisson-hour-of-day",
            )
        )
    state.forecasts = ExampleForecasts(rows)  # type: ignore[assignment]


def _example_quality(state: LiveState, now: dt.datetime) -> None:
    from hub.quality.summary import Figures, to_record

    today = now.date()
    for day in range(30):
        events = 180 + (day * 37) % 90
        flagged = 2 + day % 4 if day < 26 else 14 + day % 3  # a release broke the postcode
        figures = Figures(
            events=events,
            flagged=Counter({"bisherige-plz-in-hamm": flagged, "einzug-vor-meldung": day % 2}),
            dead_letters=day % 3 == 0,
            late=day % 5,
            duplicates=day % 7 == 0,
            nulls=Counter({"new_address.street": events // 9}),
        )
        stamp = (today - dt.timedelta(days=29 - day)).isoformat()
        state.quality.add(to_record("buergeramt.resident.moved", stamp, 0, figures, now))


def example_state() -> LiveState:
    from portal.quality import load_rule_texts

    facts = load_facts(REPO / "catalog", REPO / "schemas")
    state = LiveState(facts, Staff({}).with_member(LOGIN, "Amtsleitung", PASSWORD))
    state.caught_up = {"hub.audit": True, "hub.dlq": True}
    state.rule_texts = load_rule_texts(facts.catalog)
    now = dt.datetime.now(dt.UTC).replace(hour=10)
    _example_quality(state, now)
    _example_features(state, dt.datetime.now(dt.UTC))
    for day in range(30):
        for i, a in enumerate(facts.agreements.values()):
            state.audit.add(
                {
                    "agreement_id": a.id,
                    "subscriber": a.agreement.subscriber,
                    "purpose": a.agreement.purpose,
                    "legal_basis": a.agreement.legal_basis,
                    "sensitive_legal_basis": a.agreement.sensitive_legal_basis,
                    "source_topic": a.agreement.source,
                    "delivery_topic": a.agreement.topic,
                    "delivered": 20 + (day * 7 + i * 13) % 45,
                    "filtered": 0,
                    "fields": [],
                    "key_transform": str(a.agreement.key),
                    "replayed": False,
                    "recorded_at": now - dt.timedelta(days=29 - day),
                }
            )
    return state


async def shoot(out: Path) -> list[Path]:
    from playwright.async_api import async_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(
        example_state(),
        SessionCodec(session_key(b"screenshots-only-not-a-secret-key"), 60),
        endpoints=Endpoints(
            f"http://127.0.0.1:{port}", "http://127.0.0.1:8081", "http://127.0.0.1:8000"
        ),
    )
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=False))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    written = []
    try:
        async with async_playwright() as p:
            context = await p.chromium.launch_persistent_context(
                tempfile.mkdtemp(prefix="hub-portal-shots-"),
                executable_path="/usr/bin/chromium",
                headless=True,
                args=ARGS,
                viewport={"width": 1280, "height": 1000},
                locale="de-DE",
            )
            page = await context.new_page()
            out.mkdir(parents=True, exist_ok=True)
            for path, name in SHOTS:
                await page.goto(f"http://127.0.0.1:{port}{path}")
                await page.screenshot(path=str(out / name), full_page=True)
                written.append(out / name)
            await page.goto(f"http://127.0.0.1:{port}/anmelden")
            await page.get_by_label("Anmeldename").fill(LOGIN)
            await page.get_by_label("Passwort").fill(PASSWORD)
            await page.get_by_role("button", name="Anmelden").click()
            await page.wait_for_url("**/intern/**")
            for path, name in STAFF_SHOTS:
                await page.goto(f"http://127.0.0.1:{port}{path}")
                await page.screenshot(path=str(out / name), full_page=True)
                written.append(out / name)
            await context.close()
    finally:
        server.should_exit = True
        await serving
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    for path in asyncio.run(shoot(parser.parse_args().out)):
        print(path)


if __name__ == "__main__":
    main()
