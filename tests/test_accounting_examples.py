"""Every worked example of docs/accounting.md, exactly, on the engine and on the reference ledger."""

from fractions import Fraction as F

import perpsim
import pytest
from perpsim import Contract, Exchange
from perpsim.reference import Ledger, brackets_with_cum

BOTH = [Exchange, Ledger]


def flat(mmr=0.004, lev=125.0):
    return ((0.0, lev, mmr),)


@pytest.mark.parametrize("impl", BOTH)
def test_linear_round_trip_example(impl):
    # long 1 BTC at 50,000 then sell 1 at 51,000 with taker 0.0005:
    # realized = 1,000; fees = 25 + 25.5 = 50.5; wallet change = +949.5.
    ex = impl("BTCUSDT", initial_balance=100_000, leverage=10, taker_fee=0.0005)
    ex.buy("BTCUSDT", 50_000, 1)
    ex.sell("BTCUSDT", 51_000, 1)
    a = ex.account
    assert a.realized_pnl == 1_000
    assert a.fees == 50.5
    assert a.wallet_balance - 100_000 == 949.5
    assert ex.position("BTCUSDT").qty == 0


def inverse_contract(cs=1.0, mmr=0.004):
    return Contract("BTCUSD", kind="inverse", settle_asset="BTC", contract_size=cs, brackets=flat(mmr))


@pytest.mark.parametrize("impl", BOTH)
def test_inverse_harmonic_entry_example(impl):
    # buy 50 contracts at 10,000, then 50 at 15,000 -> EP = 100 / (50/10,000 + 50/15,000) = 12,000.
    # closing all 100 at 13,000 (contract size 1 USD) realizes 100·(1/12,000 − 1/13,000) = 0.00064103 coin.
    ex = impl(inverse_contract(), initial_balance=1.0, leverage=20, maker_fee=0, taker_fee=0)
    ex.buy("BTCUSD", 10_000, 50)
    ex.buy("BTCUSD", 15_000, 50)
    assert float(ex.position("BTCUSD").entry_price) == pytest.approx(12_000, rel=1e-15)
    fill = ex.sell("BTCUSD", 13_000, 100)
    realized = fill.realized_pnl if impl is Exchange else fill["realized_pnl"]
    assert round(float(realized), 8) == 0.00064103
    assert float(realized) == pytest.approx(100 * (1 / 12_000 - 1 / 13_000), rel=1e-12)


def test_inverse_harmonic_entry_is_exact_in_reference():
    led = Ledger(inverse_contract(), initial_balance=1.0, leverage=20, maker_fee=0, taker_fee=0)
    led.buy("BTCUSD", 10_000, 50)
    led.buy("BTCUSD", 15_000, 50)
    assert led.position("BTCUSD").entry_price == 12_000
    assert led.sell("BTCUSD", 13_000, 100)["realized_pnl"] == F(100, 12_000) - F(100, 13_000)


@pytest.mark.parametrize("impl", BOTH)
def test_inverse_pnl_example(impl):
    # 1,000 contracts (1 USD each) long from 1,000 to 1,250 -> +0.2 coin.
    ex = impl(inverse_contract(), initial_balance=1.0, leverage=20, maker_fee=0, taker_fee=0)
    ex.buy("BTCUSD", 1_000, 1_000)
    ex.update(0, {"BTCUSD": 1_250})
    assert float(ex.position("BTCUSD").unrealized_pnl) == pytest.approx(0.2, rel=1e-14)
    assert float(ex.account.equity) == pytest.approx(1.2, rel=1e-14)
    # equity in quote at the mark
    assert float(ex.account.equity_quote) == pytest.approx(1.2 * 1_250, rel=1e-14)


@pytest.mark.parametrize("impl", BOTH)
def test_funding_example(impl):
    # long 0.2 BTC, mark 52,000, r = +0.0001 -> pays 1.04 USDT.
    ex = impl("BTCUSDT", initial_balance=10_000, leverage=10, taker_fee=0)
    ex.buy("BTCUSDT", 52_000, 0.2)
    received = ex.apply_funding("BTCUSDT", 0.0001, 52_000)
    assert float(received) == pytest.approx(-1.04, rel=1e-12)
    assert float(ex.account.funding) == pytest.approx(-1.04, rel=1e-12)
    assert float(ex.account.wallet_balance) == pytest.approx(10_000 - 1.04, rel=1e-15)
    # shorts receive when r > 0; r < 0 reverses
    ex.sell("BTCUSDT", 52_000, 0.4)
    assert float(ex.apply_funding("BTCUSDT", 0.0001, 52_000)) == pytest.approx(1.04, rel=1e-12)
    assert float(ex.apply_funding("BTCUSDT", -0.0001, 52_000)) == pytest.approx(-1.04, rel=1e-12)


