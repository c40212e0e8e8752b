"""The training run of a profile-guided build (wheel.sh, decision 124): the calls users make most,
on benches/README.md's synthetic year of one-minute bars, run by the instrumented extension so that
the compiler lays out the final one for them. Each workload runs a few times; the figures are not
read (the run only has to take the paths users' runs take).

- W2, the 100-level neutral grid, and W1, the threshold rebalance: the backtest call and its
  tables (equity, fills, orders, stats).
- `monte_carlo` on the package's own GBM paths: the grid and the balance strategy, one thread.
- `sweep` on the same year: grid counts, and one set of the balance strategy at a time.
- the step-driven `Exchange`: market orders and marks from Python.

    PYTHONPATH=<the instrumented package> python benches/pgo_train.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import perpsim  # noqa: E402
from bench_exchange import loop as exchange_loop  # noqa: E402
from bench_matching import year_of_bars  # noqa: E402


def main() -> None:
    bars = year_of_bars()
    o0 = float(bars["open"].iloc[0])
    loose = perpsim.Contract("ASSET", brackets=((0, 1_000, 0.0001),))
    kw = dict(contract=loose, leverage=1_000, liquidation=False)
    w2 = dict(initial_balance=10_000, maker_fee=0.0002, taker_fee=0.0002, **kw)
    w1 = dict(initial_balance=1_010_000, maker_fee=0.0005, taker_fee=0.0005, **kw)
    grid = perpsim.Grid(0.7 * o0, 1.3 * o0, 100, qty=0.01)
    balance = perpsim.Rebalance(target_value=20_000, adjust_ratio=0.01)
    for _ in range(3):
        for strategy, args in ((grid, w2), (balance, w1)):
            r = perpsim.backtest(bars, strategy, **args)
            r.equity, r.fills, r.orders, r.stats  # noqa: B018 - build every table
    model = perpsim.GBM(volatility=0.8, s0=o0, interval="1h")
    for strategy, args in ((grid, w2), (balance, w1)):
        mc = dict(model=model, n_paths=200, n_bars=8_760, seed=7, threads=1, progress=False)
        perpsim.monte_carlo(strategy, **mc, **args)
    # a sweep on data: the grid and the balance strategy (each laid out where the sweep inlines
    # the run, not only where the backtest does)
    perpsim.sweep(
        perpsim.Grid,
        {"grid_count": [50, 100]},
        data=bars,
        threads=1,
        fixed=dict(lower=0.7 * o0, upper=1.3 * o0, qty=0.01),
        **w2,
    )
    for ratio in (0.01, 0.02):
        perpsim.sweep(perpsim.Rebalance, {"adjust_ratio": [ratio]}, data=bars, fixed=dict(target_value=20_000), **w1)
    # bench_exchange's loop: buy, update, sell, update on two symbols
    exchange_loop(perpsim.Exchange(["BTCUSDT", "ETHUSDT"], initial_balance=1e12, leverage=1), 80_000)
    print("pgo_train: done")


if __name__ == "__main__":
    main()
