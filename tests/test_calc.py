"""Every calculator on the spec's formulas (docs/strategies.md, grid, docs/strategies.md, docs/accounting.md)."""

import math

import perpsim
import pytest
from perpsim import Contract, InvalidInputError, calc


def test_grid_levels_arithmetic_and_geometric():
    assert calc.grid_levels(100, 200, 4) == [100, 125, 150, 175, 200]
    g = calc.grid_levels(100, 400, 2, "geometric")
    assert g == pytest.approx([100, 200, 400])
    assert calc.grid_levels(100, 101, 3, tick=0.1) == [100.0, 100.3, 100.7, 101.0]
    with pytest.raises(InvalidInputError):
        calc.grid_levels(100, 90, 4)


def test_grid_quote_qty_and_quantity_at_a_level():
    # 0.95 · 1,000 · 10 · 1 / 101 = 94.059... → 94.06
    assert calc.grid_quote_qty(1_000, 10, 100) == 94.06
    assert calc.grid_quote_qty(1_000, 10, 100, adjust_coef=1.0, avg_cost_ratio=0.5) == round(5_000 / 101, 2)
    assert calc.grid_qty_at(94.06, 30_000, step=0.001) == 0.003  # 0.0031353 rounds down
    assert calc.grid_min_qty(20_000, 0.001, 100) == 0.005


def test_min_initial_margin_and_trailing():
    # max(101 · 100, 101 · 1 · 40,000 · 0.001) / 10 = max(10,100, 4,040) / 10 = 1,010
    assert calc.min_initial_margin(40_000, 100, 10, 100, 0.001) == 1_010
    cap = calc.estimated_trailing_cap(1_000, 10, 0.001, 1e9)
    assert cap == 10_000_000
    assert calc.estimated_trailing_cap(1_000, 10, 0.001, 60_000) == 60_000
    n = calc.max_trailing_up_count(60_000, 40_000, 300)
    assert n == math.floor(20_000 / 300) == 66
    assert calc.trailing_upper_price(40_000, 300, n, tick=0.1) == 59_800.0


def test_matched_profit_with_fee_apportionment():
    # spec example: buy 100, sell 200, 1 unit, no fees → +100
    assert calc.matched_profit(100, 200, 1) == 100
    # half of a 2-unit buy matched with a whole 1-unit sell: buy fee apportioned by half
    assert calc.matched_profit(100, 110, 1, buy_fee=0.2, sell_fee=0.11, buy_qty=2, sell_qty=1) == pytest.approx(
        10 - (0.1 + 0.11)
    )


def test_liquidation_price_examples():
    c = Contract("BTCUSDT", brackets=((0, 125, 0.004),))
    assert round(calc.liquidation_price(c, "long", 1, 50_000, 5_000), 2) == 45_180.72
    assert round(calc.liquidation_price(c, "short", 1, 50_000, 5_000), 2) == 54_780.88
    inv = Contract("BTCUSD", kind="inverse", settle_asset="BTC", contract_size=100, brackets=((0, 125, 0.004),))
    assert round(calc.liquidation_price(inv, "long", 100, 50_000, 0.02), 2) == 45_636.36
    assert round(calc.liquidation_price(inv, "short", 100, 50_000, 0.02), 2) == 55_333.33
    big = Contract("ETHUSDT", brackets=((0, 20, 0.05), (2_707_300, 10, 0.10)))
    assert round(calc.liquidation_price(big, "long", 3_683.979, 1_456.84, 1_535_443.01), 2) == 1_114.78
    assert math.isnan(calc.liquidation_price(c, "long", 1, 50_000, 60_000))


def test_funding_payment_example():
    # long 0.2 BTC, mark 52,000, r = +0.0001 → pays 1.04 USDT
    assert calc.funding_payment(perpsim.BTCUSDT, 0.2, 52_000, 0.0001) == pytest.approx(-1.04)
    assert calc.funding_payment(perpsim.BTCUSDT, -0.2, 52_000, 0.0001) == pytest.approx(1.04)
    assert calc.funding_payment(perpsim.BTCUSD, 100, 50_000, 0.0001) == pytest.approx(-100 * 100 / 50_000 * 0.0001)


def test_trade_mining_optimum_maximises_the_income():
    V, B, p, c = 1_000_000.0, 1_000.0, 20.0, 0.0005
    a = calc.trade_mining_optimum(V, B, p, c)
    assert a == pytest.approx(math.sqrt(V * B * p / c) - V)
    g = calc.trade_mining_income(a, V, B, p, c)
    assert g > calc.trade_mining_income(a * 0.9, V, B, p, c) and g > calc.trade_mining_income(a * 1.1, V, B, p, c)
    assert calc.trade_mining_optimum(1e12, B, p, c) == 0.0  # a* ≤ 0: do not trade
    assert calc.trade_mining_optimum(0.0, B, p, c, min_order=5.0) == 5.0


def test_premium_and_annualized():
    assert calc.premium(51_000, 50_000) == pytest.approx(0.02)
    assert calc.annualized_premium(51_000, 50_000, 73) == pytest.approx(0.1)
