"""A/B of two perpsim builds on a year of one-minute bars (525,600; the workloads of
benches/bench_strategies.py: W2, the 100-level neutral grid, or W1, the threshold rebalance): each
build in its own Python (a venv where it is installed), interleaved rep by rep in one run, so that
a change can be shown not to be slower.

    python benches/ab.py --a /path/to/old/venv/bin/python --b /path/to/new/venv/bin/python \
        [--workload w2|w1] [--reps 7] [--pairs 1]

Times per build: the backtest call alone (the engine run with one equity row per bar, no table
built) and end to end (equity, fills, orders and stats read). Best and median of the reps, and
the paired ratio B / A of the calls (rep k of B over rep k of A, taken one after the other): on a
shared machine whose speed drifts by tens of percent within a minute, its median and quartiles
resolve a change of a few percent that the best and median of each build do not. A process
keeps a bias of its own (two workers of one build differ by up to ~10 % here): ``--pairs 8`` runs
eight fresh pairs, the order swapped every pair, and gives the geometric mean of their median
paired ratios with its standard error (benches/README, session of 2026-12-06 (second)).
"""

from __future__ import annotations

import argparse
import json
import math
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
loose = perpsim.Contract("ASSET", brackets=((0, 1_000, 0.0001),))
if {workload!r} == "w2":
    strategy, fee, cash = perpsim.Grid(0.7 * o0, 1.3 * o0, 100, qty=0.01), 0.0002, 10_000
else:  # W1 with a cushion of 1,000,000 (as the shared harness): every adjustment is margined
    strategy, fee, cash = perpsim.Rebalance(target_value=20_000, adjust_ratio=0.01), 0.0005, 1_010_000
kw = dict(contract=loose, initial_balance=cash, leverage=1_000, maker_fee=fee, taker_fee=fee, liquidation=False)
def once():
    t = time.perf_counter()
    r = perpsim.backtest(bars, strategy, **kw)
    t1 = time.perf_counter()
    r.equity, r.fills, r.orders, r.stats
    t2 = time.perf_counter()
    return t1 - t, t2 - t, int(r.stats["fills"]), float(r.stats["final_equity"])
once()
for line in sys.stdin:
    print(json.dumps(once()), flush=True)
"""


def run_pair(code: str, pythons: dict, order: tuple, reps: int) -> dict:
    """One pair of fresh workers, called in turn in ``order`` for ``reps`` rounds: each build's
    (call, end to end) times, and its last (fills, final equity)."""
    workers = {
        k: subprocess.Popen([pythons[k], "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for k in order
    }
    times: dict = {k: [] for k in workers}
    last = {}
    for _ in range(reps):
        for k, w in workers.items():  # interleaved: A, B, A, B, ... (or B, A, ...)
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
    return {k: (times[k], last[k]) for k in ("A", "B")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="python of build A (before)")
    ap.add_argument("--b", required=True, help="python of build B (after)")
    ap.add_argument("--workload", choices=("w2", "w1"), default="w2")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument(
        "--pairs",
        type=int,
        default=1,
        help="fresh pairs of workers, the order swapped every pair (a process keeps a bias of its "
        "own, up to ~10 %% between two of one build here: several pairs average it out)",
    )
    args = ap.parse_args()
    code = WORKER.format(here=str(HERE), workload=args.workload)
    pythons = {"A": args.a, "B": args.b}
    times: dict = {"A": [], "B": []}
    last = {}
    logs = []  # per pair: log of the median paired ratio B / A of the calls
    for p in range(args.pairs):
        got = run_pair(code, pythons, ("A", "B") if p % 2 == 0 else ("B", "A"), args.reps)
        for k in times:
            times[k].extend(got[k][0])
            last[k] = got[k][1]
        paired = [b[0] / a[0] for a, b in zip(got["A"][0], got["B"][0])]
        logs.append(math.log(statistics.median(paired)))
    print("| build | backtest call best / median | end to end best / median | fills | final equity |")
    print("|---|---|---|---|---|")
    for k in times:
        c = [t[0] * 1e3 for t in times[k]]
        e = [t[1] * 1e3 for t in times[k]]
        f, q = last[k]
        print(
            f"| {k} | {min(c):.1f} / {statistics.median(c):.1f} ms | {min(e):.1f} / {statistics.median(e):.1f} ms "
            f"| {f} | {q:,.6f} |"
        )
    ratio = min(t[0] for t in times["B"]) / min(t[0] for t in times["A"])
    print(f"\n{args.workload}, backtest call, best B / best A: {ratio:.3f}")
    paired = [b[0] / a[0] for a, b in zip(times["A"], times["B"])]
    if len(paired) >= 4:
        q1, q2, q3 = statistics.quantiles(paired, n=4)
        print(f"paired B / A, median [quartiles]: {q2:.3f} [{q1:.3f}, {q3:.3f}] over {len(paired)} rounds")
    if len(logs) >= 2:
        se = statistics.stdev(logs) / math.sqrt(len(logs))
        per = " ".join(f"{math.exp(x):.3f}" for x in logs)
        print(f"B / A over {len(logs)} fresh pairs: {math.exp(statistics.mean(logs)):.3f} (± {se:.1%}); per pair {per}")


if __name__ == "__main__":
    sys.exit(main())
