"""Real data in one command: Binance's public bulk-data archive (data.binance.vision) downloaded,
checked and cached.

The archive keeps one zip file per symbol, kind, interval and month (``monthly``), and per day
(``daily``) for the days a monthly file does not cover yet, each with a ``.CHECKSUM`` file holding its
SHA-256::

    data/futures/um/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip
    data/futures/um/daily/markPriceKlines/BTCUSDT/1m/BTCUSDT-1m-2024-07-01.zip
    data/futures/cm/monthly/fundingRate/BTCUSD_PERP/BTCUSD_PERP-fundingRate-2024-01.zip
    data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip

:func:`download` fetches the months asked for (a month without its monthly file is assembled from
its daily files), verifies every checksum, parses each file with :func:`perpsim.data.load_bars` or
:func:`perpsim.data.load_funding` and caches it as Parquet: a second call reads the cache, and an
interrupted download resumes with the files it does not have yet (a file is cached only whole and
verified). The base URL is a setting (``base_url=``, or the ``PERPSIM_DATA_URL`` environment
variable), as is the cache (``cache_dir=``, ``PERPSIM_CACHE``, default ``~/.cache/perpsim``).
"""

from __future__ import annotations

import calendar
import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

import pandas as pd

from ._batches import progress_bar
from .errors import DownloadError, InvalidInputError, PerpsimWarning
from .loaders import load_bars, load_funding

__all__ = ["download", "archive_path", "MARKETS", "KINDS", "DEFAULT_URL"]

#: The archive's public address.
DEFAULT_URL = "https://data.binance.vision"
#: perpsim's market names → the archive's folders.
MARKETS = {"usdm": "futures/um", "coinm": "futures/cm", "spot": "spot"}
#: What can be downloaded.
KINDS = ("klines", "markPriceKlines", "indexPriceKlines", "premiumIndexKlines", "fundingRate")
_TIMEOUT = 60.0


def archive_path(symbol: str, market: str, kind: str, interval: str, period: str) -> str:
    """The archive path of one file: ``period`` is ``YYYY-MM`` (monthly) or ``YYYY-MM-DD`` (daily)."""
    freq = "monthly" if len(period) == 7 else "daily"
    sym = symbol.upper()
    if kind == "fundingRate":
        return f"data/{MARKETS[market]}/{freq}/{kind}/{sym}/{sym}-{kind}-{period}.zip"
    return f"data/{MARKETS[market]}/{freq}/{kind}/{sym}/{interval}/{sym}-{interval}-{period}.zip"


def _month_of(v: Any, field: str) -> pd.Period:
    if not isinstance(v, str) or not re.fullmatch(r"\d{4}-\d{2}", v.strip()):
        raise InvalidInputError(f"{field}: a month as 'YYYY-MM', got {v!r}", field)
    try:
        return pd.Period(v.strip(), freq="M")
    except ValueError:
        raise InvalidInputError(f"{field}: a month as 'YYYY-MM', got {v!r}", field) from None


def _months(start: Any, end: Any) -> List[str]:
    a = _month_of(start, "start")
    b = _month_of(end, "end") if end is not None else a
    if b < a:
        raise InvalidInputError(f"end: {b} is before start {a}", "end")
    return [str(p) for p in pd.period_range(a, b, freq="M")]


def _fetch(url: str) -> Optional[bytes]:
    """The bytes at ``url``, None when the archive has no such file (HTTP 404)."""
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as r:
            data: bytes = r.read()
            length = r.headers.get("Content-Length")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise DownloadError(f"download: {url}: HTTP {e.code}", "download") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        raise DownloadError(f"download: {url}: {type(e).__name__}: {e}", "download") from None
    if length is not None and len(data) != int(length):
        raise DownloadError(f"download: {url}: {len(data)} of {length} bytes received", "download")
    return data


def _checked(base: str, path: str) -> Optional[bytes]:
    """The file at ``path`` with its checksum verified; None when the archive has no such file."""
    data = _fetch(f"{base}/{path}")
    if data is None:
        return None
    listed = _fetch(f"{base}/{path}.CHECKSUM")
    if listed is None:
        raise DownloadError(f"download: {path}: the archive has no .CHECKSUM for it", "checksum")
    want = listed.decode("ascii", "replace").split()[0].lower() if listed.strip() else ""
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise DownloadError(f"download: {path}: checksum mismatch (sha256 {got}, archive says {want})", "checksum")
    return data


