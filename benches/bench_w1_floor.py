"""Benchmark (issue 12): what W1 end to end would cost in one fused numba loop, beside perpsim's
``backtest`` call and its tables in the same process.

W1 (benches/README.md, Workloads) on the year of one-minute bars, three numba loops on one thread:
the rule alone writing one equity value a bar (the harness's floor); the same after the checks a
run makes of its input (every bar's prices positive, finite and inside the bar's range, the times
increasing); and the checks, the rule and every value of perpsim's equity table that varies
(time, equity, wallet, margin, realized and unrealized PnL, fees, effective leverage, position,
entry: ten columns) written per bar into buffers kept from call to call, which is what the table
holds without pandas. Then perpsim: the ``backtest`` call, and the call with the equity, fills,
orders and stats tables built. Best of ``REPS`` runs each.

    python benches/bench_w1_floor.py

numba is an optional bench dependency (``pip install numba``); without it only perpsim's rows.
"""

from __future__ import annotations

import os
import platform
import sys

import numpy as np
import perpsim
from bench_matching import best_time, year_of_bars

REPS = int(os.environ.get("REPS", "30"))
CASH, TARGET, BAND, FEE, LEVERAGE = 10_000.0, 20_000.0, 0.01, 0.0005, 1_000.0


def numba_kernels():
    """The three numba loops (compiled on first call), or None without numba."""
    try:
        import numba as nb
    except ImportError:
        return None

    @nb.njit(cache=True, inline="always")
    def trade(px, q, avg, realized, fees):
        # Back to the target value at the close when the value is off it by more than the band.
        if abs(q * px - TARGET) <= BAND * TARGET:
            return q, avg, realized, fees, False
        dq = (TARGET - q * px) / px
        fees += abs(dq) * px * FEE
        if q != 0.0 and (q > 0.0) != (dq > 0.0):
            realized += min(abs(dq), abs(q)) * (px - avg) * (1.0 if q > 0.0 else -1.0)
        nq = q + dq
        if nq != 0.0 and (q == 0.0 or (q > 0.0) == (dq > 0.0)):
            avg = (avg * q + px * dq) / nq
        elif nq != 0.0 and (nq > 0.0) != (q > 0.0):
            avg = px
        return nq, avg, realized, fees, True

    @nb.njit(cache=True)
    def rule(close, equity):
        q = avg = realized = fees = 0.0
        trades = 0
        for i in range(close.shape[0]):
            q, avg, realized, fees, t = trade(close[i], q, avg, realized, fees)
            trades += t
            equity[i] = CASH + realized - fees + q * (close[i] - avg)
        return trades

    @nb.njit(cache=True)
    def checked(ts, o, h, lo, c):
        bad = False
        for i in range(c.shape[0]):
            bad |= not (
                (lo[i] > 0.0) & (h[i] < np.inf) & (h[i] >= o[i]) & (h[i] >= c[i]) & (lo[i] <= o[i]) & (lo[i] <= c[i])
            )
            if i > 0:
                bad |= ts[i] <= ts[i - 1]
        return not bad

    @nb.njit(cache=True)
    def checked_rule(ts, o, h, lo, c, equity):
        if not checked(ts, o, h, lo, c):
            return -1
        return rule(c, equity)

    @nb.njit(cache=True)
    def table(ts, o, h, lo, c, out):
        if not checked(ts, o, h, lo, c):
            return -1
        q = avg = realized = fees = 0.0
        trades = 0
        for i in range(c.shape[0]):
            px = c[i]
            q, avg, realized, fees, t = trade(px, q, avg, realized, fees)
            trades += t
            u = q * (px - avg)
            wallet = CASH + realized - fees
            out[0, i] = ts[i]
            out[1, i] = wallet + u
            out[2, i] = wallet
            out[3, i] = abs(q) * avg / LEVERAGE
            out[4, i] = realized
            out[5, i] = u
            out[6, i] = fees
            out[7, i] = abs(q) * px / (wallet + u)
            out[8, i] = q
            out[9, i] = avg
        return trades

    return rule, checked_rule, table


def best(f):
    return best_time(f, REPS)


def main() -> None:
    bars = year_of_bars()
    ts = np.ascontiguousarray(bars.index.asi8)
    o, h, lo, c = (np.ascontiguousarray(bars[k].to_numpy()) for k in ("open", "high", "low", "close"))
    n = len(c)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, perpsim {perpsim.__version__}")
    print(f"W1 on {n:,} one-minute bars, one thread for numba\n")
    rows = []
    kernels = numba_kernels()
    if kernels is None:
        print("numba is not installed: only perpsim's rows (pip install numba for the floors)")
    else:
        rule, checked_rule, table = kernels
        eq, out = np.empty(n), np.empty((10, n))
        rows.append(("numba: the rule, one equity value a bar", best(lambda: rule(c, eq))))
        rows.append(("numba: the checks, then the rule", best(lambda: checked_rule(ts, o, h, lo, c, eq))))
        rows.append(
            ("numba: the checks, the rule and the table's ten columns", best(lambda: table(ts, o, h, lo, c, out)))
        )
        print(f"numba: {rule(c, eq):,} trades, final equity {eq[-1]:,.6f}")
    loose = perpsim.Contract("ASSET", brackets=((0, 1_000, 0.0001),))
    bal = perpsim.Rebalance(target_value=TARGET, adjust_ratio=BAND)
    kw = dict(contract=loose, initial_balance=CASH + 1_000_000, leverage=LEVERAGE, maker_fee=FEE, taker_fee=FEE)
    kw["liquidation"] = False
    last = []

    def call(tables: bool) -> None:
        if last:
            last.pop()  # the previous result goes before the call, as in a loop of runs
        r = perpsim.backtest(bars, bal, **kw)
        if tables:
            r.equity, r.fills, r.orders, r.stats  # noqa: B018 - build every table
        last.append(r)

    rows.append(("perpsim: the backtest call", best(lambda: call(False))))
    rows.append(("perpsim: the call and its equity, fills, orders and stats tables", best(lambda: call(True))))
    s = last[0].stats
    print(f"perpsim: {int(s['fills']):,} trades, final equity {float(s['final_equity']) - 1_000_000:,.6f}\n")
    floor = rows[0][1] if kernels is not None else None
    print("| W1, one year of minutes | time (best) | × the rule's loop |")
    print("|---|---:|---:|")
    for name, t in rows:
        ratio = f"{t / floor:.2f}x" if floor else ""
        print(f"| {name} | {t * 1e3:,.3f} ms | {ratio} |")


if __name__ == "__main__":
    sys.exit(main())
