"""Delivery settlement on the index (docs/matching.md, "Each step"): with index prices
(``index_close``, or indexPriceKlines joined by ``with_index`` / ``backtest(index=)``), a delivery
contract settles at the average of the index closes of the bars opening in the 30 minutes before
expiry; without them at the last price, as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import Contract, Exchange, InvalidInputError
from perpsim import reference as ref

EXPIRY = pd.Timestamp("2024-03-29 08:00", tz="UTC")
FUT = perpsim.quarterly(Contract("X", maker_fee=0.0, taker_fee=0.0), EXPIRY, symbol="X")


def minutes(n_before: int, n_after: int = 1):
    """1-minute bars at 100 from ``n_before`` minutes before expiry; the index is 90 + k/10 at the
    k-th bar."""
    idx = pd.date_range(EXPIRY - pd.Timedelta(minutes=n_before), periods=n_before + n_after, freq="1min")
    df = pd.DataFrame({"open": 100.0, "high": 100.0, "low": 100.0, "close": 100.0}, index=idx)
    df["index_close"] = 90.0 + np.arange(len(df)) / 10
    return df


def settle_price(ex):
    f = ex.fills()
    return f.loc[f["reason"] == "settlement", "price"].tolist()


def long_one():
    ex = Exchange(contracts=[FUT], initial_balance=1e4, leverage=5)
    ex.update(EXPIRY - pd.Timedelta("2h"), 100.0)
    ex.buy("X", 100.0, 1.0)
    return ex


def test_settles_at_the_average_index_of_the_last_30_minutes():
    ex = long_one()
    df = minutes(45)
    ex.run(df)
    # bars opening 07:30 .. 07:59: index 90 + 15/10 .. 90 + 44/10, mean 90 + 29.5/10
    window = df.loc[(df.index >= EXPIRY - pd.Timedelta("30min")) & (df.index < EXPIRY), "index_close"]
    assert len(window) == 30
    assert settle_price(ex) == pytest.approx([window.mean()], rel=1e-15)
    assert settle_price(ex)[0] == pytest.approx(92.95, rel=1e-15)
    assert ex.account.realized_pnl == pytest.approx(92.95 - 100.0, rel=1e-12)


def test_without_an_index_the_last_price_and_with_an_empty_window_a_warning():
    ex = long_one()
    ex.run(minutes(45).drop(columns=["index_close"]))
    assert settle_price(ex) == [100.0]
    df = minutes(45)
    df.loc[df.index >= EXPIRY - pd.Timedelta("30min"), "index_close"] = np.nan
    targets = pd.DataFrame({"X": [1.0]}, index=df.index[:1])
    r = perpsim.backtest(df, perpsim.TargetPositions(targets), contract=FUT)
    assert r.fills.loc[r.fills["reason"] == "settlement", "price"].tolist() == [100.0]
    w = [w for w in r.warnings if w.kind == "no_index"]
    assert len(w) == 1 and "no index price in the 30 minutes" in w[0].message


def test_a_given_settlement_price_keeps_priority():
    ex = long_one()
    ex.run(minutes(45), settlement={"X": 95.0})
    assert settle_price(ex) == [95.0]


def test_with_index_and_backtest_index_join_the_index_klines():
    df = minutes(45).drop(columns=["index_close"])
    index = pd.DataFrame({"open": 1.0, "high": 2.0, "low": 0.5, "close": 91.0}, index=df.index)
    j = perpsim.with_index(df, index)
    assert j["index_close"].tolist() == [91.0] * len(df)
    targets = pd.DataFrame({"X": [1.0]}, index=df.index[:1])
    r = perpsim.backtest(df, perpsim.TargetPositions(targets), contract=FUT, index=index)
    assert r.fills.loc[r.fills["reason"] == "settlement", "price"].tolist() == [91.0]


def test_doubtful_index_columns_are_refused():
    ex = long_one()
    with pytest.raises(InvalidInputError) as info:
        ex.run(minutes(45).rename(columns={"index_close": "index_open"}))
    assert info.value.field == "index_close"
    bad = minutes(45)
    bad.iloc[3, bad.columns.get_loc("index_close")] = -1.0
    with pytest.raises(InvalidInputError) as info:
        ex.run(bad)
    assert info.value.field == "index_close" and "row 3" in str(info.value)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"volume": 1.0},
        {"mark": 100.0},
        {"volume": 1.0, "mark_open": 100.0, "mark_high": 100.0, "mark_low": 100.0, "mark_close": 100.0},
        "ticks",
        {"price": 100.0, "volume": 1.0},
    ],
)
def test_an_index_column_without_the_close_is_refused_beside_any_other_columns(extra):
    # The bars' reader counts the columns it used, and reads the names one by one only when the
    # frame has others: each column it knows, beside an index_* one, must leave that one seen.
    df = minutes(45).drop(columns=["index_close"])
    if extra == "ticks" or "price" in extra:
        df = pd.DataFrame({"price": 100.0}, index=df.index)
        extra = {} if extra == "ticks" else {k: v for k, v in extra.items() if k != "price"}
    for k, v in extra.items():
        df[k] = v
    df["index_open"] = 91.0
    with pytest.raises(InvalidInputError) as info:
        long_one().run(df)
    assert info.value.field == "index_close"
    # the same frame without the index_* column runs
    long_one().run(df.drop(columns=["index_open"]))


def test_the_reference_settles_the_same():
    df = minutes(50, 3)
    df["index_close"] = 90.0 + np.sin(np.arange(len(df))) * 3
    ex = Exchange(contracts=[FUT], initial_balance=1e4, leverage=5)
    rx = ref.Exchange(contracts=[FUT], initial_balance=1e4, leverage=5)
    for e in (ex, rx):
        e.update(EXPIRY - pd.Timedelta("2h"), 100.0)
        e.sell("X", 100.0, 2.0)
        e.run(df)
    assert settle_price(ex) == pytest.approx([float(x) for x in rx.fills().query("reason == 'settlement'")["price"]])
    assert ex.account.wallet_balance == pytest.approx(float(rx.account.wallet_balance), rel=1e-12)
