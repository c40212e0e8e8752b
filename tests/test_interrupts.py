"""No silent wrong answer, class 5: Ctrl-C stops a long run within a second (the engine looks at
its interrupt flag at every step; the calling thread looks for the signal every 50 ms), raises
KeyboardInterrupt (no partial result returned as if complete) and leaves nothing running. Each case
runs in a child process that is sent SIGINT while the run is under way."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")

CHILD = """
import resource, sys, time
import numpy as np, pandas as pd, perpsim
{setup}
print("start", flush=True)
try:
{run}
    print("completed", flush=True)
except KeyboardInterrupt:
    t = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    time.sleep(0.5)
    busy = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu
    print("interrupted", repr(time.perf_counter()), "busy", round(busy, 3), flush=True)
"""


def interrupt_after(setup: str, run: str, seconds: float = 1.5) -> tuple[float, float]:
    """Sends SIGINT `seconds` after the run starts; returns (seconds from the signal to the
    KeyboardInterrupt, CPU seconds used in the half second after it)."""
    code = CHILD.format(setup=textwrap.dedent(setup), run=textwrap.indent(textwrap.dedent(run), "    "))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start"
    time.sleep(seconds)
    sent = time.perf_counter()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err[-2000:]
    words = out.split()
    assert words[0] == "interrupted", out + err[-2000:]
    return float(words[1]) - sent, float(words[3])


def test_ctrl_c_stops_a_monte_carlo_run_within_a_second():
    lag, busy = interrupt_after(
        """
        m = perpsim.GBM(volatility=0.6, s0=60_000.0)
        g = perpsim.Grid(42_000, 78_000, 100, qty=0.003)
        """,
        """
        perpsim.monte_carlo(g, perpsim.BTCUSDT, m, n_paths=50_000, n_bars=8_760, seed=1, leverage=5, progress=False)
        """,
    )
    assert lag < 1.0, lag
    assert busy < 0.05, busy  # no worker thread still computing


def test_ctrl_c_stops_a_sweep_on_data_within_a_second():
    lag, busy = interrupt_after(
        """
        bars = perpsim.data.sample("BTCUSDT", "1h")
        """,
        """
        perpsim.sweep(perpsim.Grid, {"grid_count": list(range(20, 4_000))}, data=bars, contract=perpsim.BTCUSDT,
                      fixed=dict(lower=30_000, upper=110_000, qty=0.004, max_grids=4_000), leverage=20)
        """,
    )
    assert lag < 1.0, lag
    assert busy < 0.05, busy


def test_ctrl_c_stops_a_python_strategy_that_only_watches_fills():
    lag, busy = interrupt_after(
        """
        n = 3_000_000
        idx = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC")
        c = 100 + np.sin(np.arange(n) / 50.0)
        bars = pd.DataFrame({"open": c, "high": c + 0.1, "low": c - 0.1, "close": c}, index=idx)

        class OnlyFills:
            def on_start(self, ex):
                for k in range(1, 40):
                    ex.limit("ASSET", "buy", 99.0 + k * 0.05, 0.01)

            def on_fill(self, ex, fill):
                side = "sell" if fill["side"] == "buy" else "buy"
                step = 0.05 if side == "sell" else -0.05
                ex.limit("ASSET", side, float(fill["price"]) + step, 0.01)
        """,
        """
        for _ in range(20):
            perpsim.backtest(bars, OnlyFills(), record="1D", leverage=10)
        """,
    )
    assert lag < 1.0, lag
    assert busy < 0.05, busy
