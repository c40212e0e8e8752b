"""Golden scenarios on real Binance BTCUSDT perpetual data (slices of the Binance public data archive in
tests/data): a stop hit through a real gap, the March 2020 crash liquidating a 20x long, and a
month of real funding. Expected values were computed by the exact reference and are pinned; the
engine must agree with the reference and with the pins."""

from pathlib import Path

import pandas as pd
import perpsim
import pytest
from perpsim import reference as ref

DATA = Path(__file__).parent / "data"
IMPLS = pytest.mark.parametrize("impl", [perpsim.Exchange, ref.Exchange], ids=["engine", "reference"])


def load_bars(name):
    df = pd.read_csv(DATA / name)
    return df.set_index(pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp"))


def load_funding(name):
    df = load_bars(name)
    return df["funding_rate"]


def start(impl, bars, **kw):
    """An exchange marked at the first bar's open, one nanosecond before it."""
    ex = impl(perpsim.BTCUSDT, **kw)
    t0 = bars.index[0].value
    ex.update(t0 - 1, float(bars["open"].iloc[0]))
    return ex


@IMPLS
def test_stop_through_the_2019_09_24_gap_fills_at_the_open(impl):
    bars = load_bars("BTCUSDT_perp_1h_2019-09-23_2019-09-25.csv")
    ex = start(impl, bars, initial_balance=10_000, leverage=5)
    ex.buy("BTCUSDT", float(bars["open"].iloc[0]), 1.0)
    ex.stop("BTCUSDT", "sell", 8_500.0, 1.0, reduce_only=True)
    ex.run(bars)
    f = ex.fills()
    stop = f[f["reason"] == "stop"]
    assert len(stop) == 1
    ts = stop["timestamp"].iloc[0]
    ts = ts if isinstance(ts, pd.Timestamp) else pd.Timestamp(ts, unit="ns", tz="UTC")
    # 19:00 closed at 8,645.61; 20:00 opened at 8,358.01, below the 8,500 stop: filled at the open
    assert ts == pd.Timestamp("2019-09-24 20:00", tz="UTC")
    assert float(stop["price"].iloc[0]) == 8_358.01
    assert float(ex.position("BTCUSDT").qty) == 0


GOLDEN_LIQ_TIME = pd.Timestamp("2020-03-12 06:00", tz="UTC")
GOLDEN_LIQ_PRICE = 7_542.07


@IMPLS
def test_march_2020_crash_liquidates_a_20x_long(impl):
    """Long 25 BTC (about 19.7x) on 10,000 USDT at the 2020-03-11 00:00 open, cross margin, real
    funding: the crash liquidates it at its liquidation price on 2020-03-12."""
    bars = load_bars("BTCUSDT_perp_1h_2020-03-05_2020-03-20.csv").loc["2020-03-11":]
    funding = load_funding("BTCUSDT_funding_2020-03-05_2020-03-20.csv")
    ex = start(impl, bars, initial_balance=10_000, leverage=20)
    entry = float(bars["open"].iloc[0])
    ex.buy("BTCUSDT", entry, 25.0)
    lp_at_entry = float(ex.liquidation_price("BTCUSDT"))
    ex.run(bars, funding=funding)
    f = ex.fills()
    liq = f[f["reason"] == "liquidation"]
    assert len(liq) == 1
    when = pd.Timestamp(ex.liquidated_at, unit="ns", tz="UTC")
    price = float(liq["price"].iloc[0])
    print(f"\nMarch 2020, 20x long from {entry}: liquidated at {when} at {price:.2f}")
    assert when == GOLDEN_LIQ_TIME
    assert round(price, 2) == GOLDEN_LIQ_PRICE
    assert price == pytest.approx(lp_at_entry, rel=2e-3)  # funding moved it a little
    assert ex.blown
    assert float(ex.account.wallet_balance) >= 0


GOLDEN_FUNDING_MARCH_2024 = -2_122.58


@IMPLS
def test_a_month_of_real_funding_on_a_long(impl):
    """Long 1 BTC through March 2024 (93 funding times, every 8 h, real rates)."""
    bars = load_bars("BTCUSDT_perp_1h_2024-03.csv")
    funding = load_funding("BTCUSDT_funding_2024-03_2024-04.csv")
    ex = start(impl, bars, initial_balance=100_000, leverage=5)
    ex.buy("BTCUSDT", float(bars["open"].iloc[0]), 1.0)
    ex.run(bars, funding=funding)
    pays = ex.funding_payments() if isinstance(ex, perpsim.Exchange) else pd.DataFrame(ex.funding_rows)
    n = ((funding.index >= bars.index[0]) & (funding.index <= bars.index[-1])).sum()
    assert len(pays) == n == 93
    # each payment: − notional at the mark (the bar open at the funding time) × rate
    opens = bars["open"]
    for ts, p, r in zip(pays["timestamp"], pays["payment"], pays["rate"]):
        t = pd.Timestamp(ts, unit="ns", tz="UTC") if not isinstance(ts, pd.Timestamp) else ts
        assert float(p) == pytest.approx(-opens.loc[t] * float(r), rel=1e-12)
    assert round(float(ex.account.funding), 2) == GOLDEN_FUNDING_MARCH_2024


def test_engine_and_reference_agree_on_the_whole_march_2020_run():
    bars = load_bars("BTCUSDT_perp_1h_2020-03-05_2020-03-20.csv")
    funding = load_funding("BTCUSDT_funding_2020-03-05_2020-03-20.csv")
    out = []
    for impl in (perpsim.Exchange, ref.Exchange):
        ex = start(impl, bars, initial_balance=10_000, leverage=10)
        ex.buy("BTCUSDT", float(bars["open"].iloc[0]), 5.0)
        ex.limit("BTCUSDT", "buy", 7_000.0, 2.0)
        ex.stop("BTCUSDT", "sell", 6_000.0, 3.0, reduce_only=True)
        ex.trailing_stop("BTCUSDT", "sell", 1.0, 0.05, activation=9_000.0, reduce_only=True)
        ex.run(bars, funding=funding)
        out.append(ex)
    e, r = out
    assert len(e.fills()) == len(r.fills()) >= 3
    assert e.fills()["price"].tolist() == pytest.approx([float(x) for x in r.fills()["price"]], rel=1e-12)
    he, hr = e.history(), r.history()
    assert he["equity"].tolist() == pytest.approx([float(x) for x in hr["equity"]], rel=1e-9)
