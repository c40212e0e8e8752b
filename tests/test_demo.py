"""The demo and the CLI: the balance strategy on the bundled real BTCUSDT 2024 sample, run on the
engine and on the exact reference ledger, pinned as a golden scenario."""

import subprocess
import sys

import perpsim
import pytest
from perpsim.data import sample, sample_funding
from perpsim.demo import run_balance, summary_table
from perpsim.reference import Exchange as Ledger

# Pinned from the reference ledger (exact fractions) on the bundled sample.
GOLDEN_FINAL_EQUITY = 25_937.88
GOLDEN_TRADES = 1_071


def test_bundled_sample_is_real_and_complete():
    bars = sample("BTCUSDT", "1h")
    assert len(bars) == 8_784 and bars.index.is_monotonic_increasing and bars.index.is_unique
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert bars["close"].iloc[0] == 42_503.5
    f = sample_funding("BTCUSDT")
    assert len(f) == 1_098 and f.abs().max() < 0.01


def test_demo_engine_matches_reference_and_golden():
    engine = run_balance()
    ref = run_balance(exchange_factory=Ledger)
    assert engine.trades == ref.trades == GOLDEN_TRADES
    e, r = engine.history, ref.history
    assert len(e) == len(r) == 8_784
    for col in ("equity", "wallet_balance", "realized_pnl", "fees", "funding"):
        assert e[col].iloc[-1] == pytest.approx(r[col].iloc[-1], rel=1e-9), col
    assert round(float(r["equity"].iloc[-1]), 2) == GOLDEN_FINAL_EQUITY
    assert "max drawdown" in summary_table(engine)


def test_cli_demo_runs_grid_and_balance_and_writes_reports(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "perpsim.cli", "demo", "-o", str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stderr
    # the built-in balance strategy reproduces the Python demo's golden figure
    assert "25,937.88" in p.stdout and "grid (long, 10x)" in p.stdout
    for name in ("grid", "balance"):
        html = (tmp_path / f"perpsim-demo-{name}.html").read_text()
        assert "Plotly.newPlot" in html and "final_equity" in html
        assert "<script src=" not in html  # plotly.js inline: the page works offline


def test_cli_bad_usage_exits_2():
    p = subprocess.run([sys.executable, "-m", "perpsim.cli", "nope"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_version():
    assert perpsim.__version__.count(".") == 2
