"""A cash-and-carry basis study with inverse (coin-margined) accounting: buy BTC on spot, deposit it
in a coin-margined account and short the same BTC amount of a quarterly BTCUSD future (100 USD
contracts); hold to settlement, or close early when the premium has converged.

Spot: the real Binance BTCUSDT spot bars of 2024 (bundled). No real delivery-futures data ships
with perpsim, so the future's price is MODELLED as spot · (1 + b · days to expiry / 365) with an
annualised basis b that drifts between 4 % and 14 % (a stated assumption, not market data).

    python examples/basis_inverse.py
"""

import numpy as np
import pandas as pd
import perpsim

spot = perpsim.data.sample("BTCUSDT_SPOT", "1h")
expiry = pd.Timestamp("2024-06-28 08:00", tz="UTC")
fut_contract = perpsim.quarterly(perpsim.BTCUSD, expiry)  # BTCUSD_240628, inverse, 100 USD
t = spot.index[spot.index < expiry]
days = (expiry - t).total_seconds().to_numpy() / 86_400
b = 0.09 + 0.05 * np.sin(np.arange(len(t)) / 400.0)  # modelled annualised basis, 4 %..14 %
factor = 1 + b * days / 365
s = spot.loc[t]
future = pd.DataFrame({k: s[k].to_numpy() * factor for k in ("open", "high", "low", "close")}, index=t)

for close_early in (None, 0.06):
    carry = perpsim.Basis(
        open_threshold=0.10,
        close_threshold=close_early,
        annualized=True,
        hold_to_expiry=close_early is None,
        value=50_000,
    )
    r = perpsim.backtest(
        {"BTCUSDT_SPOT": spot.loc[: expiry + pd.Timedelta(days=1)], fut_contract.symbol: future},
        carry,
        contract={"BTCUSDT_SPOT": perpsim.BTCUSDT_SPOT, fut_contract.symbol: fut_contract},
        initial_balance=100_000,
    )
    st = r.stats
    eq = r.equity
    how = "held to settlement" if close_early is None else f"closed at {close_early:.0%} annualised"
    print(
        f"{how}: value {st['final_equity']:,.2f} USD ({st['total_return']:+.2%}), "
        f"in BTC {eq['equity_coin'].iloc[0]:.4f} -> {eq['equity_coin'].iloc[-1]:.4f}; "
        f"futures fees {st['fees']:.6f} BTC, spot fees {st['spot_fees']:,.2f} USD; "
        f"opens {st['basis_opens']}, early closes {st['basis_early_closes']}, settled {st['basis_settled_closes']}"
    )
print(r.fills[["timestamp", "symbol", "side", "qty", "price", "fee", "reason"]].to_string(index=False))
