"""Golden backtests on real Binance data (tests/data; sources in tests/data/README.md): each built-in
strategy through perpsim.backtest, results pinned; the pins were checked against the exact
reference twins where a run is small enough for them."""

from pathlib import Path

import pandas as pd
import perpsim
import pytest
from perpsim import Grid, Rebalance, TargetPositions
from strategy_twins import GridTwin, TargetsTwin, run_twin

DATA = Path(__file__).parent / "data"


def load(name):
    df = pd.read_csv(DATA / name)
    return df.set_index(pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp"))


@pytest.fixture(scope="module")
def month_1m():
    return load("BTCUSDT_perp_1m_2025-05-25_2025-06-24.csv.gz")


@pytest.fixture(scope="module")
def funding_2025():
    return load("BTCUSDT_funding_2025-05-25_2025-06-30.csv")["funding_rate"]


GRID = Grid(100_000, 112_000, 100, qty=0.002)


def test_grid_on_a_month_of_btcusdt_1m_golden(month_1m, funding_2025):
    """A 100-level neutral grid, 100k–112k, 0.002 BTC per order, 10x, real funding."""
    r = perpsim.backtest(
        month_1m, GRID, contract=perpsim.BTCUSDT, initial_balance=10_000, leverage=10, funding=funding_2025
    )
    s = r.stats
    print("\n" + r.summary())
    assert s["fills"] == GOLDEN_GRID["fills"]
    assert round(s["final_equity"], 2) == GOLDEN_GRID["final_equity"]
    assert round(s["grid_matched_profit"], 2) == GOLDEN_GRID["matched_profit"]
    assert round(s["funding"], 2) == GOLDEN_GRID["funding"]
    # the per-step position column is the running sum of the signed fills up to each step
    f = r.fills
    signed = f["qty"].where(f["side"] == "buy", -f["qty"]).groupby(f["timestamp"]).sum().cumsum()
    expect = signed.reindex(r.equity.index, method="ffill").fillna(0.0)
    assert r.equity["position_BTCUSDT"].to_numpy() == pytest.approx(expect.to_numpy(), abs=1e-9)
    assert r.equity["entry_BTCUSDT"].iloc[-1] == r.exchange.position("BTCUSDT").entry_price
    a = r.exchange.account
    assert s["grid_matched_profit"] + s["grid_unmatched_pnl"] + a.funding == pytest.approx(
        a.realized_pnl + a.unrealized_pnl + a.funding - a.fees, abs=1e-6
    )


GOLDEN_GRID = dict(fills=6_687, final_equity=10_480.52, matched_profit=518.81, funding=-2.56)


def test_grid_golden_prefix_agrees_with_the_exact_twin(month_1m):
    bars = month_1m.iloc[:1_500]
    kw = dict(initial_balance=10_000, leverage=10)
    r = perpsim.backtest(bars, GRID, contract=perpsim.BTCUSDT, **kw)
    twin = run_twin(perpsim.BTCUSDT, bars, lambda ex: GridTwin(ex, "BTCUSDT", 100_000, 112_000, 100, qty=0.002), **kw)
    assert len(r.fills) == len(twin.fills()) > 50
    assert r.fills["price"].tolist() == [float(x) for x in twin.fills()["price"]]
    assert r.stats["final_equity"] == pytest.approx(float(twin.history()["equity"].iloc[-1]), rel=1e-12)


def test_balance_on_btcusdt_1h_with_real_funding_golden():
    """Hold 20,000 USDT of BTCUSDT on 10,000 at 5x, ±1 %, 2024 with real funding: the demo's numbers
    (pinned in tests/test_demo.py from the reference) come out of the engine's Rebalance."""
    bars = perpsim.data.sample("BTCUSDT", "1h")
    r = perpsim.backtest(
        bars,
        Rebalance(target_value=20_000, adjust_ratio=0.01),
        contract=perpsim.BTCUSDT,
        initial_balance=10_000,
        leverage=5,
        funding=perpsim.data.sample_funding("BTCUSDT"),
    )
    assert r.stats["fills"] == 1_071
    assert round(r.stats["final_equity"], 2) == 25_937.88
    assert round(r.stats["funding"], 2) == -2_384.70
    assert not r.stats["liquidated"]


def test_target_positions_on_btcusdt_1h_golden():
    """A moving-average crossover as target positions (long 0.1 BTC above the 48 h mean, short below)."""
    bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:2_000]
    ma = bars["close"].rolling(48).mean()
    target = (bars["close"] > ma).astype(float).replace({0.0: -1.0}) * 0.1
    target[ma.isna()] = float("nan")
    kw = dict(initial_balance=10_000, leverage=5)
    r = perpsim.backtest(bars, TargetPositions(target, unit="qty"), contract=perpsim.BTCUSDT, **kw)
    twin = run_twin(perpsim.BTCUSDT, bars, lambda ex: TargetsTwin({"BTCUSDT": target.tolist()}, "qty"), **kw)
    assert len(r.fills) == len(twin.fills()) == GOLDEN_TP["fills"]
    assert round(r.stats["final_equity"], 2) == GOLDEN_TP["final_equity"]
    assert r.stats["final_equity"] == pytest.approx(float(twin.history()["equity"].iloc[-1]), rel=1e-12)


