"""A/B of two perpsim builds on the W2 grid year (525,600 one-minute bars, 100-level neutral grid,
the workload of benches/bench_strategies.py): each build in its own Python (a venv where it is
installed), interleaved rep by rep in one run, so that a change can be shown not to be slower.

    python benches/ab_w2.py --a /path/to/old/venv/bin/python --b /path/to/new/venv/bin/python [--reps 7]

Times per build: the backtest call alone (the engine run with one equity row per bar, no table
built) and end to end (equity, fills, orders and stats read). Best and median of the reps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

WORKER = r"""
import json, sys, time
sys.path.insert(0, {here!r})
import numpy as np, perpsim
from bench_matching import year_of_bars
np.seterr(all="ignore")
bars = year_of_bars()
o0 = float(bars["open"].iloc[0])
grid = perpsim.Grid(0.7 * o0, 1.3 * o0, 100, qty=0.01)
loose = perpsim.Contract("ASSET", brackets=((0, 1_000, 0.0001),))
kw = dict(contract=loose, initial_balance=10_000, leverage=1_000, maker_fee=0.0002, taker_fee=0.0002, liquidation=False)
def once():
    t = time.perf_counter()
    r = perpsim.backtest(bars, grid, **kw)
    t1 = time.perf_counter()
    r.equity, r.fills, r.orders, r.stats
    t2 = time.perf_counter()
    return t1 - t, t2 - t, int(r.stats["fills"]), float(r.stats["final_equity"])
once()
for line in sys.stdin:
    print(json.dumps(once()), flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="python of build A (before)")
    ap.add_argument("--b", required=True, help="python of build B (after)")
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    code = WORKER.format(here=str(HERE))
    workers = {
        k: subprocess.Popen([py, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for k, py in (("A", args.a), ("B", args.b))
    }
    times = {k: [] for k in workers}
    last = {}
    for _ in range(args.reps):
        for k, w in workers.items():  # interleaved: A, B, A, B, ...
            assert w.stdin is not None and w.stdout is not None
            w.stdin.write("go\n")
            w.stdin.flush()
            call, e2e, fills, eq = json.loads(w.stdout.readline())
            times[k].append((call, e2e))
            last[k] = (fills, eq)
    for w in workers.values():
        assert w.stdin is not None
        w.stdin.close()
        w.wait()
    print("| build | backtest call best / median | end to end best / median | fills | final equity |")
    print("|---|---|---|---|---|")
    for k in workers:
        c = [t[0] * 1e3 for t in times[k]]
        e = [t[1] * 1e3 for t in times[k]]
        f, q = last[k]
        print(
            f"| {k} | {min(c):.1f} / {statistics.median(c):.1f} ms | {min(e):.1f} / {statistics.median(e):.1f} ms "
            f"| {f} | {q:,.6f} |"
        )
    ratio = min(t[0] for t in times["B"]) / min(t[0] for t in times["A"])
    print(f"\nbacktest call, best B / best A: {ratio:.3f}")


if __name__ == "__main__":
    sys.exit(main())
