"""No abort, class 4: what a run needs is estimated before it starts and refused with
``OutOfMemoryError`` (a ``MemoryError``) when it cannot fit; an allocation that fails inside the
engine is the same error, never an abort of the interpreter. The low-memory cases run in a child
process whose address space is limited (RLIMIT_AS) just above what it already uses."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import perpsim
import pytest
from perpsim import GBM, Grid, InvalidInputError, OutOfMemoryError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")

CHILD = """
import resource, sys
import numpy as np, pandas as pd, perpsim

def limit(extra_mb):
    used = int(open("/proc/self/statm").read().split()[0]) * 4096
    resource.setrlimit(resource.RLIMIT_AS, (used + extra_mb * 2**20, resource.RLIM_INFINITY))

try:
{body}
    print("completed")
except perpsim.OutOfMemoryError as e:
    print("OutOfMemoryError", e.field, e)
except MemoryError as e:
    print("MemoryError", e)
"""


def child(body: str) -> subprocess.CompletedProcess:
    code = CHILD.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)


def test_a_backtest_whose_records_cannot_fit_is_refused_before_it_runs():
    p = child(
        """
        n = 5_000_000
        idx = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC")
        c = np.full(n, 100.0)
        bars = pd.DataFrame({"open": c, "high": c * 1.001, "low": c * 0.999, "close": c}, index=idx)
        limit(300)  # one equity row per step needs ~440 MB
        perpsim.backtest(bars, perpsim.Grid(90, 110, 10, qty=1.0))
        """
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.startswith("OutOfMemoryError record"), p.stdout + p.stderr[-2000:]
    assert "GiB available" in p.stdout


def test_the_same_backtest_recording_less_runs_in_that_memory():
    p = child(
        """
        n = 5_000_000
        idx = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC")
        c = np.full(n, 100.0)
        bars = pd.DataFrame({"open": c, "high": c * 1.001, "low": c * 0.999, "close": c}, index=idx)
        limit(300)
        r = perpsim.backtest(bars, perpsim.Grid(90, 110, 10, qty=1.0), record="1D")
        assert len(r.equity) == 3474, len(r.equity)  # 3,473 days and the last step
        """
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "completed", p.stdout + p.stderr[-2000:]


def test_monte_carlo_and_path_generation_that_cannot_fit_are_refused():
    m = GBM(volatility=0.01, s0=100.0)
    with pytest.raises(OutOfMemoryError, match="keeping 1000000 curves") as e:
        perpsim.monte_carlo(Grid(50, 150, 10, qty=1), "X", m, n_paths=10**7, n_bars=87_600, keep_curves=10**6)
    assert e.value.field == "n_paths" and isinstance(e.value, MemoryError)
    minutes = GBM(volatility=0.01, s0=100.0, interval="1min")
    with pytest.raises(OutOfMemoryError):  # 100 curves of 100 million bars
        perpsim.monte_carlo(Grid(50, 150, 10, qty=1), "X", minutes, n_paths=100, n_bars=10**8, keep_curves=100)
    with pytest.raises(InvalidInputError, match="beyond the representable times"):  # 114,000 years
        perpsim.monte_carlo(Grid(50, 150, 10, qty=1), "X", m, n_paths=100, n_bars=10**9, threads=1)
    with pytest.raises(OutOfMemoryError, match="the generated paths"):
        perpsim.montecarlo.simulate_paths(m, n_paths=10**6, n_bars=100_000)


def test_a_monte_carlo_run_under_a_memory_limit_is_refused_not_aborted():
    p = child(
        """
        limit(200)
        m = perpsim.GBM(volatility=0.5, s0=100.0)
        perpsim.monte_carlo(perpsim.Grid(50, 150, 10, qty=1), "X", m, n_paths=2_000, n_bars=8_760, keep_curves=2_000)
        """
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.startswith(("OutOfMemoryError", "MemoryError")), p.stdout + p.stderr[-2000:]


def test_an_allocation_that_fails_mid_run_stops_the_run_with_out_of_memory_and_the_next_run_works():
    p = child(
        """
        bars = perpsim.data.sample("BTCUSDT", "1h")
        grid = perpsim.Grid(30_000, 100_000, 5_000, qty=0.004, max_grids=5_000)  # 20,710 fills, 25,710 orders
        limit(3)  # room for the year's records, not for the fills and orders the run adds
        try:
            perpsim.backtest(bars, grid, contract=perpsim.BTCUSDT, leverage=20)
            print("no error")
        except perpsim.OutOfMemoryError as e:
            print("stopped:", e.field)
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        r = perpsim.backtest(bars, grid, contract=perpsim.BTCUSDT, leverage=20)
        print(len(r.fills))
        """
    )
    assert p.returncode == 0, p.stderr[-2000:]  # not -6 (SIGABRT)
    assert p.stdout.split("\n")[:3] == ["stopped: run", "20710", "completed"], p.stdout + p.stderr[-2000:]
