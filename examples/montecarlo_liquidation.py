"""Probability of liquidation over 90 days of hourly bars for a 5x long grid and a 2x balance
strategy, under a GBM calibrated to the real 2024 BTCUSDT volatility and under a stationary block
bootstrap of the real 2024 bars, side by side (funding resampled from the real 2024 rates).

    python examples/montecarlo_liquidation.py          # PERPSIM_QUICK=1 for fewer paths
"""

import os

import pandas as pd
import perpsim

n_paths = 300 if os.environ.get("PERPSIM_QUICK") else 5_000
bars = perpsim.data.sample("BTCUSDT", "1h")
funding = perpsim.data.sample_funding("BTCUSDT")
s0 = float(bars["close"].iloc[-1])
models = {
    "GBM (fitted vol)": perpsim.GBM.fit(bars),
    "bootstrap (24 h blocks)": perpsim.Bootstrap(bars, block=24),
}
strategies = {
    "long grid 5x": (perpsim.Grid(0.8 * s0, 1.15 * s0, 100, quote_per_grid=400, mode="long"), 5),
    "balance 2x": (perpsim.Rebalance(target_value=20_000, adjust_ratio=0.01), 2),
}
print(f"annualised volatility of 2024: {models['GBM (fitted vol)'].volatility:.1%}; {n_paths:,} paths × 2,160 hours\n")
rows = {}
for sname, (strategy, lev) in strategies.items():
    for mname, model in models.items():
        r = perpsim.monte_carlo(
            strategy,
            perpsim.BTCUSDT,
            model,
            n_paths=n_paths,
            n_bars=2_160,
            seed=42,
            leverage=lev,
            funding=funding,
            progress=False,
            keep_curves=40,
        )
        s = r.summary()
        rows[(sname, mname)] = {
            "P(liquidation)": f"{s['p_liquidation']:.1%}",
            "P(loss > 25 %)": f"{s['p_loss_gt_25pct']:.1%}",
            "median return": f"{s['total_return_q50']:+.1%}",
            "5 % quantile": f"{s['total_return_q05']:+.1%}",
            "expected shortfall 5 %": f"{s['expected_shortfall_5pct']:+.1%}",
        }
        if sname == "long grid 5x" and mname.startswith("GBM"):
            r.report("montecarlo-grid.html", title="5x long grid, 90 days, GBM")
print(pd.DataFrame(rows).T.to_string())
print("\nreport: montecarlo-grid.html")
