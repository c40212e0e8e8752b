"""Market data helpers: the real sample bundled with the package."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from .errors import InvalidInputError

__all__ = ["sample", "sample_funding", "SAMPLES"]

SAMPLES = {("BTCUSDT", "1h"): "BTCUSDT_perp_1h_2024.csv.gz"}
_FUNDING = {"BTCUSDT": "BTCUSDT_funding_2024.csv.gz"}


def _read(name: str) -> pd.DataFrame:
    with resources.files("perpsim").joinpath("data", name).open("rb") as fh:
        df = pd.read_csv(fh, compression="gzip")
    ts = pd.to_datetime(df.pop("timestamp"), utc=True)
    return df.set_index(pd.DatetimeIndex(ts, name="timestamp"))


def sample(symbol: str = "BTCUSDT", interval: str = "1h") -> pd.DataFrame:
    """Bundled real OHLCV bars (Binance USDⓈ-M perpetual, 2024): a DataFrame indexed by bar open time
    (UTC) with columns open, high, low, close, volume."""
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
