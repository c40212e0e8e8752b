"""How much can one runaway symbol cost an index-deviation strategy? One symbol of ten rises
steadily while the others stay flat; the strategy keeps shorting it. The table gives the final loss
and the worst drawdown as multiples of the trade value, for a range of stop deviations.

    python examples/deviation_risk_table.py
"""

import perpsim

table = perpsim.deviation_risk_table(
    [0.05, 0.10, 0.20, 0.40, None], trade_value=100, step=0.01, n_symbols=10, trend=1.0, steps=200
)
print("one symbol of 10 rises +100 % (linearly over 200 steps); trade value 100 per 1 % of deviation")
print(table.to_string())