GOLDEN_TP = dict(fills=197, final_equity=8_152.01)


class PythonRebalance:
    """The balance strategy written as a Python callback: the flexible, slower path."""

    def __init__(self, symbol, target, adjust):
        self.symbol, self.target, self.adjust = symbol, target, adjust

    def on_bar(self, ex, ts, bars):
        close = bars[self.symbol][3]
        value = ex.position(self.symbol).qty * close
        if abs(value - self.target) / self.target > self.adjust:
            dq = round((self.target - value) / close / 0.001) * 0.001
            if abs(dq) * close >= 100:
                ex.market(self.symbol, "buy" if dq > 0 else "sell", abs(dq))


def test_python_callback_strategy_runs_on_the_same_engine():
    bars = perpsim.data.sample("BTCUSDT", "1h")
    f = perpsim.data.sample_funding("BTCUSDT")
    kw = dict(contract=perpsim.BTCUSDT, initial_balance=10_000, leverage=5, funding=f)
    py = perpsim.backtest(bars, PythonRebalance("BTCUSDT", 20_000, 0.01), **kw)
    rust = perpsim.backtest(bars, Rebalance(target_value=20_000, adjust_ratio=0.01), **kw)
    assert py.stats["fills"] == rust.stats["fills"] == 1_071
    assert py.stats["final_equity"] == pytest.approx(rust.stats["final_equity"], rel=1e-12)
    assert py.stats["funding"] == pytest.approx(rust.stats["funding"], rel=1e-12)


def test_on_fill_callbacks_see_every_fill():
    seen = []

    class Recorder:
        def on_start(self, ex):
            ex.update(0, 42_000.0)
            ex.limit("BTCUSDT", "buy", 41_000.0, 0.01)

        def on_fill(self, ex, fill):
            seen.append((fill["side"], float(fill["price"])))
            if fill["side"] == "buy":
                ex.limit("BTCUSDT", "sell", float(fill["price"]) + 1_000, float(fill["qty"]))

    bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:300]
    r = perpsim.backtest(bars, Recorder(), contract=perpsim.BTCUSDT, initial_balance=10_000, leverage=5)
    assert seen[0] == ("buy", 41_000.0)
    sells = r.orders[(r.orders["side"] == "sell") & (r.orders["type"] == "limit")]
    assert sells["price"].tolist()[:1] == [42_000.0]  # placed from on_fill
    assert len(seen) == r.stats["fills"] >= 1


def test_index_deviation_on_a_13_symbol_1h_basket_golden():
    """Index deviation on 13 Binance USDⓈ-M perpetuals, May 2025 hourly: 100 USDT per 1 % of
    deviation, stop at 10 %, checked against the exact twin and pinned."""
    from perpsim import IndexDeviation
    from perpsim.reference.exchange import Exchange as RefExchange
    from strategy_twins import IndexDeviationTwin

    data = {p.name.split(".")[0]: load(f"basket_1h/{p.name}") for p in sorted((DATA / "basket_1h").glob("*.csv.gz"))}
    assert len(data) == 13 and all(len(df) == 744 for df in data.values())
    kw = dict(initial_balance=10_000, leverage=5, maker_fee=0.0002, taker_fee=0.0005)
    strat = IndexDeviation(100.0, step=0.01, min_trade_value=20.0, stop_deviation=0.10)
    # plain contracts for all 13 (a name alone would mean the BTCUSDT and ETHUSDT presets)
    plain = {s: perpsim.Contract(s) for s in data}
    r = perpsim.backtest(data, strat, contract=plain, **kw)
    twin = RefExchange(list(plain.values()), **kw)
    twin.hooks = IndexDeviationTwin(list(data), 100.0, step=0.01, min_trade_value=20.0, stop=0.10)
    twin.run(data)
    assert len(r.fills) == len(twin.fills())
    assert r.stats["final_equity"] == pytest.approx(float(twin.history()["equity"].iloc[-1]), rel=1e-9)
    print("\n" + r.summary())
    assert r.stats["fills"] == GOLDEN_DEV["fills"]
    assert round(r.stats["final_equity"], 2) == GOLDEN_DEV["final_equity"]


GOLDEN_DEV = dict(fills=4_747, final_equity=10_009.11)


def test_result_plot_draws_price_levels_fills_equity_and_drawdown(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:500]
    r = perpsim.backtest(
        bars, Grid(38_000, 48_000, 20, qty=0.01), contract=perpsim.BTCUSDT, initial_balance=10_000, leverage=10
    )
    out = tmp_path / "grid.png"
    fig = r.plot(path=str(out))
    assert len(fig.axes) == 3
    price_ax = fig.axes[0]
    assert len(price_ax.lines) == 1 + 21  # the close and the 21 grid levels
    assert len(price_ax.collections) >= 2  # buys and sells
    assert out.exists() and out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
