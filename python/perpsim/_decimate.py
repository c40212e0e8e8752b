"""Charts of long runs: a series of millions of points is drawn from a few thousand. Each of
``buckets`` equal slices of the series keeps its first, lowest, highest and last point, in time
order, so that every extreme (a drawdown's trough, a spike) is drawn where it happened; what is
left out lies between points that are drawn."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

__all__ = ["decimate", "sample_rows", "chart_data"]

#: Series up to this many points are drawn whole.
LIMIT = 8_000


def decimate(s: pd.Series, buckets: int = 2_000) -> pd.Series:
    """``s`` itself when short, else its first, min, max and last point of each of ``buckets``
    slices (NaNs ignored), in order."""
    n = len(s)
    if n <= LIMIT:
        return s
    v = s.to_numpy(dtype=float)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep = [edges[:-1], edges[1:] - 1]
    filled = np.where(np.isnan(v), np.nanmean(v) if np.isfinite(v).any() else 0.0, v)
    lo = np.minimum.reduceat(filled, edges[:-1])
    hi = np.maximum.reduceat(filled, edges[:-1])
    # the positions of each slice's min and max
    bucket = np.repeat(np.arange(buckets), np.diff(edges))
    is_lo = filled == lo[bucket]
    is_hi = filled == hi[bucket]
    first_lo = np.full(buckets, -1, dtype=np.int64)
    first_hi = np.full(buckets, -1, dtype=np.int64)
    idx = np.arange(n)
    np.maximum.at(first_lo, bucket[is_lo], idx[is_lo])
    np.maximum.at(first_hi, bucket[is_hi], idx[is_hi])
    keep += [first_lo, first_hi]
    rows = np.unique(np.concatenate(keep))
    return s.iloc[rows]


def sample_rows(df: pd.DataFrame, limit: int = 5_000) -> pd.DataFrame:
    """At most ``limit`` rows of ``df``, evenly spaced (markers on a chart: fills)."""
    if len(df) <= limit:
        return df
    return df.iloc[np.linspace(0, len(df) - 1, limit).astype(np.int64)]


def chart_data(result: Any, symbol: Optional[str] = None) -> Dict[str, Any]:
    """What a backtest's price, equity and drawdown panels draw, chosen once for every renderer
    (matplotlib's ``Result.plot`` and the interactive report): ``symbol`` (default the first),
    its decimated ``close`` (None without data), the grid ``levels``, the fill ``marks`` as
    ``(kind, rows)`` for ``"buy"``, ``"sell"`` (at most 5,000 each, liquidations apart) and
    ``"liquidation"``, the decimated ``equity`` and its ``drawdown`` from the running peak (the
    initial balance included, as the engine's statistics measure it)."""
    sym = symbol or (next(iter(result.data)) if result.data else None)
    close = decimate(result.data[sym]["close"]) if sym is not None and sym in result.data else None
    marks: List[Tuple[str, pd.DataFrame]] = []
    if close is not None:
        f = result.fills
        f = f[f["symbol"] == sym] if len(f) else f
        if len(f):
            regular = f["reason"] != "liquidation"
            marks = [
                ("buy", sample_rows(f[regular & (f["side"] == "buy")])),
                ("sell", sample_rows(f[regular & (f["side"] == "sell")])),
                ("liquidation", f[~regular]),
            ]
            marks = [(k, g) for k, g in marks if len(g)]
    eq = result.equity["equity"]
    peak = eq.cummax().clip(lower=result.initial_balance)
    return {
        "symbol": sym,
        "close": close,
        "levels": [float(x) for x in result.strategy_stats.get("levels", [])] if close is not None else [],
        "marks": marks,
        "equity": decimate(eq),
        "drawdown": decimate(eq / peak - 1.0),
    }
