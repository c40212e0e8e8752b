"""Interactive charts for the HTML reports (plotly: zoom, pan, hover; the reports embed plotly.js
once, so a report works offline). Long series are drawn from the first, lowest, highest and last
point of each of 2,000 slices (:mod:`perpsim._decimate`), fills from at most 5,000 markers a side.

Also the report's tables that are not engine figures: monthly returns (from the equity at each
month's end) and round-trip statistics (from :attr:`perpsim.Result.trades`).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd

from ._decimate import chart_data, decimate

__all__ = [
    "backtest_figure",
    "flows_figure",
    "monthly_returns",
    "trade_stats",
    "fan_figure",
    "final_equity_figure",
    "liquidation_time_figure",
]

_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=40, b=40), hovermode="x unified")


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def backtest_figure(result: Any, symbol: Optional[str] = None) -> Any:
    """Price of ``symbol`` (default the first) with the grid levels, the fills (buys ▲, sells ▼)
    and liquidations (✕); the equity; the drawdown: three panels on one time axis."""
    from plotly.subplots import make_subplots

    go = _go()
    d = chart_data(result, symbol)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=[0.5, 0.3, 0.2])
    close = d["close"]
    if close is not None:
        line = dict(color="#555", width=1)
        fig.add_trace(go.Scatter(x=close.index, y=close.to_numpy(), name=f"{d['symbol']} close", line=line), 1, 1)
        for lvl in d["levels"]:
            fig.add_hline(y=lvl, line=dict(color="rgba(31,119,180,0.3)", width=0.6), row=1, col=1)
        style = {
            "buy": dict(symbol="triangle-up", size=6, color="#2ca02c"),
            "sell": dict(symbol="triangle-down", size=6, color="#d62728"),
            "liquidation": dict(symbol="x", size=12, color="black"),
        }
        for kind, g in d["marks"]:
            fig.add_trace(
                go.Scatter(
                    x=g["timestamp"],
                    y=g["price"],
                    mode="markers",
                    name=kind if kind == "liquidation" else f"{kind}s",
                    marker=style[kind],
                    customdata=np.c_[g["qty"].to_numpy(), g["fee"].to_numpy()],
                    hovertemplate="%{y:,.2f} qty %{customdata[0]:.6g} fee %{customdata[1]:.4g}",
                ),
                1,
                1,
            )
    eq, dd = d["equity"], d["drawdown"]
    fig.add_trace(go.Scatter(x=eq.index, y=eq.to_numpy(), name="equity", line=dict(color="#1f77b4", width=1.2)), 2, 1)
    fig.add_hline(y=result.initial_balance, line=dict(color="#999", width=0.8, dash="dash"), row=2, col=1)
    fig.add_trace(
        go.Scatter(x=dd.index, y=dd.to_numpy(), name="drawdown", fill="tozeroy", line=dict(color="#d62728", width=0.8)),
        3,
        1,
    )
    fig.update_yaxes(title_text="price", row=1, col=1)
    fig.update_yaxes(title_text="equity", row=2, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".0%", row=3, col=1)
    fig.update_layout(height=720, **_LAYOUT)
    return fig


def flows_figure(result: Any) -> Any:
    """Fees paid and funding received, cumulative, and the exposure (effective leverage: the
    positions' notional over the equity) over time."""
    from plotly.subplots import make_subplots

    go = _go()
    h = result.equity
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.55, 0.45])
    for col, name, color in (("fees", "fees paid", "#ff7f0e"), ("funding", "funding received", "#9467bd")):
        if col in h.columns:
            s = decimate(h[col].astype(float))
            fig.add_trace(go.Scatter(x=s.index, y=s.to_numpy(), name=name, line=dict(color=color, width=1.2)), 1, 1)
    if "effective_leverage" in h.columns:
        s = decimate(h["effective_leverage"].astype(float))
        fig.add_trace(
            go.Scatter(
                x=s.index, y=s.to_numpy(), name="exposure (x equity)", fill="tozeroy", line=dict(color="#17becf")
            ),
            2,
            1,
        )
    fig.update_yaxes(title_text="cumulative", row=1, col=1)
    fig.update_yaxes(title_text="exposure", row=2, col=1)
    fig.update_layout(height=420, **_LAYOUT)
    return fig


def monthly_returns(equity: pd.Series, initial: float) -> pd.DataFrame:
    """The return of each calendar month (UTC), from the equity at its last step over the equity
    at the previous month's last step (the initial balance for the first month): years as rows,
    months as columns, and the year's compounded return in ``year``."""
    if not len(equity):
        return pd.DataFrame()
    idx = equity.index.tz_convert("UTC") if equity.index.tz is not None else equity.index
    last = equity.groupby([idx.year, idx.month]).last()
    prev = np.r_[initial, last.to_numpy()[:-1]]
    r = pd.Series(last.to_numpy() / prev - 1.0, index=last.index)
    table = r.unstack()
    table = table.reindex(columns=range(1, 13))
    table.columns = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    table["year"] = (1 + table).prod(axis=1, min_count=1) - 1
    table.index.name = "year"
    return table


