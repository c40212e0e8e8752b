"""Market data: the real samples bundled with the package, loading your own files (CSV, Parquet,
the Binance kline layout), resampling and alignment (see :mod:`perpsim.loaders`)."""

from __future__ import annotations

from importlib import resources
from typing import Optional, Tuple

import numpy as np
import pandas as pd

from . import _core
from .download import download
from .errors import InvalidInputError
from .loaders import align, load_bars, load_funding, resample, validate_bars

__all__ = [
    "sample",
    "sample_funding",
    "SAMPLES",
    "bars_to_arrays",
    "with_mark",
    "with_index",
    "series_to_arrays",
    "load_bars",
    "load_funding",
    "resample",
    "align",
    "validate_bars",
    "download",
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
    raw, per = index_units(index, field)
    return raw if per == 1 else _core._ns_from_unit(raw, per, field)


def index_units(index: pd.Index, field: str) -> Tuple[np.ndarray, int]:
    """The UTC instants of a DatetimeIndex as it holds them: int64 counts of its unit (naive:
    taken as UTC) and the nanoseconds per unit (1 for ns, 1,000 for pandas 3's default µs), for
    the engine to borrow without a copy; anything but a DatetimeIndex is refused naming ``field``."""
    if not isinstance(index, pd.DatetimeIndex):
        raise InvalidInputError(f"{field}: the index must be a DatetimeIndex (bar open times)", field)
    # asi8 is the UTC instant in the index's unit whatever the timezone (naive: taken as UTC)
    unit = getattr(index, "unit", "ns")
    return np.ascontiguousarray(index.asi8, dtype=np.int64), _UNIT_NS[unit]


_UNIT_NS = {"ns": 1, "s": 1_000_000_000, "ms": 1_000_000, "us": 1_000}


def _column(df: pd.DataFrame, name: str, field: str, required: bool = True) -> Optional[np.ndarray]:
    # One lookup of the name (right after a run has pushed pandas out of the caches, each lookup
    # in a frame's columns costs ~15 µs): its position, or a KeyError when it is missing.
    cols = df.columns
    try:
        loc = cols.get_loc(name)
    except (KeyError, TypeError):
        loc = None
    if loc is None:
        if required:
            raise InvalidInputError(f"{field}: missing column {name!r} (have {list(cols)})", name)
        return None
    getter = getattr(df, "_get_column_array", None)  # pandas' cheap column access (no Series built)
    if getter is not None and isinstance(loc, int):  # an int only for a name that is there once
        try:
            arr = getter(loc)
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
    Optional[np.ndarray],
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


def _index(df: pd.DataFrame, field: str, known: int) -> Optional[np.ndarray]:
    """The index price at each bar's close (``index_close``; the other ``index_*`` columns of the
    index's klines may ride along, unused). ``known``: how many of the frame's columns are other
    columns the bars use (when they are all of them, no column is an ``index_*`` one, and the
    names are not read one by one: ~0.1 ms right after a run)."""
    close = _column(df, "index_close", field, False)
    if close is None and len(df.columns) > known and any(str(k).startswith("index_") for k in df.columns):
        raise InvalidInputError(f"{field}: index prices need the 'index_close' column", "index_close")
    return close


def bars_to_arrays(df: pd.DataFrame, symbol: str = "") -> BarArrays:
    """A bar DataFrame → contiguous arrays (ts ns int64, open, high, low, close, volume|None,
    mark|None, (mark_open, mark_high, mark_low)|None, index|None) for the engine; the engine
    validates the values (naming column and row). A frame with a ``price`` column and no ``open``
    holds ticks: each is a bar of one point."""
    arrays, per = bar_columns(df, symbol)
    if per == 1:
        return arrays
    return (_core._ns_from_unit(arrays[0], per, f"data[{symbol}]" if symbol else "data"), *arrays[1:])


def bar_columns(df: pd.DataFrame, symbol: str = "") -> Tuple[BarArrays, int]:
    """:func:`bars_to_arrays` with the times as the index holds them: the arrays (times in the
    index's unit, borrowed) and the nanoseconds per unit, for the engine."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"data: bars of {symbol} must be a DataFrame", "data")
    field = f"data[{symbol}]" if symbol else "data"
    ts, per = index_units(df.index, field)
    return _bar_arrays(df, field, ts), per


def _bar_arrays(df: pd.DataFrame, field: str, ts: np.ndarray) -> BarArrays:
    if "price" in df.columns and "open" not in df.columns:  # ticks: a path of one point each
        p = _required(df, "price", field)
        v = _column(df, "volume", field, False)
        return ts, p, p, p, p, v, None, None, _index(df, field, 1 + (v is not None))
    o, h, lo, c = (_required(df, k, field) for k in ("open", "high", "low", "close"))
    mark, mark_ohl = _marks(df, field)
    v = _column(df, "volume", field, False)
    # the columns read so far: a frame of only those has no index_* column
    known = 4 + (v is not None) + (mark is not None) + (3 if mark_ohl is not None else 0)
    return ts, o, h, lo, c, v, mark, mark_ohl, _index(df, field, known)


def _joined(bars: pd.DataFrame, other: pd.DataFrame, what: str) -> pd.DataFrame:
    """``other``'s open/high/low/close (a DataFrame indexed by bar open time) reindexed to the
    bars' times as ``<what>_open`` ... ``<what>_close`` (NaN where it has no row)."""
    if not isinstance(other, pd.DataFrame):
        raise InvalidInputError(f"{what}: a DataFrame of the {what}'s open/high/low/close", what)
    index_ns(other.index, what)
    if not other.index.is_unique:
        raise InvalidInputError(f"{what}: duplicate timestamps", what)
    cols = {}
    for k in ("open", "high", "low", "close"):
        if k not in other.columns:
            raise InvalidInputError(f"{what}: missing column {k!r} (have {list(other.columns)})", what)
        cols[f"{what}_{k}"] = pd.to_numeric(other[k], errors="coerce")
    return pd.DataFrame(cols, index=other.index).reindex(bars.index)


def with_index(bars: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """``bars`` with the index price's bars (Binance's indexPriceKlines: open/high/low/close by bar
    open time) joined as ``index_open`` ... ``index_close``: a delivery contract then settles at
    the average of the index closes over the 30 minutes before expiry."""
    joined = _joined(bars, index, "index")
    out = bars.drop(columns=[c for c in bars.columns if str(c).startswith("index_")])
    for k in joined.columns:
        out[k] = joined[k].to_numpy(dtype=np.float64)
    return out


def with_mark(bars: pd.DataFrame, mark: pd.DataFrame) -> pd.DataFrame:
    """``bars`` with the mark's own bars joined as ``mark_open, mark_high, mark_low, mark_close``:
    ``mark`` is a DataFrame of the mark's open/high/low/close (as Binance publishes
    markPriceKlines) indexed by bar open time. A bar without a mark bar at its time keeps NaN
    there: the engine walks its mark along the trade path and counts the bar in the ``no_mark``
    warning."""
    joined = _joined(bars, mark, "mark")
    out = bars.drop(columns=[c for c in ("mark", *MARK_COLUMNS) if c in bars.columns])
    for k in MARK_COLUMNS:
        out[k] = joined[k].to_numpy(dtype=np.float64)
    return out


def series_to_arrays(s: pd.Series, field: str) -> Tuple[np.ndarray, np.ndarray]:
    """A Series indexed by time → (ts ns int64, float64 values)."""
    if isinstance(s, pd.DataFrame):
        if s.shape[1] != 1:
            raise InvalidInputError(f"{field}: pass a Series of rates", field)
        s = s.iloc[:, 0]
    if not isinstance(s, pd.Series):
        raise InvalidInputError(f"{field}: pass a Series indexed by time, not {type(s).__name__}", field)
    return index_ns(s.index, field), np.ascontiguousarray(s.to_numpy(dtype=np.float64))


def rebates_to_arrays(
    df: pd.DataFrame, field: str = "rebates"
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A rebate schedule → (period starts, ends, the others' volume, reward) as contiguous arrays.

    ``df`` is indexed by period start (a DatetimeIndex) with the columns ``market_volume`` (the
    others' volume in the period, in quote units: USDT, or USD for inverse contracts) and ``reward``
    (what the period shares out, in the settlement currency) or ``pool`` and ``price`` (the reward
    is their product, as in ``G(a) = a/(a+V)·B·p − a·c``). An optional ``end`` column gives each
    period's end; without it a period ends where the next starts and the last one lasts as long as
    the one before it. The engine checks the values (docs/accounting.md, "Rebates")."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"{field}: a DataFrame of periods (market_volume, reward) indexed by start", field)
    start = index_ns(df.index, field)
    if "reward" in df.columns:
        if "pool" in df.columns or "price" in df.columns:
            raise InvalidInputError(f"{field}: give reward, or pool and price, not both", field)
        reward = _column(df, "reward", field)
    else:
        pool, price = _column(df, "pool", field), _column(df, "price", field)
        reward = None if pool is None or price is None else np.ascontiguousarray(pool * price)
    volume = _column(df, "market_volume", field)
    if "end" in df.columns:
        end = index_ns(pd.DatetimeIndex(df["end"]), f"{field}.end")
    elif len(start) >= 2:
        end = np.ascontiguousarray(np.r_[start[1:], start[-1] + (start[-1] - start[-2])], dtype=np.int64)
    else:
        raise InvalidInputError(f"{field}: one period needs an 'end' column (its length cannot be inferred)", field)
    assert volume is not None and reward is not None
    return start, end, volume, reward
