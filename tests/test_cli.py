"""The command line: every example configuration runs (backtest and Monte Carlo) and writes its
report; the calculators print the library's numbers; --help everywhere; bad input exits 2 with one
line and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import perpsim
import pytest
from perpsim import calc
from perpsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "examples" / "configs"
BACKTESTS = ["grid", "grid_trailing_1m", "balance", "index_deviation", "basis", "target_positions"]


@pytest.mark.parametrize("name", BACKTESTS)
def test_every_backtest_config_runs_and_writes_its_report(name, tmp_path, capsys):
    out = tmp_path / f"{name}.html"
    fills = tmp_path / "fills.csv"
    code = main(["backtest", str(CONFIGS / f"{name}.toml"), "--report", str(out)])
    assert code == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "final_equity" in text and "sharpe" in text
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("Plotly.newPlot") == 2  # interactive charts
    assert "<h2>Fills" in html and "<h2>Monthly returns" in html and "<h2>Round trips" in html
    assert not fills.exists()


@pytest.mark.parametrize("name", ["montecarlo_grid", "montecarlo_balance"])
def test_montecarlo_configs_run(name, tmp_path, capsys):
    out = tmp_path / "mc.html"
    png = tmp_path / "mc.png"
    code = main(["montecarlo", str(CONFIGS / f"{name}.toml"), "--paths", "60", "--report", str(out), "--png", str(png)])
    assert code == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "p_liquidation" in text
    assert out.read_text().count("Plotly.newPlot") == 3 and png.stat().st_size > 10_000


def test_calculators_print_the_library_numbers(capsys):
    assert (
        main(
            [
                "calc",
                "grid",
                "--lower",
                "100",
                "--upper",
                "200",
                "--grids",
                "4",
                "--investment",
                "1000",
                "--leverage",
                "5",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "100, 125, 150, 175, 200" in out
    assert f"{calc.grid_quote_qty(1000, 5, 4):,.2f}" in out
    assert main(["calc", "liquidation", "--side", "long", "--qty", "1", "--entry", "50000", "--balance", "5000"]) == 0
    lp = calc.liquidation_price(perpsim.BTCUSDT, "long", 1, 50_000, 5_000)
    assert f"{lp:,.2f}" in capsys.readouterr().out
    assert main(["calc", "funding", "--qty", "-2", "--mark", "60000", "--rate", "0.0001"]) == 0
    assert "12" in capsys.readouterr().out  # a short receives 2 · 60,000 · 0.01 % = 12
    assert main(["calc", "mining", "--volume", "1000000", "--pool", "1000", "--price", "5", "--cost", "0.0005"]) == 0
    a = calc.trade_mining_optimum(1_000_000, 1000, 5, 0.0005)
    assert f"{a:,.2f}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["demo", "--help"],
        ["backtest", "--help"],
        ["montecarlo", "--help"],
        ["calc", "--help"],
        ["calc", "grid", "--help"],
        ["calc", "liquidation", "--help"],
        ["calc", "funding", "--help"],
        ["calc", "mining", "--help"],
    ],
)
def test_help_on_every_command(args, capsys):
    assert main(args) == 0
    assert "usage: perpsim" in capsys.readouterr().out


def write(tmp_path, text, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


GOOD = """
[data]
path = "bars.csv"
[strategy]
type = "grid"
lower = 90
upper = 110
grid_count = 10
qty = 1
"""


def bars_csv(tmp_path, header="timestamp,open,high,low,close"):
    rows = [header] + [f"2024-01-01T{h:02d}:00:00Z,100,101,99,100.5" for h in range(10)]
    (tmp_path / "bars.csv").write_text("\n".join(rows) + "\n")


def run_cli(args):
    return subprocess.run([sys.executable, "-m", "perpsim.cli", *args], capture_output=True, text=True, timeout=120)


def test_good_minimal_config_runs(tmp_path):
    bars_csv(tmp_path)
    p = run_cli(["backtest", write(tmp_path, GOOD), "-q"])
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize(
    "case, expect",
    [
        ("missing_config", "no such file"),
        ("missing_data", "no such file"),
        ("wrong_column", "missing column 'close'"),
        ("bad_toml", "not valid TOML"),
        ("impossible_grid", "upper"),
        ("unknown_key", "strategy.gird_count"),
        ("bad_strategy_type", "strategy.type"),
        ("bad_row", "row 3"),
    ],
)
def test_bad_input_exits_2_with_one_line(case, expect, tmp_path):
    bars_csv(tmp_path)
    if case == "missing_config":
        cfg = str(tmp_path / "nope.toml")
    elif case == "missing_data":
        cfg = write(tmp_path, GOOD.replace("bars.csv", "missing.csv"))
    elif case == "wrong_column":
        bars_csv(tmp_path, header="timestamp,open,high,low,last")
        cfg = write(tmp_path, GOOD)
    elif case == "bad_toml":
        cfg = write(tmp_path, GOOD + "\n[strategy\n")
    elif case == "impossible_grid":
        cfg = write(tmp_path, GOOD.replace("upper = 110", "upper = 80"))
    elif case == "unknown_key":
        cfg = write(tmp_path, GOOD.replace("grid_count", "gird_count"))
    elif case == "bad_strategy_type":
        cfg = write(tmp_path, GOOD.replace('"grid"', '"grdi"'))
    else:
        rows = (tmp_path / "bars.csv").read_text().splitlines()
        rows[4] = rows[4].replace(",101,", ",98,")  # high below the open: data row 3
        (tmp_path / "bars.csv").write_text("\n".join(rows) + "\n")
        cfg = write(tmp_path, GOOD)
    p = run_cli(["backtest", cfg])
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perpsim: error:"), p.stderr
    assert expect in lines[0], lines[0]
    assert "Traceback" not in p.stderr


def test_bad_cli_values_exit_2():
    for args in (["calc", "grid", "--lower", "x"], ["calc", "liquidation", "--side", "up"], ["backtest"]):
        p = run_cli(args)
        assert p.returncode == 2 and "Traceback" not in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1


def test_result_report_writes_html_and_png(tmp_path):
    bars = perpsim.data.sample("BTCUSDT").iloc[:500]
    r = perpsim.backtest(bars, perpsim.Grid(40_000, 46_000, 20, qty=0.01), contract=perpsim.BTCUSDT, leverage=5)
    path = r.report(str(tmp_path / "r.html"), png=True)
    assert path == str(tmp_path / "r.html")  # the report is written, its path returned
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "grid_matched_profit" in html
    png = (tmp_path / "r.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


# ----- class 7 of "no silent wrong answer": every user mistake exits 2 naming the key -------------

ACCOUNT = GOOD + '[account]\ninitial_balance = 10_000\nleverage = 5\n[run]\npath = "nearest_first"\n'


@pytest.mark.parametrize(
    "old, new, key",
    [
        ("leverage = 5", 'leverage = "ten"', "account.leverage"),
        ("initial_balance = 10_000", 'initial_balance = "10k"', "account.initial_balance"),
        ("leverage = 5", "leverage = 5\nmargin_mode = 7", "account.margin_mode"),
        ("leverage = 5", 'leverage = 5\nmaker_fee = "0.02%"', "account.maker_fee"),
        ('path = "nearest_first"', "path = 5", "run.path"),
        ('path = "nearest_first"', 'path = "nearest_first"\nslippage = true', "run.slippage"),
        ("lower = 90", "lower = true", "strategy.lower"),
        ("grid_count = 10", "grid_count = 10.5", "strategy.grid_count"),
        ("qty = 1", 'qty = "1"', "strategy.qty"),
        ('path = "bars.csv"', 'path = "bars.csv"\nresample = "7min"', "data.resample"),
        ('path = "bars.csv"', 'path = "bars.csv"\nresample = "0h"', "data.resample"),
        ('path = "bars.csv"', 'path = "bars.csv"\nstart = 5', "data.start"),
        ('path = "bars.csv"', 'path = "bars.csv"\nstart = "yesterday"', "data.start"),
        ('path = "bars.csv"', "path = 7", "data.path"),
        ("[account]", "[report]\nhtml = 5\n[account]", "report.html"),
    ],
)
def test_wrong_typed_configuration_values_exit_2_naming_the_key(old, new, key, tmp_path):
    bars_csv(tmp_path)
    assert old in ACCOUNT
    p = run_cli(["backtest", write(tmp_path, ACCOUNT.replace(old, new, 1)), "-q"])
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"perpsim: error: {key}:"), p.stderr


def test_a_report_is_not_overwritten_without_force(tmp_path):
    bars_csv(tmp_path)
    cfg = write(tmp_path, GOOD)
    out = tmp_path / "r.html"
    out.write_text("keep me")
    p = run_cli(["backtest", cfg, "-q", "--report", str(out)])
    assert p.returncode == 2 and "exists; pass --force" in p.stderr and out.read_text() == "keep me"
    p = run_cli(["backtest", cfg, "-q", "--report", str(out), "--force"])
    assert p.returncode == 0 and out.read_text().startswith("<!DOCTYPE html>")
    p = run_cli(["backtest", cfg, "-q", "--report", str(tmp_path / "other.html")])  # a distinct name
    assert p.returncode == 0


def test_montecarlo_needs_its_table_and_does_not_touch_the_backtest_report(tmp_path):
    bars_csv(tmp_path)
    report = tmp_path / "bt.html"
    cfg = write(tmp_path, GOOD + f'[report]\nhtml = "{report}"\n')
    assert run_cli(["backtest", cfg, "-q"]).returncode == 0
    before = report.read_text()
    p = run_cli(["montecarlo", cfg, "-q"])
    assert p.returncode == 2 and "no [montecarlo] table" in p.stderr
    assert report.read_text() == before


@pytest.mark.parametrize(
    "args",
    [
        ["montecarlo", "x.toml", "--threads", "0"],
        ["montecarlo", "x.toml", "--paths", "-5"],
        ["montecarlo", "x.toml", "--seed", "-1"],
        ["calc", "grid", "--lower", "1", "--upper", "2", "--grids", "1"],
    ],
)
def test_out_of_range_command_line_numbers_exit_2(args):
    p = run_cli(args)
    assert p.returncode == 2 and "expected a whole number" in p.stderr and "Traceback" not in p.stderr


def test_a_doubtful_backtest_prints_its_warnings_on_one_line_each(tmp_path):
    bars_csv(tmp_path)
    cfg = write(tmp_path, GOOD.replace("qty = 1", "qty = 1_000"))  # no margin holds 1,000 per order
    p = run_cli(["backtest", cfg])
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip().splitlines() == [
        line for line in p.stderr.strip().splitlines() if line.startswith("perpsim: warning: ")
    ]
    assert "orders were rejected or not sent" in p.stderr
    assert "warnings:" in p.stdout and "insufficient margin" in p.stdout  # the summary lists them


def test_fee_tiers_from_the_account_table(tmp_path):
    bars_csv(tmp_path)
    tiers = "[account]\nfee_tiers = [[0, 0.0002, 0.0005], [1000, 0.0, 0.0001]]\nvolume_30d = 5000\n"
    from perpsim.config import load

    cfg = load(write(tmp_path, GOOD + tiers))
    assert cfg.account["fee_tiers"] == perpsim.FeeTiers([(0, 0.0002, 0.0005), (1000, 0.0, 0.0001)], 5000)
    bad = tiers.replace("[[0,", "[[100,")
    p = run_cli(["backtest", write(tmp_path, GOOD + bad)])
    assert p.returncode == 2 and "account.fee_tiers" in p.stderr, p.stderr
