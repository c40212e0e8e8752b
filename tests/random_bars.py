"""Random hourly OHLC bars for the engine-vs-reference tests: a geometric random walk of closes,
each bar opening at the previous close, with highs and lows a random fraction beyond them."""

from __future__ import annotations

import numpy as np
import pandas as pd


def random_bars(
    rng: np.random.Generator, n: int, start: pd.Timestamp, vol: float = 0.01, drift: float = 0.0, wick: float = 0.01
) -> pd.DataFrame:
    """``n`` hourly bars from 100 starting at ``start``: log returns normal(``drift``, ``vol``),
    highs and lows up to ``wick`` beyond the open and close."""
    close = 100 * np.exp(np.cumsum(rng.normal(drift, vol, n)))
    open_ = np.r_[100.0, close[:-1]]
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + rng.uniform(0, wick, n)),
            "low": np.minimum(open_, close) * (1 - rng.uniform(0, wick, n)),
            "close": close,
        },
        index=pd.date_range(start, periods=n, freq="1h"),
    )
