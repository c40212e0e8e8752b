"""What crosses the boundary between the Python package and the compiled core, declared once.

- :class:`SymbolColumns`: one symbol's input arrays for a run (the core reads them by field name and
  borrows them without a copy; ``_core._SYMBOL_COLUMNS`` lists the names it reads, and a test checks
  the two agree).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

__all__ = ["SymbolColumns"]


class SymbolColumns(NamedTuple):
    """One symbol's columns for a run: contiguous int64 ns times and float64 prices."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: Optional[np.ndarray] = None
    mark: Optional[np.ndarray] = None
    funding_ts: Optional[np.ndarray] = None
    funding_rate: Optional[np.ndarray] = None
    settlement_price: Optional[float] = None
