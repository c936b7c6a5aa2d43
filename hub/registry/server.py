"""Run the registry: Kafka log + service + HTTP app + uvicorn, started and stopped together.

``RegistryServer`` is for embedding (tests, benchmarks): ``async with RegistryServer(bootstrap,
topic=..., port=0) as srv: srv.url``. ``serve`` is the command's main loop; uvicorn turns SIGTERM
and SIGINT into a graceful stop, after which the Kafka clients are closed.

Its Kafka clients authenticate as ``security`` (default: this process's principal, else
``hub-registry``). HTTP clients authenticate only with an ``authenticator`` (``hub registry
serve`` passes the KafkaAuthenticator when the broker runs SASL); ``principals`` decide who may
write which subject and which subjects are raw (their schemas must carry doc and x-pii).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import uvicorn

from hub.access.principals import Principals
from hub.kafka import KafkaSecurity
from hub.registry.api import create_app
from hub.registry.auth import Authenticator
from hub.registry.contract import RawContract
from hub.registry.kafka_log import KafkaSchemaLog
from hub.registry.service import DEFAULT_COMPATIBILITY, Registry

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers (it re-raises the signal after stopping, which would
    kill the process before the Kafka clients close); ``serve`` installs its own."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class RegistryServer:
    """A registry instance on ``host:port`` (port 0: a free one; see ``url``)."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic: str = "_schemas",
        host: str = "127.0.0.1",
        port: int = 0,
        default_compatibility: str = DEFAULT_COMPATIBILITY,
        replication_factor: int = 1,
        security: KafkaSecurity | None = None,
        principals: Principals | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.security = security or KafkaSecurity.from_settings(principal="hub-registry")
        self.schema_log = KafkaSchemaLog(
            bootstrap_servers, topic, replication_factor=replication_factor, security=self.security
        )
        self.registry = Registry(
            self.schema_log,
            default_compatibility=default_compatibility,
            contract=RawContract(principals) if principals is not None else None,
        )
        self.authenticator = authenticator
        self.app = create_app(self.registry, authenticator=authenticator, principals=principals)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> RegistryServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Catch up with the topic, then listen; returns once requests are served."""
        await self.schema_log.start()
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only then (else Nagle adds ~40 ms a request)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((self.host, self.port))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                await self._task  # raises what stopped it
                raise RuntimeError("registry HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        log.info(
            "registry listening",
            extra={
                "url": self.url,
                "topic": self.schema_log.topic,
                "principal": self.security.principal,
                "authentication": type(self.authenticator).__name__
                if self.authenticator is not None
                else "none",
            },
        )

    async def wait(self) -> None:
        """Until the HTTP server stops (see ``request_stop``)."""
        await self._task

    def request_stop(self) -> None:
        """Ask the HTTP server to finish open requests and stop (safe from a signal handler)."""
        if self._server is not None:
            self._server.should_exit = True

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await self._task
            self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        await self.schema_log.stop()
        log.info("registry stopped", extra={"url": self.url})


async def serve(server: RegistryServer) -> None:
    """Run ``server`` until SIGTERM/SIGINT, then stop cleanly (HTTP first, then Kafka)."""
    loop = asyncio.get_running_loop()
    await server.start()
    stop_signals = (signal.SIGTERM, signal.SIGINT)
    for sig in stop_signals:
        loop.add_signal_handler(sig, server.request_stop)
    try:
        await server.wait()
    finally:
        for sig in stop_signals:
            loop.remove_signal_handler(sig)
        await server.stop()


class RegistryThread:
    """A ``RegistryServer`` on its own event loop in a thread, for synchronous callers
    (Confluent's blocking client, tests, scripts): ``with RegistryThread(bootstrap) as srv:``."""

    def __init__(self, bootstrap_servers: str, **options: Any) -> None:
        self._args = (bootstrap_servers, options)
        self.server: RegistryServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started: Future[None] = Future()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def __enter__(self) -> RegistryThread:
        self._thread = threading.Thread(target=self._run, name="registry", daemon=True)
        self._thread.start()
        self._started.result(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop is not None and self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._thread = None

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        bootstrap, options = self._args
        try:
            self.server = RegistryServer(bootstrap, **options)
            loop.run_until_complete(self.server.start())
        except BaseException as exc:
            self._started.set_exception(exc)
            loop.close()
            return
        self._started.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.close()
