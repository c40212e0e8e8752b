"""What a liquidation costs (docs/accounting.md, "Liquidation"): the contract's clearance fee per
bracket and the close at the bankruptcy price. The worked examples are rows of the rule table
(tests/rules/matching.json); these tests cover the inputs that must be refused and a whole
backtest on both implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import perpsim
import pytest
from perpsim.reference.exchange import Exchange as RefExchange
from random_bars import random_bars


def test_bankruptcy_close_with_a_negative_balance_is_refused():
    with pytest.raises(perpsim.InvalidInputError) as e:
        perpsim.Exchange("X", liquidation_close="bankruptcy_price", allow_negative_balance=True)
    assert e.value.field == "liquidation_close"


def test_an_unknown_close_is_refused_with_the_choices():
    with pytest.raises(perpsim.InvalidInputError, match="bankruptcy_price") as e:
        perpsim.Exchange("X", liquidation_close="bankruptcy")
    assert e.value.field == "liquidation_close"


@pytest.mark.parametrize(
    "rates, words",
    [((0.01, 0.02, 0.03), "one rate per bracket"), ((0.6,), "[0, 0.5)"), (-0.01, "[0, 0.5)"), ("x", "rate")],
)
def test_a_bad_clearance_fee_is_refused_naming_the_field(rates, words):
    with pytest.raises(perpsim.InvalidInputError, match=words.replace("[", r"\[").replace(")", r"\)")) as e:
        perpsim.Contract("X", brackets=((0, 125, 0.004), (10_000, 50, 0.01)), clearance_fee=rates)
    assert e.value.field == "clearance_fee"


def test_a_single_rate_is_kept_as_a_one_rate_table():
    c = perpsim.Contract("X", clearance_fee=0.015)
    assert c.clearance_fee == (0.015,)
    assert perpsim.preset("BTCUSDT").clearance_fee == ()


def _bars(n: int = 300, seed: int = 3) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    return random_bars(np.random.default_rng(seed), n, start, vol=0.02, drift=-0.004)


@pytest.mark.parametrize("close", ["liquidation_price", "bankruptcy_price"])
@pytest.mark.parametrize("mode", ["cross", "isolated"])
def test_a_levered_long_in_a_falling_market_costs_what_the_reference_says(close, mode):
    contract = perpsim.Contract("X", brackets=((0, 125, 0.004), (5_000, 50, 0.01)), clearance_fee=(0.005, 0.0125))
    bars = _bars()
    out = {}
    for impl in (perpsim.Exchange, RefExchange):
        ex = impl(contract, initial_balance=1_000, leverage=20, margin_mode=mode, liquidation_close=close)
        ex.update(bars.index[0], 100.0)
        ex.buy("X", 100.0, 80.0)
        ex.run({"X": bars})
        f = ex.fills()
        out[impl] = (f, float(ex.account.wallet_balance))
    (f_eng, w_eng), (f_ref, w_ref) = out[perpsim.Exchange], out[RefExchange]
    liq = f_eng[f_eng["reason"] == "liquidation"]
    assert len(liq) == 1  # the falling market liquidates the long
    assert np.allclose(f_eng["price"].astype(float), f_ref["price"].astype(float), rtol=1e-12)
    assert np.allclose(f_eng["fee"].astype(float), f_ref["fee"].astype(float), rtol=1e-12, atol=1e-12)
    assert w_eng == pytest.approx(w_ref, rel=1e-12, abs=1e-9)
    if close == "bankruptcy_price":
        assert float(liq["fee"].iloc[0]) == 0.0
        margin = 80 * 100 / 20 if mode == "isolated" else 1_000 - 80 * 100 * 0.0005
        assert 1_000 - 80 * 100 * 0.0005 - w_eng == pytest.approx(margin, rel=1e-12)
    else:
        notional = 80 * float(liq["price"].iloc[0])
        rate = 0.0125 if notional >= 5_000 else 0.005
        assert float(liq["fee"].iloc[0]) == pytest.approx((0.0005 + rate) * notional, rel=1e-12)