def test_bracket_cum_example():
    # tier floor 250,000 with MMR 1% after a 0.5% tier whose cum is 50 -> cum = 1,300.
    table = brackets_with_cum([(0, 125, 0.004), (50_000, 100, 0.005), (250_000, 50, 0.01)])
    assert table[1][3] == 50
    assert table[2][3] == 1_300


@pytest.mark.parametrize("impl", BOTH)
def test_maintenance_margin_uses_the_tier_by_notional(impl):
    c = Contract("X", brackets=((0, 125, 0.004), (50_000, 100, 0.005), (250_000, 50, 0.01)))
    ex = impl(c, initial_balance=1_000_000, leverage=20, taker_fee=0)
    ex.buy("X", 100, 3_000)  # notional 300,000 -> tier 3: 300,000·1% − 1,300 = 1,700
    assert float(ex.position("X").maintenance_margin) == pytest.approx(1_700, rel=1e-12)
    assert float(ex.account.maintenance_margin) == pytest.approx(1_700, rel=1e-12)


def liq(ex, sym):
    v = ex.liquidation_price(sym)
    return float("nan") if v is None else float(v)


@pytest.mark.parametrize("impl", BOTH)
@pytest.mark.parametrize("side,expected", [("long", 45_180.72), ("short", 54_780.88)])
def test_linear_isolated_liquidation_examples(impl, side, expected):
    # isolated, MMR 0.4%, cum 0, 1 BTC at 50,000, WB 5,000 (= 50,000 / 10x)
    c = Contract("BTCUSDT", brackets=flat(0.004))
    ex = impl(c, initial_balance=10_000, leverage=10, taker_fee=0, margin_mode="isolated")
    (ex.buy if side == "long" else ex.sell)("BTCUSDT", 50_000, 1)
    assert round(liq(ex, "BTCUSDT"), 2) == expected


@pytest.mark.parametrize("impl", BOTH)
def test_linear_liquidation_large_tier_example(impl):
    # WB 1,535,443.01, Q 3,683.979 long at 1,456.84, MMR 0.10, cum 135,365 -> LP = 1,114.78.
    # The tier at 2,707,300 with MMR 10 % after a 5 % tier has cum 2,707,300·0.05 = 135,365.
    c = Contract("ETHUSDT", brackets=((0, 20, 0.05), (2_707_300, 10, 0.10)))
    assert brackets_with_cum(c.brackets)[1][3] == 135_365
    ex = impl(c, initial_balance=1_535_443.01, leverage=4, taker_fee=0)  # cross: WB = the wallet
    ex.buy("ETHUSDT", 1_456.84, 3_683.979)
    assert round(liq(ex, "ETHUSDT"), 2) == 1_114.78


@pytest.mark.parametrize("impl", BOTH)
@pytest.mark.parametrize("side,expected", [("long", 45_636.36), ("short", 55_333.33)])
def test_inverse_isolated_liquidation_examples(impl, side, expected):
    # 100 contracts of 100 USD (Q = 10,000 USD), entry 50,000, WB 0.02 coin (= 0.2 BTC / 10x), MMR 0.4%
    ex = impl(inverse_contract(cs=100), initial_balance=1.0, leverage=10, taker_fee=0, margin_mode="isolated")
    (ex.buy if side == "long" else ex.sell)("BTCUSD", 50_000, 100)
    assert float(ex.position("BTCUSD").margin) == pytest.approx(0.02, rel=1e-14)
    assert round(liq(ex, "BTCUSD"), 2) == expected


@pytest.mark.parametrize("impl", BOTH)
def test_no_liquidation_price_for_a_one_x_inverse_short(impl):
    ex = impl(inverse_contract(cs=100), initial_balance=0.2, leverage=1, taker_fee=0, margin_mode="isolated")
    ex.sell("BTCUSD", 50_000, 100)
    assert liq(ex, "BTCUSD") != liq(ex, "BTCUSD")  # NaN / None: never liquidated


def test_presets_have_binance_like_values():
    b = perpsim.BTCUSDT
    assert (b.kind, b.contract_size, b.tick_size, b.step_size, b.min_notional) == ("linear", 1.0, 0.1, 0.001, 100.0)
    assert perpsim.BTCUSD.contract_size == 100 and perpsim.BTCUSD.is_inverse and perpsim.BTCUSD.settle_asset == "BTC"
    assert perpsim.ETHUSD.contract_size == 10 and perpsim.ETHUSD.is_inverse
    cums = [t[3] for t in brackets_with_cum(b.brackets)][:4]
    assert cums == [0, 50, 950, 11_450]
    q = perpsim.quarterly(perpsim.BTCUSD, "2026-06-26 08:00")
    assert q.symbol == "BTCUSD_260626" and q.expiry is not None and q.funding_interval_hours is None
    Exchange([perpsim.BTCUSD, q], initial_balance=1.0)  # same settlement coin: one account
