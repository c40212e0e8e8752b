"""The demo: a balance (rebalancing) strategy written in Python against :class:`perpsim.Exchange`,
run on the bundled real BTCUSDT 2024 hourly sample with its real funding rates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import pandas as pd

from .contracts import BTCUSDT
from .data import index_ns, sample, sample_funding
from .exchange import Exchange

__all__ = ["BalanceResult", "run_balance", "summary_table"]


@dataclass
class BalanceResult:
    """What the demo run produced."""

    history: pd.DataFrame
    trades: int
    exchange: Any
    bars: pd.DataFrame
    initial_balance: float
    target_value: float


def run_balance(
    bars: Optional[pd.DataFrame] = None,
    funding: Optional[pd.Series] = None,
    initial_balance: float = 10_000.0,
    target_value: float = 20_000.0,
    adjust_ratio: float = 0.01,
    leverage: float = 5.0,
    exchange_factory: Callable[..., Any] = Exchange,
) -> BalanceResult:
    """Hold a long BTCUSDT position worth ``target_value``; at each hourly close, when the position's
    value is more than ``adjust_ratio`` away from the target, trade at the close back to it (taker
    fee). Funding is applied at every funding time with the hourly open as the mark.

    ``exchange_factory`` builds the account (default :class:`Exchange`; the tests pass
    :class:`perpsim.reference.Ledger` to run the same loop on the exact reference)."""
    bars = sample("BTCUSDT", "1h") if bars is None else bars
    funding = sample_funding("BTCUSDT") if funding is None else funding
    ex = exchange_factory([BTCUSDT], initial_balance=initial_balance, leverage=leverage)
    sym = BTCUSDT.symbol
    step = BTCUSDT.step_size
    f_times = index_ns(funding.index, "funding")
    f_rates = funding.to_numpy(dtype=float)
    times = index_ns(bars.index, "bars")
    opens = bars["open"].to_numpy(dtype=float)
    closes = bars["close"].to_numpy(dtype=float)
    k = 0
    trades = 0
    for t, o, c in zip(times.tolist(), opens.tolist(), closes.tolist()):
        while k < len(f_times) and f_times[k] <= t:  # funding at or before this bar's open
            if f_times[k] == t:
                ex.apply_funding(sym, f_rates[k], o)
            k += 1
        ex.update(t, {sym: c})
        value = float(ex.position(sym).qty) * c
        if abs(value - target_value) / target_value > adjust_ratio:
            qty = round((target_value - value) / c / step) * step
            if abs(qty) * c >= BTCUSDT.min_notional:
                (ex.buy if qty > 0 else ex.sell)(sym, c, abs(qty))
                trades += 1
    return BalanceResult(ex.history(), trades, ex, bars, initial_balance, target_value)


def _max_drawdown(equity: pd.Series) -> float:
    peak = equity.cummax()
    return float((equity / peak - 1.0).min())


def summary_table(r: BalanceResult) -> str:
    """A plain-text summary of a demo run."""
    h = r.history
    eq = h["equity"]
    first, last = r.bars["close"].iloc[0], r.bars["close"].iloc[-1]
    start = r.initial_balance
    a = r.exchange.account
    rows = [
        ("period", f"{h.index[0]:%Y-%m-%d} .. {h.index[-1]:%Y-%m-%d} ({len(h)} hourly bars)"),
        ("BTCUSDT close", f"{first:,.1f} -> {last:,.1f} ({last / first - 1:+.1%})"),
        ("initial balance", f"{start:,.2f} USDT"),
        ("final equity", f"{eq.iloc[-1]:,.2f} USDT ({eq.iloc[-1] / start - 1:+.1%})"),
        ("max drawdown", f"{_max_drawdown(eq):.1%}"),
        ("trades", f"{r.trades}"),
        ("realized PnL", f"{a.realized_pnl:,.2f}"),
        ("unrealized PnL", f"{a.unrealized_pnl:,.2f}"),
        ("fees paid", f"{a.fees:,.2f}"),
        ("funding received", f"{a.funding:,.2f}"),
        ("effective leverage", f"{a.effective_leverage:.2f}x (max {h['effective_leverage'].max():.2f}x)"),
    ]
    width = max(len(k) for k, _ in rows)
    title = (
        f"perpsim demo: balance strategy on the BTCUSDT perpetual, hold {r.target_value:,.0f} USDT long "
        f"on a {start:,.0f} USDT balance"
    )
    lines = [title, "-" * len(title)]
    lines += [f"{k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)
