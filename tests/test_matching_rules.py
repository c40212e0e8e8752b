"""Matching rules about data and records, on the engine. The rules of docs/matching.md that an
account follows (paths, fills, orders, liquidation, funding, settlement) are the rule table
tests/rules/matching.json, run on the engine and the reference (tests/test_rule_table.py) and by
cargo test on the engine alone."""

import math

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import InvalidInputError
from perpsim._protocol import SymbolColumns

T0 = 1_700_000_000_000_000_000  # ns
H = 3_600_000_000_000


def make(impl, contract="X", balance=1_000_000.0, **kw):
    kw.setdefault("leverage", 10)
    kw.setdefault("maker_fee", 0.0002)
    kw.setdefault("taker_fee", 0.0005)
    return impl(contract, initial_balance=balance, **kw)


def bars_df(rows, start=T0, step=H):
    idx = pd.to_datetime([start + k * step for k in range(len(rows))], unit="ns", utc=True)
    return pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=idx)


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
