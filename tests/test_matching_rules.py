"""Every rule of docs/matching.md, one test named for it, run on the engine and on the reference.

Each test drives :class:`perpsim.Exchange` and :class:`perpsim.reference.Exchange` with the same
calls and checks the same expected values on both."""

import math

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import Contract, InvalidInputError, OrderRejectedError
from perpsim import reference as ref
from perpsim._protocol import SymbolColumns

IMPLS = [perpsim.Exchange, ref.Exchange]
T0 = 1_700_000_000_000_000_000  # ns
H = 3_600_000_000_000


def make(impl, contract="X", balance=1_000_000.0, **kw):
    kw.setdefault("leverage", 10)
    kw.setdefault("maker_fee", 0.0002)
    kw.setdefault("taker_fee", 0.0005)
    return impl(contract, initial_balance=balance, **kw)


def fills(ex):
    f = ex.fills()
    return (
        []
        if len(f) == 0
        else [(r["side"], float(r["qty"]), float(r["price"]), r["liquidity"], r["reason"]) for _, r in f.iterrows()]
    )


def status(ex, oid):
    if isinstance(ex, ref.Exchange):
        o = ex.orders[oid - 1]
        return o.status, o.reason, float(o.filled)
    row = ex.orders().loc[oid]
    return row["status"], row["reason"], float(row["filled"])


def bars_df(rows, start=T0, step=H):
    idx = pd.to_datetime([start + k * step for k in range(len(rows))], unit="ns", utc=True)
    return pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=idx)


both = pytest.mark.parametrize("impl", IMPLS, ids=["engine", "reference"])


# ----- market data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows,column,row",
    [
        ([(10, 11, 9, 10), (10, 11, 9, 10)], "timestamp", 1),  # duplicate (see index below)
        ([(10, 11, 9, 10), (float("nan"), 11, 9, 10)], "open", 1),
        ([(10, 11, 9, 10), (10, 11, 9, float("inf"))], "close", 1),
        ([(10, 11, 9, 10), (10, 11, 0.0, 10)], "low", 1),
        ([(10, 11, 9, 10), (10, 11, 9, 10), (10, 10.5, 9, 11)], "high", 2),  # high < close
        ([(10, 11, 9, 10), (10, 11, 10.5, 10.7)], "low", 1),  # low > min(open, close)
    ],
)
def test_bad_bars_are_rejected_naming_column_and_first_bad_row(rows, column, row):
    df = bars_df(rows)
    if column == "timestamp":
        df.index = pd.DatetimeIndex([df.index[0], df.index[0]])
    ex = perpsim.Exchange("X")
    with pytest.raises(InvalidInputError) as info:
        ex.run(df)
    assert info.value.field == column
    assert f"row {row}" in str(info.value)
    assert ex.n_updates == 0


def test_unsorted_timestamps_are_rejected():
    df = bars_df([(10, 11, 9, 10)] * 3)
    df.index = df.index[[0, 2, 1]]
    with pytest.raises(InvalidInputError, match="row 2: timestamps not sorted"):
        perpsim.Exchange("X").run(df)


def test_mismatched_lengths_are_rejected():
    ex = perpsim.Exchange("X")
    ts = np.array([T0, T0 + H], dtype=np.int64)
    a = np.array([10.0, 10.0])
    with pytest.raises(InvalidInputError) as info:
        ex._run([SymbolColumns(ts, a, a, a, np.array([10.0]))])
    assert info.value.field == "close"


def test_missing_column_is_named():
    with pytest.raises(InvalidInputError) as info:
        perpsim.Exchange("X").run(bars_df([(10, 11, 9, 10)]).drop(columns="low"))
    assert info.value.field == "low"


@both
def test_symbol_without_a_bar_is_skipped_not_filled_with_stale_prices(impl):
    ex = make(impl, ["A", "B"])
    ex.update(T0, {"A": 100.0, "B": 100.0})
    ex.limit("B", "buy", 90.0, 1)
    a = bars_df([(100, 101, 99, 100), (100, 101, 99, 100)])
    b = bars_df([(100, 101, 80, 85)], start=T0 + H)  # B has a bar only at the second step
    ex.run({"A": a, "B": b})
    f = fills(ex)
    assert f == [("buy", 1.0, 90.0, "maker", "user")]
    h = ex.history()
    assert len(h) == 3  # the update and two steps


