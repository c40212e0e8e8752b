"""Monte Carlo, sweeps and scale-out: determinism (1 thread, all threads, other batch splits, a real
dask LocalCluster with worker processes: bit-identical paths), each path equal to an ordinary
backtest of its bars, the models' properties, sweeps equal to the runs they stand for, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import GBM, Bootstrap, Grid, InvalidInputError, JumpDiffusion, Rebalance, StudentT
from perpsim.montecarlo import simulate_paths
from warned import backtest

BARS = perpsim.data.sample("BTCUSDT")
S0 = float(BARS["close"].iloc[-1])
MODEL = GBM(0.6, s0=S0)
GRID = Grid(0.8 * S0, 1.2 * S0, 40, quote_per_grid=300, mode="long")
KW = dict(contract=perpsim.BTCUSDT, leverage=5, initial_balance=10_000, funding=0.0001, progress=False)


def test_paths_do_not_depend_on_threads_or_batches():
    a = perpsim.monte_carlo(GRID, model=MODEL, n_paths=300, n_bars=500, seed=11, threads=1, **KW)
    b = perpsim.monte_carlo(GRID, model=MODEL, n_paths=300, n_bars=500, seed=11, threads=2, batch_size=37, **KW)
    pd.testing.assert_frame_equal(a.paths, b.paths, check_exact=True)
    c = perpsim.monte_carlo(GRID, model=MODEL, n_paths=300, n_bars=500, seed=12, threads=2, **KW)
    assert not a.paths["final_equity"].equals(c.paths["final_equity"])
    assert a.paths["fills"].min() > 0


def test_dask_local_cluster_with_worker_processes_gives_the_same_paths():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            d = perpsim.monte_carlo(
                GRID, model=MODEL, n_paths=200, n_bars=400, seed=5, executor=client.get_executor(), batch_size=30, **KW
            )
    local = perpsim.monte_carlo(GRID, model=MODEL, n_paths=200, n_bars=400, seed=5, threads=1, **KW)
    pd.testing.assert_frame_equal(d.paths, local.paths, check_exact=True)


@pytest.mark.parametrize("strategy", [GRID, Rebalance(target_value=20_000, adjust_ratio=0.02)])
def test_each_path_equals_a_backtest_of_its_bars(strategy):
    r = perpsim.monte_carlo(strategy, model=MODEL, n_paths=6, n_bars=700, seed=3, keep_curves=6, **KW)
    bars = simulate_paths(MODEL, n_paths=6, n_bars=700, seed=3, funding=0.0001)
    for p in range(6):
        b = bars.loc[p]
        funding = b["funding"].dropna()
        bt = backtest(
            b[["open", "high", "low", "close"]],
            strategy,
            contract=perpsim.BTCUSDT,
            leverage=5,
            initial_balance=10_000,
            funding=funding,
        )
        row = r.paths.loc[p]
        s = bt.stats
        assert row["final_equity"] == s["final_equity"]
        assert row["fills"] == s["fills"]
        assert row["fees"] == pytest.approx(s["fees"], rel=1e-12)
        assert row["funding"] == pytest.approx(s["funding"], rel=1e-12, abs=1e-12)
        assert row["max_drawdown"] == pytest.approx(min(0.0, s.get("max_drawdown", 0.0)), abs=1e-12)
        assert row["min_equity"] == pytest.approx(min(10_000, bt.equity["equity"].min()), rel=1e-12)
        assert bool(row["liquidated"]) == bool(s["liquidated"])
        # the kept curve is the backtest's equity
        np.testing.assert_array_equal(r.curves[p].to_numpy(), bt.equity["equity"].to_numpy())


def test_summary_figures_follow_the_paths():
    r = perpsim.monte_carlo(GRID, model=MODEL, n_paths=400, n_bars=300, seed=9, **KW)
    s = r.summary(losses=(0.05,))
    p = r.paths
    assert s["paths"] == 400
    assert s["p_liquidation"] == p["liquidated"].mean()
    assert s["p_loss_gt_5pct"] == (p["total_return"] < -0.05).mean()
    assert s["total_return_q50"] == pytest.approx(p["total_return"].median())
    worst = np.sort(p["total_return"].to_numpy())[:20]
    assert s["expected_shortfall_5pct"] == pytest.approx(worst.mean())
    assert (p["max_drawdown"] <= 0).all() and (p["time_under_water"].between(0, 1)).all()
    assert (p["min_equity"] <= p["final_equity"] + 1e-9).all()


def test_more_exposure_raises_the_probability_of_liquidation():
    kw = {**KW, "leverage": 10}
    low = perpsim.monte_carlo(Rebalance(target_value=15_000), model=MODEL, n_paths=300, n_bars=2_000, seed=1, **kw)
    high = perpsim.monte_carlo(Rebalance(target_value=45_000), model=MODEL, n_paths=300, n_bars=2_000, seed=1, **kw)
    assert high.paths["liquidated"].mean() > low.paths["liquidated"].mean() + 0.05
    hit = high.paths[high.paths["liquidated"]]
    assert (hit["liquidation_step"] >= 0).all() and (hit["final_equity"] < 0.2 * 10_000).all()


def annual_vol(df):
    r = np.log(df["close"] / df["open"])
    return float(r.std() * math.sqrt(365 * 24))


def test_models_have_their_volatility_and_consistent_bars():
    for m in [
        GBM(0.8, s0=100),
        StudentT(0.8, s0=100, dof=4),
        JumpDiffusion(0.5, s0=100, intensity=100, jump_mean=0.0, jump_std=0.05),
    ]:
        b = simulate_paths(m, n_paths=2, n_bars=40_000, seed=2)
        assert (b["high"] >= b[["open", "close"]].max(axis=1)).all()
        assert (b["low"] <= b[["open", "close"]].min(axis=1)).all()
        target = m.volatility if not isinstance(m, JumpDiffusion) else math.sqrt(0.5**2 + 100 * 0.05**2)
        assert annual_vol(b) == pytest.approx(target, rel=0.05), m
    # the bridge sampler against explicit sub-steps: the same mean range of a bar
    exact = simulate_paths(GBM(0.8, s0=100), n_paths=1, n_bars=60_000, seed=4)
    brute = simulate_paths(GBM(0.8, s0=100, substeps=500), n_paths=1, n_bars=6_000, seed=4)
    rng = lambda d: float(np.log(d["high"] / d["low"]).mean())  # noqa: E731
    assert rng(brute) == pytest.approx(rng(exact), rel=0.04)


def test_bootstrap_resamples_whole_real_bars():
    src = BARS.iloc[:500]
    b = simulate_paths(Bootstrap(src, block=10), n_paths=2, n_bars=300, seed=8)
    rel_src = {
        (round(h / o, 12), round(lo / o, 12), round(c / o, 12))
        for o, h, lo, c in src[["open", "high", "low", "close"]].itertuples(index=False)
    }
    for o, h, lo, c in b[["open", "high", "low", "close"]].itertuples(index=False):
        assert (round(h / o, 12), round(lo / o, 12), round(c / o, 12)) in rel_src
    assert b.loc[0, "open"].iloc[0] == src["close"].iloc[-1]


def test_funding_resampled_from_history_every_eight_hours():
    hist = perpsim.data.sample_funding("BTCUSDT")
    b = simulate_paths(MODEL, n_paths=1, n_bars=96, seed=0, funding=hist)
    f = b["funding"]
    assert f.notna().sum() == 12
    assert set(f.dropna()) <= set(hist)


def test_sweep_on_data_equals_each_backtest():
    data = BARS.iloc[:2_000]
    df = perpsim.sweep(
        Grid,
        {"grid_count": [20, 50], "mode": ["neutral", "long"]},
        data=data,
        fixed=dict(lower=38_000, upper=50_000, qty=0.003),
        contract=perpsim.BTCUSDT,
        leverage=5,
    )
    assert len(df) == 4 and list(df.columns[:2]) == ["grid_count", "mode"]
    for _, row in df.iterrows():
        g = Grid(38_000, 50_000, int(row["grid_count"]), qty=0.003, mode=row["mode"])
        s = perpsim.backtest(data, g, contract=perpsim.BTCUSDT, leverage=5).stats
        assert row["final_equity"] == s["final_equity"]
        assert row["fills"] == s["fills"]
        assert row["grid_matched_profit"] == pytest.approx(s["grid_matched_profit"], rel=1e-12)


def test_a_parameter_named_like_a_figure_is_refused_not_hidden():
    def factory(fills, **kw):  # a user's factory whose parameter shares a figure's name
        return Grid(**kw)

    with pytest.raises(perpsim.InvalidInputError, match="fills") as e:
        perpsim.sweep(
            factory,
            {"fills": [1, 2]},
            data=BARS.iloc[:200],
            fixed=dict(lower=38_000, upper=50_000, grid_count=10, qty=0.003),
            contract=perpsim.BTCUSDT,
        )
    assert e.value.field == "fills"


def test_a_one_set_sweep_is_the_backtest_row_with_its_parameters_first():
    data = BARS.iloc[:3_000]
    kw = dict(contract=perpsim.BTCUSDT, leverage=5)
    fixed = dict(lower=38_000, upper=50_000, qty=0.003)
    df = perpsim.sweep(Grid, {"grid_count": [25]}, data=data, fixed=fixed, threads=1, **kw)
    s = perpsim.backtest(data, Grid(grid_count=25, **fixed), **kw).stats
    assert list(df.columns)[: len(s) + 1] == ["grid_count", *s.index] and list(df.index) == [0]
    assert df["grid_count"].dtype == np.int64 and str(df["max_drawdown_start"].dtype) == "datetime64[ns, UTC]"
    assert df.loc[0, "final_equity"] == s["final_equity"] and df.loc[0, "fills"] == s["fills"]


def test_sweep_on_a_model_uses_the_same_paths_for_every_set():
    kw = dict(model=MODEL, n_paths=50, n_bars=300, seed=2, contract=perpsim.BTCUSDT, leverage=5, funding=0.0001)
    df = perpsim.sweep(Rebalance, {"target_value": [5_000, 20_000]}, per_path=True, fixed=dict(adjust_ratio=0.02), **kw)
    one = perpsim.monte_carlo(
        Rebalance(target_value=20_000, adjust_ratio=0.02), progress=False, initial_balance=10_000, **kw
    )
    got = df[df["target_value"] == 20_000].set_index("path")["final_equity"]
    np.testing.assert_array_equal(got.to_numpy(), one.paths["final_equity"].to_numpy())
    agg = perpsim.sweep(Rebalance, {"target_value": [5_000, 20_000]}, fixed=dict(adjust_ratio=0.02), **kw)
    assert agg["p_liquidation"].iloc[1] >= agg["p_liquidation"].iloc[0]
    assert agg["mean_return"].iloc[1] == pytest.approx(one.paths["total_return"].mean())


def test_bad_input_names_the_field():
    cases = [
        ("model", lambda: perpsim.monte_carlo(GRID, model=None)),
        ("n_paths", lambda: perpsim.monte_carlo(GRID, model=MODEL, n_paths=0)),
        ("seed", lambda: perpsim.monte_carlo(GRID, model=MODEL, seed=-1)),
        ("strategy", lambda: perpsim.monte_carlo(lambda *a: None, model=MODEL)),
        ("volatility", lambda: GBM(-0.1, s0=100)),
        ("dof", lambda: StudentT(0.5, s0=100, dof=2)),
        ("block", lambda: Bootstrap(BARS, block=0.5)),
        ("interval", lambda: GBM(0.5, s0=100, interval="soon")),
        ("qty", lambda: perpsim.monte_carlo(Grid(100, 200, 10, qty=1e-9), contract=perpsim.BTCUSDT, model=MODEL)),
        ("data", lambda: perpsim.sweep(Grid, {"grid_count": [10]}, data=BARS, model=MODEL)),
    ]
    for field, f in cases:
        with pytest.raises(InvalidInputError) as info:
            f()
        assert info.value.field == field, (field, info.value)


def test_plot_renders(tmp_path):
    pytest.importorskip("matplotlib")
    r = perpsim.monte_carlo(GRID, model=MODEL, n_paths=100, n_bars=200, seed=1, keep_curves=10, **KW)
    out = tmp_path / "mc.png"
    r.plot(path=str(out))
    assert out.stat().st_size > 10_000
    assert r.curves.shape == (200, 10)
