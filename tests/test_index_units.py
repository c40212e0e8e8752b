"""A bar index in seconds, milliseconds or microseconds (pandas 3 builds microseconds by default)
is read by the engine in its own unit, not converted (docs/decisions.md, 119): over 65,536 bars
(checked on a second core, quiet stretches, blocks of statistics) a backtest, a one-set sweep
and a Python strategy give the same steps, fills, funding and figures as the nanosecond index."""

import pandas as pd
import perpsim
import pytest
from random_bars import wobble_bars

N = 70_000  # over 65,536 rows: the deferred check, several blocks of 8,192


def bars(unit: str) -> pd.DataFrame:
    return wobble_bars(N, unit)


CONTRACT = perpsim.Contract("X", maker_fee=0.0002, taker_fee=0.0005, funding_interval_hours=8)
GRID = perpsim.Grid(92.0, 108.0, 16, qty=1.0, mode="neutral")
FUNDING = pd.Series(0.0001, index=pd.date_range("2024-01-01", periods=3 * N // 480 + 3, freq="8h", tz="UTC"))
KW = dict(contract=CONTRACT, initial_balance=10_000.0, leverage=5.0, funding=FUNDING)


@pytest.fixture(scope="module")
def by_ns():
    return perpsim.backtest(bars("ns"), GRID, **KW)


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_a_backtest_on_any_unit_is_the_nanosecond_run(by_ns, unit):
    got = perpsim.backtest(bars(unit), GRID, **KW)
    assert got.equity.index.equals(by_ns.equity.index)
    pd.testing.assert_frame_equal(got.equity, by_ns.equity)
    pd.testing.assert_frame_equal(got.fills, by_ns.fills)
    pd.testing.assert_series_equal(got.stats, by_ns.stats)
    assert by_ns.stats["funding"] != 0.0  # funding times were crossed


@pytest.mark.parametrize("unit", ["s", "us"])
def test_a_one_set_sweep_on_any_unit_is_the_nanosecond_row(by_ns, unit):
    fixed = dict(lower=92.0, upper=108.0, qty=1.0, mode="neutral")
    df = perpsim.sweep(perpsim.Grid, {"grid_count": [16]}, data=bars(unit), fixed=fixed, **KW)
    for name, value in by_ns.stats.items():
        got = df.loc[0, name]
        assert got == value or (pd.isna(got) and pd.isna(value)), name


def test_a_python_strategy_sees_the_same_times_in_any_unit():
    def run(unit: str):
        seen = []

        def on_bar(ex, ts, bars):
            seen.append(ts)
            if len(seen) % 5_000 == 1:
                ex.market("X", "buy" if len(seen) % 10_000 == 1 else "sell", 1.0)

        return perpsim.backtest(bars(unit).iloc[:20_000], on_bar, **KW), seen

    ns, seen_ns = run("ns")
    us, seen_us = run("us")
    assert seen_us == seen_ns and len(seen_ns) == 20_000
    pd.testing.assert_frame_equal(us.fills, ns.fills)
    pd.testing.assert_series_equal(us.stats, ns.stats)
