"""Charts of long runs: a series of millions of points is drawn from a few thousand. Each of
``buckets`` equal slices of the series keeps its first, lowest, highest and last point, in time
order, so that every extreme (a drawdown's trough, a spike) is drawn where it happened; what is
left out lies between points that are drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["decimate", "sample_rows"]

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
