"""Page latency of the transparency portal with 1M audit records folded (target: p99 <= 100 ms).

Folds N synthetic audit records (the shipped catalog's agreements, spread over a year) into the
portal's fold, as following ``hub.audit`` would, then asks every page, public and staff, and its
JSON twin over the ASGI interface (no network: the page's own cost). Also decodes and folds
real Avro audit records to give the fold's throughput from the wire. Prints one JSON object.

    .venv/bin/python bench/portal.py [--records 1000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# This file has the name of the package it measures: import the package, not this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-long"


def synthetic(facts: Any, n: int, now: dt.datetime) -> list[dict]:
    agreements = list(facts.agreements.values())
    out = []
    step = dt.timedelta(days=365) / n
    for i in range(n):
        a = agreements[i % len(agreements)].agreement
        out.append(
            {
                "agreement_id": a.id,
                "subscriber": a.subscriber,
                "purpose": a.purpose,
                "legal_basis": a.legal_basis,
                "sensitive_legal_basis": a.sensitive_legal_basis,
                "source_topic": a.source,
                "source_partition": i % 3,
                "first_offset": i * 10,
                "last_offset": i * 10 + 9,
                "delivery_topic": a.topic,
                "delivered": 1 + i % 17,
                "filtered": i % 3,
                "fields": [{"path": p, "transform": str(t)} for p, t in a.fields.items()],
                "key_transform": str(a.key),
                "output_schema_id": 7,
                "router": "hub-router-0",
                "replayed": i % 997 == 0,
                "recorded_at": now - step * (n - i),
            }
        )
    return out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(app: Any, paths: list[str], requests: int) -> dict[str, dict[str, float]]:
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
        page = await client.get("/anmelden")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        await client.post(
            "/anmelden", data={"login": "bench", "password": PASSWORD, "csrf_token": token}
        )
        figures: dict[str, dict[str, float]] = {}
        for path in paths:
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = await client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            figures[path] = {
                "p50_ms": round(statistics.median(times), 2),
                "p99_ms": round(quantile(times, 0.99), 2),
                "max_ms": round(max(times), 2),
            }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    from consumers.router.audit import AUDIT_SCHEMA
    from hub.serde import AvroSerde
    from portal.app import create_app
    from portal.audit import AuditFold
    from portal.dcat import Endpoints
    from portal.facts import load_facts
    from portal.live import LiveState
    from portal.sessions import LoginLimiter, SessionCodec, session_key
    from portal.staff import Staff

    facts = load_facts(REPO / "catalog", REPO / "schemas")
    now = dt.datetime.now(dt.UTC)
    records = synthetic(facts, args.records, now)

    # From the wire: decode + fold (what the follower does per record), on a sample.
    serde = AvroSerde()
    serde.add_schema(7, AUDIT_SCHEMA)
    sample = [serde.encode(7, r) for r in records[:50_000]]
    wire = AuditFold()
    started = time.perf_counter()
    for value in sample:
        wire.add(serde.decode(value))
    wire_rate = len(sample) / (time.perf_counter() - started)

    fold = AuditFold()
    started = time.perf_counter()
    fold.add_all(records)
    fold_seconds = time.perf_counter() - started
    del records

    state = LiveState(facts, Staff({}).with_member("bench", "Bench", PASSWORD))
    state.audit = fold
    state.caught_up = {"hub.audit": True, "hub.dlq": True}
    app = create_app(
        state,
        SessionCodec(session_key(b"b" * 32), 3600),
        endpoints=Endpoints("https://portal", "https://registry", "https://gateway"),
        limiter=LoginLimiter(5, 300),
    )
    some = next(iter(facts.agreements))
    since = (now - dt.timedelta(days=30)).date().isoformat()
    paths = [
        "/",
        "/index.json",
        "/datensaetze",
        "/datensaetze/buergeramt.resident.moved",
        "/vereinbarungen",
        f"/vereinbarungen/{some}",
        f"/vereinbarungen/{some}.json",
        "/datenfluesse",
        "/wissen",
        "/verarbeitungsverzeichnis",
        "/dcat/catalog.ttl",
        "/intern/audit",
        f"/intern/audit.json?von={since}",
        "/intern/schemaaenderungen",
        "/intern/unzustellbar",
    ]
    pages = asyncio.run(measure(app, paths, args.requests))
    worst = max(p["p99_ms"] for p in pages.values())
    print(
        json.dumps(
            {
                "benchmark": "portal",
                "audit_records_folded": fold.records,
                "deliveries_counted": fold.delivered,
                "fold_records_per_second": round(fold.records / fold_seconds),
                "decode_and_fold_records_per_second": round(wire_rate),
                "requests_per_page": args.requests,
                "pages": pages,
                "worst_p99_ms": worst,
                "target_p99_ms": 100,
                "meets_target": worst <= 100,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
