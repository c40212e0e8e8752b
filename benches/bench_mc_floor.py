"""Benchmark (issue 12): the floor of Monte Carlo with path generation included, in numba, beside
``perpsim.monte_carlo`` in the same process.

What a user could write in an afternoon with numba: the default model's GBM bars with Brownian-bridge
extremes (a normal and two exponentials a bar, three exponentials and two square roots: the same
arithmetic as perpsim's generator) drawn with numba's own ``np.random``, and the W2 grid's rules
on each bar as it is made: the plain rules of ``bench_strategies.w2_python`` (100 levels, fills at
the level's price when the bar's low or high reaches it, the counter-order one level away from the
next bar; where two counter-orders land on one level in one bar, the higher level's wins, where
``w2_python`` takes its dictionary's order), looking only at the levels that can fill. Four
numba loops: the closes alone (the least a path is), generation alone (writing each bar, no
rules), the rules alone on bars made beforehand, and the two fused; then perpsim's own GBM paths
through the W2 grid (the engine's full rules: counter-orders within the bar, margin, order and
fill records), one thread. Each is the best of ``REPS`` runs, as ns a path-bar and million
path-bars/s.

    python benches/bench_mc_floor.py          # PATHS=200 REPS=3 for a quicker run

numba is an optional bench dependency (``pip install numba``); without it the script says so.
"""

from __future__ import annotations

import os
import platform
import sys

import numpy as np
import perpsim
from bench_matching import best_time

PATHS = int(os.environ.get("PATHS", "1000"))
REPS = int(os.environ.get("REPS", "5"))
BARS = 8_760
S0, VOL = 40_000.0, 0.8
QTY, FEE, LEVELS = 0.01, 0.0002, 100
DT = 1.0 / (365.0 * 24.0)


def numba_kernels():
    """The four numba loops (compiled on first call), or None without numba."""
    try:
        import numba as nb
    except ImportError:
        return None

    @nb.njit(cache=True, inline="always")
    def bar(prev, c0, c1, v):
        # One GBM bar from the open `prev`: its log return, the bridge's log extremes from two
        # standard exponentials, and the prices.
        r = c0 + c1 * np.random.standard_normal()
        eu, ed = np.random.standard_exponential(), np.random.standard_exponential()
        up = 0.5 * (r + np.sqrt(r * r + v * eu))
        dn = 0.5 * (r - np.sqrt(r * r + v * ed))
        return prev * np.exp(up), prev * np.exp(dn), prev * np.exp(r)

    @nb.njit(cache=True)
    def generate(paths, bars, s0, vol, dt, seed, high, low, close):
        # Generation alone: each path's bars written into the same buffers (a block, as an engine
        # would keep them), nothing else.
        np.random.seed(seed)
        c0, c1, v = -0.5 * vol * vol * dt, vol * np.sqrt(dt), 2.0 * vol * vol * dt
        acc = 0.0
        for _ in range(paths):
            prev = s0
            for i in range(bars):
                h, lo, c = bar(prev, c0, c1, v)
                high[i], low[i], close[i] = h, lo, c
                prev = c
            acc += prev
        return acc

    @nb.njit(cache=True)
    def closes(paths, bars, s0, vol, dt, seed, close):
        # The least a GBM path is: its closes (a normal draw and an exp a bar), no extremes.
        np.random.seed(seed)
        c0, c1 = -0.5 * vol * vol * dt, vol * np.sqrt(dt)
        acc = 0.0
        for _ in range(paths):
            prev = s0
            for i in range(bars):
                prev = prev * np.exp(c0 + c1 * np.random.standard_normal())
                close[i] = prev
            acc += prev
        return acc

    @nb.njit(cache=True, inline="always")
    def grid_bar(h, lo, levels, side, state, pend):
        # The plain rules on one bar: every order at the bar's start whose level the low (buys) or
        # the high (sells) reaches fills at its level; its counter-order one level away rests from
        # the next bar. Only the levels that can fill are looked at: those between the bar's low
        # and high (arithmetic levels), widened to the highest buy and the lowest sell (a
        # counter-order can rest beyond the next bar's range). state: cash, position, fills, the
        # highest buy's level, the lowest sell's; pend: scratch for the new orders.
        cash, q, fills = state[0], state[1], state[2]
        hb, ls = int(state[3]), int(state[4])
        n = levels.shape[0]
        step = levels[1] - levels[0]
        a = min(max(0, int(np.ceil((lo - levels[0]) / step)) - 1), ls)
        b = max(min(n - 1, int((h - levels[0]) / step) + 1), hb)
        m = 0
        for i in range(max(a, 0), min(b, n - 1) + 1):
            s = side[i]
            if s == 0:
                continue
            p = levels[i]
            if (s > 0 and lo <= p) or (s < 0 and h >= p):
                cash -= s * QTY * p + QTY * p * FEE
                q += s * QTY
                fills += 1.0
                side[i] = 0
                j = i + 1 if s > 0 else i - 1
                if 0 <= j < n:
                    pend[m] = j * 2 + (1 if s > 0 else 0)
                    m += 1
        for k in range(m):
            j = pend[k] >> 1
            if pend[k] & 1:
                side[j] = -1
                ls = min(ls, j)
            else:
                side[j] = 1
                hb = max(hb, j)
        while hb >= 0 and side[hb] != 1:
            hb -= 1
        while ls < n and side[ls] != -1:
            ls += 1
        state[0], state[1], state[2], state[3], state[4] = cash, q, fills, hb, ls

    @nb.njit(cache=True)
    def start_orders(levels, p0, side, state):
        k = np.argmin(np.abs(levels - p0))
        for i in range(levels.shape[0]):
            side[i] = 0 if i == k else (1 if i < k else -1)
        state[0], state[1], state[3], state[4] = 10_000.0, 0.0, k - 1, k + 1

    @nb.njit(cache=True)
    def rules(high, low, close, levels, state, side, pend):
        # The rules alone on bars made beforehand (one path).
        start_orders(levels, S0, side, state)
        for i in range(close.shape[0]):
            grid_bar(high[i], low[i], levels, side, state, pend)
        return state[0] + state[1] * close[close.shape[0] - 1]

    @nb.njit(cache=True)
    def fused(paths, bars, s0, vol, dt, seed, levels, state, side, pend):
        # Generation and rules bar by bar: the afternoon's Monte Carlo loop.
        np.random.seed(seed)
        c0, c1, v = -0.5 * vol * vol * dt, vol * np.sqrt(dt), 2.0 * vol * vol * dt
        total = 0.0
        state[2] = 0.0
        for _ in range(paths):
            start_orders(levels, s0, side, state)
            prev = s0
            for _ in range(bars):
                h, lo, c = bar(prev, c0, c1, v)
                grid_bar(h, lo, levels, side, state, pend)
                prev = c
            total += state[0] + state[1] * prev
        return total / paths

    return closes, generate, rules, fused


