"""Given paths in one call (``perpsim.run_paths``): your own simulated or resampled paths through a
built-in strategy on all cores; each row equals the backtest of its path's bars, whatever the
thread count, whichever form the paths come in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import InvalidInputError


def paths(n_paths: int, n_bars: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_bars, n_paths)), axis=0))
    o = np.vstack([np.full(n_paths, 100.0), c[:-1]])
    return {
        "open": o,
        "high": np.maximum(o, c) * 1.003,
        "low": np.minimum(o, c) * 0.997,
        "close": c,
    }


def frame(p: dict, k: int, index: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame({f: p[f][:, k] for f in ("open", "high", "low", "close")}, index=index)


STRATEGIES = [
    perpsim.Grid(80, 120, 20, qty=1.0),
    perpsim.Rebalance(target_value=5_000, adjust_ratio=0.01),
]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_row_is_the_backtest_of_its_path(strategy):
    p = paths(12, 300)
    index = pd.date_range("2024-01-01", periods=300, freq="1h", tz="UTC")
    funding = pd.Series(0.0001, index=index[::8])
    kw = dict(contract="X", initial_balance=10_000.0, leverage=5, funding=funding)
    r = perpsim.run_paths(strategy, p, index=index, **kw)
    assert list(r.paths.index) == list(range(12))
    for k in range(12):
        s = perpsim.backtest(frame(p, k, index), strategy, **kw).stats
        row = r.paths.loc[k]
        for name, v in s.items():
            if name in row.index:
                assert row[name] == v or (pd.isna(row[name]) and pd.isna(v)), (k, name, row[name], v)


def test_the_rows_do_not_depend_on_threads_or_on_the_form_of_the_paths():
    p = paths(40, 200, seed=2)
    index = pd.date_range("2024-01-01", periods=200, freq="1h", tz="UTC")
    grid = STRATEGIES[0]
    one = perpsim.run_paths(grid, p, index=index, threads=1).paths
    two = perpsim.run_paths(grid, p, index=index, threads=2).paths
    fortran = perpsim.run_paths(grid, {f: np.asfortranarray(a) for f, a in p.items()}, index=index).paths
    frames = perpsim.run_paths(grid, [frame(p, k, index) for k in range(40)]).paths
    for other in (two, fortran, frames):
        pd.testing.assert_frame_equal(one, other)
    assert r_summary_works(one)


def r_summary_works(table: pd.DataFrame) -> bool:
    return 0.0 <= table["liquidated"].mean() <= 1.0 and len(table) == 40


def test_bad_paths_are_refused_naming_the_field_or_the_path():
    p = paths(3, 50)
    with pytest.raises(InvalidInputError) as e:
        perpsim.run_paths(STRATEGIES[0], {**p, "close": p["close"][:, :2]})
    assert e.value.field == "paths"
    with pytest.raises(InvalidInputError) as e:
        perpsim.run_paths(STRATEGIES[0], {k: v for k, v in p.items() if k != "low"})
    assert e.value.field == "low"
    bad = {k: v.copy() for k, v in p.items()}
    bad["high"][10, 2] = bad["low"][10, 2] * 0.5  # high below the low in path 2
    with pytest.raises(InvalidInputError, match="path 2"):
        perpsim.run_paths(STRATEGIES[0], bad)
    with pytest.raises(InvalidInputError, match="times for"):
        perpsim.run_paths(STRATEGIES[0], p, index=pd.date_range("2024-01-01", periods=7, freq="1h"))
    with pytest.raises(InvalidInputError, match="2-D"):
        perpsim.run_paths(STRATEGIES[0], {k: v[:, 0] for k, v in p.items()})
