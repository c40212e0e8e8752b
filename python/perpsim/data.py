"""Market data: the real samples bundled with the package, loading your own files (CSV, Parquet,
the Binance kline layout), resampling and alignment (see :mod:`perpsim.loaders`)."""

from __future__ import annotations

from importlib import resources
from typing import Optional, Tuple

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .loaders import align, load_bars, load_funding, resample, validate_bars

__all__ = [
    "sample",
    "sample_funding",
    "SAMPLES",
    "bars_to_arrays",
    "with_mark",
    "series_to_arrays",
    "load_bars",
    "load_funding",
    "resample",
    "align",
    "validate_bars",
]

SAMPLES = {
    ("BTCUSDT", "1h"): "BTCUSDT_perp_1h_2024.csv.gz",
    ("BTCUSDT_SPOT", "1h"): "BTCUSDT_spot_1h_2024.csv.gz",
}
_FUNDING = {"BTCUSDT": "BTCUSDT_funding_2024.csv.gz"}


def _read(name: str) -> pd.DataFrame:
    with resources.files("perpsim").joinpath("data", name).open("rb") as fh:
        df = pd.read_csv(fh, compression="gzip")
    ts = pd.to_datetime(df.pop("timestamp"), utc=True)
    return df.set_index(pd.DatetimeIndex(ts, name="timestamp"))


def sample(symbol: str = "BTCUSDT", interval: str = "1h") -> pd.DataFrame:
    """Bundled real OHLCV bars of 2024: ``"BTCUSDT"`` (Binance USDⓈ-M perpetual) and
    ``"BTCUSDT_SPOT"`` (Binance spot), a DataFrame indexed by bar open time (UTC) with columns
    open, high, low, close, volume."""
    try:
        name = SAMPLES[(symbol, interval)]
    except KeyError:
        raise InvalidInputError(
            f"symbol: no bundled sample for {symbol} {interval}; available: {sorted(SAMPLES)}", "symbol"
        ) from None
    return _read(name)


def sample_funding(symbol: str = "BTCUSDT") -> pd.Series:
    """Bundled real funding rates (per interval, decimal) indexed by funding time (UTC)."""
    try:
        name = _FUNDING[symbol]
    except KeyError:
        raise InvalidInputError(f"symbol: no bundled funding sample for {symbol}", "symbol") from None
    return _read(name)["funding_rate"]


def index_ns(index: pd.Index, field: str) -> np.ndarray:
    """The UTC instants of a DatetimeIndex as int64 nanoseconds (naive: taken as UTC), whatever its
    unit; anything but a DatetimeIndex is refused naming ``field``."""
    if not isinstance(index, pd.DatetimeIndex):
        raise InvalidInputError(f"{field}: the index must be a DatetimeIndex (bar open times)", field)
    if getattr(index, "unit", "ns") == "ns":
        # asi8 is the UTC instant in ns whatever the timezone (naive: taken as UTC)
        return np.ascontiguousarray(index.asi8, dtype=np.int64)
    idx = index.tz_convert("UTC") if index.tz is not None else index
    return np.ascontiguousarray(idx.as_unit("ns").asi8, dtype=np.int64)


def _column(df: pd.DataFrame, name: str, field: str, required: bool = True) -> Optional[np.ndarray]:
    if name not in df.columns:
        if required:
            raise InvalidInputError(f"{field}: missing column {name!r} (have {list(df.columns)})", name)
        return None
    getter = getattr(df, "_get_column_array", None)  # pandas' cheap column access (no Series built)
    if getter is not None and df.columns.is_unique:
        try:
            arr = getter(df.columns.get_loc(name))
        except Exception:  # noqa: BLE001 - fall back to the public path below
            arr = None
        if isinstance(arr, np.ndarray) and arr.dtype == np.float64:
            return np.ascontiguousarray(arr)
    try:
        return np.ascontiguousarray(df[name].to_numpy(dtype=np.float64))
    except (TypeError, ValueError):
        raise InvalidInputError(f"{field}: column {name!r} is not numeric", name) from None


BarArrays = Tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    Optional[np.ndarray],
    Optional[np.ndarray],
    Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]],
]

