"""Hedge mode (Binance's dual-side position mode): a long and a short position per symbol at once.

Worked examples of docs/accounting.md ("Hedge mode"), exactly, on the engine and on the reference;
the defining property of the cross liquidation price (the margin balance equals the maintenance
margin there, both sides moving together), checked in exact arithmetic; the rules of orders on a
side; and a property test of random order streams on random bars with random sides, engine against
the reference, as tests/test_matching_properties.py does for one-way mode."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perpsim import Contract, Exchange, Grid, InvalidInputError, OrderRejectedError, Rebalance, backtest
from perpsim import reference as ref
from test_mark_price import frame, marked_scenario
from test_matching_properties import T0, H, compare_records, near, scenario

FLAT = ((0, 125, 0.004),)
LINEAR = Contract("X", brackets=FLAT, maker_fee=0, taker_fee=0)
INVERSE = Contract("X", kind="inverse", settle_asset="BTC", contract_size=100, brackets=FLAT, maker_fee=0, taker_fee=0)
BOTH = [Exchange, ref.Exchange]


def hedge(impl, c=LINEAR, balance=10_000, mode="cross", lev=10):
    return impl(c, initial_balance=balance, leverage=lev, margin_mode=mode, position_mode="hedge")


@pytest.mark.parametrize("impl", BOTH)
def test_cross_liquidation_price_both_sides_example(impl):
    # long 1 at 50,000 and short 0.5 at 50,000, wallet 10,000, MMR 0.4 %:
    # LP = (10,000 − 50,000 + 25,000) / (0.004 + 0.002 − 1 + 0.5) = −15,000 / −0.494 = 30,364.37 (falling).
    ex = hedge(impl)
    ex.buy("X", 50_000, 1, position_side="long")
    ex.sell("X", 50_000, 0.5, position_side="short")
    lp = ex.liquidation_price("X", "long")
    assert round(float(lp), 2) == 30_364.37
    assert float(ex.liquidation_price("X", "short")) == float(lp)  # one price for both sides
    if impl is ref.Exchange:
        assert lp == F(7_500_000, 247)


@pytest.mark.parametrize("impl", BOTH)
def test_fully_hedged_account_is_liquidated_by_a_rise(impl):
    # long 1 and short 1 at 50,000 with a 1,000 wallet: the PnL cancels, but both sides carry
    # maintenance margin. 1,000 = 0.004 · 2 · LP → LP = 125,000, reached by a rising price.
    ex = hedge(impl, balance=1_000, lev=125)
    ex.buy("X", 50_000, 1, position_side="long")
    ex.sell("X", 50_000, 1, position_side="short")
    assert float(ex.liquidation_price("X", "long")) == 125_000
    ex.step(T0, {"X": (50_000, 124_000, 50_000, 124_000)})
    assert not ex.blown
    ex.step(T0 + H, {"X": (124_000, 126_000, 124_000, 125_500)})
    assert ex.blown
    fills = ex.fills()
    liq = fills[fills["reason"] == "liquidation"]
    assert len(liq) == 2 and set(liq["price"].astype(float)) == {125_000.0}


@pytest.mark.parametrize("impl", BOTH)
def test_isolated_sides_have_their_own_liquidation_prices(impl):
    # each side backed by its own margin (notional / leverage): the one-way isolated examples,
    # LP(long) = 45,180.72 and LP(short) = 54,780.88 for 1 BTC at 50,000, 10x, MMR 0.4 %.
    ex = hedge(impl, mode="isolated")
    ex.buy("X", 50_000, 1, position_side="long")
    ex.sell("X", 50_000, 1, position_side="short")
    assert round(float(ex.liquidation_price("X", "long")), 2) == 45_180.72
    assert round(float(ex.liquidation_price("X", "short")), 2) == 54_780.88
    # a fall through the long's price liquidates the long alone; the short stays open
    ex.step(T0, {"X": (50_000, 50_000, 45_000, 46_000)})
    assert not ex.blown
    assert float(ex.position("X", "long").qty) == 0
    assert float(ex.position("X", "short").qty) == -1


@pytest.mark.parametrize("c", [LINEAR, INVERSE], ids=["linear", "inverse"])
@pytest.mark.parametrize("sizes", [(1, 0.5), (0.5, 1), (1, 1), (1, 0), (0, 1)])
def test_cross_liquidation_price_is_where_margin_balance_meets_maintenance(c, sizes):
    # the defining property, in exact arithmetic: at LP the equity equals the maintenance margin
    # (both sides marked at LP, each side's maintenance in the tier of its own notional)
    inverse = c.kind == "inverse"
    qty = [F(int(s * 40)) for s in sizes] if inverse else [F(s) for s in sizes]
    brackets = ((0, 50, 0.005), (20_000, 20, 0.01), (100_000, 10, 0.025))
    c = c.replace(brackets=brackets)
    rx = hedge(ref.Exchange, c, balance=F(1, 100) if inverse else 5_000, lev=20)
    if qty[0]:
        rx.buy("X", 50_000, qty[0], position_side="long")
    if qty[1]:
        rx.sell("X", 52_000, qty[1], position_side="short")
    lp = rx.liquidation_price("X", "long" if qty[0] else "short")
    assert lp is not None
    rx.positions["X"].mark_price = lp
    acc = rx.account
    assert acc.equity == acc.maintenance_margin
    ex = hedge(Exchange, c, balance=float(rx.initial_balance), lev=20)
    if qty[0]:
        ex.buy("X", 50_000, float(qty[0]), position_side="long")
    if qty[1]:
        ex.sell("X", 52_000, float(qty[1]), position_side="short")
    assert float(ex.liquidation_price("X", "long" if qty[0] else "short")) == pytest.approx(float(lp), rel=1e-12)


@pytest.mark.parametrize("impl", BOTH)
def test_sides_and_their_rules(impl):
    ex = hedge(impl)
    with pytest.raises(InvalidInputError, match="position_side"):
        ex.buy("X", 50_000, 1)  # hedge mode: an order names its side
    with pytest.raises(InvalidInputError, match="position_side"):
        impl(LINEAR).buy("X", 50_000, 1, position_side="long")  # one-way: no sides
    ex.buy("X", 50_000, 1, position_side="long")
    with pytest.raises(OrderRejectedError, match="qty"):
        ex.sell("X", 50_000, 2, position_side="long")  # closes at most the long
    with pytest.raises(OrderRejectedError, match="reduce"):
        ex.limit("X", "buy", 49_000, 1, position_side="short")  # nothing to close on the short
    with pytest.raises(InvalidInputError, match="reduce_only"):
        ex.limit("X", "buy", 49_000, 1, reduce_only=True, position_side="long")  # a long buy opens
    # margin counts both sides: 10x, 1 BTC long at 50,000 uses 5,000 of 10,000
    ex.sell("X", 50_000, 1, position_side="short")
    assert float(ex.account.margin) == 10_000
    with pytest.raises(OrderRejectedError, match="margin"):
        ex.sell("X", 50_000, 0.1, position_side="short")
    # funding: each side pays or receives on its own notional (hedged: they cancel)
    assert float(ex.apply_funding("X", 0.001, 50_000)) == 0
    assert float(ex.position("X", "long").funding) == -50
    assert float(ex.position("X", "short").funding) == 50


def test_history_has_a_column_per_side():
    ex = hedge(Exchange)
    ex.buy("X", 50_000, 1, position_side="long")
    ex.sell("X", 50_000, 0.5, position_side="short")
    ex.update(T0, {"X": 51_000})
    h = ex.history()
    assert h[["position_X_long", "position_X_short"]].iloc[-1].tolist() == [1.0, -0.5]
    assert h["unrealized_pnl"].iloc[-1] == 1_000 - 500


# -- the property test: random sides on random order streams, engine vs reference ----------------


def apply(ex, op, t, side):
    k = op[0]
    ps = dict(position_side=side)
    if k == "limit":
        return ex.limit("X", op[1], op[2], op[3], post_only=op[4], reduce_only=op[5], **ps)
    if k == "stop":
        return ex.stop("X", op[1], op[2], op[3], price=op[4], reduce_only=op[5], **ps)
    if k == "take_profit":
        return ex.take_profit("X", op[1], op[2], **ps)
    if k == "stop_loss":
        return ex.stop_loss("X", op[1], op[2], **ps)
    if k == "trailing":
        return ex.trailing_stop("X", op[1], op[2], op[3], activation=op[4], reduce_only=op[5], **ps)
    if k == "market":
        return ex.market("X", op[1], op[2], **ps)
    if k == "fill_at":
        return (ex.buy if op[1] == "buy" else ex.sell)("X", op[2], op[3], **ps)
    if k in ("cancel", "amend"):
        ids = ex.open_orders()
        oid = ids[op[1] % len(ids)] if ids and op[1] % 4 else op[1] + 100
        return ex.cancel(oid) if k == "cancel" else ex.amend(oid, price=op[2], qty=op[3])
    if k == "close":
        return ex.close("X", op[1], **ps)
    if k == "funding":
        return ex.apply_funding("X", op[1], op[2])
    if k == "bar":
        return ex.step(t, {"X": op[1]})
    raise AssertionError(op)


def outcome(ex, op, t, side):
    try:
        apply(ex, op, t, side)
        return None
    except (InvalidInputError, OrderRejectedError) as e:
        return type(e)


def compare(ex, rx, scale):
    a, r = ex.account, rx.account
    for f in ("wallet_balance", "equity", "margin", "unrealized_pnl", "realized_pnl", "fees", "funding"):
        near(getattr(a, f), getattr(r, f), scale, f)
    for side in ("long", "short"):
        p, q = ex.position("X", side), rx.position("X", side)
        near(p.qty, q.qty, 1.0, f"{side}.qty")
        near(p.entry_price, q.entry_price, scale, f"{side}.entry")
    assert ex.blown == rx.blown
    assert ex.liquidated_at == rx.liquidated_at
    assert ex.open_orders() == rx.open_orders()


def drive(c, kw, steps, sides):
    kw = dict(kw, position_mode="hedge")
    ex, rx = Exchange(c, **kw), ref.Exchange(c, **kw)
    t = T0
    scale = float(kw["initial_balance"]) * 100
    for op, side in zip(steps, sides):
        if op[0] == "bar":
            t += H
        e, r = outcome(ex, op, t, side), outcome(rx, op, t, side)
        assert e == r, f"{op} on {side}: engine {e}, reference {r}"
        scale = max(scale, float(ex.account.volume))
        compare(ex, rx, scale)
    compare_records(ex, rx, scale)


@st.composite
def hedge_scenario(draw, kinds):
    c, kw, steps = draw(scenario(kinds=kinds))
    sides = [draw(st.sampled_from(["long", "short"])) for _ in steps]
    return c, kw, steps, sides


@given(hedge_scenario(kinds=("plain", "filtered")))
def test_hedge_mode_orders_on_bars_match_reference_linear(sc):
    drive(*sc)


@given(hedge_scenario(kinds=("inverse",)))
def test_hedge_mode_orders_on_bars_match_reference_inverse(sc):
    drive(*sc)


# -- the grid on both sides -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["neutral", "long", "short"])
def test_grid_in_hedge_mode_keeps_its_fills_and_matched_profit(mode):
    # Binance's neutral futures grid in hedge mode: buys below the start open the long side and
    # the sells above them close it; sells above the start open the short side (a long grid's
    # inventory is all long, a short grid's all short). The fills and the matched profit are those
    # of the one-way grid; the sides are recorded apart. The stop closes the side that is open.
    idx = pd.date_range("2024-01-01", periods=500, freq="h", tz="UTC")
    rng = np.random.default_rng(7)  # up first (the short side), then down (the long side)
    t = np.arange(len(idx))
    close = 100 * (1 + 0.12 * np.sin(t / 40)) * np.exp(rng.normal(0, 0.004, len(idx)))
    df = pd.DataFrame({"open": np.r_[100, close[:-1]], "close": close}, index=idx)
    df["high"] = df[["open", "close"]].max(axis=1) * 1.004
    df["low"] = df[["open", "close"]].min(axis=1) * 0.996
    g = Grid(lower=90, upper=115, grid_count=20, qty=1.0, mode=mode, stop_lower=89)
    c = Contract("X", maker_fee=0.0002, taker_fee=0.0005)
    one = backtest(df, g, contract=c, initial_balance=50_000, leverage=5)
    two = backtest(df, g, contract=c, initial_balance=50_000, leverage=5, position_mode="hedge")
    assert one.stats["grid_matched_profit"] == two.stats["grid_matched_profit"]
    assert one.stats["grid_unmatched_pnl"] == pytest.approx(two.stats["grid_unmatched_pnl"], rel=1e-12, abs=1e-9)
    f1, f2 = one.fills, two.fills
    assert len(f1) == len(f2) > 20
    for col in ("side", "qty", "price", "fee", "realized_pnl", "reason"):
        assert f1[col].tolist() == f2[col].tolist(), col
    assert set(f2["position_side"]) <= {"long", "short"}
    e = two.equity
    net = e["position_X_long"] + e["position_X_short"]
    assert net.tolist() == pytest.approx(one.equity["position_X"].tolist(), abs=1e-9)
    assert (e["position_X_long"] >= 0).all() and (e["position_X_short"] <= 0).all()
    if mode == "neutral":
        assert (e["position_X_long"] > 0).any() and (e["position_X_short"] < 0).any()
    assert two.stats["final_equity"] == pytest.approx(one.stats["final_equity"], rel=1e-12)
    # round trips per side: the same trades as the one-way grid's, each on its side
    t1, t2 = one.trades, two.trades
    assert len(t1) == len(t2) and t1["direction"].tolist() == t2["direction"].tolist()
    assert t2["pnl"].tolist() == pytest.approx(t1["pnl"].tolist(), rel=1e-9, abs=1e-9)


def test_other_builtin_strategies_are_refused_in_hedge_mode():
    idx = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
    df = pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0}, index=idx)
    with pytest.raises(InvalidInputError, match="position_mode"):
        backtest(df, Rebalance(target_ratio=0.5), position_mode="hedge")


def test_grid_monte_carlo_in_hedge_mode_equals_one_way_path_by_path():
    # the Monte Carlo runner copies the account it is given: a hedge-mode grid's paths, liquidations
    # included, are the one-way grid's (its sides never overlap, so the margins are the same)
    from perpsim import GBM, monte_carlo

    g = Grid(lower=80, upper=120, grid_count=20, qty=1.0)
    kw = dict(n_paths=200, n_bars=500, seed=3, leverage=10, initial_balance=400)
    a = monte_carlo(g, Contract("X"), GBM(s0=100, volatility=1.2), **kw)
    b = monte_carlo(g, Contract("X"), GBM(s0=100, volatility=1.2), position_mode="hedge", **kw)
    assert a.paths["liquidated_at"].notna().sum() > 5
    for col in ("final_equity", "fills", "fees", "grid_matched_profit", "liquidated"):
        assert a.paths[col].tolist() == b.paths[col].tolist(), col
    with pytest.raises(InvalidInputError, match="position_mode"):
        monte_carlo(Rebalance(target_ratio=0.5), Contract("X"), GBM(s0=100, volatility=0.5), position_mode="hedge")


def test_a_python_strategy_trades_both_sides():
    # a callback strategy names each order's side; the step-driven API is the one it gets
    idx = pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC")
    close = 100 + 5 * np.sin(np.arange(48) / 6)
    df = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close}, index=idx)

    def on_bar(ex, ts, bars):
        if ex.n_updates == 1:
            ex.market("ASSET", "buy", 1, position_side="long")
            ex.market("ASSET", "sell", 1, position_side="short")
            ex.take_profit("ASSET", 104, position_side="long")
            ex.take_profit("ASSET", 96, position_side="short")

    r = backtest(df, on_bar, initial_balance=1_000, leverage=10, position_mode="hedge")
    f = r.fills
    assert f["position_side"].tolist() == ["long", "short", "long", "short"]
    assert f["reason"].tolist() == ["user", "user", "tp", "tp"]
    assert r.exchange.position("ASSET", "long").qty == 0 and r.exchange.position("ASSET", "short").qty == 0
    assert r.trades["direction"].tolist() == ["long", "short"]


# -- both sides on the mark's own path ---------------------------------------------------------


def _drive_marked(ex, base, side, qty, orders, df, funding, sides):
    ex.update(T0 - H, base)
    for ps, q in (("long", qty), ("short", qty / 2 if side == "buy" else qty * 2)):
        try:
            (ex.buy if ps == "long" else ex.sell)("X", base, q, position_side=ps)
        except (InvalidInputError, OrderRejectedError):
            pass
    for (kind, s, lvl, q), ps in zip(orders, sides):
        kw = dict(position_side=ps)
        try:
            if kind == "limit":
                ex.limit("X", s, lvl, q, **kw)
            elif kind == "stop":
                ex.stop("X", s, lvl, q, **kw)
            elif kind == "stop_mark":
                ex.stop("X", s, lvl, q, price=lvl if s == "buy" else None, working_type="mark", **kw)
            else:
                (ex.stop_loss if kind == "sl_mark" else ex.take_profit)("X", lvl, working_type="mark", **kw)
        except (InvalidInputError, OrderRejectedError):
            pass
    fi = df.index[[0, -1]].unique()
    f = None if funding is None else pd.Series([funding] * len(fi), index=fi)
    ex.run(df, funding=f)


@st.composite
def marked_hedge_scenario(draw):
    sc = draw(marked_scenario())
    return sc, [draw(st.sampled_from(["long", "short"])) for _ in sc[5]]


@settings(max_examples=150, deadline=None)
@given(marked_hedge_scenario())
def test_hedge_mode_on_the_marks_path_matches_the_reference(sc):
    # both sides open, liquidation and triggers on the mark's own path (isolated: a level each
    # way; cross: the symbol's one level), engine against the reference
    (c, kw, base, side, qty, orders, trade, mark, funding), sides = sc
    kw = dict(kw, position_mode="hedge")
    idx = pd.DatetimeIndex(pd.to_datetime(np.arange(T0, T0 + len(trade) * H, H)))
    df = frame(trade, mark, idx)
    ex, rx = Exchange(c, **kw), ref.Exchange(c, **kw)
    _drive_marked(ex, base, side, qty, orders, df, funding, sides)
    _drive_marked(rx, base, side, qty, orders, df, funding, sides)
    scale = max(float(kw["initial_balance"]) * 100, float(ex.account.volume))
    compare(ex, rx, scale)
    compare_records(ex, rx, scale)
