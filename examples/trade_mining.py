"""Trade mining on a market-making grid: a neutral grid over January and February 2024 (BTCUSDT,
hourly bars, a 45 % rise) loses money on its own; a trade-mining programme pays a daily pool of
tokens shared in proportion to volume. How big should the orders be?

The study's answer (perpsim.calc): with the others' daily volume V, the pool B at price p and a cost
c per unit of volume, the income G(a) = a/(a+V)·B·p − a·c is highest at a* = √(V·B·p/c) − V.
The simulated answer: backtests of the same grid at several order sizes with the programme's daily
rebates credited by the engine (``rebates=``). The two are printed side by side.

    python examples/trade_mining.py          # PERPSIM_QUICK=1 for fewer order sizes
"""

import os

import numpy as np
import pandas as pd
import perpsim

quick = bool(os.environ.get("PERPSIM_QUICK"))
bars = perpsim.data.sample("BTCUSDT", "1h")["2024-01-01":"2024-02-29"]
days = len(bars) / 24
p0 = float(bars["open"].iloc[0])
account = dict(contract=perpsim.BTCUSDT, initial_balance=1_000_000, leverage=10)

# The programme: every day 10,000 tokens at 0.50 USDT shared out; the others trade 500,000 USDT a day.
V, B, p = 500_000.0, 10_000.0, 0.5
programme = pd.DataFrame(
    {"market_volume": V, "pool": B, "price": p},
    index=pd.date_range("2024-01-01", "2024-03-01", freq="1D", tz="UTC", inclusive="left"),
)


def grid(qty: float) -> perpsim.Grid:
    """A neutral grid ±10 % around the first open, 60 intervals, ``qty`` BTC per order."""
    return perpsim.Grid(p0 * 0.9, p0 * 1.1, 60, qty=qty)


def volume(r: perpsim.Result) -> float:
    f = r.fills
    return float((f["qty"] * f["price"]).sum())


# 1. Without the rebate: the grid's cost per unit of volume (fees and the trend's losses).
unit = 0.01
plain = perpsim.backtest(bars, grid(unit), **account)
pnl = float(plain.stats["final_equity"]) - account["initial_balance"]
per_qty = volume(plain) / days / unit  # daily volume per BTC of order size
c = -pnl / volume(plain)
print(f"without the rebate: {unit} BTC orders make {pnl:+,.2f} USDT on {volume(plain):,.0f} USDT of volume")
print(f"  cost per unit of volume c = {c:.4%}; daily volume per BTC of order size {per_qty:,.0f} USDT")

# 2. The study's optimum.
a_star = perpsim.calc.trade_mining_optimum(V, B, p, c)
q_star = a_star / per_qty
print(f"perpsim.calc: a* = sqrt(V·B·p/c) − V = {a_star:,.0f} USDT a day -> order size {q_star:.3f} BTC")
print(f"  expected income G(a*) = {perpsim.calc.trade_mining_income(a_star, V, B, p, c) * days:+,.0f} USDT")

# 3. The simulation: the same grid at several order sizes, with the daily rebates credited.
sizes = np.round(q_star * np.array([0.25, 0.5, 1.0, 1.5, 2.5] if quick else np.linspace(0.2, 3.0, 15)), 3)
rows = []
for q in sizes:
    r = perpsim.backtest(bars, grid(float(q)), rebates=programme, **account)
    rows.append(
        dict(
            qty=q,
            daily_volume=volume(r) / days,
            rebates=float(r.stats["rebates"]),
            fees=float(r.stats["fees"]),
            pnl=float(r.stats["final_equity"]) - account["initial_balance"],
        )
    )
table = pd.DataFrame(rows).set_index("qty")
table["without_rebate"] = table["pnl"] - table["rebates"]
print("with the rebate (60 days):")
print(table.round(0).to_string())
best = float(table["pnl"].idxmax())
print(f"optimum order size: simulated {best:.3f} BTC, perpsim.calc {q_star:.3f} BTC")
at_best = table.loc[best]
print(f"at {best:.3f} BTC: {at_best['pnl']:+,.0f} USDT with the rebate, {at_best['without_rebate']:+,.0f} without")

# Why they differ: the formula assumes the same volume every day; a grid trades in bursts, and the
# share a/(a+V) is concave, so busy days earn less than their volume suggests. The formula applied
# day by day to the simulated volumes comes back to the simulation.
at_q = perpsim.backtest(bars, grid(float(q_star)), rebates=programme, **account)
f = at_q.fills
daily = (f["qty"] * f["price"]).groupby(pd.DatetimeIndex(f["timestamp"]).floor("1D")).sum()
daily = daily.reindex(programme.index, fill_value=0.0)
by_day = sum(perpsim.calc.trade_mining_income(a, V, B, p, c) for a in daily)
print(
    f"at {q_star:.3f} BTC the daily volume varies (coefficient of variation {daily.std() / daily.mean():.2f}): "
    f"G summed day by day {by_day:+,.0f} USDT, simulated {float(at_q.stats['final_equity']) - 1_000_000:+,.0f}"
)
