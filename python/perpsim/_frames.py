"""Tables from other DataFrame libraries, taken where pandas ones are: a polars DataFrame or
Series, a pyarrow Table (or anything with ``to_pandas()`` / the Arrow PyCapsule stream), converted
once at the entry of a public function. polars and pyarrow tables have no index: the time column
(``timestamp``, ``open_time``, ``time``, ``date``, ``datetime``, ...) becomes the DatetimeIndex, as
:func:`perpsim.data.load_bars` does for files."""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from .errors import InvalidInputError
from .loaders import _time_index

__all__ = ["pandas_frame", "pandas_data", "pandas_series"]


def _foreign(obj: Any) -> bool:
    mod = type(obj).__module__.split(".")[0]
    return mod in ("polars", "pyarrow") or (
        not isinstance(obj, (pd.DataFrame, pd.Series)) and hasattr(obj, "__arrow_c_stream__")
    )


def _to_pandas(obj: Any, field: str) -> Any:
    if hasattr(obj, "to_pandas"):
        return obj.to_pandas()
    try:
        import pyarrow as pa

        return pa.table(obj).to_pandas()
    except Exception:  # pragma: no cover - an object that only looked like a table
        raise InvalidInputError(f"{field}: cannot convert {type(obj).__name__} to a pandas DataFrame", field) from None


def pandas_frame(obj: Any, field: str) -> Any:
    """``obj`` as a pandas DataFrame indexed by time when it is a polars or Arrow table; anything
    else unchanged (the caller's own checks judge it)."""
    if not _foreign(obj):
        return obj
    df = _to_pandas(obj, field)
    if isinstance(df, pd.Series):
        return df
    return _time_index(df, field)


def pandas_data(data: Any, field: str = "data") -> Any:
    """A DataFrame-like or a mapping symbol → DataFrame-like, as pandas."""
    if isinstance(data, Mapping):
        return {k: pandas_frame(v, f"{field}[{k}]") for k, v in data.items()}
    return pandas_frame(data, field)


def pandas_series(obj: Any, field: str) -> Any:
    """A time series (funding rates, targets): a polars or Arrow table with a time column and one
    value column becomes a pandas Series indexed by time (several value columns: a DataFrame, as
    for per-symbol targets); a mapping is converted value by value."""
    if isinstance(obj, Mapping):
        return {k: pandas_series(v, f"{field}[{k}]") for k, v in obj.items()}
    if not _foreign(obj):
        return obj
    df = pandas_frame(obj, field)
    if isinstance(df, pd.Series):
        raise InvalidInputError(f"{field}: a {type(obj).__name__} has no times; pass a table with a time column", field)
    return df.iloc[:, 0] if df.shape[1] == 1 else df
