"""A webhook receiver, as a subscriber would write one: it checks the signature, dedupes by
``webhook-id`` and keeps what arrived. The tests script it to fail, the benchmark measures
against it, the demo runs one for the Bußgeldstelle's vendor system.

A plain ASGI app (no framework: it must be cheap enough not to be what a benchmark measures),
served by uvicorn in a thread of its own with ``ReceiverThread``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from consumers.webhooks.signing import WebhookVerificationError, verify


@dataclass(frozen=True)
class Received:
    """One request that carried a valid signature."""

    id: str  # webhook-id: the delivery id
    headers: dict[str, str]  # lower-case names
    body: bytes
    record: Any  # the JSON body
    at: float  # time.time() on arrival
    attempt: int  # 1 for the first request with this id, 2 for the next, ...


@dataclass(frozen=True)
class Reply:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering (a slow or hanging receiver)


Script = Callable[[Received], Reply | Awaitable[Reply]]


class Receiver:
    """ASGI app: 401 for a request whose signature does not verify, else ``script``'s reply
    (default 204). ``received`` holds every verified request (retries too, in arrival order),
    ``accepted`` the first 2xx-answered one per ``webhook-id``."""

    def __init__(
        self, secret: str | Sequence[str], script: Script | None = None, *, keep: bool = True
    ) -> None:
        self.secret = secret
        self.script = script
        self.keep = keep  # False: count only (a benchmark's millions of requests)
        self.received: list[Received] = []
        self.accepted: dict[str, Received] = {}
        self.rejected: list[str] = []  # why requests were refused
        self.requests = 0
        self.answered_ok = 0  # 2xx replies, retries and duplicates included
        self.duplicates = 0  # acknowledged again (a retry after a lost answer, a replay)
        self._seen: dict[str, int] = {}
        self._acked: set[str] = set()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests += 1
        try:
            record = verify(headers, body, self.secret)
        except (WebhookVerificationError, ValueError) as error:
            self.rejected.append(str(error))
            await _answer(send, Reply(401, body=str(error).encode()))
            return
        msg_id = headers["webhook-id"]
        with self._lock:
            attempt = self._seen[msg_id] = self._seen.get(msg_id, 0) + 1
        got = Received(msg_id, headers, body, record, time.time(), attempt)
        if self.keep:
            self.received.append(got)
        reply = Reply()
        if self.script is not None:
            reply = self.script(got)
            if inspect.isawaitable(reply):
                reply = await reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if 200 <= reply.status < 300:
            with self._lock:
                self.answered_ok += 1
                if msg_id in self._acked:
                    self.duplicates += 1
                else:
                    self._acked.add(msg_id)
                    if self.keep:
                        self.accepted[msg_id] = got
        await _answer(send, reply)

    @property
    def acknowledged(self) -> int:
        """Distinct deliveries answered 2xx."""
        return len(self._acked)


async def _answer(send: Callable, reply: Reply) -> None:
    headers = [(b"content-length", str(len(reply.body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in reply.headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


class ReceiverThread:
    """``with ReceiverThread(receiver, port) as r: r.url``: uvicorn on 127.0.0.1 in a thread."""

    def __init__(self, app: Any, port: int, path: str = "/hub/events") -> None:
        import uvicorn

        self.port = port
        self.url = f"http://127.0.0.1:{port}{path}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name="webhook-receiver", daemon=True
        )

    def __enter__(self) -> ReceiverThread:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the webhook receiver did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def json_reply(status: int, payload: Any, **headers: str) -> Reply:
    return Reply(status, {"content-type": "application/json", **headers}, orjson.dumps(payload))
