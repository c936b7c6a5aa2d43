"""A running portal against a small real hub (router_world's: broker, registry, router writing
its audit trail and dead letters), served by uvicorn in the test's event loop as hub-portal."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from ports import free_port
from router_world import SECRET, World

from hub.kafka import KafkaSecurity
from hub.settings import load_settings
from portal.metrics import PortalMetrics
from portal.service import Portal, build_portal
from portal.settings import PortalSettings
from portal.staff import hash_password

REPO = Path(__file__).resolve().parents[2]
STAFF_LOGIN, STAFF_PASSWORD = "dsb", "Pruefung-der-Lieferungen-2026"


def prepare_catalog(world: World) -> None:
    """The world's catalog gets the controller's file and one staff login."""
    catalog = world.agreements_dir.parent
    shutil.copy(REPO / "catalog" / "organisation.yaml", catalog / "organisation.yaml")
    (catalog / "portal.yaml").write_text(
        f"staff:\n  {STAFF_LOGIN}:\n    name: Datenschutzbeauftragte\n"
        f'    password_hash: "{hash_password(STAFF_PASSWORD)}"\n'
    )
    (world.root / "secret").write_bytes(SECRET)


@dataclass
class RunningPortal:
    portal: Portal
    url: str


@contextlib.asynccontextmanager
async def serving(world: World, security: KafkaSecurity) -> AsyncIterator[RunningPortal]:
    settings = load_settings(
        bootstrap_servers=world.bootstrap,
        registry_url=world.registry_url,
        catalog_dir=world.agreements_dir.parent,
        schemas_dir=world.schemas_dir,
        audit_topic=world.audit,
        dlq_topic=world.dlq,
        router_group=world.group,
        secret_file=world.root / "secret",
    )
    port = free_port()
    own = PortalSettings(portal_host="127.0.0.1", portal_port=port, portal_dlq_refresh=1.0)
    portal = build_portal(settings, own, metrics=PortalMetrics(), security=security)
    server = uvicorn.Server(
        uvicorn.Config(portal.app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the portal did not start"
        await asyncio.sleep(0.05)
    try:
        yield RunningPortal(portal, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
