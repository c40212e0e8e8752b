"""``perpsim.backtest``: run a built-in strategy over bar data in the compiled engine, and the
:class:`Result` it returns (equity, fills, orders, stats, summary)."""

from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np
import pandas as pd

from .contracts import Contract
from .errors import InvalidInputError
from .exchange import Exchange
from .strategies import Basis, Grid, IndexDeviation, Rebalance, TargetPositions

__all__ = ["backtest", "Result", "stats_of"]

Data = Union[pd.DataFrame, Mapping[str, pd.DataFrame]]


class Result:
    """What a backtest produced; every table is built on first access (a backtest call itself
    only runs the engine).

    - ``equity``: one row per step (equity, wallet_balance, margin, realized_pnl, unrealized_pnl,
      fees, funding, effective_leverage; equity_quote for inverse accounts; position_<symbol> and
      entry_<symbol> per symbol);
    - ``fills``, ``orders`` (with status and reason), ``funding`` (payments);
    - ``stats``: a Series (see :func:`stats_of`); ``strategy_stats``: the strategy's own figures
      (grid: matched_profit, unmatched_pnl, levels, ...);
    - ``exchange``: the account after the run.
    """

    def __init__(
        self,
        exchange: Exchange,
        initial_balance: float,
        strategy_stats: Dict[str, Any],
        data: Optional[Mapping[str, pd.DataFrame]] = None,
    ) -> None:
        self.exchange = exchange
        self.initial_balance = float(initial_balance)
        self.strategy_stats = strategy_stats
        self.data = dict(data or {})
        self.meta: Dict[str, Any] = {}
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
        h = _with_positions(self.exchange.history(), self.exchange)
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
                "timestamp": pd.to_datetime(np.asarray(spot["timestamp"], dtype=np.int64), unit="ns", utc=True),
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
    def orders(self) -> pd.DataFrame:
        """The orders log."""
        return self._get("orders", self.exchange.orders)

    @property
    def funding(self) -> pd.DataFrame:
        """Every funding payment."""
        return self._get("funding", self.exchange.funding_payments)

    @property
    def stats(self) -> pd.Series:
        """Total return, CAGR, drawdown, ratios, fills, turnover, fees, funding, liquidation, grid profit."""
        return self._get(
            "stats", lambda: stats_of(self.equity, self.initial_balance, self.exchange, self.strategy_stats)
        )

    def summary(self) -> str:
        """A readable table of the stats."""
        rows = []
        for k, v in self.stats.items():
            if isinstance(v, float):
                s = f"{v:,.4%}" if k in _PERCENT else f"{v:,.4f}"
            else:
                s = str(v)
            rows.append((k, s))
        w = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)

    def plot(self, symbol: Optional[str] = None, path: Optional[str] = None) -> Any:
        """Three panels: the close of ``symbol`` (default the first) with the grid levels and the fills
        (buys ▲, sells ▼, liquidations ✕), the equity, and the drawdown. Needs matplotlib (the
        ``plot`` extra). Returns the figure; with ``path``, also saves it (PNG, SVG, ... by suffix)."""
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("Result.plot() needs matplotlib: pip install 'perpsim[plot]'") from None
        sym = symbol or (next(iter(self.data)) if self.data else None)
        eq = self.equity["equity"]
        fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [3, 2, 1]})
        ax = axes[0]
        if sym is not None and sym in self.data:
            ax.plot(self.data[sym].index, self.data[sym]["close"], lw=0.8, color="0.3", label=f"{sym} close")
            for lvl in self.strategy_stats.get("levels", []):
                ax.axhline(lvl, lw=0.3, color="tab:blue", alpha=0.35)
            f = self.fills
            f = f[f["symbol"] == sym] if len(f) else f
            for side, marker, color in (("buy", "^", "tab:green"), ("sell", "v", "tab:red")):
                g = f[(f["side"] == side) & (f["reason"] != "liquidation")] if len(f) else f
                if len(g):
                    ax.scatter(g["timestamp"], g["price"], marker=marker, s=12, color=color, label=f"{side}s")
            liq = f[f["reason"] == "liquidation"] if len(f) else f
            if len(liq):
                ax.scatter(liq["timestamp"], liq["price"], marker="x", s=60, color="black", label="liquidation")
            ax.legend(loc="upper left", fontsize=8)
        ax.set_ylabel("price")
        axes[1].plot(eq.index, eq, color="tab:blue", lw=1.0)
        axes[1].axhline(self.initial_balance, color="0.5", lw=0.6, ls="--")
        axes[1].set_ylabel("equity")
        dd = eq / eq.cummax() - 1.0
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
        """A self-contained HTML report (stats, price with grid levels and fills, equity and
        drawdown charts as embedded PNG, the fills table), written to ``path`` when given; returns
        the HTML. ``png``: also write the charts as a PNG file (a path, or ``True`` for ``path``
        with the suffix ``.png``). Charts need matplotlib (the ``plot`` extra)."""
        from .report import backtest_report, write_png

        html = backtest_report(self, path, title)
        write_png(self.plot, path, png)
        return html

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"Result(final_equity={s['final_equity']:,.2f}, total_return={s['total_return']:.2%}, "
            f"fills={s['fills']}, liquidated={s['liquidated']})"
        )


