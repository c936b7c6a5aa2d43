"""The single broker SIGKILLed under load and restarted: the gateway answers 503 with
Retry-After within its bound while the broker is gone, reconnects by itself, and a client that
retries with the same Idempotency-Key gets its events published exactly once (the publish it was
told 503 about may still complete: until it has, a retry is 409; afterwards it gets that
answer). The gateway runs as `hub gateway serve` does; nothing of it is restarted.

The broker is this test's own (its own port and data dir, the session's admin credential), so
killing it disturbs no other test.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

from broker_faults import sigkill
from connect_world import REPO, Dept, parking, running_gateway

from hub.broker.local import LocalBroker
from producers.gateway.departments import hash_token

TOKEN = "hub_outage-test-token"
BOUND_S = 5.0  # HUB_GATEWAY_BROKER_TIMEOUT


async def test_the_gateway_gives_up_within_its_bound_and_a_retry_publishes_once(
    own_broker: LocalBroker, kafka_security, tmp_path: Path
):
    from hub.access.principals import load_principals
    from hub.registry.auth import authenticator_for
    from hub.registry.server import RegistryThread

    bootstrap = own_broker.bootstrap
    principals = load_principals(REPO / "catalog" / "departments.yaml")
    with RegistryThread(
        bootstrap,
        topic=f"_schemas-outage-{uuid.uuid4().hex[:6]}",
        security=kafka_security,
        principals=principals,
        authenticator=authenticator_for(bootstrap, kafka_security),
    ) as registry:
        dept = Dept(bootstrap, registry.url)
        topic = await dept.register()
        departments = tmp_path / "departments.yaml"
        departments.write_text(
            f"departments:\n  {dept.name}:\n    tokens: ['{hash_token(TOKEN)}']\n"
            "    rate_limit: {events_per_second: 100000, burst: 100000}\n"
        )
        env = {
            **os.environ,
            "HUB_BOOTSTRAP_SERVERS": bootstrap,
            "HUB_REGISTRY_URL": registry.url,
            "HUB_GATEWAY_DEPARTMENTS_FILE": str(departments),
            "HUB_GATEWAY_BROKER_TIMEOUT": str(BOUND_S),
            "HUB_GATEWAY_IDEMPOTENCY_TOPIC": f"hub.gateway.idempotency.outage-{uuid.uuid4().hex[:6]}",
        }
        url = f"/v1/topics/{topic}/events"
        async with running_gateway(env, TOKEN, log=tmp_path / "gateway.log", timeout=60) as client:
            before = await client.post(url, json=[parking(i) for i in range(10)])
            assert before.status_code == 201

            sigkill(own_broker)
            key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
            batch = [parking(100 + i) for i in range(5)]
            started = time.monotonic()
            during = await client.post(url, json=batch, headers=key)
            waited = time.monotonic() - started
            assert during.status_code == 503, during.text
            assert int(during.headers["retry-after"]) >= 1
            assert waited < BOUND_S + 1.5, f"the gateway answered only after {waited:.1f} s"

            await asyncio.to_thread(own_broker.start)
            retry = None
            for _ in range(120):  # the producer reconnects by itself
                retry = await client.post(url, json=batch, headers=key)
                if retry.status_code == 201:
                    break
                assert retry.status_code in (409, 503), retry.text
                await asyncio.sleep(0.5)
            assert retry is not None and retry.status_code == 201, retry.text
            again = await client.post(url, json=batch, headers=key)
            assert again.headers.get("idempotent-replayed") == "true"

        messages = await asyncio.to_thread(dept.read, topic, 15, 30.0, 2.0)
        keys = [m.key() for m in messages]
        assert len(messages) == 15, f"{len(messages)} events where 15 were sent"
        assert len(set(keys)) == 15
