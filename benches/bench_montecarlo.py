"""Benchmark (issue 5): 10,000 GBM paths × 8,760 hourly bars (a year) of the 100-level grid and of
the balance strategy through `perpsim.monte_carlo`, path generation included, on one thread and on
every core; a pure-Python loop of the same rules (path generation included) on a few paths,
extrapolated per path and stated as such; the peak memory of the 10,000-path run (a child process).

    PYTHONPATH=benches python benches/bench_montecarlo.py     # PATHS=1000 for a quicker run
"""

from __future__ import annotations

import math
import os
import platform
import random
import resource
import subprocess
import sys
import time

import perpsim
from bench_strategies import w1_python, w2_python

PATHS = int(os.environ.get("PATHS", "10000"))
BARS = 8_760
S0 = 60_000.0
VOL = 0.6
MODEL = perpsim.GBM(VOL, s0=S0)
GRID = perpsim.Grid(0.7 * S0, 1.3 * S0, 100, qty=0.003)
BALANCE = perpsim.Rebalance(target_value=20_000, adjust_ratio=0.01)
RUNS = {"grid 100 levels, 5x": (GRID, 5), "balance 20,000 at 2x": (BALANCE, 2)}


def python_path(rng: random.Random, n: int):
    """GBM bars with Brownian-bridge extremes, in plain Python."""
    dt = 1.0 / (365 * 24)
    v = 2 * VOL * VOL * dt
    out, prev = [], S0
    for _ in range(n):
        r = -0.5 * VOL * VOL * dt + VOL * math.sqrt(dt) * rng.gauss(0.0, 1.0)
        up = 0.5 * (r + math.sqrt(r * r - v * math.log(1.0 - rng.random())))
        dn = 0.5 * (r - math.sqrt(r * r - v * math.log(1.0 - rng.random())))
        c = prev * math.exp(r)
        out.append((prev, prev * math.exp(up), prev * math.exp(dn), c))
        prev = c
    return out


def python_grid(bars):
    """W2 (bench_strategies.w2_python) on a generated path: 0.003 BTC per order."""
    o, h, lo, c = (list(x) for x in zip(*bars))
    return w2_python(o, h, lo, c, qty=0.003)


def python_balance(bars):
    """W1 (bench_strategies.w1_python) on a generated path."""
    o, _, _, c = (list(x) for x in zip(*bars))
    return w1_python(o, c)


def run(strategy, leverage, threads, n=PATHS):
    t = time.perf_counter()
    r = perpsim.monte_carlo(
        strategy,
        perpsim.BTCUSDT,
        MODEL,
        n_paths=n,
        n_bars=BARS,
        seed=1,
        threads=threads,
        leverage=leverage,
        funding=0.0001,
        progress=False,
    )
    return time.perf_counter() - t, r


def child() -> None:
    """The 10,000-path grid run alone, for its peak memory."""
    run(GRID, 5, None)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main() -> None:
    if "--child" in sys.argv:
        child()
        return
    cores = os.cpu_count() or 1
    rows = []
    results = {}
    for name, (strategy, lev) in RUNS.items():
        for threads in (1, cores):
            t, r = run(strategy, lev, threads)
            results[(name, threads)] = r
            s = r.summary()
            note = f"{s['mean_fills']:,.0f} fills/path, P(liquidation) {s['p_liquidation']:.1%}"
            rows.append((f"{name}: perpsim, {threads} thread{'s' if threads > 1 else ''}", t, threads, note))
        a, b = results[(name, 1)].paths, results[(name, cores)].paths
        assert a.equals(b), "thread count changed the paths"
    # plain Python on a few paths, extrapolated
    k = 3
    rng = random.Random(1)
    t = time.perf_counter()
    for _ in range(k):
        python_grid(python_path(rng, BARS))
    per = (time.perf_counter() - t) / k
    rows.append((f"grid: plain Python ({k} paths, extrapolated to {PATHS:,})", per * PATHS, 1, "next-bar refills"))
    t = time.perf_counter()
    for _ in range(k):
        python_balance(python_path(rng, BARS))
    per = (time.perf_counter() - t) / k
    rows.append((f"balance: plain Python ({k} paths, extrapolated to {PATHS:,})", per * PATHS, 1, ""))
    base = subprocess.run(
        [sys.executable, "-c", "import resource, perpsim; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
        capture_output=True,
        text=True,
        check=True,
    )
    peak = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, check=True)
    py = platform.python_version()
    print(f"machine: {platform.machine()}, {cores} cores, Python {py}, perpsim {perpsim.__version__}\n")
    head = f"{PATHS:,} paths × {BARS:,} hourly bars, GBM σ {VOL}, funding 0.01 %/8 h"
    print(f"| {head} | time | path-bars/s | per core | note |")
    print("|---|---|---|---|---|")
    pb = PATHS * BARS
    for name, t, threads, note in rows:
        print(f"| {name} | {t:,.2f} s | {pb / t / 1e6:,.1f} million | {pb / t / 1e6 / threads:,.1f} million | {note} |")
    g1, g2 = rows[0][1], rows[1][1]
    b1, b2 = rows[2][1], rows[3][1]
    print(f"\nspeed-up on {cores} cores: grid {g1 / g2:.2f}x, balance {b1 / b2:.2f}x")
    print(
        f"peak memory (max RSS) of the {PATHS:,}-path grid run: {int(peak.stdout.split()[-1]) / 1024:,.0f} MB "
        f"(Python + numpy + pandas + perpsim imported alone: {int(base.stdout.split()[-1]) / 1024:,.0f} MB)"
    )


if __name__ == "__main__":
    main()
