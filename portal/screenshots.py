"""The README's screenshots: the portal on the shipped catalog with a month of example deliveries,
photographed by Debian's Chromium (Playwright). No broker needed.

    .venv/bin/python -m portal.screenshots [--out docs]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import socket
import tempfile
from pathlib import Path

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
)


def example_state() -> LiveState:
    facts = load_facts(REPO / "catalog", REPO / "schemas")
    state = LiveState(facts, Staff({}))
    state.caught_up = {"hub.audit": True, "hub.dlq": True}
    now = dt.datetime.now(dt.UTC).replace(hour=10)
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
