"""Walk-forward optimisation on a constructed series whose best parameters are known: the price
oscillates in 100-110 for 60 days, then in 200-220 for 60 days; a grid on the band the price is in
earns, the other never trades. Windows, the choice per window, the flat-with-equity-carried
stitching and the engine's figures of the stitched curve are checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import Grid

DAY = 24


def _phase(days: int, lo: float, hi: float, period: int = 10) -> np.ndarray:
    k = np.arange(days * DAY + 1)
    ph = (k % period) / period
    return lo + (hi - lo) * np.where(ph < 0.5, 2 * ph, 2 - 2 * ph)


def _bars() -> pd.DataFrame:
    parts = []
    for p in (_phase(60, 100.5, 109.5), _phase(60, 201.0, 219.0)):
        o, c = p[:-1], p[1:]
        parts.append(
            pd.DataFrame({"open": o, "high": np.maximum(o, c) + 0.05, "low": np.minimum(o, c) - 0.05, "close": c})
        )
    df = pd.concat(parts, ignore_index=True)
    df["volume"] = 1e6
    df.index = pd.date_range("2024-01-01", periods=len(df), freq="1h", tz="UTC")
    return df


BARS = _bars()
BANDS = {"low": (100, 110), "high": (200, 220)}
KW = dict(maker_fee=0.0, taker_fee=0.0, leverage=2)


def band_grid(band: str, mode: str = "neutral") -> Grid:
    lo, hi = BANDS[band]
    return Grid(lower=lo, upper=hi, grid_count=6, quote_per_grid=500, mode=mode)


def run(**kw):
    args = dict(train="20D", test="10D", objective="total_return", **KW)
    args.update(kw)
    return perpsim.walk_forward(band_grid, {"band": ["low", "high"]}, BARS, **args)


def test_windows_choose_the_band_the_training_window_was_in():
    wf = run()
    w = wf.windows
    start = BARS.index[0]
    assert len(w) == 10  # test windows start at day 20, 30, ..., 110
    assert list(w["test_start"]) == [start + pd.Timedelta(days=d) for d in range(20, 120, 10)]
    assert (w["train_end"] == w["test_start"]).all()
    assert (w["train_end"] - w["train_start"] == pd.Timedelta("20D")).all()
    boundary = start + pd.Timedelta(days=60)
    for _, row in w.iterrows():
        if row["train_end"] <= boundary:
            assert row["band"] == "low", row
        elif row["train_start"] >= boundary:
            assert row["band"] == "high", row
    # the band chosen earns in sample; the other band never trades there (0 exactly)
    assert (w["in_sample"] > 0).all()
    assert wf.sweeps[0].set_index("band").loc["high", "total_return"] == 0.0


def test_stitching_carries_equity_flat_and_keeps_every_test_bar():
    wf = run()
    w = wf.windows
    assert w["start_equity"].iloc[0] == 10_000.0
    np.testing.assert_array_equal(w["start_equity"].iloc[1:].to_numpy(), w["final_equity"].iloc[:-1].to_numpy())
    first = w["test_start"].iloc[0]
    expected = BARS.index[BARS.index >= first]
    pd.testing.assert_index_equal(
        wf.equity.index.as_unit("ns"), expected.as_unit("ns"), check_names=False, check_freq=False
    )
    for r, (_, row) in zip(wf.results, w.iterrows()):
        assert r.initial_balance == row["start_equity"]  # each test window starts flat with it
        held = abs(r.equity["position_ASSET"].iloc[-1]) * r.data["ASSET"]["close"].iloc[-1]
        assert row["open_notional"] == pytest.approx(held, rel=1e-12)  # left open, at the last mark
        assert r.equity.index[0] == row["test_start"]
    assert wf.stats["final_equity"] == w["final_equity"].iloc[-1]
    assert wf.stats["steps"] == len(wf.equity)
    assert wf.stats["fills"] == sum(int(r.stats["fills"]) for r in wf.results)


def test_the_report_shows_windows_chart_and_figures(tmp_path):
    wf = run()
    path = wf.report(str(tmp_path / "wf.html"))
    page = (tmp_path / "wf.html").read_text()
    assert path == str(tmp_path / "wf.html") and len(page) > 10_000
    assert "data:image/png;base64" in page and "Windows" in page and "out_of_sample" in page
    assert f"{len(wf.windows)} windows" in page


def test_one_window_has_the_backtest_s_own_figures():
    """The stitched curve's figures come from the engine's statistics: with one test window they
    are the backtest's."""
    wf = run(train="100D", test="30D")
    assert len(wf.windows) == 1
    r = wf.results[0]
    for k in ("final_equity", "total_return", "cagr", "max_drawdown", "sharpe", "sortino", "calmar", "min_equity"):
        assert wf.stats[k] == pytest.approx(r.stats[k], rel=1e-12, nan_ok=True), k
    assert wf.stats["time_under_water"] == r.stats["time_under_water"]


def test_anchored_windows_grow_from_the_start_and_a_callable_objective():
    wf = run(anchored=True, objective=lambda t: -t["total_return"].to_numpy())
    w = wf.windows
    assert (w["train_start"] == BARS.index[0]).all()
    # the worst set by return is the band that never trades
    first = w.iloc[0]
    assert first["band"] == "high" and first["in_sample"] == 0.0


def test_bad_inputs_are_refused():
    with pytest.raises(perpsim.InvalidInputError, match="train"):
        run(train="500D")
    with pytest.raises(perpsim.InvalidInputError, match="test"):
        run(test="-1D")
    with pytest.raises(perpsim.InvalidInputError, match="objective"):
        run(objective="no_such_figure")
    with pytest.raises(perpsim.InvalidInputError, match="no set has a finite"):
        run(objective=lambda t: np.full(len(t), np.nan))
    with pytest.raises(perpsim.InvalidInputError, match="one score per row"):
        run(objective=lambda t: [1.0])
