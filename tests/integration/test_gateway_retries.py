"""Idempotency-Key across gateway instances and restarts, on the real broker: two gateways
(subprocesses, as `hub gateway serve` runs them) share the keys through the compacted topic, so
a retry that reaches the other one, or the same one after a restart, publishes nothing again."""

from __future__ import annotations

import asyncio
import os
import uuid

from connect_world import Dept, parking, running_gateway

from producers.gateway.departments import hash_token

TOKEN = "hub_idempotency-test-token"
SERVE = "from producers.gateway.cli import app; app()"


def gateway(env: dict[str, str]):
    return running_gateway(env, TOKEN)


async def test_a_retry_reaching_another_instance_or_a_restarted_one_publishes_nothing(
    kafka_bootstrap, registry_url, tmp_path
):
    dept = Dept(kafka_bootstrap, registry_url)
    topic = await dept.register()
    departments = tmp_path / "departments.yaml"
    departments.write_text(
        f"departments:\n  {dept.name}:\n    tokens: ['{hash_token(TOKEN)}']\n"
        "    rate_limit: {events_per_second: 100000, burst: 100000}\n"
    )
    env = {
        **os.environ,
        "HUB_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "HUB_REGISTRY_URL": registry_url,
        "HUB_GATEWAY_DEPARTMENTS_FILE": str(departments),
        "HUB_GATEWAY_IDEMPOTENCY_TOPIC": f"hub.gateway.idempotency.test-{uuid.uuid4().hex[:8]}",
    }
    url = f"/v1/topics/{topic}/events"
    batch = [parking(i) for i in range(3)]
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}

    async with gateway(env) as one, gateway(env) as two:
        first = await one.post(url, json=batch, headers=key)
        assert first.status_code == 201, first.text
        # The other instance catches up with the keys before it calls one unknown.
        again = await two.post(url, json=batch, headers=key)
        assert again.status_code == 201
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json() == first.json()
        other = await two.post(url, json=[parking(9)], headers=key)
        assert other.status_code == 422

    async with gateway(env) as restarted:
        after = await restarted.post(url, json=batch, headers=key)
        assert after.headers.get("idempotent-replayed") == "true"
        assert after.json() == first.json()

    messages = await asyncio.to_thread(dept.read, topic, 3, 30.0, 2.0)
    assert len(messages) == 3  # one publish, however often it was retried
