"""Every example in examples/ runs (in a scratch directory, Monte Carlo in quick mode) and prints
what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import perpsim
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CASES = {
    "balance_perpetual.py": ["market orders: final equity 25,937.88", "resting limits", "report:"],
    "grid_trailing_1m.py": ["trailing off", "trailing on", "trailing moves"],
    "deviation_risk_table.py": ["loss_multiple", "0.05", "0.40"],
    "basis_inverse.py": ["held to settlement", "settled 1", "BTCUSD_240628"],
    "montecarlo_liquidation.py": ["P(liquidation)", "bootstrap (24 h blocks)", "balance 2x"],
    "walk_forward_study.py": ["walk-forward: 10 windows", "overfitting gap", "deflated Sharpe", "P(liquidation)"],
    "trade_mining.py": ["without the rebate", "optimum order size: simulated", "G summed day by day"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs(name, tmp_path):
    # the subprocess imports the same perpsim as this test process
    pkg = str(Path(perpsim.__file__).resolve().parent.parent)
    path = os.pathsep.join([pkg] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    env = dict(os.environ, PERPSIM_QUICK="1", MPLBACKEND="Agg", PYTHONPATH=path)
    # a doubtful result is an error here, and no other warning may be printed
    cmd = [sys.executable, "-W", "error::perpsim.PerpsimWarning", str(EXAMPLES / name)]
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "Warning" not in p.stderr, p.stderr
    for text in CASES[name]:
        assert text in p.stdout, (text, p.stdout)
    for line in p.stdout.splitlines():
        if line.startswith("report: "):
            assert (tmp_path / line.split(": ", 1)[1]).stat().st_size > 10_000


def test_every_example_is_tested():
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(CASES)