#: The columns of the mark's own bars (Binance's markPriceKlines), beside the trade bars.
MARK_COLUMNS = ("mark_open", "mark_high", "mark_low", "mark_close")


def _required(df: pd.DataFrame, name: str, field: str) -> np.ndarray:
    col = _column(df, name, field)
    assert col is not None  # _column raises for a missing required column
    return col


def _marks(
    df: pd.DataFrame, field: str
) -> Tuple[Optional[np.ndarray], Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """The mark columns: ``mark`` (the mark at the close only) or the mark's own bars
    ``mark_open, mark_high, mark_low, mark_close`` (all four, or none)."""
    have = [k for k in MARK_COLUMNS if k in df.columns]
    if "mark" in df.columns and have:
        raise InvalidInputError(f"{field}: give either 'mark' (at the close) or the mark's bars {MARK_COLUMNS}", "mark")
    if not have:
        return _column(df, "mark", field, False), None
    missing = [k for k in MARK_COLUMNS if k not in have]
    if missing:
        raise InvalidInputError(f"{field}: the mark's bars need {MARK_COLUMNS}; missing {missing}", missing[0])
    mo, mh, ml, mc = (_required(df, k, field) for k in MARK_COLUMNS)
    return mc, (mo, mh, ml)


def bars_to_arrays(df: pd.DataFrame, symbol: str = "") -> BarArrays:
    """A bar DataFrame → contiguous arrays (ts ns int64, open, high, low, close, volume|None,
    mark|None, (mark_open, mark_high, mark_low)|None) for the engine; the engine validates the
    values (naming column and row). A frame with a ``price`` column and no ``open`` holds ticks:
    each is a bar of one point."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"data: bars of {symbol} must be a DataFrame", "data")
    field = f"data[{symbol}]" if symbol else "data"
    ts = index_ns(df.index, field)
    if "price" in df.columns and "open" not in df.columns:  # ticks: a path of one point each
        p = _required(df, "price", field)
        return ts, p, p, p, p, _column(df, "volume", field, False), None, None
    o, h, lo, c = (_required(df, k, field) for k in ("open", "high", "low", "close"))
    mark, mark_ohl = _marks(df, field)
    return ts, o, h, lo, c, _column(df, "volume", field, False), mark, mark_ohl


def with_mark(bars: pd.DataFrame, mark: pd.DataFrame) -> pd.DataFrame:
    """``bars`` with the mark's own bars joined as ``mark_open, mark_high, mark_low, mark_close``:
    ``mark`` is a DataFrame of the mark's open/high/low/close (as Binance publishes
    markPriceKlines) indexed by bar open time. A bar without a mark bar at its time keeps NaN
    there: the engine walks its mark along the trade path and counts the bar in the ``no_mark``
    warning."""
    if not isinstance(mark, pd.DataFrame):
        raise InvalidInputError("mark: a DataFrame of the mark's open/high/low/close", "mark")
    index_ns(mark.index, "mark")
    cols = {}
    for k in ("open", "high", "low", "close"):
        if k not in mark.columns:
            raise InvalidInputError(f"mark: missing column {k!r} (have {list(mark.columns)})", "mark")
        cols[f"mark_{k}"] = pd.to_numeric(mark[k], errors="coerce")
    if not mark.index.is_unique:
        raise InvalidInputError("mark: duplicate timestamps", "mark")
    out = bars.drop(columns=[c for c in ("mark", *MARK_COLUMNS) if c in bars.columns])
    joined = pd.DataFrame(cols, index=mark.index).reindex(bars.index)
    for k in MARK_COLUMNS:
        out[k] = joined[k].to_numpy(dtype=np.float64)
    return out


def series_to_arrays(s: pd.Series, field: str) -> Tuple[np.ndarray, np.ndarray]:
    """A Series indexed by time → (ts ns int64, float64 values)."""
    if isinstance(s, pd.DataFrame):
        if s.shape[1] != 1:
            raise InvalidInputError(f"{field}: pass a Series of rates", field)
        s = s.iloc[:, 0]
    return index_ns(s.index, field), np.ascontiguousarray(s.to_numpy(dtype=np.float64))
