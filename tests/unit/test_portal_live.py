"""The portal's followers (no broker): one topic the portal may not read leaves the others
serving and /healthz naming it, instead of taking the portal down; a follower that stops is
not waited for."""

from __future__ import annotations

import asyncio

from test_portal_app import FACTS, STAFF_REGISTER

from portal import live as live_module
from portal.live import KafkaSources, Live, LiveState
from portal.metrics import PortalMetrics


class Fake:
    """A follower: ``start`` may fail, ``run`` catches up or stops with an error."""

    def __init__(self, topic: str, *, start_fails: bool = False, run_fails: bool = False):
        self.topic, self.start_fails, self.run_fails = topic, start_fails, run_fails
        self.caught_up = asyncio.Event()
        self.error: str | None = None
        self.stopped = False

    async def start(self) -> None:
        if self.start_fails:
            raise PermissionError(f"not allowed to read {self.topic}")

    async def run(self) -> None:
        if self.run_fails:
            self.error = "TopicAuthorizationFailedError: x"
            raise RuntimeError(self.error)
        self.caught_up.set()
        while not self.stopped:
            await asyncio.sleep(0.01)

    def stop(self) -> None:
        self.stopped = True


async def test_a_topic_it_may_not_read_does_not_take_the_portal_down(monkeypatch):
    monkeypatch.setattr(live_module, "topic_retention", lambda *a: {})
    monkeypatch.setattr(live_module, "replayed_offsets", lambda *a: {})
    state = LiveState(FACTS, STAFF_REGISTER)
    live = Live(state, KafkaSources("127.0.0.1:1", None, None, "g"), PortalMetrics())  # type: ignore[arg-type]
    live.followers = [
        Fake("hub.audit"),
        Fake("hub.features.noise_complaints_hourly", start_fails=True),
        Fake("hub.quality", run_fails=True),
    ]
    state.caught_up = {f.topic: False for f in live.followers}
    await live.start()
    caught_up = await asyncio.wait_for(live.wait_caught_up(30), 5)  # not 30 s: nothing to wait for
    assert not caught_up and not state.ready
    assert state.caught_up["hub.audit"] is True
    assert "not allowed" in state.problems["hub.features.noise_complaints_hourly"]
    assert "TopicAuthorization" in state.problems["hub.quality"]
    await live.stop()


async def test_summaries_it_cannot_decode_are_one_line_and_a_count(caplog):
    """hub.quality written under another registry: thousands of undecodable records are left
    out, counted, and logged once."""
    import logging
    from types import SimpleNamespace

    from hub.serde import SerdeError

    class Undecodable:
        async def decode(self, value: bytes) -> dict:
            raise SerdeError("truncated payload for schema id 4")

    metrics = PortalMetrics()
    live = Live(
        LiveState(FACTS, STAFF_REGISTER),
        KafkaSources("127.0.0.1:1", None, None, "g"),  # type: ignore[arg-type]
        metrics,
    )
    live._decoder = Undecodable()  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="hub.portal"):
        for offset in range(500):
            await live._on_quality(SimpleNamespace(value=b"\x00\x00\x00\x00\x04x", offset=offset))  # type: ignore[arg-type]
    said = [r for r in caplog.records if "quality summary not readable" in r.getMessage()]
    assert len(said) == 1 and said[0].offset == 0
    assert live.unreadable == 500
    assert metrics.unreadable.labels(live.state.quality_topic)._value.get() == 500
