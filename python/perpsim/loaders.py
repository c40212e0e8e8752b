"""Loading market data from files: CSV and Parquet OHLCV (the Binance public kline layout detected
automatically), funding-rate files, resampling and alignment, with the validation rules of
docs/matching.md and errors that name the column and the first bad row. Re-exported by
:mod:`perpsim.data`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from pandas.tseries.offsets import Day, Tick

from .errors import InvalidInputError

__all__ = ["load_bars", "load_funding", "resample", "align", "validate_bars"]

PathLike = Union[str, "os.PathLike[str]"]

# Binance public data (data.binance.vision) klines: 12 columns, open_time in ms (µs from 2025 for spot).
BINANCE_KLINE = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
]
_TIME_NAMES = ("timestamp", "open_time", "time", "date", "datetime", "ts", "calc_time", "fundingtime", "funding_time")


def _read_table(path: PathLike, what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise InvalidInputError(f"{what}: no such file: {p}", "path")
    suffixes = "".join(p.suffixes).lower()
    if ".parquet" in suffixes or suffixes.endswith(".pq"):
        try:
            return pd.read_parquet(p)
        except ImportError:
            raise InvalidInputError(
                f"{what}: reading Parquet needs pyarrow (pip install pyarrow): {p}", "path"
            ) from None
    try:
        df = pd.read_csv(p)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise InvalidInputError(f"{what}: cannot read {p} as CSV: {e}", "path") from None
    # No header (Binance klines): the first "column name" is a number.
    if len(df.columns) and _is_number(str(df.columns[0])):
        df = pd.read_csv(p, header=None)
        if df.shape[1] == 12:
            df.columns = BINANCE_KLINE
        elif df.shape[1] in (5, 6):
            df.columns = ["timestamp", "open", "high", "low", "close", "volume"][: df.shape[1]]
        else:
            raise InvalidInputError(
                f"{what}: {p} has no header and {df.shape[1]} columns (expected the 12-column Binance kline "
                "layout, or timestamp,open,high,low,close[,volume])",
                "columns",
            )
    return df


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _to_time(col: pd.Series, name: str) -> pd.DatetimeIndex:
    """Timestamps from a column: epoch numbers (unit guessed from the magnitude: s, ms, µs, ns) or
    date strings; UTC."""
    if pd.api.types.is_numeric_dtype(col):
        v = col.to_numpy()
        if len(v) and not np.isfinite(v.astype(float)).all():
            bad = int(np.flatnonzero(~np.isfinite(v.astype(float)))[0])
            raise InvalidInputError(f"{name}: not a time at row {bad}", name)
        m = float(np.nanmax(np.abs(v))) if len(v) else 0.0
        unit = "s" if m < 1e11 else "ms" if m < 1e14 else "us" if m < 1e17 else "ns"
        return pd.DatetimeIndex(pd.to_datetime(v.astype(np.int64), unit=unit, utc=True), name="timestamp")
    try:
        t = pd.to_datetime(col, utc=True)
    except (ValueError, TypeError):
        parsed = pd.to_datetime(col, utc=True, errors="coerce")
        bad = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InvalidInputError(f"{name}: not a time at row {bad}: {col.iloc[bad]!r}", name) from None
    return pd.DatetimeIndex(t, name="timestamp")


def _time_index(df: pd.DataFrame, what: str) -> pd.DataFrame:
    if isinstance(df.index, pd.DatetimeIndex):
        idx = df.index.tz_localize("UTC") if df.index.tz is None else df.index.tz_convert("UTC")
        return df.set_axis(idx.rename("timestamp"), axis=0)
    cols = {str(c).lower().strip(): c for c in df.columns}
    for name in _TIME_NAMES:
        if name in cols:
            src = cols[name]
            idx = _to_time(df[src], src)
            return df.drop(columns=[src]).set_axis(idx, axis=0)
    # A DataFrame saved with ``to_csv()`` and an unnamed index: pandas reads the index back as
    # "Unnamed: 0". It is the time column when every value of it is a time.
    if len(df.columns) and str(df.columns[0]).lower().startswith("unnamed: 0"):
        src = df.columns[0]
        parsed = (
            pd.to_datetime(df[src], utc=True, errors="coerce") if not pd.api.types.is_numeric_dtype(df[src]) else None
        )
        if parsed is not None and len(parsed) and not parsed.isna().any():
            return df.drop(columns=[src]).set_axis(pd.DatetimeIndex(parsed, name="timestamp"), axis=0)
    raise InvalidInputError(
        f"{what}: no time column (one of {', '.join(_TIME_NAMES[:6])}) and no DatetimeIndex; have {list(df.columns)}",
        "timestamp",
    )


def validate_bars(df: pd.DataFrame, what: str = "data") -> pd.DataFrame:
    """Checks bars as docs/matching.md asks: open/high/low/close present, numeric, finite and > 0;
    high ≥ max(open, close), low ≤ min(open, close); volume ≥ 0; timestamps strictly increasing.
    Raises :class:`~perpsim.InvalidInputError` naming the column and the first bad row."""
    for c in ("open", "high", "low", "close"):
        if c not in df.columns:
            raise InvalidInputError(f"{what}: missing column {c!r} (have {list(df.columns)})", c)
    cols = ["open", "high", "low", "close"] + (["volume"] if "volume" in df.columns else [])
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v) | ((v < 0) if c == "volume" else (v <= 0))
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"{what}: column {c!r}, row {r}: bad value {df[c].iloc[r]!r}", c)
    o, h, lo, c = (df[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close"))
    bad = np.flatnonzero(h < np.maximum(o, c))
    if len(bad):
        raise InvalidInputError(f"{what}: column 'high', row {int(bad[0])}: below the open or close", "high")
    bad = np.flatnonzero(lo > np.minimum(o, c))
    if len(bad):
        raise InvalidInputError(f"{what}: column 'low', row {int(bad[0])}: above the open or close", "low")
    ts = df.index.asi8
    bad = np.flatnonzero(np.diff(ts) <= 0)
    if len(bad):
        r = int(bad[0]) + 1
        kind = "duplicate" if ts[r] == ts[r - 1] else "decreasing"
        raise InvalidInputError(f"{what}: column 'timestamp', row {r}: {kind} timestamp {df.index[r]}", "timestamp")
    return df


def load_bars(
    path: PathLike,
    start: Any = None,
    end: Any = None,
    resample_to: Optional[str] = None,
) -> pd.DataFrame:
    """OHLCV bars from a CSV or Parquet file: a DataFrame indexed by bar open time (UTC) with
    float columns open, high, low, close (and volume when present; other columns dropped).

    Recognised layouts: a header with a time column (``timestamp``, ``open_time``, ``time``, ``date``,
    ``datetime``; epoch s/ms/µs/ns or date strings) and open/high/low/close[/volume] (any case); the
    Binance public kline files (12 columns, no header, open_time in ms or µs). ``start``/``end``
    select a time range (end exclusive); ``resample_to`` aggregates (e.g. ``"1h"``). The bars are
    validated (see :func:`validate_bars`)."""
    df = _read_table(path, "data")
    df = df.rename(columns={c: str(c).lower().strip() for c in df.columns})
    df = _time_index(df, f"data ({path})")
    keep = [c for c in ("open", "high", "low", "close", "volume") if c in df.columns]
    missing = [c for c in ("open", "high", "low", "close") if c not in df.columns]
    if missing:
        raise InvalidInputError(f"data ({path}): missing column {missing[0]!r} (have {list(df.columns)})", missing[0])
    df = df[keep]
    for c in keep:
        if not pd.api.types.is_numeric_dtype(df[c]):
            conv = pd.to_numeric(df[c], errors="coerce")
            bad = np.flatnonzero(conv.isna().to_numpy())
            if len(bad):
                r = int(bad[0])
                raise InvalidInputError(f"data ({path}): column {c!r}, row {r}: not a number: {df[c].iloc[r]!r}", c)
            df[c] = conv
    df = df.astype(float)
    validate_bars(df, f"data ({path})")
    df = _slice(df, start, end)
    if resample_to is not None:
        df = resample(df, resample_to)
    return df


def _slice(df: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    def ts(x: Any, name: str) -> pd.Timestamp:
        try:
            t = pd.Timestamp(x)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{name}: not a time: {x!r}", name) from None
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")

    if start is not None:
        df = df[df.index >= ts(start, "start")]
    if end is not None:
        df = df[df.index < ts(end, "end")]
    if df.empty:
        raise InvalidInputError("start: no bars between start and end", "start")
    return df


def interval(rule: Any, field: str = "resample") -> pd.Timedelta:
    """A fixed, positive bar interval from a pandas rule (``"1h"``, ``"15min"``, ``"1D"``); calendar
    rules (months, weeks anchored on a weekday) and zero or negative intervals are refused."""
    try:
        off = to_offset(rule)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{field}: not an interval: {rule!r}", field) from None
    if not isinstance(off, (Tick, Day)):  # UTC data: a day is 24 h
        raise InvalidInputError(f"{field}: a fixed interval (s, min, h, D) is needed, got {rule!r}", field)
    td = pd.Timedelta(off)
    if td <= pd.Timedelta(0):
        raise InvalidInputError(f"{field}: the interval must be > 0, got {rule!r}", field)
    return td


def resample(bars: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Aggregates bars to a longer interval (``"1h"``, ``"4h"``, ``"1D"``, ...): first open, highest
    high, lowest low, last close, summed volume; bins labelled by their open time; empty bins (gaps)
    are dropped, not invented. The interval must be a whole multiple of the bars' own (the smallest
    step between them) and the bars must start on the bins' grid (bins start at midnight UTC):
    otherwise a bar would be split between two bins and relabelled, which bars cannot be."""
    td = interval(rule)
    ts = bars.index.as_unit("ns").asi8 if isinstance(bars.index, pd.DatetimeIndex) else None
    if ts is None:
        raise InvalidInputError("resample: the bars need a DatetimeIndex", "resample")
    if len(ts) > 1:
        own = int(np.diff(ts).min())
        own_td = pd.Timedelta(own, unit="ns")
        if td.value < own:
            raise InvalidInputError(
                f"resample: {rule!r} is finer than the bars' own interval ({own_td}): bars cannot be split", "resample"
            )
        if td.value % own:
            raise InvalidInputError(
                f"resample: {rule!r} is not a whole multiple of the bars' interval ({own_td})", "resample"
            )
        day = 86_400 * 10**9
        off = (ts[0] - ts[0] // day * day) % min(own, td.value)
        if off:
            raise InvalidInputError(
                f"resample: the bars start {pd.Timedelta(int(off), unit='ns')} off the {rule!r} bins' grid "
                "(bins start at midnight UTC): a bar would be split between two bins",
                "resample",
            )
    agg: Dict[str, str] = {"open": "first", "high": "max", "low": "min", "close": "last"}
    if "volume" in bars.columns:
        agg["volume"] = "sum"
    out = bars.resample(rule, label="left", closed="left").agg(agg)
    return out.dropna(subset=["open", "close"])


def align(frames: Mapping[str, pd.DataFrame], how: str = "inner") -> Dict[str, pd.DataFrame]:
    """Puts several symbols on one timeline: ``"inner"`` keeps the times every symbol has,
    ``"outer"`` keeps each symbol's own bars (the engine steps on the union and skips a symbol with
    no bar at a step); the start is the latest first bar either way."""
    if how not in ("inner", "outer"):
        raise InvalidInputError(f"how: 'inner' or 'outer', got {how!r}", "how")
    if not frames:
        raise InvalidInputError("frames: nothing to align", "frames")
    start = max(df.index[0] for df in frames.values())
    out = {s: df[df.index >= start] for s, df in frames.items()}
    if how == "inner":
        common = None
        for df in out.values():
            common = df.index if common is None else common.intersection(df.index)
        out = {s: df.loc[common] for s, df in out.items()}
    return out


def load_funding(path: PathLike, start: Any = None, end: Any = None) -> pd.Series:
    """Funding rates from a CSV or Parquet file, as a Series indexed by funding time (UTC).
    Recognised: a time column (``timestamp``, ``calc_time``, ``fundingTime``, ``funding_time``, ...)
    and a rate column (``funding_rate``, ``fundingRate``, ``last_funding_rate``, ``rate``)."""
    df = _read_table(path, "funding")
    df = df.rename(columns={c: str(c).lower().strip() for c in df.columns})
    df = _time_index(df, f"funding ({path})")
    for name in ("funding_rate", "fundingrate", "last_funding_rate", "rate"):
        if name in df.columns:
            s = pd.to_numeric(df[name], errors="coerce")
            bad = np.flatnonzero(~np.isfinite(s.to_numpy(dtype=float)))
            if len(bad):
                r = int(bad[0])
                raise InvalidInputError(f"funding ({path}): column {name!r}, row {r}: not a number", name)
            s = s.astype(float).rename("funding_rate")
            ts = s.index.asi8
            bad = np.flatnonzero(np.diff(ts) <= 0)
            if len(bad):
                raise InvalidInputError(
                    f"funding ({path}): row {int(bad[0]) + 1}: timestamps must increase", "timestamp"
                )
            if start is not None or end is not None:
                s = _slice(s.to_frame(), start, end)["funding_rate"]
            return s
    raise InvalidInputError(f"funding ({path}): no rate column (funding_rate, fundingRate, ...)", "funding_rate")
