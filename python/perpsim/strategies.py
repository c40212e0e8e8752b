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

import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .errors import InvalidInputError

__all__ = ["Grid", "Rebalance", "TargetPositions", "IndexDeviation", "Basis"]


def _pos(name: str, v: Any) -> float:
    """``v`` as a finite float > 0, or an error naming ``name``."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name}: must be a number, got {v!r}", name) from None
    if not (math.isfinite(x) and x > 0):
        raise InvalidInputError(f"{name}: must be a finite number > 0, got {x}", name)
    return x


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
    the data (default the first).
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

    def __post_init__(self) -> None:
        lo = _pos("lower", self.lower)
        up = _pos("upper", self.upper)
        if up <= lo:
            raise InvalidInputError(f"upper: must be above lower ({lo}), got {up}", "upper")
        if not isinstance(self.grid_count, (int, np.integer)) or self.grid_count < 2:
            raise InvalidInputError(f"grid_count: must be an integer >= 2, got {self.grid_count!r}", "grid_count")
        if self.mode not in ("neutral", "long", "short"):
            raise InvalidInputError(f"mode: must be neutral, long or short, got {self.mode!r}", "mode")
        if self.spacing not in ("arithmetic", "geometric"):
            raise InvalidInputError(f"spacing: must be arithmetic or geometric, got {self.spacing!r}", "spacing")
        if (self.qty is None) == (self.quote_per_grid is None):
            raise InvalidInputError("qty: give exactly one of qty and quote_per_grid", "qty")
        for name in ("qty", "quote_per_grid", "trigger"):
            if getattr(self, name) is not None:
                _pos(name, getattr(self, name))
        if self.stop_upper is not None and _pos("stop_upper", self.stop_upper) <= up:
            raise InvalidInputError(f"stop_upper: must be above upper ({up})", "stop_upper")
        if self.stop_lower is not None and _pos("stop_lower", self.stop_lower) >= lo:
            raise InvalidInputError(f"stop_lower: must be below lower ({lo})", "stop_lower")
        if (self.trailing_up or self.trailing_down) and self.quote_per_grid is None:
            raise InvalidInputError("quote_per_grid: trailing needs a constant quote value per grid", "quote_per_grid")
        if self.trailing_up_limit is not None:
            t = _pos("trailing_up_limit", self.trailing_up_limit)
            if not (t > up and (self.stop_upper is None or t < float(self.stop_upper))):
                raise InvalidInputError(
                    "trailing_up_limit: must be above upper and below stop_upper", "trailing_up_limit"
                )
        if self.trailing_down_limit is not None:
            t = _pos("trailing_down_limit", self.trailing_down_limit)
            if not (t < lo and (self.stop_lower is None or t > float(self.stop_lower))):
                raise InvalidInputError(
                    "trailing_down_limit: must be below lower and above stop_lower", "trailing_down_limit"
                )

    def levels(self) -> np.ndarray:
        """The N + 1 price levels (before rounding to the contract's tick)."""
        i = np.arange(self.grid_count + 1)
        if self.spacing == "geometric":
            return self.lower * (self.upper / self.lower) ** (i / self.grid_count)
        return self.lower + i * (self.upper - self.lower) / self.grid_count

    def _spec(self, symbols: Sequence[str]) -> Dict[str, Any]:
        sym = symbols[0] if self.symbol is None else self.symbol
        if sym not in symbols:
            raise InvalidInputError(f"symbol: {sym!r} is not in the data", "symbol")
        return dict(
            kind="grid",
            symbol=list(symbols).index(sym),
            lower=float(self.lower),
            upper=float(self.upper),
            grid_count=int(self.grid_count),
            mode=self.mode,
            spacing=self.spacing,
            qty=self.qty,
            quote_per_grid=self.quote_per_grid,
            trigger=self.trigger,
            stop_upper=self.stop_upper,
            stop_lower=self.stop_lower,
            close_on_stop=bool(self.close_on_stop),
            trailing_up=bool(self.trailing_up),
            trailing_down=bool(self.trailing_down),
            trailing_up_limit=self.trailing_up_limit,
            trailing_down_limit=self.trailing_down_limit,
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
        if (self.target_value is None) == (self.target_ratio is None):
            raise InvalidInputError("target_value: give exactly one of target_value and target_ratio", "target_value")
        a = float(self.adjust_ratio)
        if not (math.isfinite(a) and a >= 0):
            raise InvalidInputError(f"adjust_ratio: must be >= 0, got {a}", "adjust_ratio")
        if self.limit_orders and not 0 < a < 1:
            raise InvalidInputError("adjust_ratio: resting limit orders need 0 < adjust_ratio < 1", "adjust_ratio")

    def _spec(self, symbols: Sequence[str]) -> Dict[str, Any]:
        kind = "value" if self.target_value is not None else "ratio"
        t = self.target_value if kind == "value" else self.target_ratio
        field = "target_value" if kind == "value" else "target_ratio"
        if isinstance(t, Mapping):
            unknown = [k for k in t if k not in symbols]
            if unknown:
                raise InvalidInputError(f"{field}: unknown symbol {unknown[0]!r}", field)
            targets = [float(t.get(s, 0.0)) for s in symbols]
        else:
            targets = [float(t or 0.0)] + [0.0] * (len(symbols) - 1)
        if not all(math.isfinite(x) for x in targets):
            raise InvalidInputError(f"{field}: must be finite", field)
        return dict(
            kind="rebalance",
            target_kind=kind,
            targets=targets,
            adjust_ratio=float(self.adjust_ratio),
            limit_orders=bool(self.limit_orders),
        )


@dataclass(frozen=True)
class TargetPositions:
    """Per-step targets: a Series (one symbol) or DataFrame (a column per symbol) on the data's
    timeline; ``unit`` is ``"qty"``, ``"value"`` (quote) or ``"fraction"`` (of equity). NaN: keep
    the position. Traded at each close."""

    targets: Union[pd.Series, pd.DataFrame]
    unit: str = "qty"

    def __post_init__(self) -> None:
        if self.unit not in ("qty", "value", "fraction"):
            raise InvalidInputError(f"unit: must be qty, value or fraction, got {self.unit!r}", "unit")
        if not isinstance(self.targets, (pd.Series, pd.DataFrame)):
            raise InvalidInputError("targets: must be a pandas Series or DataFrame", "targets")

    def _spec(self, symbols: Sequence[str], timeline: pd.DatetimeIndex) -> Dict[str, Any]:
        t = self.targets
        if isinstance(t, pd.Series):
            t = t.to_frame(symbols[0])
        unknown = [c for c in t.columns if c not in symbols]
        if unknown:
            raise InvalidInputError(f"targets: unknown symbol {unknown[0]!r}", "targets")
        t = t.reindex(timeline)
        cols = [t[s].to_numpy(dtype=float).tolist() if s in t.columns else [math.nan] * len(timeline) for s in symbols]
        bad = [k for k, c in enumerate(cols) if any(math.isinf(x) for x in c)]
        if bad:
            raise InvalidInputError(f"targets: infinite target for {symbols[bad[0]]}", "targets")
        return dict(kind="targets", unit=self.unit, targets=cols)


@dataclass(frozen=True)
class IndexDeviation:
    """Short what rose against the basket, long what fell (spec/strategies.md), over every symbol of
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
        _pos("trade_value", self.trade_value)
        _pos("step", self.step)
        m = float(self.min_trade_value)
        if not (math.isfinite(m) and m >= 0):
            raise InvalidInputError(f"min_trade_value: must be >= 0, got {m}", "min_trade_value")
        if not (self.base == "first" or (isinstance(self.base, (int, np.integer)) and self.base >= 1)):
            raise InvalidInputError(f"base: 'first' or a moving-average window >= 1, got {self.base!r}", "base")
        for name in ("stop_deviation", "reentry_deviation"):
            if getattr(self, name) is not None:
                _pos(name, getattr(self, name))

    def _spec(self, symbols: Sequence[str]) -> Dict[str, Any]:
        return dict(
            kind="deviation",
            trade_value=float(self.trade_value),
            step=float(self.step),
            min_trade_value=float(self.min_trade_value),
            window=0 if self.base == "first" else int(self.base),
            stop_deviation=self.stop_deviation,
            reentry_deviation=self.reentry_deviation,
        )


@dataclass(frozen=True)
class Basis:
    """Futures-spot basis (cash-and-carry), spec/strategies.md: buy the coin on spot and short the
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
        for name in ("open_threshold", "close_threshold"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(float(v))):
                raise InvalidInputError(f"{name}: must be a finite number, got {v!r}", name)
        if self.close_threshold is not None and self.close_threshold > self.open_threshold:
            raise InvalidInputError("close_threshold: must not be above open_threshold", "close_threshold")
        given = [n for n in ("amount", "value", "fraction") if getattr(self, n) is not None]
        if len(given) > 1:
            raise InvalidInputError("amount: give at most one of amount, value and fraction", given[1])
        for n in given:
            _pos(n, getattr(self, n))
        if self.fraction is not None and self.fraction > 1:
            raise InvalidInputError(f"fraction: must be <= 1, got {self.fraction}", "fraction")
        if self.spot_fee is not None:
            f = float(self.spot_fee)
            if not (math.isfinite(f) and 0 <= f < 1):
                raise InvalidInputError(f"spot_fee: must be in [0, 1), got {f}", "spot_fee")

    def _size(self) -> tuple:
        if self.amount is not None:
            return "coin", float(self.amount)
        if self.value is not None:
            return "quote", float(self.value)
        return "fraction", float(0.9 if self.fraction is None else self.fraction)
