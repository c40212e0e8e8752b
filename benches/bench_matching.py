"""Benchmark (issue 3): replaying 525,600 one-minute bars (a year) with 100 resting limit orders,
a position (liquidation checks at every path point) and funding every 8 h, through Python
(`perpsim.Exchange.run`), against the exact reference on a subset of the same data, with the
memory floor (numpy reading the four price columns) measured in the same process.

    python benches/bench_matching.py [--ref-bars 3000]

Data: the synthetic year of benches/README.md, Workloads (GBM from 30,000, σ 0.8, seed 42, numpy default_rng).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
import perpsim
from perpsim import reference as ref

N = 525_600


def year_of_bars(seed: int = 42, n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dt = 1.0 / n
    sigma = 0.8
    z = rng.standard_normal(n)
    close = 30_000.0 * np.exp(np.cumsum(-0.5 * sigma**2 * dt + sigma * np.sqrt(dt) * z))
    open_ = np.concatenate([[30_000.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.0005, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.0005, n)))
    idx = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close}, index=idx)


def setup(impl, bars: pd.DataFrame):
    ex = impl("BTCUSDT", initial_balance=1_000_000, leverage=10)
    t0 = bars.index[0].value
    ex.update(t0 - 1, float(bars["open"].iloc[0]))
    ex.buy("BTCUSDT", float(bars["open"].iloc[0]), 1.0)
    lo, hi = float(bars["low"].min()), float(bars["high"].max())
    for k in range(50):
        ex.limit("BTCUSDT", "buy", round(lo * (0.5 - 0.001 * k), 2), 0.01)
        ex.limit("BTCUSDT", "sell", round(hi * (2.0 + 0.001 * k), 2), 0.01)
    return ex


def best(f, repeat):
    f()
    return min(f() for _ in range(repeat))


def best_time(f, repeat):
    """The least wall time of ``repeat`` calls of ``f`` (after one call as warm-up)."""
    f()
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref-bars", type=int, default=3_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    bars = year_of_bars()
    funding = pd.Series(0.0001, index=bars.index[bars.index.hour.isin([0, 8, 16]) & (bars.index.minute == 0)])
    rows = []

    cols = [np.ascontiguousarray(bars[c].to_numpy()) for c in ("open", "high", "low", "close")]

    def floor():
        t = time.perf_counter()
        float(cols[0].sum() + cols[1].sum() + cols[2].sum() + cols[3].sum())
        return time.perf_counter() - t

    rows.append(("numpy: sum of the four price columns", N, best(floor, a.repeat), "memory floor"))

    def engine_run():
        ex = setup(perpsim.Exchange, bars)
        t = time.perf_counter()
        ex.run(bars, funding=funding)
        el = time.perf_counter() - t
        assert len(ex.open_orders()) == 100 and len(ex.funding_payments()) == len(funding)
        return el

    rows.append(
        (
            "perpsim.Exchange.run (Rust, from Python)",
            N,
            best(engine_run, a.repeat),
            "DataFrame in, one equity row per step",
        )
    )

    def engine_run_and_frames():
        ex = setup(perpsim.Exchange, bars)
        t = time.perf_counter()
        ex.run(bars, funding=funding)
        h = ex.history()
        f = ex.fills()
        el = time.perf_counter() - t
        assert len(h) == N + 1 and len(f) == 1
        return el

    rows.append(("... plus history() and fills() DataFrames", N, best(engine_run_and_frames, a.repeat), "end to end"))

    sub = bars.iloc[: a.ref_bars]
    fsub = funding[funding.index <= sub.index[-1]]

    def reference_run():
        ex = setup(ref.Exchange, sub)
        t = time.perf_counter()
        ex.run(sub, funding=fsub)
        return time.perf_counter() - t

    rows.append(
        (
            "perpsim.reference.Exchange.run (exact Python)",
            a.ref_bars,
            best(reference_run, 1),
            f"first {a.ref_bars:,} bars of the same data",
        )
    )

    base = rows[1][2] / rows[1][1]
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, perpsim {perpsim.__version__}\n")
    print("| implementation | bars | time | bars/s | per bar | vs Exchange.run | note |")
    print("|---|---|---|---|---|---|---|")
    for name, n, t, note in rows:
        per = t / n
        print(
            f"| {name} | {n:,} | {t * 1e3:,.1f} ms | {n / t / 1e6:,.2f} million | {per * 1e9:,.1f} ns | "
            f"{per / base:,.2f}x | {note} |"
        )


if __name__ == "__main__":
    main()