def trade_stats(trades: pd.DataFrame) -> pd.Series:
    """Round-trip statistics of the closed trades: count, win rate, average win and loss, profit
    factor (gross wins / gross losses), expectancy (mean PnL), best and worst, average holding
    time; the open position's PnL apart."""
    closed = trades[trades["status"] == "closed"] if len(trades) else trades
    pnl = closed["pnl"].to_numpy(dtype=float) if len(closed) else np.empty(0)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    hold = (closed["exit_time"] - closed["entry_time"]) if len(closed) else pd.Series(dtype="timedelta64[ns]")
    open_pnl = float(trades.loc[trades["status"] == "open", "pnl"].sum()) if len(trades) else 0.0
    return pd.Series(
        {
            "trades": int(len(pnl)),
            "win_rate": float(len(wins) / len(pnl)) if len(pnl) else float("nan"),
            "average_win": float(wins.mean()) if len(wins) else float("nan"),
            "average_loss": float(losses.mean()) if len(losses) else float("nan"),
            "profit_factor": float(wins.sum() / -losses.sum()) if len(losses) else float("nan"),
            "expectancy": float(pnl.mean()) if len(pnl) else float("nan"),
            "best": float(pnl.max()) if len(pnl) else float("nan"),
            "worst": float(pnl.min()) if len(pnl) else float("nan"),
            "average_holding": hold.mean().round("min") if len(hold) else pd.NaT,
            "open_position_pnl": open_pnl,
        },
        dtype=object,
    )


def fan_figure(result: Any) -> Any:
    """The kept equity curves as a fan: 5-95 % and 25-75 % bands, the median, a few curves."""
    go = _go()
    c = result.curves
    fig = go.Figure()
    if c.shape[1]:
        q = c.quantile([0.05, 0.25, 0.5, 0.75, 0.95], axis=1).T
        x = q.index
        for lo, hi, alpha, name in ((0.05, 0.95, 0.15, "5-95 %"), (0.25, 0.75, 0.3, "25-75 %")):
            fig.add_trace(go.Scatter(x=x, y=q[hi], line=dict(width=0), showlegend=False, hoverinfo="skip"))
            fig.add_trace(
                go.Scatter(
                    x=x, y=q[lo], fill="tonexty", fillcolor=f"rgba(31,119,180,{alpha})", line=dict(width=0), name=name
                )
            )
        for p in list(c.columns)[:10]:
            s = decimate(c[p])
            fig.add_trace(
                go.Scatter(
                    x=s.index,
                    y=s.to_numpy(),
                    line=dict(color="rgba(80,80,80,0.5)", width=0.6),
                    name=f"path {p}",
                    showlegend=False,
                )
            )
        fig.add_trace(go.Scatter(x=x, y=q[0.5], line=dict(color="#1f77b4", width=2), name="median"))
    fig.add_hline(y=result.initial_balance, line=dict(color="#999", width=0.8, dash="dash"))
    fig.update_layout(height=420, title=f"equity, {c.shape[1]} kept paths", **_LAYOUT)
    return fig


def final_equity_figure(result: Any) -> Any:
    """The final equity of every path, survivors and liquidated apart."""
    go = _go()
    p = result.paths
    fig = go.Figure()
    fig.add_trace(
        go.Histogram(x=p.loc[~p["liquidated"], "final_equity"], name="survived", marker_color="#1f77b4", nbinsx=60)
    )
    if p["liquidated"].any():
        fig.add_trace(
            go.Histogram(x=p.loc[p["liquidated"], "final_equity"], name="liquidated", marker_color="#d62728", nbinsx=60)
        )
    fig.add_vline(x=result.initial_balance, line=dict(color="#333", width=1, dash="dash"))
    fig.update_layout(
        height=360,
        barmode="overlay",
        title=f"final equity of {len(p):,} paths, P(liquidation) = {p['liquidated'].mean():.1%}",
    )
    fig.update_layout(template="plotly_white", margin=_LAYOUT["margin"])
    return fig


def liquidation_time_figure(result: Any) -> Any:
    """When the liquidated paths were liquidated (the step's time), a histogram; and the
    cumulative probability of liquidation by then."""
    from plotly.subplots import make_subplots

    go = _go()
    p = result.paths
    steps = p.loc[p["liquidation_step"] >= 0, "liquidation_step"].to_numpy()
    n_bars = int(result.meta.get("n_bars", 0))
    index = result.curves.index if len(result.curves.index) == n_bars else None
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    if len(steps):
        when = index[np.minimum(steps, len(index) - 1)] if index is not None else steps
        fig.add_trace(go.Histogram(x=when, name="liquidations", marker_color="#d62728", nbinsx=50), secondary_y=False)
        order = np.sort(steps)
        x = index[np.minimum(order, len(index) - 1)] if index is not None else order
        fig.add_trace(
            go.Scatter(
                x=x, y=np.arange(1, len(order) + 1) / len(p), name="P(liquidated by then)", line=dict(color="#333")
            ),
            secondary_y=True,
        )
    fig.update_yaxes(title_text="paths", secondary_y=False)
    fig.update_yaxes(title_text="cumulative probability", tickformat=".1%", secondary_y=True)
    fig.update_layout(height=340, title=f"{len(steps):,} of {len(p):,} paths liquidated", template="plotly_white")
    return fig
