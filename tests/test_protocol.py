"""One validator, one declared protocol: the engine judges every parameter (at construction, naming
the field), the core reads the dataclasses field by field (the names checked here), and an unknown
value or option is an error, never a silent default."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim import _core
from perpsim._protocol import SymbolColumns
from perpsim.config import RUN_KEYS

# Fields a run passes through StrategyInputs / ModelInputs instead of reading them off the class.
PASSED_AS_INPUTS = {"TargetPositions": {"targets"}, "Bootstrap": {"bars"}}


@pytest.mark.parametrize("name", sorted(_core._FIELDS))
def test_the_core_reads_exactly_the_dataclass_fields(name):
    cls = getattr(perpsim, name)
    fields = {f.name for f in dataclasses.fields(cls)} - PASSED_AS_INPUTS.get(name, set())
    assert set(_core._FIELDS[name]) == fields


def test_the_core_reads_exactly_the_symbol_columns():
    assert list(_core._SYMBOL_COLUMNS) == list(SymbolColumns._fields)


def test_the_run_options_are_listed_once():
    opts = _core.exchange_options()
    assert set(opts) == RUN_KEYS
    assert perpsim.Exchange("X").options == opts
    assert opts["path"] == "nearest_first" and opts["record"] == "steps"


@pytest.mark.parametrize(
    "make,field",
    [
        (lambda: perpsim.Grid(100, 200, 10, qty=1, mode="sideways"), "mode"),
        (lambda: perpsim.Grid(100, 200, 10, qty=1, spacing="log"), "spacing"),
        (lambda: perpsim.Grid(True, 200, 10, qty=1), "lower"),
        (lambda: perpsim.Grid(100, 200, 10.5, qty=1), "grid_count"),
        (lambda: perpsim.Grid(100, 200, 10, qty=1, close_on_stop=1), "close_on_stop"),
        (lambda: perpsim.Grid(100, 200, 10), "qty"),
        (lambda: perpsim.Grid(100, 200, 10, qty=1, stop_upper=150), "stop_upper"),
        (lambda: perpsim.Rebalance(target_value=1.0, target_ratio=0.5), "target_value"),
        (lambda: perpsim.Rebalance(target_value="ten"), "target_value"),
        (lambda: perpsim.Rebalance(target_value=100, adjust_ratio=-1), "adjust_ratio"),
        (lambda: perpsim.TargetPositions(pd.Series([1.0]), unit="lots"), "unit"),
        (lambda: perpsim.IndexDeviation(100, base="last"), "base"),
        (lambda: perpsim.IndexDeviation(100, base=0), "base"),
        (lambda: perpsim.IndexDeviation(0), "trade_value"),
        (lambda: perpsim.Basis(0.01, close_threshold=0.02), "close_threshold"),
        (lambda: perpsim.Basis(0.01, fraction=1.5), "fraction"),
        (lambda: perpsim.Basis(0.01, spot_fee=1.0), "spot_fee"),
        (lambda: perpsim.GBM(0.5, 100, interval="soon"), "interval"),
        (lambda: perpsim.GBM(-0.5, 100), "volatility"),
        (lambda: perpsim.StudentT(0.5, 100, dof=2), "dof"),
        (lambda: perpsim.JumpDiffusion(0.5, 100, jump_std=-1), "jump_std"),
        (lambda: perpsim.Contract("X", kind="perpetual"), "kind"),
        (lambda: perpsim.Contract("X", tick_size=True), "tick_size"),
        (lambda: perpsim.Contract("X", brackets=((0, 0.5, 0.01),)), "brackets"),
        (lambda: perpsim.Contract("X", funding_interval_hours=float("inf")), "funding_interval_hours"),
        (lambda: perpsim.Exchange("X", path="random"), "path"),
        (lambda: perpsim.Exchange("X", margin_mode="portfolio"), "margin_mode"),
        (lambda: perpsim.Exchange("X", slipage=0.001), "slipage"),
        (lambda: perpsim.Exchange("X", record=0), "record"),
        (lambda: perpsim.Exchange("X", same_bar="no"), "same_bar"),
        (lambda: perpsim.Exchange("X", initial_balance=True), "initial_balance"),
    ],
)
def test_a_bad_or_unknown_value_is_refused_at_construction_naming_the_field(make, field):
    with pytest.raises(perpsim.InvalidInputError) as info:
        make()
    assert info.value.field == field, str(info.value)


def test_the_reference_takes_the_engines_options_and_default_leverage():
    with pytest.raises(perpsim.InvalidInputError) as info:
        perpsim.reference.Exchange("X", slipage=0.001)
    assert info.value.field == "slipage"
    for c in (perpsim.BTCUSDT, perpsim.BTCUSD, perpsim.BTCUSDT_SPOT, perpsim.Contract("Y", brackets=((0, 8, 0.01),))):
        eng, ref = perpsim.Exchange(c), perpsim.reference.Exchange(c)
        assert eng.position(c.symbol).leverage == float(ref.positions[c.symbol].leverage)


def test_the_initial_balance_has_one_rule_for_every_strategy():
    """It drifted: Basis refused 0 (> 0 in Python) where the engine accepts it (>= 0)."""
    bars = pd.DataFrame(
        {"open": [100.0, 101], "high": [101.0, 102], "low": [99.0, 100], "close": [101.0, 101.5]},
        index=pd.date_range("2024-01-01", periods=2, freq="1h", tz="UTC"),
    )
    spot = perpsim.Contract("S", kind="spot")
    for strategy, data, contract in (
        (perpsim.Rebalance(target_value=0.0), bars, "X"),
        (perpsim.Basis(0.5), {"S": bars, "F": bars}, {"S": spot, "F": perpsim.Contract("F")}),
    ):
        with pytest.raises(perpsim.InvalidInputError) as info:
            perpsim.backtest(data, strategy, contract=contract, initial_balance=-1)
        assert info.value.field == "initial_balance"
        r = perpsim.backtest(data, strategy, contract=contract, initial_balance=0)
        assert r.stats["final_equity"] == 0.0


def test_grid_levels_have_one_formula():
    g = perpsim.Grid(100.0, 200.0, 7, qty=1.0, spacing="geometric")
    np.testing.assert_array_equal(g.levels(), perpsim.calc.grid_levels(100.0, 200.0, 7, "geometric"))
    r = perpsim.backtest(
        pd.DataFrame(
            {"open": [150.0], "high": [151.0], "low": [149.0], "close": [150.0]},
            index=pd.date_range("2024-01-01", periods=1, freq="1h", tz="UTC"),
        ),
        g,
        contract=perpsim.Contract("X", tick_size=0.01),
        initial_balance=1e6,
    )
    assert r.strategy_stats["levels"] == perpsim.calc.grid_levels(100.0, 200.0, 7, "geometric", tick=0.01)
