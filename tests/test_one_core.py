"""One core: Python callback strategies run in the engine's one event loop (so settlement, funding,
liquidation and recording are the built-in strategies' code), and one statistics engine gives the
same figures for a backtest, a sweep row and a Monte Carlo path. The first two tests are the two
drifts found when the loop and the statistics had copies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import perpsim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perpsim import Grid, Rebalance
from perpsim.reference import Exchange as RefExchange

H = pd.Timedelta(hours=1)


def hourly(closes, start="2030-03-01", spread=0.002):
    """Hourly bars through `closes`; the wicks are uneven (low 0.83 of the high's), so that the
    nearest extreme is never a float-rounding tie (the engine decides in floats, the reference
    exactly)."""
    c = np.asarray(closes, dtype=float)
    o = np.r_[c[0], c[:-1]]
    idx = pd.date_range(start, periods=len(c), freq="1h", tz="UTC")
    hi, lo = np.maximum(o, c) * (1 + spread), np.minimum(o, c) * (1 - 0.83 * spread)
    return pd.DataFrame({"open": o, "high": hi, "low": lo, "close": c}, index=idx)


def test_a_python_strategy_on_a_delivery_contract_is_settled_at_expiry():
    """Drift 1: the Python path had its own loop, with funding but without settlement."""
    q = perpsim.quarterly(perpsim.BTCUSDT, "2030-03-01 05:00")
    bars = hourly([60_000 + 100 * k for k in range(10)])

    def on_bar(ex, ts, b):
        if ex.position(q.symbol).qty == 0 and ts == bars.index[0]:
            ex.market(q.symbol, "buy", 0.01)

    r = perpsim.backtest(bars, on_bar, contract=q, initial_balance=10_000, leverage=5)
    assert r.exchange.position(q.symbol).qty == 0.0
    assert r.fills["reason"].tolist() == ["user", "settlement"]
    assert r.fills["timestamp"].iloc[1] == pd.Timestamp("2030-03-01 05:00", tz="UTC")
    # the built-in strategy holding the same position ends the same way
    rb = perpsim.backtest(bars, Rebalance(target_value=600.0, adjust_ratio=0.5), contract=q, leverage=5)
    assert rb.fills["reason"].tolist()[-1] == "settlement"
    assert rb.exchange.position(q.symbol).qty == 0.0


def same(a, b):
    """Equal to the last bit and of the same kind (a table cell read back as a Python value)."""
    b = b.item() if isinstance(b, np.generic) else b
    b = None if b is pd.NaT else b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b and type(a) is type(b)


def test_backtest_stats_equal_the_sweep_row_for_every_statistic():
    """Drift 2: two statistics engines gave two Sharpe ratios (and fills as int and float)."""
    bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:2_000]
    kw = dict(contract=perpsim.BTCUSDT, initial_balance=10_000, leverage=5)
    grid = dict(lower=38_000.0, upper=52_000.0, qty=0.01)
    row = perpsim.sweep(Grid, {"grid_count": [30]}, data=bars, fixed=grid, **kw).iloc[0]
    stats = perpsim.backtest(bars, Grid(grid_count=30, **grid), **kw).stats
    assert stats["fills"] > 100 and isinstance(stats["fills"], int)
    for name, value in stats.items():
        assert same(value, row[name]), (name, value, row[name])


def test_monte_carlo_paths_have_the_backtest_figures_of_their_bars():
    model = perpsim.GBM(volatility=0.9, s0=40_000, interval="1h")
    grid = Grid(30_000, 50_000, 20, qty=0.02)
    kw = dict(contract=perpsim.BTCUSDT, initial_balance=2_000, leverage=10)
    mc = perpsim.monte_carlo(grid, model=model, n_paths=6, n_bars=300, seed=4, progress=False, **kw)
    assert mc.paths["liquidated"].any()  # the early-stopping shortcut is exercised
    bars = perpsim.montecarlo.simulate_paths(model, n_paths=6, n_bars=300, seed=4)
    for p in range(6):
        b = bars.xs(p, level="path")[["open", "high", "low", "close"]]
        st_ = perpsim.backtest(b, grid, **kw).stats
        for name, value in st_.items():
            assert same(value, mc.paths.loc[p, name]), (p, name, value, mc.paths.loc[p, name])


def test_a_python_strategy_sees_fills_along_the_path_and_its_orders_are_live_at_once():
    bars = hourly([100, 100])
    bars.iloc[1] = [100.0, 103.0, 95.0, 96.0]  # nearest first: open → high 103 → low 95 → close 96
    seen = []

    class Counter:
        def on_start(self, ex):
            ex.update(0, 100.0)
            ex.limit("X", "buy", 97.0, 1.0)

        def on_fill(self, ex, fill):
            seen.append((fill["side"], fill.price, fill.timestamp))
            if fill.side == "buy":
                ex.limit("X", "sell", 99.0, 1.0)  # live at once: the rest of the path is below

    r = perpsim.backtest(bars, Counter(), contract="X", initial_balance=1_000, leverage=10)
    assert [(s, p) for s, p, _ in seen] == [("buy", 97.0)]
    assert r.exchange.position("X").qty == 1.0  # the sell at 99 did not fill: the path was below
    bars.iloc[1] = [100.0, 106.0, 96.0, 105.0]  # low first now: the sell at 99 fills on the way up
    seen.clear()
    r = perpsim.backtest(bars, Counter(), contract="X", initial_balance=1_000, leverage=10)
    assert [(s, p) for s, p, _ in seen] == [("buy", 97.0), ("sell", 99.0)]
    assert seen[0][2] == bars.index[1]
    assert r.exchange.position("X").qty == 0.0


def test_an_exception_in_a_callback_stops_the_run_and_reaches_the_caller():
    bars = hourly([100 + k for k in range(50)])

    def on_bar(ex, ts, b):
        if ts == bars.index[10]:
            raise RuntimeError("strategy bug")

    ex = perpsim.Exchange("X")
    with pytest.raises(RuntimeError, match="strategy bug"):
        ex._run_python(ex._columns(bars, None, None), on_bar, None)
    assert ex.n_updates == 11  # stopped at the failing step; the exchange is usable again
    ex.update(bars.index[-1] + H, 200.0)
    assert ex.n_updates == 12


def test_runs_and_steps_are_refused_inside_a_callback():
    bars = hourly([100, 101, 102])
    errors = []

    def on_bar(ex, ts, b):
        for call in (lambda: ex.update(ts + H, 100.0), lambda: ex.run(bars)):
            try:
                call()
            except perpsim.InvalidInputError as e:
                errors.append(e.field)

    perpsim.backtest(bars, on_bar, contract="X")
    assert errors == ["exchange", "exchange"] * 3


# ----- a Python callback strategy through the engine's loop and the reference's loop ----------


class LadderStrategy:
    """A Python strategy written once against the Exchange API: a ladder of buy limits below the
    first close; each filled buy places a sell one level up (mid-path), each filled sell a buy one
    level down; at each close, a market order trims the position when it exceeds a cap."""

    def __init__(self, levels, qty, cap):
        self.levels, self.qty, self.cap = levels, qty, cap
        self.started = False

    def _index(self, price):
        return int(np.argmin([abs(float(price) - lv) for lv in self.levels]))

    def on_bar(self, ex, ts, bars):
        if not self.started:
            self.started = True
            close = float(bars["X"][3])
            for lv in self.levels:
                if lv < close:
                    ex.limit("X", "buy", lv, self.qty)
        pos = float(ex.position("X").qty)
        if pos > self.cap:
            ex.market("X", "sell", self.qty)

    def on_fill(self, ex, fill):
        if fill["reason"] != "user":
            return
        k = self._index(fill["price"])
        if fill["side"] == "buy" and k + 1 < len(self.levels):
            ex.limit("X", "sell", self.levels[k + 1], self.qty)
        elif fill["side"] == "sell" and k >= 1:
            ex.limit("X", "buy", self.levels[k - 1], self.qty)


class OnReference:
    """Drives a Python callback strategy on the reference's own loop (its hooks)."""

    def __init__(self, strategy, bars):
        self.s, self.bars = strategy, bars

    def on_fill(self, ex, row, order):
        self.s.on_fill(ex, row)

    def on_close(self, ex):
        ts = pd.Timestamp(ex.now, unit="ns", tz="UTC")
        row = self.bars.loc[ts]
        self.s.on_bar(ex, ts, {"X": tuple(float(row[k]) for k in ("open", "high", "low", "close"))})


@settings(deadline=None)
@given(
    steps=st.lists(st.floats(-0.03, 0.03), min_size=5, max_size=60),
    qty=st.sampled_from([0.5, 1.0, 2.5]),
    cap=st.sampled_from([1.0, 3.0, 100.0]),
    fee=st.sampled_from([0.0, 0.0002]),
    same_bar=st.booleans(),
)
def test_a_python_strategy_runs_the_same_in_the_engine_and_in_the_reference(steps, qty, cap, fee, same_bar):
    closes = 100.0 * np.cumprod(1.0 + np.asarray([0.0, *steps]))
    bars = hourly(closes, spread=0.004)
    levels = [round(90.0 + 0.75 * k, 2) for k in range(30)]
    kw = dict(initial_balance=10_000.0, leverage=10, maker_fee=fee, taker_fee=2 * fee, same_bar=same_bar)
    r = perpsim.backtest(bars, LadderStrategy(levels, qty, cap), contract="X", **kw)
    ref = RefExchange("X", **kw)
    ref.hooks = OnReference(LadderStrategy(levels, qty, cap), bars)
    ref.run({"X": bars})
    fe, fr = r.fills, ref.fills()
    assert len(fe) == len(fr)
    if len(fe):
        assert fe["side"].tolist() == fr["side"].tolist()
        assert fe["reason"].tolist() == fr["reason"].tolist()
        np.testing.assert_allclose(fe["price"], fr["price"].astype(float), rtol=1e-12)
        np.testing.assert_allclose(fe["qty"], fr["qty"].astype(float), rtol=1e-12)
    eq = float(ref.history()["equity"].iloc[-1])
    assert r.stats["final_equity"] == pytest.approx(eq, rel=1e-9, abs=1e-9)
