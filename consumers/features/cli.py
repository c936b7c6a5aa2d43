"""``hub features check|apply|run|get|serve``: the AI feature store subscriber."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from consumers.features.binding import FeatureCatalog, load_feature_catalog
from consumers.features.definition import FeatureDefinitionError
from consumers.features.feast_repo import FeastConfig
from consumers.features.settings import FeatureSettings, get_feature_settings
from hub.settings import Settings, get_settings

app = typer.Typer(
    help="AI feature store: k-anonymous windowed features in Feast.", no_args_is_help=True
)
log = logging.getLogger("hub.features")
FORECAST_SUFFIX = "_forecast"

FeaturesDir = Annotated[
    Path | None,
    typer.Option("--features", help="Feature view definitions (default <catalog>/features)."),
]
CatalogDir = Annotated[
    Path | None, typer.Option("--catalog", help="Catalog folder (agreements under agreements/).")
]


def _dirs(
    hub: Settings, fs: FeatureSettings, features: Path | None, catalog: Path | None
) -> tuple[Path, Path]:
    cat = catalog or hub.catalog_dir
    return features or fs.dir or cat / "features", cat / "agreements"


def _catalog(features: Path | None, catalog: Path | None) -> FeatureCatalog:
    hub, fs = get_settings(), get_feature_settings()
    features_dir, agreements_dir = _dirs(hub, fs, features, catalog)
    try:
        return load_feature_catalog(features_dir, agreements_dir, hub.schemas_dir)
    except FeatureDefinitionError as exc:
        for issue in exc.issues:
            typer.secho(str(issue), err=True, fg="red")
        raise typer.Exit(1) from None


@app.command()
def check(features: FeaturesDir = None, catalog: CatalogDir = None) -> None:
    """Check every feature view against its ki-featurestore agreement and delivered schema."""
    cat = _catalog(features, catalog)
    for v in cat.views:
        d = v.definition
        typer.echo(f"{v.name}: {d.entity.name} <- {v.topic} ({d.window.type} window, k={d.k})")
    typer.echo(f"{len(cat.views)} feature view(s) OK")


@app.command()
def apply(features: FeaturesDir = None, catalog: CatalogDir = None) -> None:
    """Generate the Feast repository (HUB_FEATURES_FEAST_REPO) and register every view."""
    from consumers.features.feast_repo import apply as feast_apply

    cat = _catalog(features, catalog)
    cfg = FeastConfig.from_settings(get_feature_settings())
    feast_apply(cfg, cat)
    typer.echo(f"Feast repository {cfg.repo}: {len(cat.views)} feature view(s) applied")


@app.command()
def run(
    features: FeaturesDir = None,
    catalog: CatalogDir = None,
    feast: Annotated[bool, typer.Option(help="Push published windows to Feast.")] = True,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Port of /metrics (default HUB_FEATURES_METRICS_PORT; 0: none)."),
    ] = None,
) -> None:
    """Aggregate ki-featurestore deliveries until SIGTERM/SIGINT (finishing the batch in flight)."""
    from prometheus_client import start_http_server

    from consumers.features.pipeline import PipelineConfig, serve

    hub, fs = get_settings(), get_feature_settings()
    features_dir, agreements_dir = _dirs(hub, fs, features, catalog)
    _catalog(features, catalog)  # fail early, with every problem named
    logging.getLogger("feast").setLevel(logging.WARNING)  # it logs every registry refresh
    config = PipelineConfig.from_settings(
        hub, fs, feast=feast, features_dir=features_dir, agreements_dir=agreements_dir
    )
    port = fs.metrics_port if metrics_port is None else metrics_port
    if port:
        start_http_server(port, addr=hub.metrics_host)
        log.info("metrics", extra={"url": f"http://{hub.metrics_host}:{port}/metrics"})
    asyncio.run(serve(config))


def _parse_entity(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise typer.BadParameter(f"expected ENTITY=VALUE like postcode=59063, got {text!r}")
    return name, value


@app.command()
def get(
    entity: Annotated[
        str, typer.Argument(help="ENTITY=VALUE, e.g. postcode=59063 or station=HAM-VK-01.")
    ],
    view: Annotated[
        str | None, typer.Option(help="Only this view (default: every view of the entity).")
    ] = None,
    features: FeaturesDir = None,
    catalog: CatalogDir = None,
) -> None:
    """Print the online features of one entity (the latest published window) as JSON."""
    from consumers.features.feast_repo import online_features, open_store

    name, value = _parse_entity(entity)
    cat = _catalog(features, catalog)
    if view is not None and view.endswith(FORECAST_SUFFIX):
        from consumers.features.feast_repo import open_store
        from consumers.features.forecast import online_forecast

        try:
            base = cat.view(view.removesuffix(FORECAST_SUFFIX))
        except KeyError as exc:
            typer.secho(str(exc.args[0]), err=True, fg="red")
            raise typer.Exit(1) from None
        store = open_store(FeastConfig.from_settings(get_feature_settings()))
        out = {view: online_forecast(store, base, value)}
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False, default=str))
        return
    views = [
        v
        for v in cat.views
        if v.definition.entity.name == name and (view is None or v.name == view)
    ]
    if not views:
        known = sorted({f"{v.definition.entity.name} ({v.name})" for v in cat.views})
        typer.secho(
            f"no feature view for entity {name!r}{f' named {view!r}' if view else ''}; known: {', '.join(known)}",
            err=True,
            fg="red",
        )
        raise typer.Exit(1)
    store = open_store(FeastConfig.from_settings(get_feature_settings()))
    out = {v.name: online_features(store, v, value) for v in views}
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False, default=str))


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default HUB_FEATURES_API_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default HUB_FEATURES_API_PORT).")] = None,
    features: FeaturesDir = None,
    catalog: CatalogDir = None,
) -> None:
    """Serve online features over HTTP: GET /v1/features/{view}?<entity>=<value>."""
    import uvicorn

    from consumers.features.api import create_app
    from consumers.features.feast_repo import open_store

    fs = get_feature_settings()
    cat = _catalog(features, catalog)
    store = open_store(FeastConfig.from_settings(fs))
    uvicorn.run(
        create_app(cat, store), host=host or fs.api_host, port=port or fs.api_port, log_config=None
    )


@app.command()
def forecast(
    view: Annotated[str, typer.Option(help="The feature view, e.g. noise_complaints_hourly.")],
    horizon: Annotated[str, typer.Option(help="How far ahead, e.g. 24h.")] = "24h",
    feature: Annotated[
        str | None, typer.Option(help="The feature to forecast (default: the view's first).")
    ] = None,
    history: Annotated[str, typer.Option(help="How much history to learn from.")] = "28d",
    seed: Annotated[
        int, typer.Option(help="Seed of the bootstrap band (same seed, same numbers).")
    ] = 42,
    features: FeaturesDir = None,
    catalog: CatalogDir = None,
) -> None:
    """Train a baseline model per entity on Feast's point-in-time history of VIEW, forecast
    HORIZON and write it to the feature view <VIEW>_forecast (needs the extra [ai])."""
    import datetime as dt

    from consumers.features.durations import parse_duration_ms
    from consumers.features.forecast import ForecastError, forecast_view, forecast_view_name

    cat = _catalog(features, catalog)
    logging.getLogger("feast").setLevel(logging.WARNING)  # it logs every registry refresh
    try:
        bound = cat.view(view)
    except KeyError:
        typer.secho(
            f"no feature view {view!r}; known: {', '.join(v.name for v in cat.views)}",
            err=True,
            fg="red",
        )
        raise typer.Exit(1) from None
    try:
        ahead = dt.timedelta(milliseconds=parse_duration_ms(horizon))
        back = dt.timedelta(milliseconds=parse_duration_ms(history))
        made = forecast_view(
            FeastConfig.from_settings(get_feature_settings()),
            bound,
            feature=feature,
            horizon=ahead,
            history=back,
            seed=seed,
        )
    except (ForecastError, ValueError) as exc:
        typer.secho(f"hub features forecast: {exc}", err=True, fg="red")
        raise typer.Exit(1) from None
    name = forecast_view_name(view)
    entity = bound.definition.entity.name
    for f in made:
        shown = " ".join(f"{v:.1f}" for v in f.values[:6])
        error = "-" if f.mae_last_horizon is None else f"{f.mae_last_horizon:.2f}"
        typer.echo(
            f"{entity}={f.entity}: from {f.start:%Y-%m-%d %H:%M} UTC  {shown} ...  "
            f"(error of the last horizon {error}, {f.training_windows} windows)"
        )
    typer.echo(
        f"{len(made)} forecast(s) written to the feature view {name} "
        f"(hub features get {entity}=<value> --view {name})"
    )
