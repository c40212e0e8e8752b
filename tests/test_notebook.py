"""Notebook fit: results render in Jupyter (``_repr_html_``: the headline figures and a small
chart), ``report()`` writes a file and returns its path (default name in the working directory),
and ``perpsim --version`` answers."""

from __future__ import annotations

import subprocess
import sys

import perpsim
import pytest

BARS = perpsim.data.sample("BTCUSDT").iloc[:600]


def grid_result():
    return perpsim.backtest(BARS, perpsim.Grid(40_000, 46_000, 20, qty=0.01), contract=perpsim.BTCUSDT, leverage=5)


def test_a_result_renders_its_figures_and_a_chart():
    r = grid_result()
    html = r._repr_html_()
    assert "perpsim Result" in html and "data:image/png;base64," in html
    assert "final_equity" in html and f"{r.stats['final_equity']:,.4f}" in html
    assert "<html" not in html  # a fragment for a cell, not a page
    assert len(html) < 200_000


def grid_paths(**kw):
    grid, model = perpsim.Grid(40_000, 46_000, 20, qty=0.01), perpsim.GBM(0.6, s0=43_000)
    return perpsim.monte_carlo(grid, perpsim.BTCUSDT, model, progress=False, **kw)


def test_a_montecarlo_result_renders_its_risk_and_fan():
    html = grid_paths(n_paths=30, n_bars=200, keep_curves=10)._repr_html_()
    assert "p_liquidation" in html and "data:image/png;base64," in html
    assert "keep_curves" in grid_paths(n_paths=5, n_bars=50)._repr_html_()  # no curve kept: says how


def test_report_writes_a_file_and_returns_its_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = grid_result()
    assert r.report() == "perpsim-report.html"
    assert (tmp_path / "perpsim-report.html").read_text().startswith("<!DOCTYPE html>")
    named = r.report(tmp_path / "named.html", title="mine")
    assert named == str(tmp_path / "named.html") and "mine" in (tmp_path / "named.html").read_text()


def test_version():
    p = subprocess.run([sys.executable, "-m", "perpsim", "--version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == f"perpsim {perpsim.__version__}"


def test_csv_round_trips_of_the_library_s_own_tables(tmp_path):
    bars = perpsim.data.sample("BTCUSDT").iloc[:100]
    unnamed = bars.rename_axis(None)
    unnamed.to_csv(tmp_path / "unnamed.csv")  # the index saved without a name
    bars.to_csv(tmp_path / "named.csv")
    for name in ("unnamed.csv", "named.csv"):
        back = perpsim.data.load_bars(tmp_path / name)
        assert (back.index == bars.index).all()
        assert (back.to_numpy() == bars.to_numpy()).all()  # to_csv writes floats exactly
    rates = perpsim.data.sample_funding("BTCUSDT").iloc[:30]
    rates.to_csv(tmp_path / "rates.csv")
    back = perpsim.data.load_funding(tmp_path / "rates.csv")
    assert (back.index == rates.index).all() and (back.to_numpy() == rates.to_numpy()).all()
    # a column of numbers saved without a name is not taken for times
    import pandas as pd

    pd.DataFrame({"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0]}).to_csv(tmp_path / "plain.csv")
    with pytest.raises(perpsim.InvalidInputError, match="no time column"):
        perpsim.data.load_bars(tmp_path / "plain.csv")
