"""Round trips, trade resampling (reproducible with a seed, the shuffle keeping the total), block
bootstrap from a Result, parameter sensitivity, the deflated Sharpe ratio, and the look-ahead check
catching a leaking strategy and passing a clean one."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import Grid, TargetPositions
from perpsim.robustness import block_bootstrap, deflated_sharpe, heatmap, sensitivity, trade_resampling

BARS = perpsim.data.sample("BTCUSDT").iloc[:1_500]
S0 = float(BARS["open"].iloc[0])


def grid_run():
    g = Grid(lower=0.85 * S0, upper=1.15 * S0, grid_count=30, quote_per_grid=300, mode="neutral")
    return perpsim.backtest(BARS, g, contract=perpsim.BTCUSDT, leverage=3)


def test_round_trips_follow_the_average_cost_rule_and_add_up():
    t = BARS.index
    targets = pd.Series([0.1, 0.3, 0.1, -0.2, 0.0], index=t[[10, 20, 30, 40, 50]])
    r = perpsim.backtest(BARS, TargetPositions(targets), contract=perpsim.BTCUSDT, leverage=5)
    f, tr = r.fills, r.trades
    assert list(tr["direction"]) == ["long", "long", "short"]
    np.testing.assert_allclose(tr["qty"], [0.2, 0.1, 0.2], rtol=0, atol=1e-12)
    fee = f["fee"].to_numpy()
    # the first trade carries 2/3 of both entry fees and its own exit fee
    assert tr["fees"].iloc[0] == pytest.approx((fee[0] + fee[1]) * 2 / 3 + fee[2], rel=1e-12)
    # the flip closes 0.1 of its 0.3: a third of its fee is the exit's, the rest opens the short
    assert tr["fees"].iloc[1] == pytest.approx((fee[0] + fee[1]) / 3 + fee[3] / 3, rel=1e-12)
    assert tr["fees"].iloc[2] == pytest.approx(fee[3] * 2 / 3 + fee[4], rel=1e-12)
    assert tr["entry_time"].iloc[2] == f["timestamp"].iloc[3] and tr["entry_price"].iloc[1] == f["entry_price"].iloc[1]
    # flat at the end, no funding: the trades are the whole PnL
    assert tr["pnl"].sum() == pytest.approx(r.stats["final_equity"] - r.initial_balance, abs=1e-9)
    assert tr["gross_pnl"].sum() == pytest.approx(f["realized_pnl"].sum(), abs=1e-12)


def test_an_open_position_is_the_last_trade_and_everything_adds_up_with_funding():
    funding = perpsim.data.sample_funding("BTCUSDT")
    g = Grid(lower=0.85 * S0, upper=1.15 * S0, grid_count=30, quote_per_grid=300, mode="neutral")
    r = perpsim.backtest(BARS, g, contract=perpsim.BTCUSDT, leverage=3, funding=funding)
    tr = r.trades
    assert r.stats["funding"] != 0 and list(tr["status"]).count("open") == 1 and tr["status"].iloc[-1] == "open"
    last = tr.iloc[-1]
    assert last["qty"] == pytest.approx(abs(r.equity["position_BTCUSDT"].iloc[-1]), rel=1e-12)
    assert last["gross_pnl"] == pytest.approx(r.equity["unrealized_pnl"].iloc[-1], rel=1e-12)
    total = tr["pnl"].sum() + r.stats["funding"]
    assert total == pytest.approx(r.stats["final_equity"] - r.initial_balance, abs=1e-8)
    assert tr["fees"].sum() == pytest.approx(r.fills["fee"].sum(), rel=1e-12)


def test_trade_resampling_is_reproducible_and_a_shuffle_keeps_the_total():
    r = grid_run()
    assert len(r.trades) > 50
    a = trade_resampling(r, n=2_000, how="shuffle", seed=3)
    b = trade_resampling(r, n=2_000, how="shuffle", seed=3, threads=1)
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    total = r.initial_balance + r.trades["pnl"].sum()
    np.testing.assert_allclose(a.table["final_equity"], total, rtol=1e-12)
    assert (a.table["max_drawdown"] <= 0).all()
    c = trade_resampling(r, n=2_000, how="bootstrap", seed=3)
    assert c.table["final_equity"].std() > 0
    assert not c.table.equals(trade_resampling(r, n=2_000, how="bootstrap", seed=4).table)
    s = c.summary
    assert 0 <= s["risk_of_ruin"] <= 1 and s["max_drawdown_q05"] <= s["max_drawdown_median"] <= s["max_drawdown_q95"]
    # the run's own order is one of the shuffles: its drawdown lies within theirs
    assert a.table["max_drawdown"].min() <= a.actual["max_drawdown"] <= a.table["max_drawdown"].max()


def test_risk_of_ruin_counts_sequences_that_reach_the_level():
    r = grid_run()
    whole = trade_resampling(r, n=500, how="bootstrap", seed=1, ruin=1.0)
    assert whole.risk_of_ruin == 0.0 and (whole.table["min_equity"] > 0).all()
    tight = trade_resampling(r, n=500, how="bootstrap", seed=1, ruin=1e-6)
    # ruin at the first loss below the start: every sequence whose equity ever dips
    assert tight.risk_of_ruin == pytest.approx((tight.table["min_equity"] <= r.initial_balance * (1 - 1e-6)).mean())
    with pytest.raises(perpsim.InvalidInputError, match="ruin"):
        trade_resampling(r, ruin=0)
    with pytest.raises(perpsim.InvalidInputError, match="how"):
        trade_resampling(r, how="sideways")


def test_no_trades_is_refused_not_a_zero():
    r = perpsim.backtest(BARS, TargetPositions(pd.Series([0.0], index=BARS.index[[5]])), contract=perpsim.BTCUSDT)
    assert len(r.fills) == 0 and len(r.trades) == 0
    with pytest.raises(perpsim.InvalidInputError, match="trades"):
        trade_resampling(r)


def test_block_bootstrap_of_a_result_runs_its_strategy_on_its_bars():
    r = grid_run()
    mc = block_bootstrap(r, n_paths=40, block=24, seed=5)
    again = block_bootstrap(r, n_paths=40, block=24, seed=5)
    pd.testing.assert_frame_equal(mc.paths, again.paths, check_exact=True)
    assert len(mc.paths) == 40 and mc.meta["n_bars"] == len(BARS)
    assert mc.paths["fills"].gt(0).mean() > 0.5
    assert mc.paths["total_return"].std() > 0
    multi = perpsim.backtest({"A": BARS, "B": BARS}, TargetPositions(pd.DataFrame({"A": [0.1]}, index=BARS.index[[3]])))
    with pytest.raises(perpsim.InvalidInputError, match="one symbol"):
        block_bootstrap(multi)


def test_sensitivity_sweeps_the_neighbourhood_and_draws_a_heat_map(tmp_path):
    chosen = dict(grid_count=30, lower=0.85 * S0)
    t = sensitivity(
        Grid,
        chosen,
        {"grid_count": [-0.5, 0.0, 0.5], "lower": [-0.02, 0.0, 0.02]},
        BARS,
        fixed=dict(upper=1.15 * S0, quote_per_grid=300),
        contract=perpsim.BTCUSDT,
        leverage=3,
        progress=False,
    )
    assert len(t) == 9 and sorted(set(t["grid_count"])) == [15, 30, 45]
    centre = t[(t["change_grid_count"] == 0) & (t["change_lower"] == 0)]
    assert centre["final_equity"].iloc[0] == pytest.approx(grid_run().stats["final_equity"], rel=1e-12)
    fig = heatmap(t, "grid_count", "lower", "total_return", path=str(tmp_path / "h.png"))
    assert fig.table.shape == (3, 3) and (tmp_path / "h.png").stat().st_size > 1000


def test_deflated_sharpe_matches_the_paper_s_formula():
    # one trial: the probabilistic Sharpe ratio against 0
    sr, n = 0.1, 251
    p = deflated_sharpe(sr, 1, [sr], n)
    assert p == pytest.approx(0.5 * (1 + math.erf(sr * math.sqrt(n - 1) / math.sqrt(1 + sr * sr / 2) / math.sqrt(2))))
    # more trials with spread Sharpe ratios raise the bar
    trials = np.linspace(-0.1, 0.1, 100)
    assert deflated_sharpe(sr, 100, trials, n) < p
    # Bailey & Lopez de Prado's example: SR 2.5 annual, 1250 days, 100 trials, var 0.5 annual
    v = np.sqrt(0.5 / 250) * np.array([1.0, -1.0] * 50) * np.sqrt(99 / 100)
    dsr = deflated_sharpe(2.5 / math.sqrt(250), 100, v, 1250, skew=-3, kurtosis=10)
    assert dsr == pytest.approx(0.9004, abs=1e-4)  # the paper's 0.9004
    with pytest.raises(perpsim.InvalidInputError):
        deflated_sharpe(float("nan"), 10, trials, n)
