"""A backtest's bars are checked on a second core while it runs (docs/decisions.md, 116): for bad
data the error is the one of the check before the run (field, row, message), from a backtest, a
one-set sweep or an exchange's run, and the exchange is left as it was."""

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import InvalidInputError
from random_bars import wobble_bars

N = 70_000  # over 65,536 rows (checked on a second core), several blocks of 8,192


def bars() -> pd.DataFrame:
    return wobble_bars(N)


def spoil(df: pd.DataFrame, column: str, row: int) -> pd.DataFrame:
    df = df.copy()
    if column == "high":
        df.iloc[row, df.columns.get_loc("high")] = df["close"].iloc[row] - 1.0
    elif column == "low":
        df.iloc[row, df.columns.get_loc("low")] = -1.0
    elif column == "close":
        df.iloc[row, df.columns.get_loc("close")] = np.nan
    else:  # a duplicate time
        ix = df.index.to_numpy().copy()
        ix[row] = ix[row - 1]
        df.index = pd.DatetimeIndex(ix)
    return df


CONTRACT = perpsim.Contract("X", maker_fee=0.0002, taker_fee=0.0005, funding_interval_hours=None)
GRID = perpsim.Grid(92.0, 108.0, 16, qty=1.0, mode="neutral")


def error_of(run) -> tuple:
    with pytest.raises(InvalidInputError) as info:
        run()
    return info.value.field, str(info.value)


@pytest.mark.parametrize(
    "spoils",
    [
        [("high", 25_000)],
        [("close", 3)],
        [("low", 8_192)],
        [("timestamp", 16_384)],
        # The check before a run reports the times before the prices.
        [("close", 100), ("timestamp", 29_000)],
    ],
)
def test_the_error_is_the_one_of_the_check_before_the_run(spoils):
    df = bars()
    for column, row in spoils:
        df = spoil(df, column, row)
    # A Python strategy's bars are checked before its first callback: the reference error.
    calls = []
    want = error_of(
        lambda: perpsim.backtest(df, lambda ex, ts, bar: calls.append(ts), contract=CONTRACT, initial_balance=10_000)
    )
    assert calls == []
    field, message = want
    assert field == spoils[-1][0]
    assert f"row {spoils[-1][1]}" in message
    got = error_of(lambda: perpsim.backtest(df, GRID, contract=CONTRACT, initial_balance=10_000))
    assert got == want
    swept = error_of(
        lambda: perpsim.sweep(
            perpsim.Grid,
            {"grid_count": [16]},
            data=df,
            threads=1,
            fixed=dict(lower=92.0, upper=108.0, qty=1.0),
            contract=CONTRACT,
            initial_balance=10_000,
        )
    )
    assert swept == want


def test_a_refused_run_leaves_the_exchange_as_it_was():
    good = bars()
    bad = spoil(good, "high", 20_000)
    fresh = perpsim.Exchange(CONTRACT, initial_balance=10_000)
    ex = perpsim.Exchange(CONTRACT, initial_balance=10_000)
    with pytest.raises(InvalidInputError, match="row 20000"):
        ex.run_strategy(bad, GRID)
    assert len(ex.fills()) == 0 and len(ex.history()) == 0
    # Then it runs the good bars as a fresh exchange does.
    a = ex.run_strategy(good, GRID)
    b = fresh.run_strategy(good, GRID)
    assert a == b
    assert len(ex.fills()) > 10
    pd.testing.assert_frame_equal(ex.history(), fresh.history())
