"""The balance strategy on a perpetual with leverage: hold 20,000 USDT of BTCUSDT on a 10,000 USDT
balance (2x exposure) at 5x leverage, rebalanced at ±1 %, on the real 2024 hourly bars with the
real funding rates; then the same with resting limit orders (maker fees) instead of market orders.

    python examples/balance_perpetual.py
"""

import perpsim

bars = perpsim.data.sample("BTCUSDT", "1h")
funding = perpsim.data.sample_funding("BTCUSDT")

for limit_orders in (False, True):
    strategy = perpsim.Rebalance(target_value=20_000, adjust_ratio=0.01, limit_orders=limit_orders)
    r = perpsim.backtest(bars, strategy, contract=perpsim.BTCUSDT, initial_balance=10_000, leverage=5, funding=funding)
    s = r.stats
    how = "resting limits" if limit_orders else "market orders"
    print(
        f"{how:>15}: final equity {s['final_equity']:,.2f} ({s['total_return']:+.1%}), "
        f"max drawdown {s['max_drawdown']:.1%}, {s['fills']} fills, fees {s['fees']:,.2f}, "
        f"funding {s['funding']:,.2f}"
    )

r.report("balance-perpetual.html", title="Balance strategy, BTCUSDT perpetual 2024, 5x")
print("report: balance-perpetual.html")