def _parse(data: bytes, name: str, kind: str) -> pd.DataFrame:
    """A zip file of the archive as the table :func:`load_bars` / :func:`load_funding` return."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(data)
        if kind == "fundingRate":
            s = load_funding(p)
            return s.to_frame()
        bars = load_bars(p)
    if kind != "klines":  # mark, index and premium klines: prices only (their volume is 0)
        bars = bars[["open", "high", "low", "close"]]
    return bars


def _month(base: str, symbol: str, market: str, kind: str, interval: str, month: str) -> Optional[pd.DataFrame]:
    """One month: its monthly file, or all its daily files (None when the archive has neither)."""
    path = archive_path(symbol, market, kind, interval, month)
    data = _checked(base, path)
    if data is not None:
        return _parse(data, Path(path).name, kind)
    p = pd.Period(month, freq="M")
    parts = []
    for day in range(1, calendar.monthrange(p.year, p.month)[1] + 1):
        dpath = archive_path(symbol, market, kind, interval, f"{month}-{day:02d}")
        d = _checked(base, dpath)
        if d is not None:
            parts.append(_parse(d, Path(dpath).name, kind))
    if not parts:
        return None
    return pd.concat(parts)


def _cache_file(cache: Path, symbol: str, market: str, kind: str, interval: str, month: str) -> Path:
    rel = archive_path(symbol, market, kind, interval, month)
    return (cache / rel).with_suffix(".parquet")


def _check_args(symbol: Any, market: str, kind: str, interval: str) -> None:
    if not isinstance(symbol, str) or not symbol or "/" in symbol:
        raise InvalidInputError("symbol: an exchange symbol such as 'BTCUSDT' or 'BTCUSD_PERP'", "symbol")
    if market not in MARKETS:
        raise InvalidInputError(f"market: one of {', '.join(MARKETS)}", "market")
    if kind not in KINDS:
        raise InvalidInputError(f"kind: one of {', '.join(KINDS)}", "kind")
    if market == "spot" and kind != "klines":
        raise InvalidInputError(f"kind: the spot archive has klines only, not {kind}", "kind")
    if kind != "fundingRate" and (not isinstance(interval, str) or not interval):
        raise InvalidInputError("interval: a kline interval such as '1m' or '1h'", "interval")


def download(
    symbol: str,
    market: str = "usdm",
    kind: str = "klines",
    interval: str = "1m",
    start: Any = "2024-01",
    end: Any = None,
    cache_dir: Optional[Union[str, Path]] = None,
    base_url: Optional[str] = None,
    missing: str = "raise",
    progress: bool = True,
) -> Union[pd.DataFrame, pd.Series]:
    """Downloads ``kind`` data of ``symbol`` for the months ``start`` to ``end`` (``"YYYY-MM"``, both
    included; ``end`` defaults to ``start``) from the archive (see the module doc) and returns it as
    :func:`perpsim.data.load_bars` does (klines: open/high/low/close/volume by bar open time, UTC;
    mark, index and premium klines: open/high/low/close, ready for ``backtest(mark=, index=,
    premium=)``) or, for ``"fundingRate"``, as :func:`perpsim.data.load_funding` does (a Series of
    rates by funding time).

    ``market``: ``"usdm"`` (USDⓈ-M futures), ``"coinm"`` (COIN-M) or ``"spot"``. A month the archive
    does not have is an error naming it (``missing="skip"``: left out, with a
    :class:`perpsim.PerpsimWarning` listing the months). Every file's SHA-256 is checked against
    the archive's ``.CHECKSUM``; a mismatch or a broken connection raises
    :class:`perpsim.DownloadError` and caches nothing of that file. ``progress``: a bar over the
    months."""
    _check_args(symbol, market, kind, interval)
    if missing not in ("raise", "skip"):
        raise InvalidInputError("missing: 'raise' or 'skip'", "missing")
    months = _months(start, end)
    base = (base_url or os.environ.get("PERPSIM_DATA_URL") or DEFAULT_URL).rstrip("/")
    cache = Path(cache_dir or os.environ.get("PERPSIM_CACHE") or Path.home() / ".cache" / "perpsim")
    parts: List[pd.DataFrame] = []
    absent: List[str] = []
    bar = progress_bar(len(months), progress and len(months) > 1, f"{symbol} {kind}", "month")
    try:
        for m in months:
            f = _cache_file(cache, symbol, market, kind, interval, m)
            if f.exists():
                parts.append(pd.read_parquet(f))
            else:
                got = _month(base, symbol, market, kind, interval, m)
                if got is None:
                    absent.append(m)
                else:
                    _store(got, f, m == pd.Timestamp.now(tz="UTC").strftime("%Y-%m"))
                    parts.append(got)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if absent and missing == "raise":
        raise DownloadError(
            f"download: the archive has no {kind} of {symbol.upper()} ({market}) for {', '.join(absent)} "
            "(not listed yet, or before the symbol existed; missing='skip' leaves those months out)",
            "start",
        )
    if absent:
        warnings.warn(f"download: no {kind} of {symbol.upper()} for {', '.join(absent)}: left out", PerpsimWarning, 2)
    if not parts:
        raise DownloadError(f"download: no {kind} of {symbol.upper()} in {months[0]} to {months[-1]}", "start")
    out = pd.concat(parts)
    out = out[~out.index.duplicated(keep="first")].sort_index()
    return out["funding_rate"] if kind == "fundingRate" else out


def _store(df: pd.DataFrame, f: Path, current: bool) -> None:
    """Caches a verified month as Parquet (written aside, then renamed: a cache file is whole). The
    current month is not cached (its daily files are still coming)."""
    if current:
        return
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".parquet.part")
    df.to_parquet(tmp)
    os.replace(tmp, f)


def cached(cache_dir: Optional[Union[str, Path]] = None) -> List[Tuple[str, int]]:
    """The cached files (path relative to the cache, size in bytes)."""
    cache = Path(cache_dir or os.environ.get("PERPSIM_CACHE") or Path.home() / ".cache" / "perpsim")
    return sorted((str(p.relative_to(cache)), p.stat().st_size) for p in cache.rglob("*.parquet"))
