"""The native core's building blocks against what Python computes: float repr, the city's
time zone (both directions, with folds), H3 cells; and how the router picks its engine."""

from __future__ import annotations

import builtins
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.router import engine
from hub.agreements.plan import tzif
from hub.agreements.transforms import CITY_TZ

core = engine.load_core()
native = pytest.mark.skipif(core is None, reason="hub_core is not installed (make install)")
REPO = Path(__file__).resolve().parents[2]
ZONE = tzif(CITY_TZ)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MANY = settings(max_examples=2000, deadline=None)


@native
@MANY
@given(
    st.floats()
    | st.floats(-1e-3, 1e-3)
    | st.integers(-(2**60), 2**60).map(float)
    # exact ties between two shortest candidates (Python takes the even digit)
    | st.tuples(st.integers(40, 60), st.integers(0, 2**12)).map(lambda t: 2.0 ** t[0] + t[1] / 8)
)
def test_float_repr(x: float) -> None:
    assert core._float_repr(x) == repr(x)


instants = st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30)) | st.sampled_from(
    [
        dt.datetime(2026, 10, 25, 0, 59, 59),
        dt.datetime(2026, 10, 25, 1, 0),
        dt.datetime(2026, 3, 29, 1, 0),
    ]
).flatmap(lambda t: st.integers(-7200, 7200).map(lambda s: t + dt.timedelta(seconds=s)))


@native
@MANY
@given(instants)
def test_zone_from_utc(instant: dt.datetime) -> None:
    """`astimezone`: the offset and the fold zoneinfo gives, in every year it covers."""
    utc = instant.replace(tzinfo=dt.UTC)
    local = utc.astimezone(CITY_TZ)
    ts = (utc - EPOCH) // dt.timedelta(seconds=1)
    offset, fold = core._zone_from_utc(ZONE, ts, utc.year)
    assert offset == local.utcoffset().total_seconds()
    assert fold == bool(local.fold)


@native
@MANY
@given(instants, st.booleans())
def test_zone_utc_offset_of_wall_times(wall: dt.datetime, fold: bool) -> None:
    """`utcoffset` of a wall-clock time with a fold (gaps and repeated hours included)."""
    local = wall.replace(tzinfo=CITY_TZ, fold=int(fold))
    ts = (wall - dt.datetime(1970, 1, 1)) // dt.timedelta(seconds=1)
    assert core._zone_utc_offset(ZONE, ts, wall.year, fold) == local.utcoffset().total_seconds()


@native
@settings(max_examples=3000, deadline=None)
@given(
    st.floats(-90, 90) | st.floats(50, 53),
    st.floats(-180, 180) | st.floats(6, 9),
    st.integers(0, 15),
)
def test_h3_cells_equal_the_h3_library(lat: float, lon: float, res: int) -> None:
    assert core._h3_cell(lat, lon, res) == h3.latlng_to_cell(lat, lon, res)


# -- choosing the engine ---------------------------------------------------------------------


def test_python_engine_when_asked() -> None:
    chosen = engine.select_engine("python")
    assert chosen.name == "python" and chosen.core is None


def test_unknown_engine_is_an_error() -> None:
    with pytest.raises(engine.EngineError, match="HUB_ROUTER_ENGINE"):
        engine.select_engine("rust")


@native
def test_native_engine_when_installed() -> None:
    assert engine.select_engine("auto").name == "native"
    assert engine.select_engine("native").core is core


def test_without_the_core_the_python_engine_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without Rust: the import of hub_core fails."""
    real = builtins.__import__

    def blocked(name: str, *args, **kwargs):
        if name == "hub_core":
            raise ImportError("blocked for the test")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", blocked)
    monkeypatch.delitem(sys.modules, "hub_core", raising=False)
    chosen = engine.select_engine("auto")
    assert (chosen.name, chosen.reason) == ("python", "hub_core is not installed")
    with pytest.raises(engine.EngineError, match="not installed"):
        engine.select_engine("native")


def test_the_router_says_which_engine_routes(caplog: pytest.LogCaptureFixture) -> None:
    from consumers.router import metrics

    with caplog.at_level("INFO", logger="hub.router"):
        engine.announce(engine.select_engine("python"))
    assert metrics.ENGINE.labels("python")._value.get() == 1
    assert metrics.ENGINE.labels("native")._value.get() == 0
    (line,) = [r for r in caplog.records if r.getMessage() == "router engine"]
    assert line.engine == "python"


def test_a_process_without_the_core_routes_with_python(tmp_path: Path) -> None:
    """A fresh interpreter in which hub_core cannot be imported (a stub that fails, first on
    the path), as after an install without Rust: the router's engine is the Python one."""
    (tmp_path / "hub_core.py").write_text("raise ImportError('no native core here')\n")
    code = (
        "from consumers.router.engine import select_engine;"
        "from consumers.router.service import RouterConfig;"
        "from hub.settings import get_settings;"
        "e = select_engine(); c = RouterConfig.from_settings(get_settings());"
        "print(e.name, c.workers > 0 or c.workers == 0)"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    env.pop("HUB_ROUTER_ENGINE", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[0] == "python"
    env["HUB_ROUTER_ENGINE"] = "python"
    out = subprocess.run(
        [sys.executable, "-c", "from consumers.router.engine import select_engine;"
         "print(select_engine().name)"],
        env=env, cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "python"
