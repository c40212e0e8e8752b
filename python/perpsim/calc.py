"""Exchange calculators (docs/strategies.md, docs/accounting.md).

The formulas the engine applies (grid levels, tick and step rounding, liquidation price, funding,
premium) are the engine's own, called here; the others are the exchanges' published calculators.
Quote amounts are rounded to 2 decimals where the exchange rounds (``decimals=4`` for ETHBTC-like
pairs); quantities round down to the step.
"""

from __future__ import annotations

import math
from typing import Any, List, Optional

import numpy as np

from . import _core
from .contracts import Contract, named
from .errors import InvalidInputError, whole_number

__all__ = [
    "grid_levels",
    "grid_quote_qty",
    "grid_qty_at",
    "grid_min_qty",
    "min_initial_margin",
    "estimated_trailing_cap",
    "max_trailing_up_count",
    "trailing_upper_price",
    "matched_profit",
    "liquidation_price",
    "funding_payment",
    "trade_mining_income",
    "trade_mining_optimum",
    "premium",
    "annualized_premium",
]


def _num(name: str, v: Any) -> float:
    """A finite number (an int or a float, not a bool or a string)."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"{name}: must be a number, got {v!r}", name)
    x = float(v)
    if not math.isfinite(x):
        raise InvalidInputError(f"{name}: must be a finite number, got {x}", name)
    return x


def _pos(name: str, v: Any) -> float:
    x = _num(name, v)
    if not x > 0:
        raise InvalidInputError(f"{name}: must be a finite number > 0, got {x}", name)
    return x


def _nonneg(name: str, v: Any) -> float:
    x = _num(name, v)
    if x < 0:
        raise InvalidInputError(f"{name}: must be >= 0, got {x}", name)
    return x


def _whole(name: str, v: Any, least: int = 0) -> int:
    return whole_number(name, v, least)


def grid_levels(
    lower: float,
    upper: float,
    grid_count: int,
    spacing: str = "arithmetic",
    tick: float = 0.0,
    max_grids: Optional[int] = None,
) -> List[float]:
    """The N + 1 levels: arithmetic ``L + iΔ`` with ``Δ = (U − L)/N`` or geometric ``L·r^i`` with
    ``r = (U/L)^(1/N)``, rounded to the tick (the engine's grid). More than ``max_grids`` intervals
    (the engine's default, a few hundred as on the exchanges) are refused."""
    n = _whole("grid_count", grid_count)
    cap = None if max_grids is None else _whole("max_grids", max_grids)
    low, up, tick = _num("lower", lower), _num("upper", upper), _nonneg("tick", tick)
    return list(_core.calc_grid_levels(low, up, n, spacing, tick, cap))


def grid_quote_qty(
    initial_margin: float,
    leverage: float,
    grid_count: int,
    adjust_coef: float = 0.95,
    avg_cost_ratio: float = 1.0,
    decimals: int = 2,
) -> float:
    """Constant quote value per grid: ``adjust_coef · initial_margin · leverage · avg_cost_ratio / (N + 1)``,
    rounded to ``decimals``."""
    v = _pos("adjust_coef", adjust_coef) * _pos("initial_margin", initial_margin) * _pos("leverage", leverage)
    v *= _pos("avg_cost_ratio", avg_cost_ratio)
    return round(v / (_whole("grid_count", grid_count, 2) + 1), _whole("decimals", decimals))


def grid_qty_at(quote_qty: float, price: float, step: float = 0.0) -> float:
    """Quantity at level ``price`` for a quote value per grid: ``quote_qty / price`` rounded down to
    the step (with a trigger, pass the trigger price)."""
    return _core.calc_floor_qty(_pos("quote_qty", quote_qty) / _pos("price", price), _nonneg("step", step))


def grid_min_qty(lower: float, min_qty: float, min_notional: float) -> float:
    """``max(exchange min_qty, min_notional / L)``."""
    return max(_nonneg("min_qty", min_qty), _nonneg("min_notional", min_notional) / _pos("lower", lower))


def min_initial_margin(
    upper: float, grid_count: int, leverage: float, min_notional: float, min_qty: float, trailing_coef: float = 1.0
) -> float:
    """``max((N+1)·min_notional, (N+1)·trailing_coef·U·min_qty) / leverage``."""
    n1 = _whole("grid_count", grid_count, 2) + 1
    notional = n1 * _nonneg("min_notional", min_notional)
    qty = n1 * _pos("trailing_coef", trailing_coef) * _pos("upper", upper) * _nonneg("min_qty", min_qty)
    return max(notional, qty) / _pos("leverage", leverage)


def estimated_trailing_cap(initial_margin: float, leverage: float, min_qty: float, max_price: float) -> float:
    """``min(initial_margin · leverage / min_qty, max_price)``."""
    return min(
        _pos("initial_margin", initial_margin) * _pos("leverage", leverage) / _pos("min_qty", min_qty),
        _pos("max_price", max_price),
    )


def max_trailing_up_count(cap: float, upper: float, delta: float) -> int:
    """``floor((estimated_trailing_cap − U) / Δ)`` (0 when the cap is below U)."""
    steps = (_num("cap", cap) - _pos("upper", upper)) / _pos("delta", delta)
    if not steps > 0:
        return 0
    if not math.isfinite(steps):
        raise InvalidInputError(f"delta: {delta} is too small for a count of trailing steps", "delta")
    return math.floor(steps + 1e-12)


def trailing_upper_price(upper: float, delta: float, count: int, tick: float = 0.0) -> float:
    """``U + Δ · max_trailing_up_count``, rounded to the tick."""
    up = _pos("upper", upper) + _pos("delta", delta) * _whole("count", count)
    return _core.calc_round_price(up, _nonneg("tick", tick))


def matched_profit(
    buy_price: float,
    sell_price: float,
    qty: float,
    buy_fee: float = 0.0,
    sell_fee: float = 0.0,
    buy_qty: Optional[float] = None,
    sell_qty: Optional[float] = None,
) -> float:
    """Grid matched profit of a buy and the sell one level above: ``(sell − buy)·q − (buy_fee·q/buy_qty +
    sell_fee·q/sell_qty)`` (fees apportioned by the matched share of each order)."""
    q = _pos("qty", qty)
    bq = q if buy_qty is None else _pos("buy_qty", buy_qty)
    sq = q if sell_qty is None else _pos("sell_qty", sell_qty)
    gross = (_pos("sell_price", sell_price) - _pos("buy_price", buy_price)) * q
    return gross - (_num("buy_fee", buy_fee) * q / bq + _num("sell_fee", sell_fee) * q / sq)


def liquidation_price(
    contract: Contract,
    side: str,
    qty: float,
    entry_price: float,
    wallet_balance: float,
    mm_other: float = 0.0,
    upnl_other: float = 0.0,
) -> float:
    """Liquidation price (one-way mode, docs/accounting.md): isolated with ``wallet_balance`` the
    isolated margin, cross with the other positions' maintenance margin and unrealized PnL. NaN when
    no positive price liquidates the position."""
    if side not in ("long", "short"):
        raise InvalidInputError("side: long or short", "side")
    c = named(contract) if isinstance(contract, str) else contract
    return _core.calc_liquidation_price(
        c,
        side == "long",
        _pos("qty", qty),
        _pos("entry_price", entry_price),
        _num("wallet_balance", wallet_balance),
        _num("mm_other", mm_other),
        _num("upnl_other", upnl_other),
    )


def funding_payment(contract: Contract, qty: float, mark_price: float, rate: float) -> float:
    """Funding received by a position of signed ``qty`` (negative: paid): ``−side · notional at the mark ·
    rate`` (linear ``|q|·cs·M``, inverse ``|q|·cs/M``)."""
    c = named(contract) if isinstance(contract, str) else contract
    return _core.calc_funding(c, _num("qty", qty), _pos("mark_price", mark_price), _num("rate", rate))


def trade_mining_income(a: float, volume: float, pool: float, price: float, cost: float) -> float:
    """Income of trading ``a`` in a period where the market trades ``volume`` and the pool is worth
    ``pool · price``: ``G(a) = a/(a+V)·B·p − a·c`` (the share is the engine's rule for rebate periods,
    :func:`perpsim.backtest`'s ``rebates``; the cost is what the engine charges as fees)."""
    a, volume = _nonneg("a", a), _nonneg("volume", volume)
    pool, price, cost = _nonneg("pool", pool), _nonneg("price", price), _nonneg("cost", cost)
    return _core.calc_rebate_share(a, volume, pool * price) - a * cost


def trade_mining_optimum(volume: float, pool: float, price: float, cost: float, min_order: float = 0.0) -> float:
    """The size maximising the trade-mining income: ``a* = sqrt(V·B·p/c) − V`` (0: do not trade when
    ``a* ≤ 0``; the minimum order when ``V = 0``)."""
    c = _pos("cost", cost)
    volume, pool, price = _nonneg("volume", volume), _nonneg("pool", pool), _nonneg("price", price)
    if volume == 0:
        return _nonneg("min_order", min_order)
    a = math.sqrt(volume * pool * price / c) - volume
    return a if a > 0 else 0.0


def premium(future: float, spot: float) -> float:
    """Premium of a future over spot: ``(F − S) / S``."""
    return _core.calc_premium(_pos("future", future), _pos("spot", spot))[0]


def annualized_premium(future: float, spot: float, days_to_expiry: float) -> float:
    """``premium · 365 / days to expiry``."""
    return _core.calc_premium(_pos("future", future), _pos("spot", spot), _pos("days_to_expiry", days_to_expiry))[1]
