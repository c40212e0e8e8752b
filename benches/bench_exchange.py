"""Benchmark: buy / sell / update calls on perpsim.Exchange versus the same loop on the exact
reference ledger and on a minimal hand-written float ledger, all in one process.

    python benches/bench_exchange.py [--calls 1000000] [--ref-calls 20000]

The reference is slow by design (fractions); it runs ``--ref-calls`` calls and its per-call time
is reported as measured on that subset (stated in the table). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import time

import perpsim
from perpsim.reference import Ledger


class FloatLedger:
    """A minimal hand-written linear ledger in plain Python floats (the 'plain Python' baseline):
    average entry, realized PnL, taker fee, marks. No checks."""

    def __init__(self, symbols, taker=0.0005):
        self.q = dict.fromkeys(symbols, 0.0)
        self.ep = dict.fromkeys(symbols, 0.0)
        self.mark = dict.fromkeys(symbols, 0.0)
        self.wallet = 1e9
        self.taker = taker
        self.rows = []

    def trade(self, s, price, dq):
        q, ep = self.q[s], self.ep[s]
        self.wallet -= abs(dq) * price * self.taker
        if q == 0 or (q > 0) == (dq > 0):
            self.ep[s] = (abs(q) * ep + abs(dq) * price) / (abs(q) + abs(dq))
            self.q[s] = q + dq
        else:
            closed = min(abs(dq), abs(q))
            self.wallet += closed * (price - ep) * (1 if q > 0 else -1)
            self.q[s] = q + dq
            if abs(dq) > abs(q):
                self.ep[s] = price
            elif self.q[s] == 0:
                self.ep[s] = 0.0

    def buy(self, s, price, qty):
        self.trade(s, price, qty)

    def sell(self, s, price, qty):
        self.trade(s, price, -qty)

    def update(self, ts, prices):
        self.mark.update(prices)
        eq = self.wallet + sum(self.q[s] * (self.mark[s] - self.ep[s]) for s in self.q)
        self.rows.append((ts, eq))


def loop(ex, n):
    """n calls: buy, update, sell, update, ... on two symbols."""
    buy, sell, update = ex.buy, ex.sell, ex.update
    t0 = time.perf_counter()
    for i in range(n // 4):
        p = 30_000.0 + (i % 101)
        buy("BTCUSDT", p, 0.01)
        update(4 * i, {"BTCUSDT": p, "ETHUSDT": 2_000.0 + (i % 7)})
        sell("ETHUSDT", 2_000.0, 0.1)
        update(4 * i + 1, {"BTCUSDT": p + 1.0, "ETHUSDT": 2_001.0})
    return time.perf_counter() - t0


def per_call(make, method, n):
    ex = make()
    if method == "buy":
        f = ex.buy
        t0 = time.perf_counter()
        for i in range(n):
            f("BTCUSDT", 30_000.0 + (i & 63), 0.001)
    elif method == "sell":
        f = ex.sell
        t0 = time.perf_counter()
        for i in range(n):
            f("BTCUSDT", 30_000.0 + (i & 63), 0.001)
    else:
        f = ex.update
        t0 = time.perf_counter()
        for i in range(n):
            f(i, {"BTCUSDT": 30_000.0 + (i & 63), "ETHUSDT": 2_000.0})
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--ref-calls", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    syms = ["BTCUSDT", "ETHUSDT"]

    def make_ex():
        return perpsim.Exchange(syms, initial_balance=1e12, leverage=1)

    def make_ref():
        return Ledger(syms, initial_balance=1e12, leverage=1)

    def make_float():
        return FloatLedger(syms)

    impls = [
        ("perpsim.Exchange (Rust)", make_ex, a.calls),
        ("plain-Python float ledger", make_float, a.calls),
        ("perpsim.reference.Ledger (fractions)", make_ref, a.ref_calls),
    ]
    loop(make_ex(), 40_000)  # warm-up
    rows = []
    for name, make, n in impls:
        best = min(loop(make(), n) for _ in range(a.repeat if n == a.calls else 1))
        calls = {
            m: min(per_call(make, m, n // 4) for _ in range(a.repeat if n == a.calls else 1))
            for m in ("buy", "sell", "update")
        }
        rows.append((name, n, best, calls))
    base = rows[0][2] / rows[0][1]
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
        f"perpsim {perpsim.__version__}\n"
    )
    print("| implementation | calls | total | per call (mixed loop) | buy | sell | update (2 symbols) | vs Exchange |")
    print("|---|---|---|---|---|---|---|---|")
    for name, n, t, c in rows:
        pc = t / n
        print(
            f"| {name} | {n:,} | {t:.3f} s | {pc * 1e9:,.0f} ns | {c['buy'] * 1e9:,.0f} ns | "
            f"{c['sell'] * 1e9:,.0f} ns | {c['update'] * 1e9:,.0f} ns | {pc / base:.1f}x |"
        )


if __name__ == "__main__":
    main()
