"""A neutral grid with trailing up on two weeks of real BTCUSDT 1-minute bars (June 2025), with the
real funding: the grid follows the price up one level at a time when it breaks out of the top.
Compared with the same grid without trailing.

    python examples/grid_trailing_1m.py
"""

from pathlib import Path

import perpsim

here = Path(__file__).parent / "data"
bars = perpsim.data.load_bars(here / "BTCUSDT_perp_1m_2025-06-01_2025-06-14.csv.gz")
funding = perpsim.data.load_funding(here / "BTCUSDT_funding_2025-06-01_2025-06-14.csv")
print(f"{len(bars):,} one-minute bars, {bars.index[0]:%Y-%m-%d} to {bars.index[-1]:%Y-%m-%d}")

for trailing in (False, True):
    grid = perpsim.Grid(
        100_000, 106_000, 60, quote_per_grid=150, trailing_up=trailing, trailing_up_limit=112_000 if trailing else None
    )
    r = perpsim.backtest(bars, grid, contract=perpsim.BTCUSDT, initial_balance=10_000, leverage=10, funding=funding)
    s, g = r.stats, r.strategy_stats
    print(
        f"trailing {'on ' if trailing else 'off'}: equity {s['final_equity']:,.2f}, matched profit "
        f"{s['grid_matched_profit']:,.2f}, unmatched {s['grid_unmatched_pnl']:,.2f}, "
        f"{s['fills']} fills, {g['trailing_shifts']} trailing moves"
    )

r.report("grid-trailing-1m.html", title="Neutral grid with trailing up, BTCUSDT 1m, June 2025")
print("report: grid-trailing-1m.html")