_PERCENT = {"total_return", "cagr", "max_drawdown"}


def _with_positions(h: pd.DataFrame, ex: Exchange) -> pd.DataFrame:
    """``h`` with ``position_<symbol>`` and ``entry_<symbol>`` (after the step) from the fills: each
    fill carries the position and entry after it and the step's timestamp, so the last fill at or
    before a step gives the step's position (no per-step recording in the engine for it)."""
    cols = ex._fill_columns()
    steps = np.asarray(h.index.asi8, dtype=np.int64)
    fts = np.asarray(cols["timestamp"], dtype=np.int64)
    fsym = np.asarray(cols["symbol"], dtype=object)
    fpos = np.asarray(cols["position"], dtype=float)
    fent = np.asarray(cols["entry_price"], dtype=float)
    extra: Dict[str, np.ndarray] = {}
    for sym in ex.symbols:
        m = fsym == sym
        t, p, e = fts[m], fpos[m], fent[m]
        # For each step, the last fill at or before it (fills are in time order): mark each
        # fill's step with its index + 1, then carry the running maximum forward (0: none yet).
        at = np.searchsorted(steps, t, side="left")
        last = np.zeros(len(steps), dtype=np.int64)
        ok = at < len(steps)
        np.maximum.at(last, at[ok], np.arange(1, len(t) + 1)[ok])  # several in a step: the last
        np.maximum.accumulate(last, out=last)
        extra[f"position_{sym}"] = np.r_[0.0, p][last]
        extra[f"entry_{sym}"] = np.r_[0.0, e][last]
    return pd.concat([h, pd.DataFrame(extra, index=h.index)], axis=1)


