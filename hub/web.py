"""Serving a hub HTTP service with uvicorn: SIGTERM and SIGINT finish the requests in flight and
then stop, a failed startup exits non-zero, and the hub's structured logging stays in charge."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    """uvicorn with the signal handling left to ``serve_app`` (its own re-raises the signal
    after stopping, which would end the process before the Kafka clients close)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(server: uvicorn.Server, name: str) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # a second signal forces the exit, as with uvicorn's own handler
        loop.add_signal_handler(sig, server.handle_exit, sig, None)
    await server.serve()
    if not server.started:
        raise SystemExit(1)  # startup failed; uvicorn has said why
    logging.getLogger("hub.web").info(f"{name} stopped")


def serve_app(app: Any, *, name: str, host: str, port: int, grace: float = 30) -> None:
    """Serve ``app`` until SIGTERM or SIGINT; return after a graceful stop."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # keep the hub's structured logging
        timeout_graceful_shutdown=grace,
    )
    asyncio.run(_serve(_Server(config), name))
