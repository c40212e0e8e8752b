"""No runaway sizes, class 6: grids are limited to what exchanges' grid bots accept unless a
research run asks for more (``max_grids``); the calculator prints a summary of long level lists;
charts of long runs are drawn from a few thousand points that keep every extreme."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from hypothesis import given
from hypothesis import strategies as st
from perpsim import InvalidInputError
from perpsim._decimate import decimate, sample_rows
from perpsim.cli import main


def test_grids_beyond_what_exchanges_accept_need_max_grids():
    perpsim.Grid(100, 200, 500, qty=1)  # the default limit
    with pytest.raises(InvalidInputError, match="set max_grids") as e:
        perpsim.Grid(100, 200, 501, qty=1)
    assert e.value.field == "grid_count"
    g = perpsim.Grid(100, 200, 2_000, qty=1, max_grids=2_000)  # research, asked for
    assert len(g.levels()) == 2_001
    with pytest.raises(InvalidInputError, match="max_grids"):
        perpsim.Grid(100, 200, 10, qty=1, max_grids=1)
    with pytest.raises(InvalidInputError) as e:
        perpsim.calc.grid_levels(100, 200, 100_000_000)
    assert e.value.field == "grid_count"


def test_the_grid_calculator_refuses_runaway_grids_and_summarises_long_lists(capsys):
    assert main(["calc", "grid", "--lower", "100", "--upper", "200", "--grids", "100000000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "max_grids" in err
    args = ["calc", "grid", "--lower", "100", "--upper", "200", "--grids", "5000", "--max-grids", "5000"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("5001 levels") and "(4,961 more)" in out
    assert len(out) < 2_000


@given(st.integers(8_001, 40_000), st.integers(10, 500), st.integers(0, 2**32 - 1), st.booleans())
def test_decimation_keeps_first_last_and_every_extreme_in_order(n, buckets, seed, spiky):
    rng = np.random.default_rng(seed)
    v = np.cumsum(rng.normal(0, 1, n))
    if spiky:
        v[rng.integers(0, n, 5)] = rng.choice([-1e6, 1e6], 5)
    s = pd.Series(v, index=pd.date_range("2020-01-01", periods=n, freq="1min"))
    d = decimate(s, buckets)
    assert len(d) <= 4 * buckets
    assert d.index.is_monotonic_increasing and d.index.is_unique
    assert d.iloc[0] == s.iloc[0] and d.iloc[-1] == s.iloc[-1]
    # every slice's extremes are kept, hence the whole series'
    edges = np.linspace(0, n, buckets + 1).astype(int)
    pos = s.index.get_indexer(d.index)
    for a, b in zip(edges[:-1], edges[1:]):
        part = d.to_numpy()[(pos >= a) & (pos < b)]
        assert part.max() == v[a:b].max() and part.min() == v[a:b].min()
    short = s.iloc[:8_000]
    assert decimate(short, buckets) is short


def test_sample_rows_keeps_at_most_the_limit_evenly():
    df = pd.DataFrame({"x": np.arange(20_000)})
    assert len(sample_rows(df, 5_000)) == 5_000 and sample_rows(df, 5_000)["x"].iloc[-1] == 19_999
    assert sample_rows(df.iloc[:10], 5_000).equals(df.iloc[:10])


def test_a_long_run_is_charted_from_a_few_thousand_points():
    pytest.importorskip("matplotlib")
    n = 400_000
    rng = np.random.default_rng(3)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    o = np.r_[100.0, c[:-1]]
    idx = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC")
    bars = pd.DataFrame({"open": o, "high": np.maximum(o, c), "low": np.minimum(o, c), "close": c}, index=idx)
    r = perpsim.backtest(
        bars, perpsim.Grid(c.min() * 0.9, c.max() * 1.1, 200, qty=1.0), leverage=50, initial_balance=1e6
    )
    fig = r.plot()
    lines = [ln for ax in fig.axes for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
    assert lines and all(len(ln.get_xdata()) <= 8_000 for ln in lines)
    price = fig.axes[0].get_lines()[0].get_ydata()
    assert price.max() == c.max() and price.min() == c.min()  # the extremes are drawn
    import matplotlib.pyplot as plt

    plt.close(fig)