def stats_of(equity: pd.DataFrame, initial_balance: float, ex: Exchange, strategy_stats: Dict[str, Any]) -> pd.Series:
    """Stats of a run: total return, CAGR, max drawdown and its dates, Sharpe, Sortino, Calmar
    (annualised from the median step), fills, turnover (traded notional / initial balance), fees,
    funding, liquidated and when, and for grids the matched profit and unmatched PnL."""
    eq = equity["equity"].to_numpy(dtype=float)
    ts = equity.index.asi8
    out: Dict[str, Any] = {}
    final = float(eq[-1]) if len(eq) else float(initial_balance)
    out["initial_balance"] = float(initial_balance)
    out["final_equity"] = final
    out["total_return"] = final / initial_balance - 1.0
    if len(eq) > 1:
        year = 365.25 * 86_400e9
        span = (ts[-1] - ts[0]) / year
        step = float(np.median(np.diff(ts))) / year
        ppy = 1.0 / step if step > 0 else float("nan")
        if span > 0 and final > 0:  # capped: a short run's annualisation can overflow a float
            cagr = math.exp(min(700.0, math.log(final / initial_balance) / span)) - 1.0
        else:
            cagr = float("nan")
        peak = np.maximum.accumulate(np.maximum(eq, float(initial_balance)))  # from the initial balance on
        with np.errstate(divide="ignore", invalid="ignore"):
            dd = eq / peak - 1.0
            rets = eq[1:] / eq[:-1] - 1.0
        rets = rets[np.isfinite(rets)]
        trough = int(np.nanargmin(dd))
        start = int(np.argmax(peak[: trough + 1] >= peak[trough]))
        sd = rets.std(ddof=1) if len(rets) > 1 else float("nan")
        neg = rets[rets < 0]
        down = neg.std(ddof=1) if len(neg) > 1 else float("nan")
        mdd = float(np.nanmin(dd))
        out["cagr"] = cagr
        out["max_drawdown"] = mdd
        out["max_drawdown_start"] = equity.index[start]
        out["max_drawdown_end"] = equity.index[trough]
        out["sharpe"] = float(rets.mean() / sd * math.sqrt(ppy)) if sd > 0 else float("nan")
        out["sortino"] = float(rets.mean() / down * math.sqrt(ppy)) if down > 0 else float("nan")
        out["calmar"] = float(cagr / abs(mdd)) if mdd < 0 else float("nan")
    a = ex.account
    out["fills"] = int(a.fills)
    out["turnover"] = float(a.volume / initial_balance)
    out["fees"] = float(a.fees)
    out["funding"] = float(a.funding)
    out["liquidated"] = ex.liquidated_at is not None
    out["liquidated_at"] = pd.Timestamp(ex.liquidated_at, unit="ns", tz="UTC") if ex.liquidated_at else None
    if "spot_fees" in strategy_stats:
        out["spot_fees"] = float(strategy_stats["spot_fees"])
        out["fills"] += len(strategy_stats["spot_fills"]["timestamp"])
        out["turnover"] = float(strategy_stats["spot_volume"] / initial_balance)  # per leg: the hedge matches it
        for k in ("opens", "early_closes", "settled_closes"):
            out[f"basis_{k}"] = int(strategy_stats[k])
    if "matched_profit" in strategy_stats:
        out["grid_matched_profit"] = float(strategy_stats["matched_profit"])
        out["grid_unmatched_pnl"] = float(strategy_stats["unmatched_pnl"])
    return pd.Series(out, dtype=object)


def _contracts(data: Data, contract: Any) -> tuple:
    if isinstance(data, pd.DataFrame):
        c = contract if contract is not None else Contract("ASSET")
        if isinstance(c, Mapping):
            if len(c) != 1:
                raise InvalidInputError("contract: one contract for one DataFrame", "contract")
            c = next(iter(c.values()))
        c = Contract(c) if isinstance(c, str) else c
        return [c], {c.symbol: data}
    if not isinstance(data, Mapping) or not data:
        raise InvalidInputError("data: a DataFrame or a non-empty mapping symbol -> DataFrame", "data")
    out = []
    for s in data:
        if contract is None:
            out.append(Contract(s))
        elif isinstance(contract, Mapping):
            if s not in contract:
                raise InvalidInputError(f"contract: no contract for {s}", "contract")
            c = contract[s]
            out.append(Contract(c) if isinstance(c, str) else c)
        else:
            raise InvalidInputError("contract: pass a mapping symbol -> Contract for several symbols", "contract")
    return out, {c.symbol: data[s] for c, s in zip(out, data)}


