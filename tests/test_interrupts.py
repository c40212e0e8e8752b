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

import perpsim
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


# A Ctrl-C that is already pending when the engine is called: every C-API call that checks for
# signals (str(), repr(), an isinstance that runs Python code, numpy's first import of its C API)
# runs the handler there. Its exception must come out of the call, never be printed as
# "Exception ignored" while the call goes on as if nothing had happened (a lost Ctrl-C, and a
# symbol named "<unprintable str object>"), and never turn into a panic.

PENDING = """
import ctypes, functools, operator, signal, sys
import numpy as np, pandas as pd, perpsim
from perpsim import _core
from perpsim._protocol import StrategyInputs
from perpsim.exchange import Exchange


class CtrlC(BaseException):
    pass


def handler(signum, frame):
    raise CtrlC


unraisable = []
sys.unraisablehook = lambda u: unraisable.append(repr(u.exc_value))
pend = ctypes.pythonapi.PyErr_SetInterrupt
pend.argtypes, pend.restype = [], None
call = operator.methodcaller("__call__")


def with_ctrl_c_pending(fn):
    # the interrupt is made pending, then fn is called, with no Python bytecode in between (map,
    # methodcaller and partial are C): the first signal check is the engine's own
    list(map(call, [pend, fn]))


bars = perpsim.data.sample("BTCUSDT", "1h").iloc[:300]
ex = Exchange(perpsim.BTCUSDT, initial_balance=10_000.0, leverage=20)
cols = ex._columns(bars, None, None)
grids = [perpsim.Grid(30_000, 110_000, n, qty=0.004) for n in (20, 30)]
balance = perpsim.Rebalance(target_ratio={"BTCUSDT": 0.5}, adjust_ratio=0.05)
model = perpsim.GBM(volatility=0.6, s0=60_000.0)
calls = {
    "sweep_data": functools.partial(_core._sweep_data, ex, cols, grids, StrategyInputs(), threads=1),
    "sweep_data_balance": functools.partial(_core._sweep_data, ex, cols, [balance] * 2, StrategyInputs(), threads=1),
    "run_strategy": functools.partial(ex._run_strategy, cols, grids[0], StrategyInputs()),
    "check_strategy": functools.partial(_core.check_strategy, balance),
}
signal.signal(signal.SIGINT, handler)
for name in sys.argv[1].split(","):
    try:
        with_ctrl_c_pending(calls[name])
        print(name, "completed", unraisable, flush=True)
    except CtrlC:
        print(name, "raised", unraisable, flush=True)
"""


@pytest.mark.parametrize(
    "names",
    [
        "sweep_data",  # a fresh process: the engine's first numpy call
        "run_strategy",
        "check_strategy",
        "run_strategy,sweep_data,sweep_data_balance,check_strategy",
    ],
)
def test_a_ctrl_c_pending_when_the_engine_is_called_is_raised_from_it(names):
    p = subprocess.run([sys.executable, "-c", PENDING, names], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "panicked" not in p.stderr, p.stderr[-3000:]
    lines = p.stdout.splitlines()
    assert lines == [f"{n} raised []" for n in names.split(",")], p.stdout + p.stderr[-3000:]


class _CtrlCWhileRead:
    """A number whose reading is interrupted: Python code runs there, and a Ctrl-C comes."""

    def __float__(self):
        raise KeyboardInterrupt("while the field was read")

    def __index__(self):
        raise KeyboardInterrupt("while the field was read")


@pytest.mark.parametrize(
    "make",
    [
        lambda x: perpsim.Grid(x, 110.0, 10, qty=0.01),  # a number field
        lambda x: perpsim.Grid(90.0, 110.0, x, qty=0.01),  # an integer field
        lambda x: perpsim.Contract("X", maker_fee=x),  # a contract's number
    ],
    ids=["number", "count", "contract"],
)
def test_a_ctrl_c_while_a_field_is_read_is_not_turned_into_a_field_error(make):
    # Decision 138: a KeyboardInterrupt is no error of the value; it is raised as it came.
    with pytest.raises(KeyboardInterrupt, match="while the field was read"):
        make(_CtrlCWhileRead())
