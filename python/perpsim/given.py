"""``perpsim.run_paths``: your own simulated or resampled price paths through a built-in strategy
in one call, on all cores with the GIL released, one row of figures per path (the same table as
:func:`perpsim.monte_carlo`'s, the same figures as a backtest's ``stats``)."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from .data import index_ns
from .errors import InvalidInputError
from .montecarlo import _START, MonteCarloResult, _contracts, _exchange, _frame, _whole

__all__ = ["run_paths"]

FIELDS = ("open", "high", "low", "close")

Paths = Union[Mapping[str, Any], Sequence[pd.DataFrame]]


def _blocks(paths: Paths, index: Optional[pd.DatetimeIndex]) -> tuple:
    """The four fields as (paths × bars) C-contiguous float64 blocks, and the bars' index."""
    if isinstance(paths, Mapping):
        missing = [f for f in FIELDS if f not in paths]
        if missing:
            raise InvalidInputError(f"paths: no {missing[0]!r} (give open, high, low, close)", missing[0])
        arrays = []
        for f in FIELDS:
            a = np.asarray(paths[f], dtype=np.float64) if not isinstance(paths[f], pd.DataFrame) else None
            if a is None:
                a = paths[f].to_numpy(dtype=np.float64)
                index = paths[f].index if index is None else index
            if a.ndim != 2:
                raise InvalidInputError(f"{f}: a 2-D array (bars × paths), got {a.ndim} dimensions", f)
            arrays.append(a)
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise InvalidInputError(f"paths: the fields' shapes differ: {sorted(shapes)}", "paths")
        # (bars × paths) → path after path; a Fortran-ordered block is a view, a C-ordered one is copied once
        blocks = [np.ascontiguousarray(a.T) for a in arrays]
    else:
        frames = list(paths)
        if not frames or not all(isinstance(df, pd.DataFrame) for df in frames):
            raise InvalidInputError("paths: a mapping field -> (bars × paths) array, or a list of DataFrames", "paths")
        first = frames[0].index
        for k, df in enumerate(frames):
            if not df.index.equals(first):
                raise InvalidInputError(f"paths[{k}]: its index differs from the first path's", "paths")
            missing = [f for f in FIELDS if f not in df.columns]
            if missing:
                raise InvalidInputError(f"paths[{k}]: no {missing[0]!r} column", missing[0])
        index = first if index is None else index
        blocks = [np.ascontiguousarray(np.stack([df[f].to_numpy(dtype=np.float64) for df in frames])) for f in FIELDS]
    bars = blocks[0].shape[1]
    if index is None:
        index = pd.date_range(_START, periods=bars, freq="1h")
    if len(index) != bars:
        raise InvalidInputError(f"index: {len(index)} times for {bars} bars", "index")
    return blocks, index


def run_paths(
    strategy: Any,
    paths: Paths,
    contract: Any = None,
    index: Optional[pd.DatetimeIndex] = None,
    initial_balance: float = 10_000.0,
    leverage: Optional[float] = None,
    funding: Optional[pd.Series] = None,
    threads: Optional[int] = None,
    **options: Any,
) -> MonteCarloResult:
    """Runs ``strategy`` (a built-in strategy: ``perpsim.Grid``, ``Rebalance``, ...) on each of your
    paths, in the engine, all paths in parallel; returns a :class:`MonteCarloResult` whose ``paths``
    table has one row per path (the figures of a backtest of that path's bars).

    ``paths``: a mapping ``{"open", "high", "low", "close"}`` of (bars × paths) arrays (numpy, or
    DataFrames with the bars' times as index), or a list of DataFrames with the same index. A
    Fortran-ordered (bars × paths) array is read without a copy. ``index``: the bars' times (default:
    the DataFrames', else hourly from 2024-01-01). ``funding``: funding rates by time, the same on
    every path. ``threads``: cores (default all). Other options as :func:`perpsim.backtest`.
    """
    blocks, idx = _blocks(paths, index)
    ts = index_ns(pd.DatetimeIndex(idx), "index")
    threads = None if threads is None else _whole(threads, "threads")
    c = _contracts(contract, None)
    ex = _exchange(c, initial_balance, leverage, options)
    f_ts = f_rate = None
    if funding is not None:
        if not isinstance(funding, pd.Series):
            raise InvalidInputError("funding: a Series of rates indexed by funding time", "funding")
        f_ts = index_ns(funding.index, "funding")
        f_rate = np.ascontiguousarray(funding.to_numpy(dtype=np.float64))
    cols = _core._given_paths(ex, [strategy], ts, *blocks, funding_ts=f_ts, funding_rate=f_rate, threads=threads)
    meta = dict(strategy=strategy, model="given paths", seed=None, n_bars=len(ts), contract=c)
    return MonteCarloResult(_frame(cols), pd.DataFrame(), float(initial_balance), meta)
