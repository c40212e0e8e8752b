"""Fee tiers by 30-day volume (docs/accounting.md, "Fee tiers"): at the first step of each UTC day
the tier is set from the account's quote volume over the 30 days before; the engine and the exact
reference agree, a Monte Carlo path carries the schedule as a backtest does, bad schedules are
refused naming the field."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perpsim import FeeTiers, InvalidInputError
from perpsim.reference.exchange import Exchange as RefExchange
from random_bars import random_bars

T0 = pd.Timestamp("2024-01-01", tz="UTC")
DAY = pd.Timedelta("1D")
VIP = FeeTiers([(0, 0.0002, 0.0005), (1e6, 0.00016, 0.0004)])


@pytest.mark.parametrize("impl", [perpsim.Exchange, RefExchange], ids=["engine", "reference"])
def test_worked_example_a_busy_day_lowers_the_fees_for_thirty_days(impl):
    ex = impl("X", initial_balance=1e6, fee_tiers=VIP)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 6_000.0)
    ex.sell("X", 100.0, 6_000.0)  # 1,200,000 of volume on day 0, at the base tier: 300 each
    for day in (1, 30, 31):
        ex.update(T0 + day * DAY, 100.0)
        ex.buy("X", 100.0, 1.0)
    fees = [float(x) for x in ex.fills()["fee"]]
    # day 1 and day 30 (day 0 among the 30 complete days before): 0.04 % taker; day 31: 0.05 %
    assert fees == pytest.approx([300.0, 300.0, 0.04, 0.04, 0.05], rel=1e-12)


@pytest.mark.parametrize("impl", [perpsim.Exchange, RefExchange], ids=["engine", "reference"])
def test_volume_before_the_run_counts_and_falls_out_day_by_day(impl):
    # 1.5 M over the 30 days before: 50,000 a day; after 10 days 20 of them remain (1.0 M: the
    # upper tier), after 11 days 19 (0.95 M: the base tier)
    ex = impl("X", initial_balance=1e6, fee_tiers=FeeTiers(VIP.tiers, volume_30d=1.5e6))
    for day in (0, 10, 11):
        ex.update(T0 + day * DAY, 100.0)
        ex.buy("X", 100.0, 1.0)
    assert [float(x) for x in ex.fills()["fee"]] == pytest.approx([0.04, 0.04, 0.05], rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), inverse=st.booleans(), prior=st.sampled_from([0.0, 3_000.0, 9_000.0]))
def test_engine_and_reference_agree_on_fee_tiers(seed, inverse, prior):
    bars = random_bars(np.random.default_rng(seed), 24 * 5, T0)
    tiers = FeeTiers([(0, 0.0002, 0.0005), (2_000, 0.0001, 0.0004), (6_000, -0.00005, 0.0003)], volume_30d=prior)
    c = perpsim.Contract("X")
    if inverse:
        c = perpsim.Contract("X", kind="inverse", settle_asset="BTC", contract_size=10)
    out = []
    for impl in (perpsim.Exchange, RefExchange):
        ex = impl(c, initial_balance=1.0 if inverse else 10_000.0, fee_tiers=tiers)
        ex.update(T0 - pd.Timedelta("1h"), 100.0)
        for k in range(1, 9):
            ex.limit("X", "buy", 100.0 - k, 3.0)
            ex.limit("X", "sell", 100.0 + k, 3.0)
        ex.run(bars)
        f = ex.fills()
        out.append((f["fee"].to_numpy(float), f["price"].to_numpy(float), float(ex.account.wallet_balance)))
    (fe, pe, we), (fr, pr, wr) = out
    assert len(fe) == len(fr) and len(fe) > 0
    np.testing.assert_allclose(pe, pr, rtol=1e-12)
    np.testing.assert_allclose(fe, fr, rtol=1e-12, atol=1e-15)
    assert we == pytest.approx(wr, rel=1e-12)


def test_a_monte_carlo_path_carries_the_schedule_as_its_backtest_does():
    from perpsim.montecarlo import simulate_paths

    model = perpsim.GBM(0.8, s0=100.0)
    grid = perpsim.Grid(80, 120, 40, qty=5.0)
    tiers = FeeTiers([(0, 0.0002, 0.0005), (20_000, 0.0, 0.0003)])
    kw = dict(initial_balance=10_000, leverage=5, fee_tiers=tiers)
    mc = perpsim.monte_carlo(grid, "X", model, n_paths=3, n_bars=24 * 40, seed=2, progress=False, **kw)
    plain = perpsim.monte_carlo(
        grid, "X", model, n_paths=3, n_bars=24 * 40, seed=2, progress=False, initial_balance=10_000, leverage=5
    )
    bars = simulate_paths(model, n_paths=3, n_bars=24 * 40, seed=2)
    for p in range(3):
        s = perpsim.backtest(bars.loc[p][["open", "high", "low", "close"]], grid, contract="X", **kw).stats
        assert mc.paths.loc[p, "final_equity"] == s["final_equity"]
        assert mc.paths.loc[p, "fees"] == pytest.approx(s["fees"], rel=1e-12)
    assert (mc.paths["fees"] < plain.paths["fees"]).all()  # the busy grid reaches the cheaper tier


@pytest.mark.parametrize(
    "tiers, volume, field",
    [
        ([(100, 0.0002, 0.0005)], 0.0, "fee_tiers"),
        ([(0, 0.0002, 0.0005), (0, 0.0001, 0.0004)], 0.0, "fee_tiers"),
        ([(0, 0.0002, 1.5)], 0.0, "fee_tiers"),
        ([], 0.0, "fee_tiers"),
        ([("a", 1, 2)], 0.0, "fee_tiers"),
        ([(0, 0.0002, 0.0005)], -1.0, "volume_30d"),
    ],
    ids=["first not 0", "not increasing", "rate", "empty", "not numbers", "negative volume"],
)
def test_a_bad_schedule_is_refused_naming_the_field(tiers, volume, field):
    with pytest.raises(InvalidInputError) as e:
        FeeTiers(tiers, volume_30d=volume)
    assert e.value.field == field
