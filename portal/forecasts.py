"""The forecasts for the Lagebild, read from Feast's offline store: ``hub features forecast``
writes them as the feature view ``<view>_forecast`` there (and online), not to Kafka. Only the
staff page reads them, so the public pages never need Feast: with no offline store on this
machine (or one that is not Feast's file store) the Lagebild says why it shows no forecast.

The Parquet file is read with pyarrow, which Feast brings along, without importing Feast (that
takes seconds); it is read again only when it changed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consumers.features.forecast import FORECAST_FEATURES, FORECAST_TIME
from portal.lagebild import ForecastRow

log = logging.getLogger("hub.portal")


# The forecast view's own columns, as the forecast writes them; the other one is the entity.
# (consumers.features.forecast imports Feast only inside its functions: importing it is cheap.)
COLUMNS = frozenset({FORECAST_TIME, *FORECAST_FEATURES})


def rows_of(records: list[dict[str, Any]]) -> list[ForecastRow]:
    """The rows of a forecast view's table (as ``pyarrow`` hands them out)."""
    out = []
    for r in records:
        entity = next((k for k in r if k not in COLUMNS), None)
        try:
            out.append(
                ForecastRow(
                    entity=str(r[entity]),
                    made_at=_utc(r["forecast_made_at"]),
                    start=_utc(r["forecast_start"]),
                    step_seconds=int(r["step_seconds"]),
                    feature=str(r["feature"]),
                    values=tuple(float(v) for v in r["values"]),
                    low=tuple(float(v) for v in r["low"]),
                    high=tuple(float(v) for v in r["high"]),
                    mae_last_horizon=(
                        None if r["mae_last_horizon"] is None else float(r["mae_last_horizon"])
                    ),
                    training_windows=int(r["training_windows"] or 0),
                    model=str(r["model"] or ""),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # not a row of the forecast view's schema
    return out


def _utc(value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError("not a timestamp")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class ForecastFiles:
    """``<offline_dir>/<view>_forecast.parquet`` per view; None as the dir: none to read,
    ``note`` says why."""

    offline_dir: Path | None
    note: str | None = None
    _cache: dict[str, tuple[float, list[ForecastRow]]] = field(default_factory=dict)

    def path(self, view: str) -> Path | None:
        if self.offline_dir is None:
            return None
        return self.offline_dir / f"{view}_forecast.parquet"

    def read(self, view: str) -> list[ForecastRow]:
        path = self.path(view)
        if path is None or not path.exists():
            return []
        mtime = path.stat().st_mtime
        cached = self._cache.get(view)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            import pyarrow.parquet as pq

            rows = rows_of(pq.read_table(path).to_pylist())
        except ImportError:
            self.note = "Prognosen brauchen pyarrow (mit dem Feature-Store installiert)."
            return []
        except Exception as error:  # a file Feast is writing right now: next request
            log.warning("forecast not readable", extra={"path": str(path), "error": str(error)})
            return cached[1] if cached else []
        self._cache[view] = (mtime, rows)
        return rows

    def all(self, views: Iterable[str]) -> dict[str, list[ForecastRow]]:
        """The forecasts of those of ``views`` that have any."""
        if self.offline_dir is not None and not self.offline_dir.is_dir():
            # e.g. a portal on another machine than the feature store: say so, not "none yet"
            self.note = (
                f"Der Offline-Speicher von Feast ({self.offline_dir}) liegt nicht auf dem "
                "Rechner des Portals (Einstellung HUB_FEATURES_FEAST_REPO)."
            )
            return {}
        out = {}
        for view in views:
            rows = self.read(view)
            if rows:
                out[view] = rows
        return out


def forecast_files(feast_repo: Path, offline_store: dict[str, Any] | None) -> ForecastFiles:
    """Where the forecasts are for this portal (the feature store's settings)."""
    if offline_store and offline_store.get("type", "file") != "file":
        return ForecastFiles(
            None,
            f"Die Prognosen liegen im Offline-Speicher von Feast ({offline_store.get('type')}), "
            "den dieses Portal nicht liest: hub features get <Bezirk> --view "
            "noise_complaints_hourly_forecast zeigt sie.",
        )
    try:
        from consumers.features.feast_repo import FeastConfig
    except ModuleNotFoundError:  # a trimmed deployment without the feature store
        return ForecastFiles(None, "Dieses Portal ist ohne den Feature-Store installiert.")
    return ForecastFiles(FeastConfig(feast_repo).offline_dir)
