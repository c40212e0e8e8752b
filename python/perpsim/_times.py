"""The engine's times as pandas times: int64 nanoseconds since the epoch (UTC; the int64 minimum is
NaT, "none") as a UTC array or DatetimeIndex, without a copy.

The engine wrote these values itself, so pandas' checks of foreign input are not needed: they
cost about 0.13 ms for a year of one-minute steps, and over 60 µs for a one-row column right after
a run has pushed pandas out of the caches (a one-set sweep's table has three such columns).
pandas' own constructors for values it already trusts (``_simple_new``) are used, and the public
ones where a pandas version lacks them; tests/test_times.py checks that both give the same."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd

__all__ = ["utc_array", "utc_index"]

_UTC = pd.DatetimeTZDtype("ns", "UTC")
# pandas' constructors for values it trusts (None on a pandas without them: the public ones then)
_new_array = getattr(pd.arrays.DatetimeArray, "_simple_new", None)
_new_index = getattr(pd.DatetimeIndex, "_simple_new", None)


def utc_array(ns: np.ndarray) -> Any:
    """int64 ns (or datetime64[ns]) values → a ``datetime64[ns, UTC]`` pandas array viewing them."""
    v = np.asarray(ns).view("datetime64[ns]")
    if _new_array is not None:
        try:
            return _new_array(v, dtype=_UTC)
        except TypeError:  # another signature
            pass
    return pd.DatetimeIndex(v, dtype=_UTC).array


def utc_index(ns: np.ndarray, name: Optional[str] = None) -> pd.DatetimeIndex:
    """int64 ns (or datetime64[ns]) values → a UTC DatetimeIndex viewing them."""
    arr = utc_array(ns)
    if _new_index is not None:
        try:
            return _new_index(arr, name=name)
        except TypeError:
            pass
    return pd.DatetimeIndex(arr, name=name)