# ----- the intrabar path ------------------------------------------------------------------------


def path_fills(impl, path, bar, position=0.0):
    ex = make(impl, path=path)
    ex.update(T0, 100.0)
    if position:
        (ex.buy if position > 0 else ex.sell)("X", 100.0, abs(position))
    ex.limit("X", "buy", 96.0, 1)
    ex.limit("X", "sell", 104.0, 1)
    ex.step(T0 + H, {"X": bar})
    return [(s, p) for s, _, p, liq, _ in fills(ex) if liq == "maker"]


@both
def test_path_nearest_first_visits_the_nearer_extreme_first(impl):
    assert path_fills(impl, "nearest_first", (100, 105, 95, 100)) == [("buy", 96.0), ("sell", 104.0)]  # tie: low
    assert path_fills(impl, "nearest_first", (100, 104.5, 95, 100)) == [("sell", 104.0), ("buy", 96.0)]
    assert path_fills(impl, "nearest_first", (100, 106, 95.5, 100)) == [("buy", 96.0), ("sell", 104.0)]


@both
def test_path_fixed_orders(impl):
    bar = (100, 106, 94, 100)
    assert path_fills(impl, "open_high_low_close", bar) == [("sell", 104.0), ("buy", 96.0)]
    assert path_fills(impl, "open_low_high_close", bar) == [("buy", 96.0), ("sell", 104.0)]


@both
def test_path_worst_case_goes_against_the_position_first(impl):
    bar = (100, 104.5, 95, 100)  # nearest_first would go high first
    assert path_fills(impl, "worst_case", bar, position=1) == [("buy", 96.0), ("sell", 104.0)]
    assert path_fills(impl, "worst_case", (100, 105, 95.5, 100), position=-1) == [("sell", 104.0), ("buy", 96.0)]


@both
def test_events_are_handled_in_the_order_the_price_reaches_them(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 2)
    ex.limit("X", "buy", 95.0, 1)  # reached second on the way down
    ex.stop("X", "sell", 97.0, 1)  # reached first
    ex.limit("X", "buy", 90.0, 1)  # never reached
    ex.step(T0 + H, {"X": (100, 100.5, 93, 94)})
    assert fills(ex)[1:] == [("sell", 1.0, 97.0, "taker", "stop"), ("buy", 1.0, 95.0, "maker", "user")]


# ----- fill rules ---------------------------------------------------------------------------------


@both
def test_market_order_fills_at_once_at_the_close_plus_slippage_taker(impl):
    ex = make(impl, slippage=0.001)
    ex.step(T0, {"X": (100, 101, 99, 100)})
    ex.market("X", "buy", 2)
    ex.market("X", "sell", 1)
    assert fills(ex) == [
        ("buy", 2.0, pytest.approx(100.1), "taker", "user"),
        ("sell", 1.0, pytest.approx(99.9), "taker", "user"),
    ]


@both
def test_market_order_without_a_price_is_rejected(impl):
    ex = make(impl)
    with pytest.raises(OrderRejectedError, match="no price"):
        ex.market("X", "buy", 1)


