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


def wobble_bars(n: int, unit: str = "ns") -> pd.DataFrame:
    """``n`` one-minute bars from 2024-01-01 UTC (index in ``unit``) wobbling around 100 within
    ±6.3 (a slow sine and a short saw-tooth), each opening at the previous close, with highs and
    lows 0.05 beyond: deterministic, and long enough runs of them cross a grid's levels often."""
    k = np.arange(n)
    close = 100.0 + 6.0 * np.sin(k / 700.0) + 0.3 * ((k * 7 % 11) - 5) / 5.0
    open_ = np.concatenate([[100.0], close[:-1]])
    idx = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC").as_unit(unit)
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 0.05,
            "low": np.minimum(open_, close) - 0.05,
            "close": close,
        },
        index=idx,
    )