def best(f):
    return best_time(f, REPS)


def main() -> None:
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, perpsim {perpsim.__version__}")
    print(f"{PATHS:,} paths × {BARS:,} hourly bars, GBM σ {VOL}, W2 grid ({LEVELS} levels ±30 %), one thread\n")
    pb = PATHS * BARS
    rows = []
    kernels = numba_kernels()
    levels = np.array([0.7 * S0 + i * 0.6 * S0 / LEVELS for i in range(LEVELS + 1)])
    if kernels is None:
        print("numba is not installed: only perpsim's row (pip install numba for the floor)")
    else:
        closes, generate, rules, fused = kernels
        hi, lo, cl = np.empty(BARS), np.empty(BARS), np.empty(BARS)
        rows.append(
            ("numba: closes alone (no extremes, no rules)", best(lambda: closes(PATHS, BARS, S0, VOL, DT, 7, cl)))
        )
        rows.append(
            (
                "numba: generation alone (GBM + bridge extremes)",
                best(lambda: generate(PATHS, BARS, S0, VOL, DT, 7, hi, lo, cl)),
            )
        )
        generate(1, BARS, S0, VOL, DT, 7, hi, lo, cl)
        state, side = np.zeros(5), np.zeros(LEVELS + 1, dtype=np.int8)
        pend = np.zeros(LEVELS + 1, dtype=np.int64)
        one = best(lambda: rules(hi, lo, cl, levels, state, side, pend))
        rows.append(("numba: the plain grid rules alone, bars made beforehand", one * PATHS))
        rows.append(
            (
                "numba: generation and rules fused (the afternoon's loop)",
                best(lambda: fused(PATHS, BARS, S0, VOL, DT, 7, levels, state, side, pend)),
            )
        )
        print(f"numba's fused loop: {state[2] / PATHS:,.0f} fills a path (next-bar counter-orders)")
    contract = perpsim.Contract(
        "ASSET", maker_fee=FEE, taker_fee=FEE, funding_interval_hours=None, brackets=((0.0, 1000.0, 0.0001),)
    )
    grid = perpsim.Grid(levels[0], levels[-1], LEVELS, qty=QTY, mode="neutral")
    model = perpsim.GBM(volatility=VOL, s0=S0, interval="1h")
    fills = []

    def mc() -> None:
        m = perpsim.monte_carlo(
            grid,
            contract,
            model,
            n_paths=PATHS,
            n_bars=BARS,
            seed=7,
            threads=1,
            progress=False,
            initial_balance=1_010_000.0,
            leverage=1000,
            liquidation=False,
        )
        fills.append(float(m.paths["fills"].mean()))

    rows.append(("perpsim.monte_carlo: own GBM, W2 grid (generation included)", best(mc)))
    print(f"perpsim: {fills[-1]:,.0f} fills a path (counter-orders within the bar)\n")
    print("| one thread | time | ns a path-bar | M path-bars/s |")
    print("|---|---:|---:|---:|")
    for name, t in rows:
        print(f"| {name} | {t:,.3f} s | {t / pb * 1e9:,.1f} | {pb / t / 1e6:,.1f} |")


if __name__ == "__main__":
    sys.exit(main())
