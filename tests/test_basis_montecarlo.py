"""The basis (cash-and-carry) strategy in Monte Carlo (docs/montecarlo.md, "The basis trade"): a
spot GBM and a future's mean-reverting premium (a delivery future's shrinking to zero at expiry);
each path equals an ordinary backtest of its spot and futures bars (linear and inverse, perpetual
and delivery futures), paths do not depend on threads or batches, and mismatched models,
strategies and contracts are refused naming the field."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import GBM, Basis, BasisSpread, InvalidInputError
from perpsim.montecarlo import simulate_paths
from warned import backtest

SPREAD = BasisSpread(GBM(0.6, s0=60_000.0), premium=0.0003, reversion=1_000.0, premium_vol=0.05, premium0=0.001)
STRATEGY = Basis(open_threshold=0.0005, close_threshold=0.0, fraction=0.8, spot_fee=0.001)
SPOT = perpsim.Contract("SPOT", kind="spot", maker_fee=0.001, taker_fee=0.001)


@pytest.mark.parametrize("future", [perpsim.BTCUSDT, perpsim.preset("BTCUSD")], ids=["linear", "inverse"])
def test_each_basis_path_equals_a_backtest_of_its_spot_and_futures_bars(future):
    kw = dict(initial_balance=10_000.0, funding=0.0001)
    mc = perpsim.monte_carlo(
        STRATEGY, future, SPREAD, n_paths=5, n_bars=24 * 20, seed=4, keep_curves=5, progress=False, **kw
    )
    bars = simulate_paths(SPREAD, n_paths=5, n_bars=24 * 20, seed=4, funding=0.0001)
    assert mc.paths["fills"].min() > 0 and mc.paths["basis_opens"].min() > 0
    for p in range(5):
        fut = bars.loc[(p, "future")]
        spot = bars.loc[(p, "spot")][["open", "high", "low", "close"]]
        data = {future.symbol: fut[["open", "high", "low", "close"]], "SPOT": spot}
        bt = backtest(
            data,
            STRATEGY,
            contract={future.symbol: future, "SPOT": SPOT},
            initial_balance=10_000.0,
            funding={future.symbol: fut["funding"].dropna()},
        )
        row, s = mc.paths.loc[p], bt.stats
        for k in ("final_equity", "fills", "basis_opens", "basis_early_closes", "liquidated"):
            assert row[k] == s[k], k
        for k in ("fees", "funding", "spot_fees", "max_drawdown"):
            assert row[k] == pytest.approx(s[k], rel=1e-12, abs=1e-12), k
        np.testing.assert_array_equal(mc.curves[p].to_numpy(), bt.equity["equity"].to_numpy())


@pytest.mark.parametrize("annualized", [False, True])
@pytest.mark.parametrize("perpetual", [perpsim.BTCUSDT, perpsim.preset("BTCUSD")], ids=["linear", "inverse"])
def test_delivery_basis_paths_equal_backtests_and_settle_at_the_spot(perpetual, annualized):
    # a delivery future expiring mid-path: its premium shrinks to zero at expiry, where the engine
    # settles it (the trade is held to expiry: it never closes early); each path is still a backtest
    future = perpsim.quarterly(perpetual, "2024-01-12 08:00")
    strategy = Basis(
        open_threshold=0.02 if annualized else 0.0005,
        close_threshold=-1.0 if annualized else -0.01,
        fraction=0.8,
        spot_fee=0.001,
        annualized=annualized,
    )
    n = 24 * 15
    mc = perpsim.monte_carlo(
        strategy, future, SPREAD, n_paths=4, n_bars=n, seed=6, keep_curves=4, progress=False, initial_balance=10_000.0
    )
    bars = simulate_paths(SPREAD, n_paths=4, n_bars=n, seed=6, contract=future)
    assert mc.paths["basis_opens"].min() > 0
    for p in range(4):
        fut = bars.loc[(p, "future")]
        spot = bars.loc[(p, "spot")][["open", "high", "low", "close"]]
        assert fut["funding"].isna().all()  # a delivery future pays no funding
        after = fut.index >= future.expiry - pd.Timedelta("1h")  # the bar that closes at expiry, and on
        assert after.sum() > 24
        pd.testing.assert_frame_equal(fut.loc[after, ["open", "high", "low", "close"]], spot.loc[after])
        data = {future.symbol: fut[["open", "high", "low", "close"]], "SPOT": spot}
        bt = backtest(data, strategy, contract={future.symbol: future, "SPOT": SPOT}, initial_balance=10_000.0)
        assert (bt.fills["reason"] == "settlement").sum() == 1
        row, st = mc.paths.loc[p], bt.stats
        for k in ("final_equity", "fills", "basis_opens", "basis_early_closes", "liquidated"):
            assert row[k] == st[k], k
        np.testing.assert_array_equal(mc.curves[p].to_numpy(), bt.equity["equity"].to_numpy())


def test_a_delivery_premium_is_the_process_scaled_by_the_time_left():
    # premium_t / ((T − t) / (T − t0)) is the perpetual's process: the same draws give the same
    # scaled premium, so it reverts to `premium` with the same spread
    future = perpsim.quarterly(perpsim.BTCUSDT, "2024-04-01")
    n = 24 * 60
    d = simulate_paths(SPREAD, n_paths=1, n_bars=n, seed=2, contract=future)
    spot, fut = d.loc[(0, "spot")], d.loc[(0, "future")]
    prem = (fut["close"] / spot["close"] - 1).to_numpy()
    t = (fut.index + pd.Timedelta("1h")).asi8  # each bar's close
    T, t0 = future.expiry.value, fut.index[0].value
    scaled = prem / ((T - t) / (T - t0))
    assert abs(scaled.mean() - 0.0003) < 3e-4 and scaled.std() < 0.01
    assert fut["open"].iloc[0] == pytest.approx(60_000.0 * 1.001, rel=1e-15)
    # the spot's own bars do not depend on the contract
    perp = simulate_paths(SPREAD, n_paths=1, n_bars=n, seed=2)
    pd.testing.assert_frame_equal(perp.loc[(0, "spot")], spot)


def test_basis_paths_do_not_depend_on_threads_or_batches():
    kw = dict(n_paths=40, n_bars=300, seed=8, funding=0.0001, progress=False)
    one = perpsim.monte_carlo(STRATEGY, perpsim.BTCUSDT, SPREAD, threads=1, **kw)
    two = perpsim.monte_carlo(STRATEGY, perpsim.BTCUSDT, SPREAD, threads=2, batch_size=9, **kw)
    pd.testing.assert_frame_equal(one.paths, two.paths, check_exact=True)


def test_the_future_is_the_spot_times_one_plus_the_premium():
    bars = simulate_paths(SPREAD, n_paths=1, n_bars=2_000, seed=1)
    spot, fut = bars.loc[(0, "spot")], bars.loc[(0, "future")]
    prem = fut["close"] / spot["close"] - 1
    assert fut["open"].iloc[0] == pytest.approx(60_000.0 * 1.001, rel=1e-15)
    assert abs(prem.mean() - 0.0003) < 3e-4 and prem.std() < 0.01
    assert (fut["high"] >= fut[["open", "close"]].max(axis=1)).all()


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: perpsim.monte_carlo(STRATEGY, perpsim.BTCUSDT, GBM(0.5, 100.0), n_paths=2, n_bars=10), "model"),
        (
            lambda: perpsim.monte_carlo(perpsim.Grid(50_000, 70_000, 10, qty=0.01), perpsim.BTCUSDT, SPREAD, n_paths=2),
            "strategy",
        ),
        (
            lambda: perpsim.monte_carlo(STRATEGY, perpsim.quarterly(perpsim.BTCUSDT, "2023-12-29"), SPREAD, n_paths=2),
            "expiry",
        ),
        (lambda: BasisSpread(GBM(0.5, 100.0), premium_vol=20.0), "premium_vol"),
        (lambda: BasisSpread(GBM(0.5, 100.0), reversion=0.0), "reversion"),
        (lambda: BasisSpread(perpsim.StudentT(0.5, 100.0)), "spot"),
    ],
    ids=[
        "basis on a GBM",
        "grid on a spread",
        "delivery contract expired at the start",
        "loose premium",
        "no reversion",
        "spot model",
    ],
)
def test_mismatches_are_refused_naming_the_field(call, field):
    with pytest.raises(InvalidInputError) as e:
        call()
    assert e.value.field == field
