"""The mark's own path (docs/matching.md, "Mark price"): bars with ``mark_open, mark_high,
mark_low, mark_close``. Orders fill on the trade path; unrealized PnL, margin and liquidation
follow the mark, which walks its own path beside the trade path on one clock.

Worked examples (exact), the golden pair of backtests the issue asks for (a last-price wick the
mark does not follow liquidates no one; a mark move liquidates where the last price never traded),
the inputs refused, and a property test against the exact reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import perpsim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perpsim import Contract, Exchange, InvalidInputError
from perpsim import reference as ref
from test_matching_properties import CONTRACTS, compare, near

H = 3_600_000_000_000
T0 = 1_700_000_000_000_000_000
IDX = pd.date_range("2024-01-01", periods=3, freq="1h")


def frame(trade, mark, idx=IDX):
    """Bars from (o, h, l, c) rows of the trade price and of the mark (None: no mark bar)."""
    rows = []
    for t, m in zip(trade, mark):
        m = m if m is not None else (math.nan,) * 4
        rows.append(dict(zip(("open", "high", "low", "close"), t)) | dict(zip(perpsim.data.MARK_COLUMNS, m)))
    return pd.DataFrame(rows, index=idx[: len(rows)])


def long_at_100():
    """A 1-unit long at 100 with 12 USDT of wallet (cross, plain linear, no fees): its liquidation
    price is near 88.4."""
    ex = Exchange(contracts=[Contract("X")], initial_balance=12.0, leverage=20, maker_fee=0.0, taker_fee=0.0)
    ex.update(IDX[0] - pd.Timedelta("1h"), 100.0)
    ex.buy("X", 100.0, 1.0)
    return ex


def test_a_last_price_wick_the_mark_does_not_follow_liquidates_no_one():
    ex = long_at_100()
    lp = ex.liquidation_price("X")
    assert 85 < lp < 90
    # the last price wicks to 80 (through the liquidation price); the mark only dips to 97
    ex.run(frame([(100, 101, 80, 100)], [(100, 100.5, 97, 99.5)]))
    assert not ex.blown and len(ex.fills()) == 1
    assert ex.position("X").qty == 1.0
    # unrealized PnL and equity at the mark's close, not the trade close
    assert ex.account.unrealized_pnl == pytest.approx(-0.5, abs=1e-12)
    assert ex.account.equity == pytest.approx(11.5, abs=1e-12)


def test_a_mark_move_liquidates_where_the_last_price_never_traded():
    ex = long_at_100()
    lp = ex.liquidation_price("X")
    # the last price stays within 99..101; the mark falls to 85, through the liquidation price
    ex.run(frame([(100, 101, 99, 100)], [(100, 100, 85, 99)]))
    assert ex.blown
    f = ex.fills().iloc[-1]
    assert f["reason"] == "liquidation"
    # closed at the liquidation price where the mark crossed it (no fee: zero taker fee)
    assert f["price"] == pytest.approx(lp, rel=1e-12)
    assert ex.account.wallet_balance == pytest.approx(12.0 + (lp - 100.0), abs=1e-9)


def test_a_mark_gap_through_the_liquidation_price_closes_at_the_marks_open():
    ex = long_at_100()
    # the mark opens at 80 (a gap through ~88.4): closed at the mark's open, like a trade gap
    ex.run(frame([(99, 100, 98, 99)], [(80, 82, 80, 81)]))
    f = ex.fills().iloc[-1]
    assert f["reason"] == "liquidation" and f["price"] == 80.0


def test_orders_fill_on_the_trade_path_and_the_mark_order_follows_the_clock():
    # a buy limit at 95 is reached half way down the trade segment 100 -> 90 (t = 1/2); the mark
    # goes 100 -> 80 on the same clock, so it is at 90 then
    ex = Exchange(contracts=[Contract("X")], initial_balance=1e6, leverage=10)
    ex.update(IDX[0] - pd.Timedelta("1h"), 100.0)
    ex.limit("X", "buy", 95.0, 1.0)
    ex.run(
        frame([(100, 100, 90, 90)], [(100, 100, 80, 80)]),
    )
    f = ex.fills().iloc[-1]
    assert f["price"] == 95.0 and f["liquidity"] == "maker"
    assert ex.account.unrealized_pnl == pytest.approx(80.0 - 95.0, abs=1e-12)


def test_a_fill_before_the_marks_crossing_comes_first():
    # long 1 at 100, liquidation ~88.4. On the pair (trade 100 -> 90, mark 100 -> 80) a sell limit
    # ... a buy limit at 98 is at t = 0.2, the mark crosses ~88.4 at t ≈ 0.58: the buy fills first
    # (raising the position), and the liquidation then closes both units.
    ex = long_at_100()
    ex.limit("X", "buy", 98.0, 0.01)
    ex.run(frame([(100, 100, 90, 90)], [(100, 100, 80, 80)]))
    f = ex.fills()
    assert f["reason"].tolist()[-2:] == ["user", "liquidation"]
    assert f["price"].tolist()[-2] == 98.0
    assert f["qty"].tolist()[-1] == pytest.approx(1.01)


def test_a_stop_loss_on_the_mark_fires_when_the_mark_reaches_it_at_the_trade_price_then():
    # long 1 at 100; stop-loss on the mark at 95. The trade price stays above 98; the mark falls
    # 100 -> 90 while the trade price goes 100 -> 98 (the pair's clock): the mark reaches 95 at
    # t = 1/2, when the trade price is 99 -> the stop fills there (taker, no slippage).
    ex = Exchange(contracts=[Contract("X")], initial_balance=1e4, leverage=10, maker_fee=0.0, taker_fee=0.0)
    ex.update(IDX[0] - pd.Timedelta("1h"), 100.0)
    ex.buy("X", 100.0, 1.0)
    sl = ex.stop_loss("X", 95.0, working_type="mark")
    last = ex.stop_loss("X", 95.0)  # the same on the last price: never reached
    ex.run(frame([(100, 100, 98, 98)], [(100, 100, 90, 90)]))
    f = ex.fills().iloc[-1]
    assert (f["order_id"], f["reason"], f["price"]) == (sl, "sl", 99.0)
    o = ex.orders()
    assert o.loc[sl, "working_type"] == "mark" and o.loc[last, "working_type"] == "last"
    # the last-price stop-loss was cancelled with the position (a reduce-only order on a flat one)
    assert o.loc[last, "status"] != "filled"


def test_a_stop_on_the_last_price_ignores_the_mark():
    ex = Exchange(contracts=[Contract("X")], initial_balance=1e4, leverage=10)
    ex.update(IDX[0] - pd.Timedelta("1h"), 100.0)
    ex.stop("X", "buy", 103.0, 1.0)
    ex.stop("X", "buy", 103.0, 1.0, working_type="mark")
    # the mark rises to 104, the last price to 102 only: only the mark's stop fires
    ex.run(frame([(100, 102, 100, 101)], [(100, 104, 100, 101)]))
    o = ex.orders()
    assert o["status"].tolist() == ["open", "filled"]


def test_without_mark_bars_a_trigger_on_the_mark_fires_on_the_trade_path():
    ex = Exchange(contracts=[Contract("X")], initial_balance=1e4, leverage=10)
    ex.update(IDX[0] - pd.Timedelta("1h"), 100.0)
    a = ex.stop("X", "sell", 97.0, 1.0, working_type="mark")
    ex.run(pd.DataFrame({"open": [100.0], "high": [100.0], "low": [96.0], "close": [99.0]}, index=IDX[:1]))
    assert ex.orders().loc[a, "status"] == "filled"


def test_working_type_is_checked():
    ex = Exchange(contracts=[Contract("X")], initial_balance=1e4, leverage=10)
    ex.update(0, 100.0)
    with pytest.raises(InvalidInputError) as info:
        ex.stop("X", "sell", 97.0, 1.0, working_type="index")
    assert info.value.field == "working_type"
    # judged against the mark at placement: the mark is already below a sell stop at 99
    ex.run(frame([(100, 100, 100, 100)], [(98, 98, 98, 98)], pd.DatetimeIndex([pd.Timestamp(1, unit="h")])))
    with pytest.raises(perpsim.OrderRejectedError) as info:
        ex.stop("X", "sell", 99.0, 1.0, working_type="mark")
    assert info.value.field == "trigger"
    ex.stop("X", "sell", 99.0, 1.0)  # the last price (100) is above: accepted


def test_funding_is_paid_on_the_notional_at_the_marks_open():
    ex = Exchange(contracts=[Contract("X")], initial_balance=1e6, leverage=10)
    ex.update(IDX[0] - pd.Timedelta("1h"), 100.0)
    ex.buy("X", 100.0, 2.0)
    funding = pd.Series([0.001], index=[IDX[0]])
    ex.run(frame([(100, 101, 99, 100)], [(104, 105, 103, 104)]), funding=funding)
    p = ex.funding_payments()
    assert p["mark_price"].tolist() == [104.0]
    assert p["payment"].tolist() == pytest.approx([-2 * 104 * 0.001])


def test_a_bar_without_its_mark_bar_follows_the_trade_path_and_is_counted():
    ex = long_at_100()
    ex.run(frame([(100, 101, 99, 100), (100, 100, 80, 99)], [(100, 100, 99, 100), None]))
    # the second bar has no mark bar: the trade wick to 80 liquidates, as without marks
    assert ex.blown
    r = perpsim.backtest(
        frame([(100, 101, 99, 100), (100, 101, 99, 100)], [(100, 100, 99, 100), None]),
        perpsim.TargetPositions(pd.DataFrame({"ASSET": [0.0]}, index=IDX[:1])),
    )
    w = [w for w in r.warnings if w.kind == "no_mark"]
    assert len(w) == 1 and w[0].count == 1 and "without a mark bar" in w[0].message


def test_doubtful_mark_columns_are_refused_naming_the_field():
    good = frame([(100, 101, 99, 100)], [(100, 101, 99, 100)])
    ex = Exchange(contracts=[Contract("X")])
    cases = [
        ("mark_low", good.drop(columns=["mark_low"])),
        ("mark", good.assign(mark=100.0)),
        ("mark_high", good.assign(mark_high=99.5)),
        ("mark_low", good.assign(mark_low=100.5)),
        ("mark_open", good.assign(mark_open=math.nan)),
        ("mark_close", good.assign(mark_close=-1.0)),
    ]
    for field, df in cases:
        with pytest.raises(InvalidInputError) as info:
            ex.run(df)
        assert info.value.field == field, (field, info.value)


def test_with_mark_joins_the_marks_bars_by_time():
    bars = frame([(100, 101, 99, 100)] * 3, [None] * 3).drop(columns=list(perpsim.data.MARK_COLUMNS))
    mark = pd.DataFrame(
        {"open": [1.0, 3.0], "high": [2.0, 4.0], "low": [0.5, 2.5], "close": [1.5, 3.5]}, index=[IDX[0], IDX[2]]
    )
    j = perpsim.with_mark(bars, mark)
    assert j["mark_open"].tolist()[0] == 1.0 and math.isnan(j["mark_open"].tolist()[1])
    assert j["mark_close"].tolist()[2] == 3.5
    with pytest.raises(InvalidInputError) as info:
        perpsim.with_mark(bars, mark.drop(columns=["low"]))
    assert info.value.field == "mark"


# ---- the golden pair: whole backtests on constructed series ------------------------------------


def golden_series(mark_dips: bool) -> pd.DataFrame:
    """Ten hourly bars around 100. At bar 4 the last price wicks to 70 (a thin book); the mark,
    an average over exchanges, dips to 97 — or, with ``mark_dips``, the mark falls to 85 at bar 7
    while the last price stays within 99..101 (the spot exchanges fell, the perpetual did not
    yet)."""
    trade = [(100, 101, 99, 100)] * 10
    mark = [(100, 100.5, 99.5, 100)] * 10
    trade[4] = (100, 101, 70, 100)
    mark[4] = (100, 100.5, 97, 100)
    if mark_dips:
        mark[7] = (100, 100, 85, 99)
    idx = pd.date_range("2024-01-01", periods=10, freq="1h")
    return frame(trade, mark, idx)


def golden_run(mark_dips: bool):
    # hold 1 unit long from the first bar on 12 USDT of margin at 20x
    targets = pd.DataFrame({"ASSET": [1.0]}, index=pd.DatetimeIndex([pd.Timestamp("2024-01-01")]))
    return perpsim.backtest(
        golden_series(mark_dips),
        perpsim.TargetPositions(targets),
        initial_balance=12.0,
        leverage=20,
        maker_fee=0.0,
        taker_fee=0.0,
    )


def test_golden_the_wick_alone_liquidates_no_one():
    r = golden_run(mark_dips=False)
    assert r.stats["liquidated"] is False
    assert len(r.fills) == 1
    assert r.stats["final_equity"] == pytest.approx(12.0, abs=1e-9)
    # the same series without marks: the wick liquidates (the approximation the marks correct)
    plain = golden_series(False).drop(columns=list(perpsim.data.MARK_COLUMNS))
    r0 = perpsim.backtest(
        plain,
        perpsim.TargetPositions(pd.DataFrame({"ASSET": [1.0]}, index=plain.index[:1])),
        initial_balance=12.0,
        leverage=20,
        maker_fee=0.0,
        taker_fee=0.0,
    )
    assert r0.stats["liquidated"] is True


def test_golden_the_mark_liquidates_where_the_last_price_never_went():
    r = golden_run(mark_dips=True)
    assert r.stats["liquidated"] is True
    liq = r.fills[r.fills["reason"] == "liquidation"]
    assert len(liq) == 1 and liq["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 07:00", tz="UTC")
    # closed near 88.4, where no trade price of the series ever was
    assert 85 < liq["price"].iloc[0] < 90


# ---- against the reference --------------------------------------------------------------------


@st.composite
def marked_scenario(draw):
    kind = draw(st.sampled_from(["plain", "filtered", "inverse"]))
    c = CONTRACTS[kind]
    inverse = c.is_inverse
    kw = dict(
        initial_balance=draw(st.sampled_from([0.5, 2.0] if inverse else [300.0, 5_000.0])),
        leverage=draw(st.sampled_from([3, 10, 20])),
        margin_mode=draw(st.sampled_from(["cross", "isolated"])),
        path=draw(st.sampled_from(["nearest_first", "open_high_low_close", "open_low_high_close", "worst_case"])),
        touch_fills=draw(st.booleans()),
        liquidation_fee=draw(st.sampled_from([0.0, 1 / 128])),
        liquidation_close=draw(st.sampled_from(["liquidation_price", "bankruptcy_price"])),
        adl_move=draw(st.sampled_from([0.0, 0.0, 0.05])),
        taker_fee=draw(st.sampled_from([0.0, 0.0005])),
    )
    base = draw(st.sampled_from([100.0, 2_000.0]))
    side = draw(st.sampled_from(["buy", "sell"]))
    qty = draw(st.sampled_from([5.0, 20.0, 40.0] if inverse else [1.0, 2.5, 10.0]))
    orders = []
    for _ in range(draw(st.integers(0, 4))):
        k = draw(st.integers(-40, 40))
        orders.append(
            (
                draw(st.sampled_from(["limit", "stop", "stop_mark", "sl_mark", "tp_mark"])),
                draw(st.sampled_from(["buy", "sell"])),
                round(base * (1 + k / 400) * 2) / 2,
                qty / 4,
            )
        )
    n = draw(st.integers(1, 10))
    trade, mark = [], []
    close, mclose = base, base
    for _ in range(n):
        g = lambda choices: draw(st.sampled_from(choices))  # noqa: E731
        o = round(close * (1 + g([0.0, 0.0, 0.01, -0.01, 0.05, -0.05])) * 2) / 2
        c2 = round(o * (1 + g([0.0, 0.01, -0.01, 0.04, -0.04])) * 2) / 2
        hi = max(o, c2) + g([0.0, 0.5, 2.0, base * 0.06])
        lo = max(0.5, min(o, c2) - g([0.0, 0.5, 2.0, base * 0.06]))
        trade.append((o, hi, lo, c2))
        if draw(st.integers(0, 7)) == 0:
            mark.append(None)
        else:
            mo = round(mclose * (1 + g([0.0, 0.003, -0.003, 0.05, -0.05])) * 4) / 4
            mc = round(mo * (1 + g([0.0, 0.01, -0.01, 0.04, -0.04])) * 4) / 4
            mh = max(mo, mc) + g([0.0, 0.25, 1.0, base * 0.05])
            ml = max(0.25, min(mo, mc) - g([0.0, 0.25, 1.0, base * 0.05]))
            mark.append((mo, mh, ml, mc))
            mclose = mc
        close = c2
    funding = draw(st.sampled_from([None, 1 / 1024, -1 / 256]))
    return c, kw, base, side, qty, orders, trade, mark, funding


def _drive(ex, base, side, qty, orders, df, funding):
    ex.update(T0 - H, base)
    try:
        (ex.buy if side == "buy" else ex.sell)("X", base, qty)
    except perpsim.PerpsimError:
        pass
    for kind, s, lvl, q in orders:
        try:
            if kind == "limit":
                ex.limit("X", s, lvl, q)
            elif kind == "stop":
                ex.stop("X", s, lvl, q)
            elif kind == "stop_mark":
                ex.stop("X", s, lvl, q, price=lvl if s == "buy" else None, working_type="mark")
            else:
                (ex.stop_loss if kind == "sl_mark" else ex.take_profit)("X", lvl, working_type="mark")
        except perpsim.PerpsimError:
            pass
    fi = df.index[[0, -1]].unique()
    f = None if funding is None else pd.Series([funding] * len(fi), index=fi)
    ex.run(df, funding=f)


@settings(max_examples=150, deadline=None)
@given(marked_scenario())
def test_mark_paths_match_the_reference(sc):
    c, kw, base, side, qty, orders, trade, mark, funding = sc
    idx = pd.DatetimeIndex(pd.to_datetime(np.arange(T0, T0 + len(trade) * H, H)))
    df = frame(trade, mark, idx)
    ex, rx = Exchange(c, **kw), ref.Exchange(c, **kw)
    _drive(ex, base, side, qty, orders, df, funding)
    _drive(rx, base, side, qty, orders, df, funding)
    scale = max(float(kw["initial_balance"]) * 100, float(ex.account.volume))
    compare(ex, rx, scale)
    fe, fr = ex.fills(), rx.fills()
    he, hr = ex.history(), rx.history()
    assert len(he) == len(hr)
    for col in ("equity", "unrealized_pnl"):
        for x, y in zip(he[col].tolist(), hr[col].tolist()):
            near(x, y, scale, f"history.{col}")
    oe = ex.orders()
    assert [(r["type"], r["status"], r["working_type"]) for _, r in oe.iterrows()] == [
        (o.kind, o.status, o.working_type) for o in rx.orders
    ]
    assert len(fe) == len(fr)
    if len(fe):
        assert fe["reason"].tolist() == fr["reason"].tolist()
        for col in ("qty", "price", "fee", "realized_pnl"):
            for x, y in zip(fe[col].tolist(), fr[col].tolist()):
                near(x, y, scale, f"fills.{col}")
