"""Correlated baskets in Monte Carlo (docs/montecarlo.md, "Baskets"): a Basket fitted to real bars
generates paths with its volatilities and correlation; each path equals an ordinary backtest of its
bars; paths do not depend on threads or batches; the index-deviation strategy's stop-outs give the
probability of a stop-loss cascade; doubtful inputs are refused naming the field."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import Basket, IndexDeviation, InvalidInputError
from perpsim.montecarlo import simulate_paths
from warned import backtest

NAMES = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]
HERE = Path(__file__).resolve().parent.parent / "examples" / "data"
DATA = {s: perpsim.data.load_bars(HERE / f"basket_1h_{s}.csv.gz") for s in NAMES}
CONTRACTS = {s: perpsim.Contract(s) for s in NAMES}
STRATEGY = IndexDeviation(trade_value=500, step=0.01, stop_deviation=0.05, reentry_deviation=0.02)
KW = dict(initial_balance=20_000, leverage=5, funding=0.0001, progress=False)


def test_fit_estimates_the_volatilities_and_correlation_of_the_real_basket():
    b = Basket.fit(DATA)
    closes = pd.concat({k: v["close"] for k, v in DATA.items()}, axis=1).dropna()
    r = np.log(closes.to_numpy())
    r = r[1:] - r[:-1]
    assert b.symbols == NAMES
    for i, k in enumerate(NAMES):
        assert b.volatility[k] == pytest.approx(np.std(r[:, i], ddof=1) * math.sqrt(365 * 24), rel=1e-12)
        assert b.s0[k] == float(DATA[k]["close"].iloc[-1])
    np.testing.assert_allclose(b.correlation.to_numpy(), np.corrcoef(r.T), rtol=1e-12)
    assert b.correlation.loc["ETHUSDT", "SOLUSDT"] > 0.5  # crypto moves together


def test_generated_paths_have_the_basket_correlation_and_volatilities():
    b = Basket.fit(DATA)
    bars = simulate_paths(b, n_paths=1, n_bars=40_000, seed=4)
    again = Basket.fit({k: bars.loc[(0, k)] for k in NAMES})
    np.testing.assert_allclose(again.correlation.to_numpy(), b.correlation.to_numpy(), atol=0.015)
    for k in NAMES:
        assert again.volatility[k] == pytest.approx(b.volatility[k], rel=0.02)
        first = bars.loc[(0, k)].iloc[0]
        assert first["open"] == b.s0[k]


def test_each_basket_path_equals_a_backtest_of_its_bars():
    b = Basket.fit(DATA)
    mc = perpsim.monte_carlo(STRATEGY, CONTRACTS, b, n_paths=4, n_bars=600, seed=9, keep_curves=4, **KW)
    bars = simulate_paths(b, n_paths=4, n_bars=600, seed=9, funding=0.0001)
    for p in range(4):
        data = {k: bars.loc[(p, k)][["open", "high", "low", "close"]] for k in NAMES}
        funding = {k: bars.loc[(p, k)]["funding"].dropna() for k in NAMES}
        bt = backtest(data, STRATEGY, contract=CONTRACTS, initial_balance=20_000, leverage=5, funding=funding)
        row, s = mc.paths.loc[p], bt.stats
        for k in ("final_equity", "fills", "stops", "max_stops_24h"):
            assert row[k] == s[k], k
        assert row["fees"] == pytest.approx(s["fees"], rel=1e-12)
        assert row["funding"] == pytest.approx(s["funding"], rel=1e-12, abs=1e-12)
        np.testing.assert_array_equal(mc.curves[p].to_numpy(), bt.equity["equity"].to_numpy())


def test_basket_paths_do_not_depend_on_threads_or_batches():
    b = Basket.fit(DATA)
    one = perpsim.monte_carlo(STRATEGY, CONTRACTS, b, n_paths=60, n_bars=500, seed=2, threads=1, **KW)
    two = perpsim.monte_carlo(STRATEGY, CONTRACTS, b, n_paths=60, n_bars=500, seed=2, threads=2, batch_size=7, **KW)
    pd.testing.assert_frame_equal(one.paths, two.paths, check_exact=True)


def test_the_summary_gives_the_probability_of_a_stop_loss_cascade():
    b = Basket.fit(DATA)
    mc = perpsim.monte_carlo(STRATEGY, CONTRACTS, b, n_paths=200, n_bars=24 * 60, seed=1, **KW)
    p = mc.paths
    assert p["stops"].sum() > 0 and (p["max_stops_24h"] <= p["stops"]).all()
    s = mc.summary()
    assert s["p_stop_cascade_3"] == (p["max_stops_24h"] >= 3).mean()  # default: half of 5 symbols
    assert 0 < s["p_stop_cascade_3"] < 1
    assert mc.summary(cascade=2)["p_stop_cascade_2"] >= s["p_stop_cascade_3"]
    assert s["mean_stops"] == p["stops"].mean()
    # more correlated symbols stop out together less often than independent ones drift apart
    loose = Basket(b.volatility, b.s0, np.eye(len(NAMES)))
    ind = perpsim.monte_carlo(STRATEGY, CONTRACTS, loose, n_paths=200, n_bars=24 * 60, seed=1, **KW)
    assert ind.paths["stops"].mean() > p["stops"].mean()


def test_a_basket_sweep_runs_every_set_on_the_same_paths():
    b = Basket.fit(DATA)
    kw = dict(model=b, contract=CONTRACTS, n_paths=20, n_bars=300, seed=3, **KW)
    fixed = dict(stop_deviation=0.05)
    df = perpsim.sweep(IndexDeviation, {"trade_value": [200, 400]}, per_path=True, fixed=fixed, **kw)
    one = perpsim.monte_carlo(IndexDeviation(trade_value=400, stop_deviation=0.05), **kw)
    got = df[df["trade_value"] == 400].set_index("path")["final_equity"]
    np.testing.assert_array_equal(got.to_numpy(), one.paths["final_equity"].to_numpy())


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda b: Basket(b.volatility, b.s0, np.full((5, 5), 0.9) - np.diag([0, 0, 0, 0, 0.9])), "correlation"),
        (lambda b: Basket(b.volatility, b.s0, -np.ones((5, 5)) + 2 * np.eye(5)), "correlation"),
        (lambda b: Basket(b.volatility, b.s0, np.eye(4)), "correlation"),
        (lambda b: Basket(b.volatility, {"BTCUSDT": 1.0}, np.eye(5)), "s0"),
        (lambda b: Basket({**b.volatility, "BTCUSDT": -0.1}, b.s0, np.eye(5)), "volatility"),
        (lambda b: Basket(b.volatility, b.s0, b.correlation.rename(index={"BTCUSDT": "X"})), "correlation"),
    ],
    ids=["diagonal", "not semi-definite", "shape", "s0 keys", "negative volatility", "labels"],
)
def test_a_doubtful_basket_is_refused_naming_the_field(make, field):
    b = Basket.fit(DATA)
    with pytest.raises(InvalidInputError) as e:
        make(b)
    assert e.value.field == field


def test_a_basket_needs_its_contracts_and_a_basket_strategy():
    b = Basket.fit(DATA)
    with pytest.raises(InvalidInputError) as e:
        perpsim.monte_carlo(STRATEGY, {"BTCUSDT": perpsim.Contract("ETHUSDT")}, b, n_paths=2, n_bars=10, **KW)
    assert e.value.field == "contract"
    with pytest.raises(InvalidInputError) as e:
        perpsim.monte_carlo(perpsim.TargetPositions(pd.DataFrame()), CONTRACTS, b, n_paths=2, n_bars=10, **KW)
    assert e.value.field == "strategy"
    with pytest.raises(InvalidInputError) as e:  # the single-symbol models do not run a basket strategy
        perpsim.monte_carlo(STRATEGY, "BTCUSDT", perpsim.GBM(0.5, 100.0), n_paths=2, n_bars=10, **KW)
    assert e.value.field == "strategy"
