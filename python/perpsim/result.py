"""The result of a backtest: :class:`Result` (equity, fills, orders, funding, stats, summary, plot,
report). Every table is built on first access from what the engine recorded; the statistics are the
engine's (one statistics engine for backtests, sweeps and Monte Carlo)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import numpy as np
import pandas as pd

from ._tables import figures_series
from ._times import utc_array
from .errors import RunWarning
from .exchange import Exchange

__all__ = ["Result"]


class Result:
    """What a backtest produced; every table is built on first access (a backtest call itself
    only runs the engine).

    - ``equity``: one row per recorded step, as the engine recorded it (equity, wallet_balance,
      margin, realized_pnl, unrealized_pnl, fees, funding, effective_leverage; equity_quote for
      inverse accounts; position_<symbol> and entry_<symbol> per symbol);
    - ``fills``, ``orders`` (with status and reason), ``funding`` (payments); ``trades`` (round
      trips, net of fees);
    - ``stats``: a Series of the run's figures, computed by the engine's statistics (the same code
      as a sweep row or a Monte Carlo path); ``strategy_stats``: the strategy's own records (grid:
      levels, quantities, ...);
    - ``warnings``: what the run says besides its numbers (orders rejected by reason, symbols
      without a bar, inputs that matched no step, liquidations; :class:`perpsim.RunWarning`);
    - ``exchange``: the account after the run.
    """

    def __init__(
        self,
        exchange: Exchange,
        stats: Mapping[str, Any],
        strategy_stats: Dict[str, Any],
        data: Optional[Mapping[str, pd.DataFrame]] = None,
    ) -> None:
        self.exchange = exchange
        self.strategy_stats = strategy_stats
        self.data = dict(data or {})
        self.meta: Dict[str, Any] = {}
        self._figures = dict(stats)
        self.initial_balance = float(self._figures["initial_balance"])
        self._cache: Dict[str, Any] = {}

    def _get(self, key: str, make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def equity(self) -> pd.DataFrame:
        """The equity curve, one row per step. For :class:`Basis`, ``equity`` is the total value in
        quote (spot wallet + futures account), with ``equity_coin`` (the same in coin at the spot
        price), ``futures_equity`` (the futures account, its settlement currency) and ``premium``."""
        return self._get("equity", self._equity)

    def _equity(self) -> pd.DataFrame:
        h = self.exchange.history()
        st = self.strategy_stats
        if "value_quote" in st and len(st["value_quote"]) == len(h):
            h = h.rename(columns={"equity": "futures_equity"})
            h.insert(0, "equity", np.asarray(st["value_quote"], dtype=float))
            h.insert(1, "equity_coin", np.asarray(st["value_coin"], dtype=float))
            h["premium"] = np.asarray(st["premium"], dtype=float)
        return h

    @property
    def fills(self) -> pd.DataFrame:
        """Every fill (for :class:`Basis`, the spot trades too, reason ``"spot"``)."""
        return self._get("fills", self._fills)

    def _fills(self) -> pd.DataFrame:
        f = self.exchange.fills()
        spot = self.strategy_stats.get("spot_fills")
        if not spot or not len(spot["timestamp"]):
            return f
        side = np.asarray(spot["side"])
        qty = np.asarray(spot["qty"], dtype=float)
        # Each open buys once and each unwind sells everything: the coin held after each trade.
        held = np.where(side > 0, qty, 0.0)
        sf = pd.DataFrame(
            {
                "timestamp": utc_array(np.asarray(spot["timestamp"], dtype=np.int64)),
                "symbol": self.strategy_stats.get("spot_symbol", "SPOT"),
                "order_id": np.zeros(len(qty), dtype=np.uint64),
                "side": np.where(side > 0, "buy", "sell"),
                "qty": qty,
                "price": np.asarray(spot["price"], dtype=float),
                "fee": np.asarray(spot["fee"], dtype=float),
                "liquidity": "taker",
                "realized_pnl": 0.0,
                "position": held,
                "entry_price": np.where(side > 0, np.asarray(spot["price"], dtype=float), 0.0),
                "reason": "spot",
            }
        )
        out = pd.concat([f, sf], ignore_index=True) if len(f) else sf
        return out.sort_values("timestamp", kind="mergesort").reset_index(drop=True)

    @property
    def trades(self) -> pd.DataFrame:
        """The round trips: one row per fill that reduced a position, on the exchange's
        average-cost rule, its PnL net of the fees of both ends, then the positions left open at
        the end (``status="open"``, at the last mark) (:func:`perpsim.trades.trades`)."""
        from .trades import trades

        def make() -> pd.DataFrame:
            eq = self.equity
            end = eq.index[-1] if len(eq) else pd.NaT
            spot = self.strategy_stats.get("spot_symbol")
            held = [(end, p) for p in self.exchange.positions() if p.symbol != spot]
            return trades(self.fills, held)

        return self._get("trades", make)

    @property
    def orders(self) -> pd.DataFrame:
        """The orders log."""
        return self._get("orders", self.exchange.orders)

    @property
    def funding(self) -> pd.DataFrame:
        """Every funding payment."""
        return self._get("funding", self.exchange.funding_payments)

    @property
    def rebates(self) -> pd.DataFrame:
        """Every trade-mining or volume rebate credited (:meth:`perpsim.Exchange.rebates`)."""
        return self._get("rebates", self.exchange.rebates)

    @property
    def stats(self) -> pd.Series:
        """The run's figures (docs/guide.md lists them): initial_balance, final_equity, total_return,
        cagr, max_drawdown with its start and end, sharpe, sortino, calmar, min_equity,
        time_under_water, steps, fills, turnover, fees, funding, rebates, liquidated, liquidated_at, then the
        strategy's own (grid_matched_profit, grid_unmatched_pnl; basis spot_fees and counts). Counts
        are ints, times UTC Timestamps."""
        return self._get("stats", lambda: figures_series(self._figures))

    @property
    def warnings(self) -> list[RunWarning]:
        """What the run says besides its numbers (:class:`perpsim.RunWarning`, in the order the
        engine counted them); the doubtful ones were also emitted as :class:`perpsim.PerpsimWarning`."""
        return self._get("warnings", self.exchange.warnings)

    def summary(self) -> str:
        """A readable table of the stats, then the run's warnings."""
        rows = []
        for k, v in self.stats.items():
            if isinstance(v, float) and not isinstance(v, bool):
                s = f"{v:,.4%}" if k in _PERCENT else f"{v:,.4f}"
            else:
                s = str(v)
            rows.append((k, s))
        w = max(len(k) for k, _ in rows)
        text = "\n".join(f"{k:<{w}}  {v}" for k, v in rows)
        if self.warnings:
            text += "\n\nwarnings:\n" + "\n".join(f"- {x.message}" for x in self.warnings)
        return text

    def plot(self, symbol: Optional[str] = None, path: Optional[str] = None) -> Any:
        """Three panels: the close of ``symbol`` (default the first) with the grid levels and the fills
        (buys ▲, sells ▼, liquidations ✕), the equity, and the drawdown. Long series are drawn from
        the first, lowest, highest and last point of each of 2,000 slices, and at most 5,000 fill
        markers per side (evenly spaced). Needs matplotlib (the
        ``plot`` extra). Returns the figure; with ``path``, also saves it (PNG, SVG, ... by suffix)."""
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("Result.plot() needs matplotlib: pip install 'perpsim[plot]'") from None
        from ._decimate import chart_data

        d = chart_data(self, symbol)
        fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [3, 2, 1]})
        ax = axes[0]
        if d["close"] is not None:
            close = d["close"]
            ax.plot(close.index, close, lw=0.8, color="0.3", label=f"{d['symbol']} close")
            for lvl in d["levels"]:
                ax.axhline(lvl, lw=0.3, color="tab:blue", alpha=0.35)
            style = {"buy": ("^", 12, "tab:green"), "sell": ("v", 12, "tab:red"), "liquidation": ("x", 60, "black")}
            for kind, g in d["marks"]:
                marker, size, color = style[kind]
                label = kind if kind == "liquidation" else f"{kind}s"
                ax.scatter(g["timestamp"], g["price"], marker=marker, s=size, color=color, label=label)
            ax.legend(loc="upper left", fontsize=8)
        ax.set_ylabel("price")
        eq = d["equity"]
        axes[1].plot(eq.index, eq, color="tab:blue", lw=1.0)
        axes[1].axhline(self.initial_balance, color="0.5", lw=0.6, ls="--")
        axes[1].set_ylabel("equity")
        dd = d["drawdown"]
        axes[2].fill_between(dd.index, dd, 0, color="tab:red", alpha=0.4)
        axes[2].set_ylabel("drawdown")
        s = self.stats
        fig.suptitle(
            f"total return {s['total_return']:.1%}, max drawdown {s.get('max_drawdown', 0.0):.1%}, "
            f"fills {s['fills']}" + (", liquidated" if s["liquidated"] else ""),
            fontsize=10,
        )
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig

    def report(self, path: Optional[str] = None, title: Optional[str] = None, png: Any = None) -> str:
        """Writes a self-contained HTML report (stats, price with grid levels and fills, equity
        and drawdown charts as embedded PNG, the fills table) to ``path`` (default
        ``perpsim-report.html`` here) and returns the path; :func:`perpsim.report.backtest_report`
        gives the page as a string. ``png``: also write the charts as a PNG file (a path, or
        ``True`` for ``path`` with the suffix ``.png``). Charts need matplotlib."""
        from .report import backtest_report, write_png

        path = str(path) if path is not None else "perpsim-report.html"
        backtest_report(self, path, title)
        write_png(self.plot, path, png)
        return path

    def _repr_html_(self) -> str:
        """Jupyter's view: the headline figures, the warnings and a small equity chart."""
        from .report import result_html

        return result_html(self)

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"Result(final_equity={s['final_equity']:,.2f}, total_return={s['total_return']:.2%}, "
            f"fills={s['fills']}, liquidated={s['liquidated']})"
        )


_PERCENT = {"total_return", "cagr", "max_drawdown", "time_under_water"}