@both
def test_limit_buy_fills_on_touch_at_its_price_maker(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    oid = ex.limit("X", "buy", 95.0, 1)
    ex.step(T0 + H, {"X": (100, 101, 95, 99)})
    assert fills(ex) == [("buy", 1.0, 95.0, "maker", "user")]
    assert status(ex, oid)[0] == "filled"
    assert float(ex.account.fees) == pytest.approx(95 * 0.0002)


@both
def test_limit_buy_fills_at_the_open_when_the_open_is_already_below(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.limit("X", "buy", 95.0, 1)
    ex.step(T0 + H, {"X": (90, 92, 89, 91)})
    assert fills(ex) == [("buy", 1.0, 90.0, "maker", "user")]


@both
def test_limit_sell_fills_at_its_price_or_the_open_when_gapped(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.limit("X", "sell", 105.0, 1)
    ex.limit("X", "sell", 110.0, 1)
    ex.step(T0 + H, {"X": (106, 112, 105.5, 111)})
    assert fills(ex) == [("sell", 1.0, 106.0, "maker", "user"), ("sell", 1.0, 110.0, "maker", "user")]


@both
def test_touch_fills_false_needs_a_trade_one_tick_through(impl):
    c = Contract("X", tick_size=0.5)
    ex = make(impl, c, touch_fills=False)
    ex.update(T0, 100.0)
    ex.limit("X", "buy", 95.0, 1)
    ex.step(T0 + H, {"X": (100, 101, 95, 99)})  # touches 95 only
    assert fills(ex) == []
    ex.step(T0 + 2 * H, {"X": (99, 99, 94.5, 99)})  # one tick through
    assert fills(ex) == [("buy", 1.0, 95.0, "maker", "user")]


@both
def test_stop_market_fills_at_trigger_plus_slippage_taker(impl):
    ex = make(impl, slippage=0.001)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 1)
    ex.stop("X", "sell", 97.0, 1)
    ex.stop("X", "buy", 103.0, 1)
    ex.step(T0 + H, {"X": (100, 104, 96, 100)})
    f = fills(ex)[1:]
    assert f == [
        ("sell", 1.0, pytest.approx(97 * 0.999), "taker", "stop"),
        ("buy", 1.0, pytest.approx(103 * 1.001), "taker", "stop"),
    ]


@both
def test_stop_market_gapped_through_fills_at_the_open(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 1)
    ex.stop("X", "sell", 97.0, 1)
    ex.step(T0 + H, {"X": (92, 93, 90, 91)})
    assert fills(ex)[1:] == [("sell", 1.0, 92.0, "taker", "stop")]


@both
def test_stop_limit_becomes_a_limit_on_trigger_and_rests_as_maker(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    oid = ex.stop("X", "buy", 103.0, 1, price=102.0)  # on trigger at 103, a buy limit at 102: rests
    ex.step(T0 + H, {"X": (100, 104, 100, 103.5)})
    assert fills(ex) == []
    assert status(ex, oid)[0] == "open"
    ex.step(T0 + 2 * H, {"X": (103.5, 104, 101, 102)})
    assert fills(ex) == [("buy", 1.0, 102.0, "maker", "stop")]


@both
def test_stop_limit_marketable_on_trigger_fills_as_taker(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.stop("X", "buy", 103.0, 1, price=104.0)
    ex.step(T0 + H, {"X": (100, 105, 99, 104)})
    assert fills(ex) == [("buy", 1.0, 103.0, "taker", "stop")]


@both
def test_take_profit_and_stop_loss_on_a_position(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 2)
    tp = ex.take_profit("X", 110.0)
    sl = ex.stop_loss("X", 95.0)
    ex.step(T0 + H, {"X": (100, 111, 99, 110)})
    assert fills(ex)[1:] == [("sell", 2.0, 110.0, "taker", "tp")]
    assert status(ex, tp)[0] == "filled"
    ex.step(T0 + 2 * H, {"X": (110, 110, 90, 91)})  # the stop-loss finds no position left
    assert status(ex, sl)[:2] == ("cancelled", "reduce-only: no position to reduce")
    assert float(ex.position("X").qty) == 0


@both
def test_take_profit_without_a_position_is_rejected(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    with pytest.raises(OrderRejectedError):
        ex.take_profit("X", 110.0)


@both
def test_trailing_stop_triggers_after_activation_when_the_price_retraces_the_callback(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 1)
    oid = ex.trailing_stop("X", "sell", 1, 0.05, activation=105.0, reduce_only=True)
    ex.step(T0 + H, {"X": (100, 104, 96, 100)})  # not activated: no trigger on the way down
    assert len(fills(ex)) == 1
    ex.step(T0 + 2 * H, {"X": (100, 120, 100, 118)})  # activated, extreme 120
    ex.step(T0 + 3 * H, {"X": (118, 119, 110, 112)})  # 120 · 0.95 = 114
    assert fills(ex)[1:] == [("sell", 1.0, 114.0, "taker", "trailing")]
    assert status(ex, oid)[0] == "filled"


@both
def test_liquidation_at_the_liquidation_price_with_taker_and_liquidation_fee(impl):
    c = Contract("X", brackets=((0, 125, 0.004),))
    ex = make(impl, c, balance=1_000.0, leverage=10, taker_fee=0.0005, liquidation_fee=0.01)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 50)  # 5,000 notional at 10x on 1,000
    lp = float(ex.liquidation_price("X"))
    ex.step(T0 + H, {"X": (100, 100, 50, 60)})
    f = fills(ex)[-1]
    assert f[0] == "sell" and f[3] == "taker" and f[4] == "liquidation"
    assert f[2] == pytest.approx(lp)
    row = ex.fills().iloc[-1]
    assert float(row["fee"]) == pytest.approx(50 * lp * (0.0005 + 0.01))
    assert ex.blown and ex.liquidated_at == T0 + H
    assert float(ex.account.wallet_balance) >= 0


@both
def test_liquidation_gapped_through_closes_at_the_open_and_the_loss_stops_at_zero(impl):
    ex = make(impl, balance=1_000.0, leverage=10)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 50)
    ex.step(T0 + H, {"X": (70, 71, 69, 70)})  # opens far below the liquidation price
    assert fills(ex)[-1][2] == 70.0 and fills(ex)[-1][4] == "liquidation"
    assert float(ex.account.wallet_balance) == 0.0


@both
def test_allow_negative_balance_keeps_the_loss(impl):
    ex = make(impl, balance=1_000.0, leverage=10, allow_negative_balance=True)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 50)
    ex.step(T0 + H, {"X": (70, 71, 69, 70)})
    assert float(ex.account.wallet_balance) == pytest.approx(1_000 - 50 * 30 - 50 * 100 * 0.0005 - 50 * 70 * 0.0005)


@both
def test_a_blown_account_stops_trading(impl):
    ex = make(impl, balance=1_000.0, leverage=10)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 50)
    oid = ex.limit("X", "buy", 50.0, 1)
    ex.step(T0 + H, {"X": (70, 71, 69, 70)})
    assert status(ex, oid)[:2] == ("cancelled", "account liquidated")
    with pytest.raises(OrderRejectedError, match="liquidated"):
        ex.limit("X", "buy", 60.0, 1)


@both
def test_isolated_liquidation_closes_only_that_position(impl):
    ex = make(impl, ["A", "B"], balance=10_000.0, leverage=10, margin_mode="isolated")
    ex.update(T0, {"A": 100.0, "B": 100.0})
    ex.buy("A", 100.0, 50)  # isolated margin 500
    ex.buy("B", 100.0, 10)
    ex.step(T0 + H, {"A": (100, 100, 80, 85), "B": (100, 101, 99, 100)})
    f = [r for r in fills(ex) if r[4] == "liquidation"]
    assert len(f) == 1 and float(ex.position("B").qty) == 10 and float(ex.position("A").qty) == 0
    assert not ex.blown
    # the loss is what the price moved against the isolated margin (< its 500): B is untouched
    lp_fill = [r for r in fills(ex) if r[4] == "liquidation"][0][2]
    fees = 60 * 100 * 0.0005 + 50 * lp_fill * 0.0005
    assert float(ex.account.wallet_balance) == pytest.approx(10_000 - 50 * (100 - lp_fill) - fees)
    assert 50 * (100 - lp_fill) < 500


@both
def test_cross_liquidation_closes_every_position(impl):
    ex = make(impl, ["A", "B"], balance=2_000.0, leverage=10)
    ex.update(T0, {"A": 100.0, "B": 100.0})
    ex.buy("A", 100.0, 100)
    ex.buy("B", 100.0, 50)
    ex.step(T0 + H, {"A": (100, 100, 80, 85)})
    assert [r[4] for r in fills(ex)].count("liquidation") == 2
    assert ex.blown


@both
def test_reduce_only_is_capped_at_the_position(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 1)
    oid = ex.limit("X", "sell", 105.0, 3, reduce_only=True)
    ex.step(T0 + H, {"X": (100, 106, 99, 105)})
    assert fills(ex)[1:] == [("sell", 1.0, 105.0, "maker", "user")]
    assert float(ex.position("X").qty) == 0
    assert status(ex, oid)[0] == "filled"


@both
def test_reduce_only_is_cancelled_when_the_position_is_flat(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 1)
    oid = ex.limit("X", "sell", 105.0, 1, reduce_only=True)
    ex.sell("X", 100.0, 1)
    ex.step(T0 + H, {"X": (100, 106, 99, 105)})
    assert status(ex, oid)[:2] == ("cancelled", "reduce-only: no position to reduce")
    with pytest.raises(OrderRejectedError, match="reduce-only"):
        ex.limit("X", "sell", 105.0, 1, reduce_only=True)


@both
def test_post_only_is_rejected_if_it_would_fill_at_placement(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    with pytest.raises(OrderRejectedError, match="post-only"):
        ex.limit("X", "buy", 101.0, 1, post_only=True)
    oid = ex.limit("X", "buy", 99.0, 1, post_only=True)
    assert status(ex, oid)[0] == "open"
    assert status(ex, oid - 1)[0] == "rejected"


@both
def test_marketable_limit_fills_at_once_as_taker(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.limit("X", "buy", 101.0, 1)
    assert fills(ex) == [("buy", 1.0, 100.0, "taker", "user")]


@both
def test_prices_round_to_tick_and_quantities_to_step(impl):
    c = Contract("X", tick_size=0.5, step_size=0.01)
    ex = make(impl, c)
    ex.update(T0, 100.0)
    oid = ex.limit("X", "buy", 95.26, 1.234)
    if isinstance(ex, ref.Exchange):
        o = ex.orders[oid - 1]
        assert (float(o.price), float(o.qty)) == (95.5, 1.23)
    else:
        row = ex.orders().loc[oid]
        assert (row["price"], row["qty"]) == (95.5, 1.23)


@both
def test_under_min_qty_or_min_notional_is_rejected_with_a_reason(impl):
    c = Contract("X", step_size=0.01, min_qty=0.1, min_notional=50)
    ex = make(impl, c)
    ex.update(T0, 100.0)
    with pytest.raises(OrderRejectedError, match="minimum quantity"):
        ex.limit("X", "buy", 99.0, 0.05)
    with pytest.raises(OrderRejectedError, match="minimum notional"):
        ex.limit("X", "buy", 99.0, 0.4)
    assert [status(ex, k)[0] for k in (1, 2)] == ["rejected", "rejected"]
    assert "minimum" in status(ex, 1)[1]
    assert float(ex.account.wallet_balance) == 1_000_000


@both
def test_volume_cap_gives_partial_fills(impl):
    ex = make(impl, max_participation=0.1)
    ex.update(T0, 100.0)
    oid = ex.limit("X", "buy", 95.0, 5)
    ex.step(T0 + H, {"X": (100, 101, 94, 99, 20.0)})  # 10 % of 20 = 2
    assert fills(ex) == [("buy", 2.0, 95.0, "maker", "user")]
    assert status(ex, oid)[0] == "open"
    ex.step(T0 + 2 * H, {"X": (99, 99, 94, 95, 100.0)})
    assert fills(ex)[-1] == ("buy", 3.0, 95.0, "maker", "user")
    assert status(ex, oid)[0] == "filled"


@both
def test_margin_check_at_placement_rejects_insufficient_margin(impl):
    ex = make(impl, balance=1_000.0, leverage=5)
    ex.update(T0, 100.0)
    ex.limit("X", "buy", 90.0, 40)  # 3,600 of notional / 5 = 720 of margin
    ex.limit("X", "sell", 110.0, 30)  # the sell side (3,300) nets against the buy side: max(...) / 5
    with pytest.raises(OrderRejectedError, match="insufficient margin"):
        ex.limit("X", "buy", 80.0, 20)  # (3,600 + 1,600) / 5 = 1,040 > 1,000
    ex.limit("X", "buy", 80.0, 10)  # (3,600 + 800) / 5 = 880 <= 1,000
    assert len(ex.open_orders()) == 3


@both
def test_cancel_and_amend(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    a = ex.limit("X", "buy", 90.0, 1)
    b = ex.limit("X", "buy", 91.0, 1)
    ex.cancel(a)
    assert status(ex, a)[0] == "cancelled"
    with pytest.raises(InvalidInputError):
        ex.cancel(a)
    c = ex.amend(b, price=95.0, qty=2)
    assert status(ex, b)[0] == "cancelled" and status(ex, c)[0] == "open"
    d = ex.limit("X", "buy", 98.0, 1, post_only=True)
    with pytest.raises(OrderRejectedError, match="post-only"):
        ex.amend(d, price=101.0)  # refused: the original stays as it was
    assert status(ex, d)[0] == "open"
    ex.step(T0 + H, {"X": (100, 100, 94, 96)})
    assert fills(ex) == [("buy", 1.0, 98.0, "maker", "user"), ("buy", 2.0, 95.0, "maker", "user")]


# ----- order of events ------------------------------------------------------------------------------


@both
def test_funding_at_each_funding_time_before_the_path_at_the_open(impl):
    ex = make(impl)
    ex.update(T0 - H, 100.0)
    ex.buy("X", 100.0, 2)
    # funding every 4 h (not assumed 8 h): at T0 + 4h and T0 + 8h
    rates = pd.Series([0.001, -0.002], index=pd.to_datetime([T0 + 4 * H, T0 + 8 * H], unit="ns", utc=True))
    bars = bars_df([(100 + k, 101 + k, 99 + k, 100 + k) for k in range(10)])
    ex.run(bars, funding=rates)
    pays = ex.funding_payments() if hasattr(ex, "funding_payments") else pd.DataFrame(ex.funding_rows)
    assert [float(x) for x in pays["payment"]] == pytest.approx([-2 * 104 * 0.001, 2 * 108 * 0.002])
    assert float(ex.account.funding) == pytest.approx(-0.208 + 0.432)


@both
def test_delivery_settlement_at_expiry(impl):
    q = perpsim.quarterly(Contract("X"), pd.Timestamp(T0 + 2 * H, tz="UTC"), symbol="X")
    ex = make(impl, q)
    bars = bars_df([(100, 101, 99, 100), (100, 103, 99, 102), (102, 103, 101, 102), (102, 103, 101, 102)])
    ex.update(T0 - H, 100.0)
    ex.sell("X", 100.0, 3)
    oid = ex.limit("X", "buy", 50.0, 1)
    ex.run(bars, settlement=101.5)
    f = fills(ex)[-1]
    assert f == ("buy", 3.0, 101.5, "taker", "settlement")
    assert status(ex, oid)[0] == "expired"
    assert float(ex.position("X").qty) == 0
    assert float(ex.account.realized_pnl) == pytest.approx(-3 * 1.5)


@both
def test_each_step_records_one_equity_row_at_the_close(impl):
    ex = make(impl)
    ex.update(T0 - H, 100.0)
    ex.buy("X", 100.0, 1)
    ex.run(bars_df([(100, 101, 99, 100.5), (100.5, 102, 100, 101.5)]))
    h = ex.history()
    assert len(h) == 3
    assert float(h["unrealized_pnl"].iloc[-1]) == pytest.approx(1.5)


# ----- records ------------------------------------------------------------------------------------


def test_records_have_the_spec_fields():
    ex = make(perpsim.Exchange)
    ex.update(T0, 100.0)
    ex.limit("X", "buy", 95.0, 1)
    ex.step(T0 + H, {"X": (100, 101, 94, 99)})
    f = ex.fills()
    assert list(f.columns) == [
        "timestamp",
        "symbol",
        "order_id",
        "side",
        "qty",
        "price",
        "fee",
        "liquidity",
        "realized_pnl",
        "position",
        "entry_price",
        "reason",
    ]
    assert f["entry_price"].tolist() == [95.0]
    o = ex.orders()
    assert {"placed", "type", "side", "price", "qty", "status", "reason"} <= set(o.columns)
    h = ex.history()
    assert {"equity", "wallet_balance", "unrealized_pnl", "margin", "effective_leverage", "funding", "fees"} <= set(
        h.columns
    )
    assert f["timestamp"].iloc[0] == pd.Timestamp(T0 + H, unit="ns", tz="UTC")


def test_nan_is_not_a_valid_price_anywhere():
    ex = make(perpsim.Exchange)
    ex.update(T0, 100.0)
    for call in (
        lambda: ex.limit("X", "buy", math.nan, 1),
        lambda: ex.stop("X", "buy", math.inf, 1),
        lambda: ex.trailing_stop("X", "sell", 1, 0.0),
    ):
        with pytest.raises(InvalidInputError):
            call()


@both
def test_volume_cap_under_one_step_fills_nothing_and_moves_on(impl):
    ex = make(impl, Contract("X", step_size=0.01), max_participation=0.1)
    ex.update(T0, 100.0)
    oid = ex.limit("X", "buy", 95.0, 1)
    ex.step(T0 + H, {"X": (100, 101, 94, 99, 0.05)})  # 10 % of 0.05 = 0.005 < one step
    assert fills(ex) == []
    assert status(ex, oid)[0] == "open"


@both
def test_funding_times_before_the_previous_step_are_not_paid(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 1)
    rates = pd.Series([0.01, 0.001], index=pd.to_datetime([T0 - 8 * H, T0 + H], unit="ns", utc=True))
    ex.run(bars_df([(100, 101, 99, 100)] * 2, start=T0 + H), funding=rates)
    assert float(ex.account.funding) == pytest.approx(-0.1)


@both
def test_ticks_are_a_path_with_one_point_per_tick(impl):
    ex = make(impl)
    ex.update(T0, 100.0)
    ex.limit("X", "buy", 97.0, 1)
    ex.stop("X", "buy", 103.0, 1)
    idx = pd.to_datetime([T0 + k for k in range(1, 6)], unit="ns", utc=True)
    ticks = pd.DataFrame({"price": [99.0, 96.5, 98.0, 104.0, 101.0]}, index=idx)
    ex.run(ticks)
    # the tick at 96.5 jumped through the 97 limit: it fills at that tick (the tick is its own open)
    assert fills(ex) == [("buy", 1.0, 96.5, "maker", "user"), ("buy", 1.0, 104.0, "taker", "stop")]
    assert len(ex.history()) == 6


@both
def test_liquidation_can_be_switched_off(impl):
    ex = make(impl, balance=1_000.0, leverage=10, liquidation=False)
    ex.update(T0, 100.0)
    ex.buy("X", 100.0, 50)
    ex.step(T0 + H, {"X": (70, 71, 69, 70)})
    assert fills(ex) == [("buy", 50.0, 100.0, "taker", "user")]
    assert not ex.blown and float(ex.account.equity) < 0


@both
def test_without_touch_fills_a_gap_landing_on_a_limit_fills_it_at_the_open(impl):
    ex = make(impl, Contract("X", tick_size=0.5), touch_fills=False)
    ex.update(T0, 2_000.0)
    ex.limit("X", "buy", 1_930.0, 1)
    ex.step(T0 + H, {"X": (1_940, 1_949.5, 1_940, 1_949.5)})
    ex.step(T0 + 2 * H, {"X": (1_930, 1_930, 1_930, 1_930)})  # the gap reaches 1,930 exactly
    assert fills(ex) == [("buy", 1.0, 1_930.0, "maker", "user")]
