"""polars DataFrames and pyarrow Tables are taken wherever pandas DataFrames are (bars, marks,
funding, targets, sweeps, walk-forward, Monte Carlo bootstrap), converted once, with the same
results as the pandas inputs."""

from __future__ import annotations

import pandas as pd
import perpsim
import pytest

pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")

BARS = perpsim.data.sample("BTCUSDT").iloc[:800]
RATES = perpsim.data.sample_funding("BTCUSDT")
RATES = RATES[RATES.index <= BARS.index[-1]]
GRID = perpsim.Grid(40_000, 46_000, 20, qty=0.01)
KW = dict(contract=perpsim.BTCUSDT, leverage=5)


def as_table(df: pd.DataFrame):
    return pa.Table.from_pandas(df.reset_index(), preserve_index=False)


def as_polars(df: pd.DataFrame):
    return pl.from_pandas(df.reset_index())


@pytest.mark.parametrize("convert", [as_table, as_polars], ids=["pyarrow", "polars"])
def test_a_backtest_on_foreign_tables_equals_the_pandas_one(convert):
    want = perpsim.backtest(BARS, GRID, funding=RATES, **KW)
    rates = convert(RATES.to_frame())
    got = perpsim.backtest(convert(BARS), GRID, funding=rates, **KW)
    assert got.stats.to_dict() == want.stats.to_dict()
    assert got.stats["funding"] != 0
    c = {"BTCUSDT": perpsim.BTCUSDT}
    both = perpsim.backtest({"BTCUSDT": convert(BARS)}, GRID, contract=c, mark={"BTCUSDT": convert(BARS)}, leverage=5)
    assert both.stats["final_equity"] == perpsim.backtest(BARS, GRID, mark=BARS, **KW).stats["final_equity"]


@pytest.mark.parametrize("convert", [as_table, as_polars], ids=["pyarrow", "polars"])
def test_sweeps_targets_and_bootstraps_take_them(convert):
    params = {"grid_count": [10, 20]}
    fixed = dict(lower=40_000, upper=46_000, qty=0.01)
    a = perpsim.sweep(perpsim.Grid, params, data=convert(BARS), fixed=fixed, progress=False, **KW)
    b = perpsim.sweep(perpsim.Grid, params, data=BARS, fixed=fixed, progress=False, **KW)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    targets = pd.Series([0.1, 0.0], index=BARS.index[[10, 20]], name="BTCUSDT").to_frame()
    t = perpsim.TargetPositions(convert(targets))
    assert isinstance(t.targets, pd.Series) and t.targets.iloc[0] == 0.1
    boot = perpsim.Bootstrap(convert(BARS), block=12)
    assert isinstance(boot.bars, pd.DataFrame) and (boot.bars.index == BARS.index).all()
    assert perpsim.GBM.fit(convert(BARS)).volatility == perpsim.GBM.fit(BARS).volatility


def test_a_table_without_times_is_refused_naming_the_field():
    with pytest.raises(perpsim.InvalidInputError, match="time column") as e:
        perpsim.backtest(pl.from_pandas(BARS.reset_index(drop=True)), GRID, **KW)
    assert e.value.field == "timestamp"
