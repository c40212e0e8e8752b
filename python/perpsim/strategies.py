"""Built-in strategy configurations (frozen dataclasses); the strategies themselves run in Rust.

- :class:`Grid`: the Binance-style futures grid (neutral/long/short, arithmetic/geometric, fixed
  quantity or constant quote value per grid, trigger, stops, trailing up/down).
- :class:`Rebalance`: the balance strategy (target value or ratio of equity, adjust ratio, market
  execution at the close, several symbols in one account).
- :class:`TargetPositions`: per-step targets (quantity, value or fraction of equity).
- :class:`IndexDeviation`: basket deviation from the index (its risk table: :mod:`perpsim.studies`).
- :class:`Basis`: futures-spot basis (cash-and-carry), linear or inverse, delivery or perpetual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from . import _core
from ._frames import pandas_series
from ._protocol import StrategyInputs
from .errors import InvalidInputError

__all__ = ["Grid", "Rebalance", "TargetPositions", "IndexDeviation", "Basis"]


@dataclass(frozen=True)
class Grid:
    """A futures grid between ``lower`` and ``upper`` with ``grid_count`` intervals.

    Exactly one of ``qty`` (base quantity per order) and ``quote_per_grid`` (quote value per order).
    ``mode``: ``"neutral"``, ``"long"`` (buys at market what the sells above close) or ``"short"``.
    ``trigger``: start when the price reaches it. ``stop_upper`` / ``stop_lower``: stop (and close the
    position when ``close_on_stop``) when the price reaches them (checked on each bar's range;
    the position closes at the stop price). ``trailing_up`` / ``trailing_down`` (with
    ``quote_per_grid``): when the path reaches the level beyond the top (bottom), the grid moves one
    level, up to ``trailing_up_limit`` (down to ``trailing_down_limit``). ``symbol``: which symbol of
    the data (default the first). ``max_grids``: the most intervals accepted (default 500: exchanges'
    grid bots take a few hundred; raise it to research denser grids).
    """

    lower: float
    upper: float
    grid_count: int
    mode: str = "neutral"
    spacing: str = "arithmetic"
    qty: Optional[float] = None
    quote_per_grid: Optional[float] = None
    trigger: Optional[float] = None
    stop_upper: Optional[float] = None
    stop_lower: Optional[float] = None
    close_on_stop: bool = True
    trailing_up: bool = False
    trailing_down: bool = False
    trailing_up_limit: Optional[float] = None
    trailing_down_limit: Optional[float] = None
    symbol: Optional[str] = None
    max_grids: Optional[int] = None

    def __post_init__(self) -> None:
        _core.check_strategy(self)

    def levels(self) -> np.ndarray:
        """The N + 1 price levels (before rounding to the contract's tick)."""
        return np.asarray(
            _core.calc_grid_levels(self.lower, self.upper, self.grid_count, self.spacing, max_grids=self.max_grids)
        )


@dataclass(frozen=True)
class Rebalance:
    """Hold a position of ``target_value`` (quote, per symbol: a number or a mapping) or
    ``target_ratio`` (fraction of equity); at each close, trade back to the target when the value is
    more than ``adjust_ratio`` away from it (0: every step). With ``limit_orders=True`` (linear
    contracts) it trades as it does live: a resting buy and sell at the prices where the value would
    be ``adjust_ratio`` away from the target, re-placed after each fill (live at once on the path)."""

    target_value: Optional[Union[float, Mapping[str, float]]] = None
    target_ratio: Optional[Union[float, Mapping[str, float]]] = None
    adjust_ratio: float = 0.01
    limit_orders: bool = False

    def __post_init__(self) -> None:
        _core.check_strategy(self)


@dataclass(frozen=True)
class TargetPositions:
    """Per-step targets: a Series (one symbol) or DataFrame (a column per symbol) indexed by step
    times; ``unit`` is ``"qty"``, ``"value"`` (quote) or ``"fraction"`` (of equity). NaN: keep
    the position. Each row is traded at the close of the step with its time; a row whose time is
    no step is not used (a warning on the result, emitted when no row matches); a symbol without a
    bar at its row's step keeps the target until it has one."""

    targets: Union[pd.Series, pd.DataFrame]
    unit: str = "qty"

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", pandas_series(self.targets, "targets"))
        if not isinstance(self.targets, (pd.Series, pd.DataFrame)):
            raise InvalidInputError("targets: must be a pandas Series or DataFrame", "targets")
        _core.check_strategy(self)

    def _inputs(self, symbols: Sequence[str]) -> StrategyInputs:
        """The targets as rows by time, one column per symbol (NaN: keep the position); the engine
        matches each row to the step with its time."""
        from .data import index_ns

        t = self.targets
        if isinstance(t, pd.Series):
            t = t.to_frame(symbols[0])
        unknown = [c for c in t.columns if c not in symbols]
        if unknown:
            raise InvalidInputError(f"targets: unknown symbol {unknown[0]!r}", "targets")
        times = index_ns(t.index, "targets")
        rows = [t[s].to_numpy(dtype=float) if s in t.columns else np.full(len(t), np.nan) for s in symbols]
        return StrategyInputs(
            targets=np.ascontiguousarray(np.vstack(rows)) if rows else None,
            target_times=np.ascontiguousarray(times),
        )


@dataclass(frozen=True)
class IndexDeviation:
    """Short what rose against the basket, long what fell (docs/strategies.md), over every symbol of
    the data. Each close: n = price / base (``base="first"``: the first price; an int: a moving average
    of that many closes), index = mean of n, d = n − index, target value
    −trade_value · round(d / step, 1), traded at the close when it differs from the position's value
    by more than ``min_trade_value``. With ``stop_deviation``, a symbol whose deviation moves past it
    against its position is closed and left alone until |d| is back under ``reentry_deviation``
    (default: ``stop_deviation``)."""

    trade_value: float
    step: float = 0.01
    min_trade_value: float = 20.0
    base: Union[str, int] = "first"
    stop_deviation: Optional[float] = None
    reentry_deviation: Optional[float] = None

    def __post_init__(self) -> None:
        _core.check_strategy(self)


@dataclass(frozen=True)
class Basis:
    """Futures-spot basis (cash-and-carry), docs/strategies.md: buy the coin on spot and short the
    same coin amount of a future while the premium (F − S)/S (or, with ``annualized=True``, the
    premium · 365 / days to expiry) is at least ``open_threshold``; close both legs when it is at most
    ``close_threshold`` (``None``: never early), or, with ``hold_to_expiry``, let the delivery contract
    settle and sell the coin then. With several futures in the data, an open picks the best
    annualized premium (the best premium when a perpetual is among them).

    ``spot``: the key of the spot data in the backtest's data (default: the symbol whose contract is
    a spot contract). Size: ``amount`` (coin), ``value`` (quote) or ``fraction`` of the free capital
    (default 0.9; the rest of the capital backs the short). ``spot_fee``: the spot taker fee (default:
    the spot contract's taker fee). Linear futures: the capital sits in the futures account and the
    spot purchase is withdrawn from it; inverse futures: the capital is quote in the spot wallet, the
    coin bought is deposited into the coin-margined account as the short's collateral.
    """

    open_threshold: float
    close_threshold: Optional[float] = None
    annualized: bool = False
    hold_to_expiry: bool = False
    amount: Optional[float] = None
    value: Optional[float] = None
    fraction: Optional[float] = None
    spot: Optional[str] = None
    spot_fee: Optional[float] = None

    def __post_init__(self) -> None:
        _core.check_strategy(self)

    @staticmethod
    def _capital(inverse: bool, balance: float, leverage: Optional[float]) -> Tuple[float, float, float]:
        """Where the capital sits (the backtest and Monte Carlo alike): (the futures account's
        balance, its leverage, the spot wallet's quote cash). Linear futures: the capital in the
        account, the spot purchase withdrawn from it; inverse: the capital as quote in the spot
        wallet, the coin bought deposited as the short's collateral. The default leverage is the
        engine's for the case."""
        lev = leverage if leverage is not None else _core.basis_default_leverage(inverse)
        return (0.0, lev, float(balance)) if inverse else (float(balance), lev, 0.0)
