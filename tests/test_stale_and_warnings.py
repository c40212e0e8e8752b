"""No silent wrong answer, classes 1 and 2 (docs/guide.md, "What perpsim refuses and what it warns
about"): a symbol without a bar at a step is not tradable and is marked at its last price, a
strategy that needs it waits, data that never overlap are refused; a run that could not act says
so in ``Result.warnings`` and, when its result is doubtful, through Python's ``warnings``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perpsim import InvalidInputError, OrderRejectedError, PerpsimWarning

BASKET = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]


def basket(stop: dict | None = None) -> dict:
    out = {s: perpsim.data.load_bars(f"examples/data/basket_1h_{s}.csv.gz") for s in BASKET}
    for s, end in (stop or {}).items():
        out[s] = out[s][out[s].index < end]
    return out


def walk(n: int, seed: int, start: str = "2024-01-01", p0: float = 100.0, freq: str = "1h") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = p0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.r_[p0, c[:-1]]
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    hi = np.maximum(o, c) * 1.002
    lo = np.minimum(o, c) * 0.998
    return pd.DataFrame({"open": o, "high": hi, "low": lo, "close": c}, index=idx)


def kinds(r: perpsim.Result) -> dict:
    return {(w.kind, w.symbol): w for w in r.warnings}


# ----- class 1: stale prices ----------------------------------------------------------------


def test_a_basket_waits_while_a_symbol_has_no_bar_and_says_so():
    data = basket()
    end = data["SOLUSDT"].index[len(data["SOLUSDT"]) // 2]
    short = basket({"SOLUSDT": end})
    r = perpsim.backtest(short, perpsim.IndexDeviation(trade_value=500), leverage=5)
    f = r.fills
    # nothing trades after SOL's data end: the index needs every price (no fill at a frozen price)
    assert len(f) > 0
    assert (f["timestamp"] < end).all()
    stale = kinds(r)[("stale", "SOLUSDT")]
    assert stale.count == (data["BTCUSDT"].index >= end).sum()
    assert stale.first == end and "marked at its last price" in stale.message
    # the SOL position is held and marked at its last close
    assert r.exchange.position("SOLUSDT").qty == r.equity["position_SOLUSDT"].iloc[-1] != 0
    assert r.exchange.position("SOLUSDT").mark_price == short["SOLUSDT"]["close"].iloc[-1]


def test_a_basket_needs_a_time_that_every_symbol_covers():
    data = basket()
    half = len(data["BTCUSDT"]) // 2
    data["SOLUSDT"] = data["SOLUSDT"].iloc[half + 10 :]
    data["ETHUSDT"] = data["ETHUSDT"].iloc[: half - 10]
    with pytest.raises(InvalidInputError, match="no time is covered by every symbol") as e:
        perpsim.backtest(data, perpsim.IndexDeviation(trade_value=500), leverage=5)
    assert e.value.field == "data"


def test_symbols_that_never_overlap_are_refused_for_every_strategy():
    a = walk(200, 1, "2024-01-01")
    b = walk(200, 2, "2024-03-01")
    data = {"A": a, "B": b}
    strategies = [
        perpsim.Rebalance(target_value={"A": 1_000, "B": 1_000}),
        perpsim.TargetPositions(pd.DataFrame({"A": 1.0, "B": 1.0}, index=a.index[:1])),
        perpsim.IndexDeviation(trade_value=100),
        lambda ex, ts, bars: None,
    ]
    for s in strategies:
        with pytest.raises(InvalidInputError, match="overlap") as e:
            perpsim.backtest(data, s, leverage=5)
        assert e.value.field == "data"
    ex = perpsim.Exchange(["A", "B"])
    with pytest.raises(InvalidInputError, match="A's dates overlap no other symbol's"):
        ex.run(data)


def test_rebalance_waits_for_a_symbol_with_no_bar():
    a = walk(300, 3)
    b = walk(300, 4, p0=50.0)
    gap = b.index[100:150]
    b = b.drop(gap)
    r = perpsim.backtest(
        {"A": a, "B": b}, perpsim.Rebalance(target_value={"A": 2_000, "B": -2_000}, adjust_ratio=0.0), leverage=5
    )
    f = r.fills
    assert not f[(f["symbol"] == "B") & f["timestamp"].isin(gap)].size
    assert len(f[(f["symbol"] == "A") & f["timestamp"].isin(gap)]) > 0
    w = kinds(r)[("stale", "B")]
    assert (w.count, w.total, w.first, w.last) == (50, 300, gap[0], gap[-1])
    assert not w.doubtful


def test_a_grid_does_not_start_or_stop_on_a_stale_step():
    # A's data end; B's go on. A grid on A waiting for its trigger must not start on A's stale
    # steps (its last bar's range would be used again), nor place orders on A.
    a = walk(100, 5)
    b = walk(300, 6)
    lo, hi = float(a["low"].min()), float(a["high"].max())
    trigger = float(a["close"].iloc[-1])
    grid = perpsim.Grid(lo * 0.9, hi * 1.1, 10, qty=1.0, trigger=trigger)
    r = perpsim.backtest({"A": a, "B": b}, grid, leverage=5)
    o = r.orders
    assert (o["placed"] <= a.index[-1]).all()
    assert ("stale", "A") in kinds(r)


def test_targets_wait_for_the_symbols_next_bar():
    a = walk(50, 7)
    b = walk(50, 8).drop(pd.date_range("2024-01-01 10:00", periods=5, freq="1h", tz="UTC"))
    t = pd.DataFrame({"A": np.nan, "B": np.nan}, index=a.index)
    t.loc[pd.Timestamp("2024-01-01 11:00", tz="UTC"), "B"] = 3.0  # B has no bar then
    r = perpsim.backtest({"A": a, "B": b}, perpsim.TargetPositions(t), leverage=5)
    f = r.fills
    assert list(f["timestamp"]) == [pd.Timestamp("2024-01-01 15:00", tz="UTC")]  # B's next bar
    assert list(f["position"]) == [3.0]


def test_basis_waits_for_the_perpetual_and_refuses_data_that_never_overlap():
    perp = perpsim.data.sample("BTCUSDT", "1h")
    spot = perpsim.data.sample("BTCUSDT_SPOT", "1h")
    funding = perpsim.data.sample_funding("BTCUSDT")
    contract = {"BTCUSDT_SPOT": perpsim.BTCUSDT_SPOT, "BTCUSDT": perpsim.BTCUSDT}
    carry = perpsim.Basis(open_threshold=0.0005, close_threshold=0.0001)
    end = pd.Timestamp("2024-04-01", tz="UTC")
    short = perp[perp.index < end]
    r = perpsim.backtest({"BTCUSDT_SPOT": spot, "BTCUSDT": short}, carry, contract=contract, funding=funding)
    f = r.fills
    assert len(f) > 0 and (f["timestamp"] < end).all()  # neither leg trades on a frozen future price
    assert kinds(r)[("stale", "BTCUSDT")].first == end
    # spot and perpetual that never overlap: refused, not a plausible +18 %
    late = spot[spot.index >= end]
    with pytest.raises(InvalidInputError, match="overlap no future") as e:
        perpsim.backtest({"BTCUSDT_SPOT": late, "BTCUSDT": short}, carry, contract=contract, funding=funding)
    assert e.value.field == "data"


def test_basis_waits_for_a_spot_price():
    perp = perpsim.data.sample("BTCUSDT", "1h").iloc[:500]
    spot = perpsim.data.sample("BTCUSDT_SPOT", "1h").iloc[:500]
    gap = spot.index[200:260]
    contract = {"BTCUSDT_SPOT": perpsim.BTCUSDT_SPOT, "BTCUSDT": perpsim.BTCUSDT}
    carry = perpsim.Basis(open_threshold=0.0, close_threshold=0.0)  # trades whenever it can
    r = perpsim.backtest({"BTCUSDT_SPOT": spot.drop(gap), "BTCUSDT": perp}, carry, contract=contract)
    f = r.fills
    assert len(f) > 0 and not f["timestamp"].isin(gap).any()
    w = [x for x in r.warnings if x.kind == "stale" and x.symbol is None]
    assert len(w) == 1 and w[0].count == len(gap) and w[0].message.startswith("spot: no bar at 60 steps")


def test_a_python_strategy_sees_the_stale_flag_and_cannot_trade_a_stale_symbol():
    a = walk(20, 9)
    b = walk(10, 10)
    seen = []

    def on_bar(ex, ts, bars):
        seen.append((ts, ex.is_stale("B"), sorted(bars)))
        if ex.is_stale("B"):
            with pytest.raises(OrderRejectedError, match="no bar for this symbol") as e:
                ex.market("B", "buy", 1.0)
            assert e.value.field == "symbol"
            ex.market("A", "buy", 0.1)

    r = perpsim.backtest({"A": a, "B": b}, on_bar, leverage=5)
    assert [s for _, s, _ in seen] == [False] * 10 + [True] * 10
    assert all(bars == ["A"] for _, s, bars in seen if s)
    assert len(r.fills) == 10
    assert kinds(r)[("rejected", "B")].count == 10
    assert not r.exchange.is_stale("B")  # outside a run every symbol is tradable


class Toggle:
    """Buys then sells 1 of every symbol at each close, whether or not it has a bar."""

    def __init__(self):
        self.k, self.rejected = 0, 0

    def on_bar(self, ex, ts, bars):
        for s in ("X", "Y"):
            try:
                ex.market(s, "buy" if self.k % 2 == 0 else "sell", 1.0)
            except OrderRejectedError:
                self.rejected += 1
        self.k += 1


class ToggleOnReference:
    def __init__(self, strategy, frames):
        self.s, self.frames = strategy, frames

    def on_fill(self, ex, row, order):
        pass

    def on_close(self, ex):
        ts = pd.Timestamp(ex.now, unit="ns", tz="UTC")
        bars = {
            k: tuple(df.loc[ts, ["open", "high", "low", "close"]]) for k, df in self.frames.items() if ts in df.index
        }
        self.s.on_bar(ex, ts, bars)


@settings(deadline=None, max_examples=30)
@given(st.lists(st.booleans(), min_size=8, max_size=40), st.integers(0, 1000))
def test_the_engine_and_the_reference_apply_the_same_stale_rule(has_bar, seed):
    from perpsim.reference import Exchange as RefExchange

    x = walk(len(has_bar), seed)
    y = walk(len(has_bar), seed + 1)[np.asarray(has_bar)]
    if len(y) == 0:
        return
    frames = {"X": x, "Y": y}
    mine = Toggle()
    r = perpsim.backtest(frames, mine, leverage=10, initial_balance=100_000)
    ref = RefExchange(["X", "Y"], leverage=10, initial_balance=100_000)
    theirs = Toggle()
    ref.hooks = ToggleOnReference(theirs, frames)
    ref.run(frames)
    assert mine.rejected == theirs.rejected == len(has_bar) - len(y)
    fe, fr = r.fills, ref.fills()
    assert fe["symbol"].tolist() == fr["symbol"].tolist()
    np.testing.assert_allclose(fe["price"], fr["price"].astype(float), rtol=1e-12)
    assert r.stats["final_equity"] == pytest.approx(float(ref.history()["equity"].iloc[-1]), rel=1e-9)


# ----- class 2: inert and doubtful runs ---------------------------------------------------------


def test_a_grid_whose_orders_no_margin_can_hold_warns():
    bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:500]
    grid = perpsim.Grid(35_000, 50_000, 20, qty=5.0)  # 5 BTC per order on 10,000 USDT at 2x
    with pytest.warns(PerpsimWarning, match="orders were rejected or not sent"):
        r = perpsim.backtest(bars, grid, contract=perpsim.BTCUSDT, leverage=2)
    w = kinds(r)
    assert w[("most_rejected", None)].doubtful
    assert "insufficient margin" in w[("rejected", "BTCUSDT")].detail
    assert "warnings:" in r.summary() and "insufficient margin" in r.summary()
    from perpsim.report import backtest_report

    page = backtest_report(r)
    assert "<h2>Warnings (" in page and "class=doubtful" in page
    assert "class=doubtful" in r._repr_html_()  # the notebook view shows them too


def test_a_balance_target_far_beyond_the_leverage_warns():
    bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:300]
    with pytest.warns(PerpsimWarning, match="rejected"):
        r = perpsim.backtest(
            bars, perpsim.Rebalance(target_value=1_000_000), contract=perpsim.BTCUSDT, leverage=2, initial_balance=1_000
        )
    assert r.stats["fills"] == 0
    assert kinds(r)[("rejected", "BTCUSDT")].count > 0


def test_targets_off_the_bar_times_warn():
    bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:100]
    off = pd.Series(0.01, index=bars.index + pd.Timedelta("30min"))
    with pytest.warns(PerpsimWarning, match="100 of 100 target rows matched no step"):
        r = perpsim.backtest(bars, perpsim.TargetPositions(off), contract=perpsim.BTCUSDT)
    assert r.stats["fills"] == 0
    # some rows off: recorded, not emitted
    mixed = pd.Series(0.01, index=bars.index[:3].append(bars.index[3:5] + pd.Timedelta("1min")))
    r = perpsim.backtest(bars, perpsim.TargetPositions(mixed), contract=perpsim.BTCUSDT)
    w = kinds(r)[("unmatched", None)]
    assert (w.count, w.total, w.doubtful) == (2, 5, False)


def test_funding_that_does_not_overlap_the_bars_warns():
    bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:200]
    funding = perpsim.data.sample_funding("BTCUSDT")
    late = funding[funding.index > bars.index[-1]]
    grid = perpsim.Grid(38_000, 48_000, 10, qty=0.01)
    with pytest.warns(PerpsimWarning, match="funding rates .none falls within the bars' dates"):
        r = perpsim.backtest(bars, grid, contract=perpsim.BTCUSDT, funding=late)
    assert r.stats["funding"] == 0
    # a funding file longer than the bars: the rows outside are counted, not emitted
    r = perpsim.backtest(bars, grid, contract=perpsim.BTCUSDT, funding=funding)
    w = kinds(r)[("unmatched", "BTCUSDT")]
    assert not w.doubtful and w.total == len(funding) and 0 < w.count < w.total


def test_a_liquidation_is_recorded_not_emitted():
    c = np.linspace(100.0, 40.0, 60)
    idx = pd.date_range("2024-01-01", periods=60, freq="1h", tz="UTC")
    bars = pd.DataFrame({"open": np.r_[100.0, c[:-1]], "high": np.r_[100.0, c[:-1]], "low": c, "close": c}, index=idx)
    r = perpsim.backtest(bars, perpsim.Rebalance(target_value=50_000, adjust_ratio=0.5), leverage=10)
    assert r.stats["liquidated"]
    w = kinds(r)
    assert ("liquidated", "ASSET") in w and ("blown", None) in w
    assert w[("blown", None)].first == r.stats["liquidated_at"]
    assert not any(x.doubtful for x in r.warnings)
