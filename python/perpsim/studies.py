"""Studies built on backtests: :func:`deviation_risk_table` (the index-deviation strategy's loss
under a one-way trend)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .backtest import backtest
from .strategies import IndexDeviation

__all__ = ["deviation_risk_table"]

#: The what-if account's starting balance (any: the losses are measured from it).
_BASE = 10_000.0


def deviation_risk_table(
    stop_deviations: Sequence[float],
    trade_value: float = 100.0,
    step: float = 0.01,
    n_symbols: int = 10,
    trend: float = 1.0,
    steps: int = 200,
    fee: float = 0.0,
    min_trade_value: float = 0.0,
) -> pd.DataFrame:
    """The index-deviation risk users ask for: under a one-way trend of one symbol (its price rises
    by ``trend``, e.g. 1.0 = +100 %, linearly over ``steps`` closes) while the other symbols stay
    flat, the loss as a multiple of ``trade_value`` for each stop deviation (``None``: no stop), run
    in the engine. Columns: loss_multiple (final loss / trade_value), worst_multiple (worst equity
    drawdown / trade_value), max_short_multiple (largest short value / trade_value), stopped_at_step."""
    idx = pd.date_range("2024-01-01", periods=steps + 1, freq="1h", tz="UTC")
    rising = 100.0 * (1.0 + trend * np.arange(steps + 1) / steps)
    flat = np.full(steps + 1, 100.0)
    data = {}
    for k in range(n_symbols):
        p = rising if k == 0 else flat
        data[f"S{k}"] = pd.DataFrame(
            {
                "open": np.concatenate([[p[0]], p[:-1]]),
                "high": np.maximum(np.concatenate([[p[0]], p[:-1]]), p),
                "low": np.minimum(np.concatenate([[p[0]], p[:-1]]), p),
                "close": p,
            },
            index=idx,
        )
    rows = []
    for sd in stop_deviations:
        strat = IndexDeviation(trade_value, step=step, min_trade_value=min_trade_value, stop_deviation=sd)
        # the what-if ledger: every order booked, nothing liquidated, the wallet free to go negative
        r = backtest(data, strat, initial_balance=_BASE, maker_fee=fee, taker_fee=fee, what_if=True)
        eq = r.equity["equity"].to_numpy()
        f = r.fills
        s0 = f[f["symbol"] == "S0"]
        shorts = (-s0["position"].to_numpy() * s0["price"].to_numpy()) if len(s0) else np.array([0.0])
        stops = s0[(s0["position"] == 0) & (s0["side"] == "buy")]
        stopped_at = None if len(stops) == 0 else int(idx.get_loc(stops["timestamp"].iloc[0]))
        rows.append(
            dict(
                stop_deviation=sd,
                loss_multiple=float((_BASE - eq[-1]) / trade_value),
                worst_multiple=float((_BASE - eq.min()) / trade_value),
                max_short_multiple=float(max(shorts.max(), 0.0) / trade_value),
                stopped_at_step=stopped_at,
            )
        )
    return pd.DataFrame(rows).set_index("stop_deviation")