def backtest(
    data: Data,
    strategy: Union[Grid, Rebalance, TargetPositions, IndexDeviation, Any],
    contract: Any = None,
    initial_balance: float = 10_000.0,
    leverage: Optional[float] = None,
    path: str = "nearest_first",
    funding: Optional[Union[pd.Series, Mapping[str, pd.Series]]] = None,
    maker_fee: Optional[float] = None,
    taker_fee: Optional[float] = None,
    margin_mode: str = "cross",
    **options: Any,
) -> Result:
    """Runs ``strategy`` over ``data`` in the engine (no Python per bar) and returns a
    :class:`Result`.

    ``data``: a DataFrame with a DatetimeIndex (bar open times) and open/high/low/close (volume,
    mark optional), or a mapping symbol → DataFrame. ``contract``: a :class:`Contract` (or a
    mapping symbol → Contract); default a plain linear contract per symbol (``"ASSET"`` for a single
    DataFrame). ``funding``: funding rates by funding time (a Series, or a mapping per symbol), paid at
    the bar open. Other keyword options go to :class:`Exchange` (``slippage``, ``touch_fills``,
    ``same_bar``, ``max_participation``, ``liquidation_fee``, ``allow_negative_balance``).
    """
    if isinstance(strategy, Basis):
        return _run_basis(
            data,
            strategy,
            contract,
            initial_balance,
            leverage,
            path,
            funding,
            maker_fee,
            taker_fee,
            margin_mode,
            options,
        )
    builtin = isinstance(strategy, (Grid, Rebalance, TargetPositions, IndexDeviation))
    if not builtin and not (callable(strategy) or hasattr(strategy, "on_bar") or hasattr(strategy, "on_fill")):
        raise InvalidInputError(
            "strategy: pass a perpsim.Grid, Rebalance or TargetPositions, a callable on_bar(exchange, timestamp, "
            "bars), or an object with on_bar / on_fill methods",
            "strategy",
        )
    contracts, frames = _contracts(data, contract)
    ex = Exchange(
        contracts,
        initial_balance=initial_balance,
        leverage=leverage,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        margin_mode=margin_mode,
        path=path,
        **options,
    )
    symbols = list(ex.symbols)
    if not builtin:
        _run_python(ex, frames, funding, strategy)
        r = Result(ex, float(initial_balance), {}, frames)
        r.meta["strategy"] = strategy
        return r
    if isinstance(strategy, TargetPositions):
        timeline = frames[symbols[0]].index
        for s in symbols[1:]:
            timeline = timeline.union(frames[s].index)
        spec = strategy._spec(symbols, timeline)
    else:
        spec = strategy._spec(symbols)
    strategy_stats = ex.run_strategy(frames, spec, funding=funding)
    r = Result(ex, float(initial_balance), strategy_stats, frames)
    r.meta["strategy"] = strategy
    return r


def _run_python(ex: Exchange, frames: Mapping[str, pd.DataFrame], funding: Any, strategy: Any) -> None:
    """The flexible, slower path: a Python loop over the steps. Per step: funding at the bar open,
    the bars' paths in the engine (resting orders fill along them), then ``on_fill(exchange, fill)``
    for each fill of the step (a pandas row; fills made inside the callbacks are reported too) and
    ``on_bar(exchange, timestamp, bars)`` at the close (``bars``: symbol -> (open, high, low, close)).
    Orders placed in the callbacks rest from the next step; market orders fill at once at the close."""
    on_bar = strategy if callable(strategy) and not hasattr(strategy, "on_bar") else getattr(strategy, "on_bar", None)
    on_fill = getattr(strategy, "on_fill", None)
    if hasattr(strategy, "on_start"):
        strategy.on_start(ex)
    steps: Dict[int, Dict[str, tuple]] = {}
    for s, df in frames.items():
        from .data import bars_to_arrays

        ts, o, h, lo, c, _, _ = bars_to_arrays(df, s)
        for t, a, b, d, e in zip(ts.tolist(), o.tolist(), h.tolist(), lo.tolist(), c.tolist()):
            steps.setdefault(t, {})[s] = (a, b, d, e)
    fund: Dict[str, list] = {}
    if funding is not None:
        from .data import series_to_arrays

        per = funding if isinstance(funding, Mapping) else {ex.symbols[0]: funding}
        for s, ser in per.items():
            ft, fr = series_to_arrays(ser, f"funding[{s}]")
            fund[s] = list(zip(ft.tolist(), fr.tolist()))
    cursor = dict.fromkeys(fund, 0)
    last = None
    reported = ex.account.fills

    def report_fills() -> None:
        # Fills of the step, and fills made inside the callbacks (marketable orders), in order.
        nonlocal reported
        while on_fill is not None and ex.account.fills > reported:
            rows = ex.fills().iloc[reported:]
            reported = ex.account.fills
            for _, row in rows.iterrows():
                on_fill(ex, row)

    for t in sorted(steps):
        bars = steps[t]
        for s, events in fund.items():
            while cursor[s] < len(events) and events[cursor[s]][0] <= t:
                if s in bars and (last is None or events[cursor[s]][0] > last):
                    ex.apply_funding(s, events[cursor[s]][1], bars[s][0])
                cursor[s] += 1
        ex.step(t, bars)
        report_fills()
        if on_bar is not None and not ex.blown:
            on_bar(ex, pd.Timestamp(t, unit="ns", tz="UTC"), bars)
            report_fills()
        last = t


