"""Benchmark (issue 15): a 10,000-set grid sweep on a year of one-minute bars (525,600; the
Workloads' synthetic year), on all cores, with the progress bar; the time per set against one
backtest of the same grid in the same process, and the memory the sweep adds (peak RSS after it
less before it: one row per set, nothing per bar kept).

    python benches/bench_sweep.py [--sets 10000] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np
import perpsim
from bench_matching import year_of_bars
from perpsim import Grid


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args()
    bars = year_of_bars()
    s0 = float(bars["open"].iloc[0])
    side = int(round(np.sqrt(a.sets)))
    counts = np.linspace(20, 200, side).round().astype(int).tolist()
    widths = np.linspace(0.1, 0.5, a.sets // side).tolist()
    params = {"grid_count": counts, "width": widths}

    def grid(width: float, grid_count: int) -> Grid:
        return Grid(s0 * (1 - width), s0 * (1 + width), grid_count, qty=0.01)

    kw = dict(contract=perpsim.BTCUSDT, initial_balance=1_000_000, leverage=5)
    one = grid(0.3, 100)
    perpsim.backtest(bars, one, **kw)  # warm up
    t = time.perf_counter()
    r = perpsim.backtest(bars, one, **kw)
    one_s = time.perf_counter() - t
    _ = r.stats
    before = peak_rss_mib()
    t = time.perf_counter()
    table = perpsim.sweep(grid, params, data=bars, threads=a.threads, progress=not a.no_progress, **kw)
    took = time.perf_counter() - t
    after = peak_rss_mib()
    n = len(table)
    cores = a.threads or os.cpu_count()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; perpsim {perpsim.__version__}")
    print(f"bars: {len(bars):,}; sets: {n:,} ({side} grid counts 20-200 x {n // side} widths 10-50 %)")
    print(f"one backtest (a 100-level grid of the sweep, tables not built): {one_s * 1e3:.1f} ms")
    per, core = took / n * 1e3, took * cores / n * 1e3
    print(f"sweep: {took:.1f} s on {cores} threads = {per:.2f} ms a set ({core:.1f} ms of a core)")
    print(f"fills per set: median {int(np.median(table['fills'])):,}, max {int(table['fills'].max()):,}")
    print(f"peak RSS before the sweep {before:,.0f} MiB, after {after:,.0f} MiB (+{after - before:,.0f} MiB)")
    mib = table.memory_usage(deep=True).sum() / 2**20
    print(f"table: {table.shape[0]:,} rows x {table.shape[1]} columns, {mib:.1f} MiB")


if __name__ == "__main__":
    main()
