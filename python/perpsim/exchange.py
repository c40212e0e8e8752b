"""The step-driven exchange account, backed by the Rust ledger."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

import pandas as pd

from . import _core
from ._protocol import StrategyInputs, SymbolColumns
from ._tables import label_array, record_table
from ._times import utc_array, utc_index
from .errors import InvalidInputError, RunWarning, UnknownSymbolError, run_warnings

__all__ = ["Exchange"]

_E = TypeVar("_E", bound="Exchange")


def _restore(cls: Type[_E], state: bytes) -> _E:
    return cls.__new__(cls, _state=state)  # type: ignore[return-value]  # __new__ of the compiled base


def _labels(cols: Dict[str, Any]) -> Dict[str, Any]:
    """The engine's dictionary-encoded label columns ``(codes, categories)`` as pandas
    Categoricals (one small list of strings instead of a string per row)."""
    return {k: label_array(v[0], tuple(v[1])) if isinstance(v, tuple) else v for k, v in cols.items()}


def _per_symbol(symbols: Sequence[str], value: Any, field: str, optional: bool = False) -> Dict[str, Any]:
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in symbols]
        if unknown:
            raise UnknownSymbolError(f"{field}: unknown symbol {unknown[0]!r}", "symbol")
        if not optional:
            missing = [s for s in symbols if s not in value]
            if missing:
                raise InvalidInputError(f"{field}: no data for {missing[0]}", field)
        return dict(value)
    if len(symbols) != 1:
        raise InvalidInputError(f"{field}: pass a mapping symbol -> value for several symbols", field)
    return {symbols[0]: value}


class Exchange(_core.Exchange):
    """A step-driven exchange account for strategies written in Python and for embedding.

    ``Exchange(contracts, initial_balance=10_000, leverage=None, maker_fee=None, taker_fee=None,
    margin_mode="cross", position_mode="one_way", fee_tiers=None, **options)``

    - ``contracts``: a symbol name, a :class:`perpsim.Contract`, or a sequence of them, all settling in
      the same asset (one cross-margined wallet). A name means its preset when perpsim has one
      (``"BTCUSDT"``, ``"ETHUSDT"``, ``"BTCUSD"``/``"BTCUSD_PERP"``, ...: :func:`perpsim.preset`), as
      on the command line; any other name is a linear contract with contract size 1 and no
      exchange filters (any positive quantity is accepted), maker 0.02 %, taker 0.05 %, a flat
      0.4 % maintenance margin rate and 125x maximum leverage.
    - ``initial_balance``: in the settlement currency (USDT for linear, the coin for inverse).
    - ``leverage``: per symbol; default 20x capped by the contract's maximum (spot: 1x). Orders that
      would need more initial margin than the equity are rejected (:class:`OrderRejectedError`).
    - ``maker_fee`` / ``taker_fee``: override every contract's fee rates.
    - ``margin_mode``: ``"cross"`` (default) or ``"isolated"`` for every symbol.
    - ``position_mode``: ``"one_way"`` (default) or ``"hedge"``, Binance's dual-side mode: a long and
      a short position per symbol, every order naming its ``position_side`` (``"long"`` or
      ``"short"``), ``position(symbol, "long")`` and ``liquidation_price(symbol, "short")`` per side
      (docs/accounting.md, "Hedge mode").
    - ``fee_tiers``: a :class:`perpsim.FeeTiers` schedule by 30-day volume (its tier's rates replace
      every contract's, set at the first step of each UTC day).
    - ``options``: the run options (docs/matching.md: ``path``, ``slippage``, ...).

    Trading: ``buy(symbol, price, qty)`` / ``sell(...)`` fill at once at ``price`` with the taker fee
    and return a :class:`perpsim._core.Fill`; ``close(symbol, price)``. Quantities are rounded to the
    contract's step size and checked against its minimum quantity and notional.
    Market data: ``update(timestamp, prices)`` marks every symbol (NaN keeps the last price) and
    appends one row to :meth:`history`; ``apply_funding(symbol, rate, mark_price)``.
    Figures: ``position(symbol)``, ``positions()``, ``account``, ``liquidation_price(symbol)``, :meth:`history`.

    Every rejected call raises (a ``ValueError`` subclass for bad input) and leaves the account as
    it was. Objects are independent (no global state), print nothing and can be pickled.
    """

    def positions(self) -> List[Any]:
        """Every position: one per symbol, or in hedge mode each symbol's long and short (the
        :meth:`position` snapshots, in symbol order)."""
        sides = ("long", "short") if self.position_mode == "hedge" else (None,)
        return [self.position(s, side) for s in self.symbols for side in sides]

    def history(self) -> pd.DataFrame:
        """One row per recorded step (every step by default; see the ``record`` option), indexed
        by its timestamp (UTC), as the engine recorded it: equity, wallet_balance, margin,
        realized_pnl, unrealized_pnl, fees, funding, effective_leverage, position_<symbol> and
        entry_<symbol> (0 when flat) per symbol, and for inverse accounts equity_quote (equity in
        quote at the first symbol's mark). The table is a read-only view of the engine's columns."""
        ts, columns, names = self._history_arrays()
        index = utc_index(ts, "timestamp")  # (a linear account's equity_quote is its equity: not built)
        # Each column its own block, taken as it is: views of the engine's buffers, no copy.
        return record_table(dict(zip(names, columns)), index)

    def fills(self) -> pd.DataFrame:
        """Every fill: timestamp (the step's), symbol, order_id, side, qty, price, fee, liquidity
        (maker/taker), realized_pnl, position and entry_price (after), reason (user, stop, tp, sl, trailing,
        liquidation, settlement)."""
        cols = _labels(self._fill_columns())
        cols["timestamp"] = utc_array(cols["timestamp"])
        return record_table(cols)

    def orders(self) -> pd.DataFrame:
        """The orders log, one row per order ever placed, indexed by order id: placed, updated,
        symbol, type, side, price, trigger, qty, filled, avg_price, status (open, filled,
        cancelled, rejected, expired), reason, reduce_only, post_only, working_type (``last`` or
        ``mark``: which price fires a trigger)."""
        cols = _labels(self._order_columns())
        for c in ("placed", "updated"):
            cols[c] = utc_array(cols[c])  # the engine's int64 minimum is NaT, "not yet"
        # The ids become the index as the frame is built (``set_index`` would copy every column).
        ids = cols.pop("order_id")
        return record_table(cols, pd.Index(ids, name="order_id"))

    def funding_payments(self) -> pd.DataFrame:
        """Every funding payment on an open position: timestamp, symbol, rate, mark_price,
        position, payment (received; negative when paid)."""
        cols = _labels(self._funding_columns())
        cols["timestamp"] = utc_array(cols["timestamp"])
        return record_table(cols)

    def rebates(self) -> pd.DataFrame:
        """Every rebate period credited in which the account traded: timestamp (the period's end),
        symbol, volume (the account's, quote units), market_volume (the others'), reward, amount
        (credited: ``volume/(volume+market_volume)·reward``)."""
        cols = _labels(self._rebate_columns())
        cols["timestamp"] = utc_array(cols["timestamp"])
        return record_table(cols)

    def warnings(self) -> List[RunWarning]:
        """What the runs so far said besides their numbers: orders refused (by reason), symbols
        without a bar at a step (not tradable, marked at their last price), input rows that matched
        no step, liquidations (:class:`perpsim.RunWarning`; docs/guide.md)."""
        return run_warnings(self._warnings())

    def run(
        self,
        data: Union[pd.DataFrame, Mapping[str, pd.DataFrame]],
        funding: Optional[Union[pd.Series, Mapping[str, pd.Series]]] = None,
        settlement: Optional[Union[float, Mapping[str, float]]] = None,
        rebates: Optional[Union[pd.DataFrame, Mapping[str, pd.DataFrame]]] = None,
    ) -> None:
        """Replays whole bar series through the engine (no Python per bar, GIL released).

        ``data``: a DataFrame with a DatetimeIndex (bar open times) and columns open, high, low,
        close (optional volume, mark) for a one-symbol exchange, or a mapping symbol → DataFrame.
        ``funding``: funding rates (a Series indexed by funding time, or a mapping per symbol),
        applied at each funding time at the bar's open. ``settlement``: delivery settlement
        prices per symbol. ``rebates``: a trade-mining or volume rebate schedule (a DataFrame of
        periods, or a mapping per symbol; :func:`perpsim.data.rebates_to_arrays`), credited at each
        period's end (:meth:`rebates`). Resting orders fill along each bar's path; one history row
        per step.
        """
        self._run(self._columns(data, funding, settlement, rebates))

    def run_strategy(
        self,
        data: Union[pd.DataFrame, Mapping[str, pd.DataFrame]],
        strategy: Any,
        inputs: Optional[StrategyInputs] = None,
        funding: Optional[Union[pd.Series, Mapping[str, pd.Series]]] = None,
        settlement: Optional[Union[float, Mapping[str, float]]] = None,
        rebates: Optional[Union[pd.DataFrame, Mapping[str, pd.DataFrame]]] = None,
    ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """Like :meth:`run`, with a built-in strategy (a :class:`perpsim.Grid`, ...; use
        :func:`perpsim.backtest`) and what the run adds to it (``inputs``). Returns the strategy's
        own records and the run's figures."""
        cols = self._columns(data, funding, settlement, rebates)
        report, stats = self._run_strategy(cols, strategy, inputs if inputs is not None else StrategyInputs())
        return report, stats

    def _columns(self, data: Any, funding: Any, settlement: Any, rebates: Any = None) -> List[SymbolColumns]:
        from .data import bar_columns, rebates_to_arrays, series_to_arrays

        frames = _per_symbol(self.symbols, data, "data")
        fund = _per_symbol(self.symbols, funding, "funding", optional=True) if funding is not None else {}
        sett = _per_symbol(self.symbols, settlement, "settlement", optional=True) if settlement is not None else {}
        reb = _per_symbol(self.symbols, rebates, "rebates", optional=True) if rebates is not None else {}
        cols = []
        for s in self.symbols:
            (ts, o, h, lo, c, v, m, mohl, ix), per = bar_columns(frames[s], s)  # times borrowed in their unit
            mo, mh, ml = mohl if mohl is not None else (None, None, None)
            ft, fr = series_to_arrays(fund[s], f"funding[{s}]") if fund.get(s) is not None else (None, None)
            st = None if sett.get(s) is None else float(sett[s])
            rs, re, rv, rr = rebates_to_arrays(reb[s], f"rebates[{s}]") if reb.get(s) is not None else (None,) * 4
            cols.append(SymbolColumns(ts, o, h, lo, c, v, m, mo, mh, ml, ix, ft, fr, st, rs, re, rv, rr, per))
        return cols

    def __reduce__(self) -> Any:
        return (_restore, (type(self), self.__getstate__()))

    def __repr__(self) -> str:
        a = self.account
        return (
            f"Exchange(symbols={list(self.symbols)}, equity={a.equity:.8g} {a.settle_asset}, updates={self.n_updates})"
        )
