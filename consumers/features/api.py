"""HTTP access to online features: ``GET /v1/features/{view}?<entity>=<value>``, ``/metrics``,
``/healthz``. A thin edge over Feast's ``get_online_features`` (SQLite, Redis or Postgres)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from prometheus_client import Counter, make_asgi_app

from consumers.features.binding import FeatureCatalog
from consumers.features.feast_repo import online_features

LOOKUPS = Counter(
    "hub_features_api_lookups", "Online feature lookups, by view and result.", ["view", "result"]
)


def create_app(catalog: FeatureCatalog, store: Any) -> FastAPI:
    """The API over ``store`` (a ``feast.FeatureStore``) for the views of ``catalog``."""
    app = FastAPI(title="Datendrehscheibe feature store", version="1")
    app.mount("/metrics", make_asgi_app())

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "views": [v.name for v in catalog.views]}

    @app.get("/v1/features")
    def views() -> list[dict[str, Any]]:
        return [
            {
                "view": v.name,
                "entity": v.definition.entity.name,
                "window": v.definition.window.model_dump(),
                "k": v.definition.k,
                "features": [a.name for a in v.definition.aggregations],
                "description": v.definition.description,
            }
            for v in catalog.views
        ]

    # Sync handler: FastAPI runs it in its thread pool, Feast's client is blocking.
    @app.get("/v1/features/{view}")
    def features(view: str, request: Request) -> dict[str, Any]:
        try:
            bound = catalog.view(view)
        except KeyError as exc:
            LOOKUPS.labels("unknown", "not_found").inc()
            raise HTTPException(404, str(exc.args[0])) from None
        entity = bound.definition.entity.name
        value = request.query_params.get(entity) or request.query_params.get("entity")
        if not value:
            LOOKUPS.labels(view, "bad_request").inc()
            raise HTTPException(400, f"name the entity: /v1/features/{view}?{entity}=<value>")
        row = online_features(store, bound, value)
        found = any(row.get(a.name) is not None for a in bound.definition.aggregations)
        LOOKUPS.labels(view, "hit" if found else "miss").inc()
        return {"view": view, "entity": {entity: value}, "found": found, "features": row}

    return app
