"""Funding rates as the exchange computes them from its premium index (docs/accounting.md,
"Funding from the premium index"); the rule itself is the engine's."""

from __future__ import annotations

import warnings
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from . import _core
from ._times import utc_index
from .contracts import Contract, named
from .data import index_ns
from .errors import InvalidInputError, PerpsimWarning

__all__ = ["funding_from_premium", "INTEREST_RATE", "CLAMP"]

#: Binance's interest rate per 8 hours (0.03 % a day).
INTEREST_RATE = 0.0001
#: Half-width of the clamp of (interest − premium) per 8 hours.
CLAMP = 0.0005


def funding_from_premium(
    premium: Union[pd.Series, pd.DataFrame],
    contract: Any = None,
    times: Optional[Any] = None,
    interest_rate: float = INTEREST_RATE,
    clamp: float = CLAMP,
) -> pd.Series:
    """Funding rates at the funding times from premium index samples: at each funding time, the
    average premium index ``P`` over the interval since the previous one (samples weighted 1, 2, …,
    n, the later the heavier), then ``F = s·(P + clamp(I − P, −c, c))`` with the 8-hour interest
    rate ``I`` and clamp ``c`` scaled by ``s = interval hours / 8``, capped at ±``contract.funding_cap``
    (default: the first bracket's maintenance margin rate).

    ``premium``: a Series indexed by time, or Binance's premiumIndexKlines as a DataFrame (its
    ``close`` is the sample of each kline). ``contract``: a :class:`Contract` (its funding interval
    and cap; default a plain perpetual, 8 hours). ``times``: the funding times (a DatetimeIndex;
    intervals that change over time), default every ``funding_interval_hours`` aligned to 00:00 UTC
    whose whole interval the samples cover (each sample covering one spacing from its time, as a
    kline does; a partial first or last interval would be an average of part of it). A funding
    time whose interval holds no sample gets no rate; the times are listed in
    ``result.attrs["no_premium"]`` and a :class:`PerpsimWarning` says how many.

    Pass the result as ``funding=`` (a real rate series, when you have one, is the better input)."""
    c = contract if contract is not None else Contract("X")
    if isinstance(c, str):
        c = named(c)
    if not isinstance(c, Contract):
        raise InvalidInputError("contract: a perpsim.Contract", "contract")
    if c.funding_interval_hours is None:
        raise InvalidInputError(f"contract: {c.symbol} has no funding (a delivery or spot contract)", "contract")
    if isinstance(premium, pd.DataFrame):
        if "close" not in premium.columns:
            raise InvalidInputError("premium: a Series, or premium index klines with a 'close' column", "premium")
        premium = premium["close"]
    if not isinstance(premium, pd.Series):
        raise InvalidInputError("premium: a Series of premium index values indexed by time", "premium")
    ts = index_ns(premium.index, "premium")
    try:
        values = np.ascontiguousarray(premium.to_numpy(dtype=np.float64))
    except (TypeError, ValueError):
        raise InvalidInputError("premium: values must be numbers", "premium") from None
    t = None
    if times is not None:
        t = index_ns(pd.DatetimeIndex(times) if not isinstance(times, pd.DatetimeIndex) else times, "times")
    interval = int(round(float(c.funding_interval_hours) * 3_600_000_000_000))
    cap = c.funding_cap if c.funding_cap is not None else float(c.brackets[0][2])
    out_t, rates, empty = _core._funding_from_premium(ts, values, t, interval, interest_rate, clamp, cap)
    s = pd.Series(rates, index=utc_index(np.asarray(out_t, dtype=np.int64), "timestamp"), name="funding_rate")
    s.attrs["no_premium"] = list(utc_index(np.asarray(empty, dtype=np.int64)))
    if len(empty):
        warnings.warn(
            f"{len(empty)} funding time(s) had no premium index sample in their interval "
            f"(first {s.attrs['no_premium'][0]}): no rate there",
            PerpsimWarning,
            stacklevel=2,
        )
    return s