def _ns(index: pd.Index) -> np.ndarray:
    idx = index.tz_convert("UTC") if getattr(index, "tz", None) is not None else index
    return np.asarray(idx.as_unit("ns").asi8, dtype=np.int64)


def _run_basis(
    data: Data,
    strategy: Basis,
    contract: Any,
    initial_balance: float,
    leverage: Optional[float],
    path: str,
    funding: Any,
    maker_fee: Optional[float],
    taker_fee: Optional[float],
    margin_mode: str,
    options: Dict[str, Any],
) -> Result:
    """The basis strategy: the spot data feed the strategy's spot wallet, the futures run in the engine."""
    if not isinstance(data, Mapping) or len(data) < 2:
        raise InvalidInputError("data: Basis needs a mapping with the spot data and at least one future", "data")
    contracts, frames = _contracts(data, contract)
    if strategy.spot is not None:
        keys = list(data)
        if strategy.spot not in keys:
            raise InvalidInputError(f"spot: {strategy.spot!r} is not in the data", "spot")
        spot_sym = contracts[keys.index(strategy.spot)].symbol
    else:
        spots = [c.symbol for c in contracts if c.kind == "spot"]
        if len(spots) != 1:
            raise InvalidInputError("spot: name the spot data (no single spot contract among the contracts)", "spot")
        spot_sym = spots[0]
    spot_c = next(c for c in contracts if c.symbol == spot_sym)
    futures = [c for c in contracts if c.symbol != spot_sym]
    if any(c.kind == "spot" for c in futures):
        raise InvalidInputError("contract: only one spot contract; the others must be futures", "contract")
    if strategy.annualized and any(c.expiry is None for c in futures):
        raise InvalidInputError("annualized: needs delivery contracts (a perpetual has no expiry)", "annualized")
    inverse = futures[0].kind == "inverse"
    spot_fee = (
        float(strategy.spot_fee)
        if strategy.spot_fee is not None
        else (float(spot_c.taker_fee) if spot_c.kind == "spot" else 0.001)
    )
    _pos_balance = float(initial_balance)
    if not (math.isfinite(_pos_balance) and _pos_balance > 0):
        raise InvalidInputError(
            f"initial_balance: must be a finite number > 0, got {initial_balance}", "initial_balance"
        )
    ex = Exchange(
        futures,
        initial_balance=0.0 if inverse else _pos_balance,
        leverage=leverage if leverage is not None else (2.0 if inverse else 1.0),
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        margin_mode=margin_mode,
        path=path,
        **options,
    )
    fut_frames = {c.symbol: frames[c.symbol] for c in futures}
    sdf = frames[spot_sym]
    # Every step of the spot data and of the futures: the spot leg is priced at each, and a delivery
    # contract settles at the first step at or after its expiry.
    timeline = sdf.index
    for df in fut_frames.values():
        timeline = timeline.union(df.index)
    if "close" not in sdf.columns:
        raise InvalidInputError(f"data[{spot_sym}]: no 'close' column", "close")
    if not isinstance(sdf.index, pd.DatetimeIndex):
        raise InvalidInputError(f"data[{spot_sym}]: the index must be a DatetimeIndex", "index")
    close = sdf["close"].astype(float)
    if not close.index.is_monotonic_increasing:
        raise InvalidInputError(f"data[{spot_sym}]: timestamps must increase", "index")
    spot = close[~close.index.duplicated()].reindex(timeline, method="ffill").to_numpy(dtype=float)
    kind, size = strategy._size()
    spec = dict(
        kind="basis",
        spot=spot.tolist(),
        spot_fee=spot_fee,
        open_threshold=float(strategy.open_threshold),
        close_threshold=None if strategy.close_threshold is None else float(strategy.close_threshold),
        annualized=bool(strategy.annualized),
        hold_to_expiry=bool(strategy.hold_to_expiry),
        size_kind=kind,
        size=size,
        initial_cash=_pos_balance if inverse else 0.0,
        clock=_ns(timeline).tolist(),
    )
    stats = ex.run_strategy(fut_frames, spec, funding=funding)
    stats["spot_symbol"] = spot_sym
    r = Result(ex, _pos_balance, stats, {**fut_frames, spot_sym: sdf})
    r.meta["strategy"] = strategy
    return r
