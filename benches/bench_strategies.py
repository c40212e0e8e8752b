"""Benchmark (issue 4): the built-in strategies through `perpsim.backtest` on benches/README.md's
synthetic year of one-minute bars (W1 balance, W2 neutral grid), end to end from Python with the
result DataFrames built, against plain-Python loops of the same rules run in the same process, and
the Python overhead of one backtest call (10 bars); and W1 in vectorbt's `Portfolio.from_order_func`
(numba) when vectorbt is installed (an optional bench dependency: `pip install vectorbt`; its row is
left out otherwise, not guessed).

    python benches/bench_strategies.py
"""

from __future__ import annotations

import platform
import time

import numpy as np
import perpsim
from bench_matching import N, year_of_bars


def w1_python(o, c, fee=0.0005, target=20_000.0):
    """W1 in plain Python: rebalance at each close to the target value when 1 % away."""
    cash, q, trades = 10_000.0, 0.0, 0
    for price in c:
        value = q * price
        if abs(value - target) / target > 0.01:
            dq = (target - value) / price
            cash -= dq * price + abs(dq) * price * fee
            q += dq
            trades += 1
    return cash + q * c[-1], trades


def w2_python(o, h, lo, c, qty=0.01, fee=0.0002):
    """W2 in plain Python: 100 arithmetic levels 0.7x..1.3x; fills on low/high at the order price,
    counter-orders from the next bar."""
    p0 = o[0]
    levels = [0.7 * p0 + i * 0.6 * p0 / 100 for i in range(101)]
    k = min(range(101), key=lambda i: abs(levels[i] - p0))
    orders = {i: (1 if i < k else -1) for i in range(101) if i != k}
    cash, q, fills = 10_000.0, 0.0, 0
    for b in range(len(c)):
        new = {}
        for i, side in list(orders.items()):
            p = levels[i]
            if (side > 0 and lo[b] <= p) or (side < 0 and h[b] >= p):
                cash -= side * qty * p + qty * p * fee
                q += side * qty
                fills += 1
                del orders[i]
                j = i + 1 if side > 0 else i - 1
                if 0 <= j <= 100:
                    new[j] = -side
        orders.update(new)
    return cash + q * c[-1], fills


# The workloads (benches/README.md) ignore margin: a contract whose margin never binds, liquidation off.
LOOSE = perpsim.Contract("ASSET", brackets=((0, 1_000, 0.0001),))


def w1_vectorbt(close):
    """W1 in vectorbt's from_order_func: the same rule in a numba order function (cash is not a
    limit: init_cash="auto"; the final equity is 10,000 + the total profit). None without vectorbt."""
    try:
        import vectorbt as vbt
        from numba import njit
        from vectorbt.portfolio import nb
        from vectorbt.portfolio.enums import NoOrder
    except ImportError:
        return None

    @njit
    def order_func_nb(c, target, band, fee):
        price = c.close[c.i, c.col]
        value = c.position_now * price
        if abs(value - target) / target > band:
            return nb.order_nb(size=(target - value) / price, price=price, fees=fee)
        return NoOrder

    def run():
        t = time.perf_counter()
        pf = vbt.Portfolio.from_order_func(close, order_func_nb, 20_000.0, 0.01, 0.0005, init_cash="auto")
        el = time.perf_counter() - t
        run.last = (10_000 + float(pf.total_profit()), len(pf.orders.records_arr))
        return el

    return run


def best(f, repeat=3):
    f()
    return min(f() for _ in range(repeat))


def main() -> None:
    bars = year_of_bars()
    o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
    funding = None
    rows = []
    grid = perpsim.Grid(0.7 * o[0], 1.3 * o[0], 100, qty=0.01)
    bal = perpsim.Rebalance(target_value=20_000, adjust_ratio=0.01)

    def run(strategy, fee):
        def f():
            t = time.perf_counter()
            r = perpsim.backtest(
                bars,
                strategy,
                contract=LOOSE,
                initial_balance=10_000,
                leverage=1_000,
                maker_fee=fee,
                taker_fee=fee,
                funding=funding,
                liquidation=False,
            )
            r.equity, r.fills, r.orders, r.stats  # noqa: B018 - build every table
            el = time.perf_counter() - t
            run.last = r
            return el

        return f

    t = best(run(grid, 0.0002))
    rows.append(
        (
            "W2 grid: perpsim.backtest (Rust), end to end",
            t,
            f"{run.last.stats['fills']} fills, final equity {run.last.stats['final_equity']:,.6f}, same-bar refills",
        )
    )
    t = best(run(bal, 0.0005))
    rows.append(
        (
            "W1 balance: perpsim.backtest (Rust), end to end",
            t,
            f"{run.last.stats['fills']} trades, final equity {run.last.stats['final_equity']:,.6f}",
        )
    )
    cl, ol, hl, ll = c.tolist(), o.tolist(), h.tolist(), lo.tolist()
    t0 = time.perf_counter()
    e2, n2 = w2_python(ol, hl, ll, cl)
    rows.append(
        (
            "W2 grid: plain-Python loop",
            time.perf_counter() - t0,
            f"{n2} fills, final equity {e2:,.6f}, next-bar refills",
        )
    )
    t0 = time.perf_counter()
    e1, n1 = w1_python(ol, cl)
    rows.append(("W1 balance: plain-Python loop", time.perf_counter() - t0, f"{n1} trades, final equity {e1:,.6f}"))

    vb = w1_vectorbt(c)
    if vb is not None:
        t = best(vb)  # the first call (numba compilation, ~15 s) is the warm-up
        e, n = vb.last
        rows.append(("W1 balance: vectorbt from_order_func (numba)", t, f"{n} trades, final equity {e:,.6f}"))
    small = bars.iloc[:10]
    calls = 200

    def overhead():
        t = time.perf_counter()
        for _ in range(calls):
            perpsim.backtest(small, bal, initial_balance=10_000, leverage=100)
        return (time.perf_counter() - t) / calls

    per_call = best(overhead)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, perpsim {perpsim.__version__}\n")
    print("| workload (525,600 one-minute bars) | time | bars/s | vs plain Python | note |")
    print("|---|---|---|---|---|")
    py = {"W2": rows[2][1], "W1": rows[3][1]}
    for name, t, note in rows:
        ratio = py[name[:2]] / t
        print(f"| {name} | {t * 1e3:,.1f} ms | {N / t / 1e6:,.2f} million | {ratio:,.1f}x | {note} |")
    print(f"\nPython overhead of one backtest call (10 bars; tables built on first access): {per_call * 1e6:,.0f} µs")
    if vb is not None:
        w1 = next(t for name, t, _ in rows if name.startswith("W1 balance: perpsim"))
        print(f"W1 balance, perpsim end to end vs vectorbt from_order_func: {rows[-1][1] / w1:,.1f}x")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
