"""What crosses the boundary between the Python package and the compiled core, declared once.

- :class:`SymbolColumns`: one symbol's input arrays for a run (the core reads them by field name and
  borrows them without a copy; ``_core._SYMBOL_COLUMNS`` lists the names it reads, and a test checks
  the two agree).
- :class:`StrategyInputs`, :class:`ModelInputs`: what a run adds to a strategy's or a model's own
  parameters. The strategy and model dataclasses themselves are read by the core field by field
  (``_core._FIELDS`` lists the fields it reads; a test checks them against the dataclasses) and
  judged by the engine at construction.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

__all__ = ["SymbolColumns", "StrategyInputs", "ModelInputs"]


class SymbolColumns(NamedTuple):
    """One symbol's columns for a run: contiguous int64 times in units of ``ts_per`` ns (the
    index's own unit, borrowed without conversion) and float64 prices."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: Optional[np.ndarray] = None
    mark: Optional[np.ndarray] = None
    mark_open: Optional[np.ndarray] = None
    mark_high: Optional[np.ndarray] = None
    mark_low: Optional[np.ndarray] = None
    index_close: Optional[np.ndarray] = None
    funding_ts: Optional[np.ndarray] = None
    funding_rate: Optional[np.ndarray] = None
    settlement_price: Optional[float] = None
    rebate_start: Optional[np.ndarray] = None
    rebate_end: Optional[np.ndarray] = None
    rebate_market_volume: Optional[np.ndarray] = None
    rebate_reward: Optional[np.ndarray] = None
    ts_per: int = 1


class StrategyInputs(NamedTuple):
    """What a run adds to a built-in strategy's own parameters (the dataclass itself is read by
    field name): target positions (one row per symbol, one column per time of ``target_times``, int64
    ns), the basis strategy's spot close per step (NaN: no spot bar), its default spot fee and
    starting cash, and extra step times."""

    targets: Optional[np.ndarray] = None
    target_times: Optional[np.ndarray] = None
    spot: Optional[np.ndarray] = None
    spot_fee: Optional[float] = None
    initial_cash: Optional[float] = None
    clock: Optional[np.ndarray] = None


class ModelInputs(NamedTuple):
    """What a Monte Carlo run adds to a price model's own parameters: the first bar's time (ns),
    funding (a constant rate, or a history to resample) every ``funding_interval_ns``, and for a
    bootstrap its relative bars (open/previous close, high/open, low/open, close/open) and start
    price."""

    start_ts: int = 0
    funding_rate: Optional[float] = None
    funding_history: Optional[np.ndarray] = None
    funding_interval_ns: int = 0
    relative_bars: Optional[np.ndarray] = None
    s0: Optional[float] = None
    expiry_ns: Optional[int] = None  # a basis model's delivery future: its premium converges there
