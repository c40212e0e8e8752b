"""A grid's parameters chosen by walk-forward on the real 2024 BTCUSDT hourly bars, then the
robustness of what came out: trade shuffles and bootstraps (risk of ruin, drawdown distribution),
the sensitivity of the last choice, its deflated Sharpe ratio, and the Monte Carlo probability of
liquidation of the last chosen grid over the next 90 days. One HTML report.

    python examples/walk_forward_study.py          # PERPSIM_QUICK=1 for fewer sets and paths
"""

import os

import numpy as np
import pandas as pd
import perpsim
from perpsim import Grid, robustness
from perpsim.report import study_report

quick = bool(os.environ.get("PERPSIM_QUICK"))
bars = perpsim.data.sample("BTCUSDT", "1h")
funding = perpsim.data.sample_funding("BTCUSDT")
account = dict(contract=perpsim.BTCUSDT, leverage=3, funding=funding)


def grid(start_price: float, width: float, grid_count: int) -> Grid:
    """A neutral grid centred on the window's first open, ``width`` either side."""
    return Grid(start_price * (1 - width), start_price * (1 + width), grid_count, quote_per_grid=300)


params = {"width": [0.05, 0.10, 0.20], "grid_count": [10, 30]}
if not quick:
    params = {"width": [0.04, 0.06, 0.08, 0.10, 0.15, 0.20, 0.30], "grid_count": [8, 15, 30, 60, 100]}

# 1. Walk-forward: 90 days of training, 30 days of trading, stepping by 30 days.
wf = perpsim.walk_forward(grid, params, bars, train="90D", test="30D", objective="calmar", **account)
w = wf.windows
print(f"walk-forward: {len(w)} windows, {len(wf.sweeps[0])} sets each; chosen per window:")
print(w[["test_start", "width", "grid_count", "in_sample", "out_of_sample", "return"]].to_string(index=False))
print(f"out-of-sample return {wf.stats['total_return']:+.2%}, max drawdown {wf.stats['max_drawdown']:.2%}")
print(f"overfitting gap (out-of-sample / in-sample calmar): {wf.gap:.2f}")

# 2. Robustness of the out-of-sample trades.
shuffled = robustness.trade_resampling(wf, n=2_000 if quick else 20_000, how="shuffle", seed=1)
booted = robustness.trade_resampling(wf, n=2_000 if quick else 20_000, how="bootstrap", seed=1)
print(f"trade bootstrap: risk of ruin (half the balance) {booted.risk_of_ruin:.2%}")

# 3. Sensitivity of the last choice, on its own training window.
last = w.iloc[-1]
train = bars[(bars.index >= last["train_start"]) & (bars.index < last["train_end"])]
chosen = {"width": float(last["width"]), "grid_count": int(last["grid_count"])}
sens = robustness.sensitivity(
    grid,
    chosen,
    {"width": [-0.3, -0.15, 0.0, 0.15, 0.3], "grid_count": [-0.5, -0.25, 0.0, 0.25, 0.5]},
    train,
    fixed={"start_price": float(train["open"].iloc[0])},
    progress=False,
    **account,
)

# 4. Deflated Sharpe of that choice: the best of the sets tried on that window.
table = wf.sweeps[-1]
best = perpsim.backtest(train, grid(float(train["open"].iloc[0]), **chosen), **account)
r = best.equity["equity"].pct_change().dropna()
dsr = robustness.deflated_sharpe(
    float(best.stats["sharpe"]),
    len(table),
    table["sharpe"].dropna().to_numpy(),
    len(r),
    skew=float(r.skew()),
    kurtosis=float(r.kurt()) + 3.0,
    periods_per_year=365 * 24,
)
print(f"deflated Sharpe of the last choice ({len(table)} sets tried): {dsr:.2f}")

# 5. Monte Carlo: the last chosen grid over the next 90 days, bootstrap of 2024's bars.
s_end = float(bars["close"].iloc[-1])
mc = perpsim.monte_carlo(
    grid(s_end, **chosen),
    model=perpsim.Bootstrap(bars, block=24),
    n_paths=300 if quick else 5_000,
    n_bars=90 * 24,
    seed=7,
    start=bars.index[-1] + pd.Timedelta("1h"),
    keep_curves=40,
    progress=False,
    **account,
)
mcs = mc.summary()
p_liq, median = mcs["p_liquidation"], mcs["total_return_q50"]
print(f"Monte Carlo, next 90 days: P(liquidation) {p_liq:.2%}, median return {median:+.2%}")

summary = pd.Series(
    {
        "out-of-sample return": f"{wf.stats['total_return']:+.2%}",
        "out-of-sample max drawdown": f"{wf.stats['max_drawdown']:.2%}",
        "out-of-sample Sharpe": f"{wf.stats['sharpe']:.2f}",
        "overfitting gap (OOS / IS calmar)": f"{wf.gap:.2f}",
        "risk of ruin (trade bootstrap, half the balance)": f"{booted.risk_of_ruin:.2%}",
        "max drawdown, 95 % of trade bootstraps better than": f"{booted.summary['max_drawdown_q05']:.2%}",
        "deflated Sharpe of the last choice": f"{dsr:.2f}",
        "P(liquidation), next 90 days": f"{mcs['p_liquidation']:.2%}",
        "funding received (not in the trades)": f"{wf.stats['funding']:,.2f}",
    }
)
resampled = pd.DataFrame({"shuffle": shuffled.summary, "bootstrap": booted.summary}).reset_index(names="figure")
page = study_report(
    "Walk-forward grid on BTCUSDT 2024",
    [
        ("The answer", summary),
        ("Out-of-sample equity (each window traded with the set chosen on the 90 days before)", wf.plot()),
        ("Windows", w),
        ("Out-of-sample figures (engine statistics of the stitched curve)", wf.stats),
        ("Trade resampling (out-of-sample round trips)", resampled),
        (
            f"Sensitivity of the last choice (width {chosen['width']:.2f}, {chosen['grid_count']} grids), calmar",
            robustness.heatmap(sens, "grid_count", "width", "calmar"),
        ),
        ("Monte Carlo of the last choice, next 90 days (block bootstrap of 2024)", mc.plot()),
        ("Monte Carlo summary", mcs),
    ],
    path="walk-forward-study.html",
    subtitle=f"{len(bars):,} hourly bars · {len(w)} windows · {len(wf.sweeps[0])} sets per window · leverage 3",
)
assert np.isfinite(wf.stats["final_equity"])
print("report: walk-forward-study.html")
