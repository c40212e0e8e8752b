"""Price-path models for Monte Carlo (docs/montecarlo.md): :class:`GBM`, :class:`JumpDiffusion`,
:class:`StudentT`, :class:`Bootstrap` (one symbol), :class:`Basket` (correlated symbols) and
:class:`BasisSpread` (a spot and a future's premium). Each is a frozen dataclass whose fields the
engine reads (``_core.check_model`` checks them when it is built); the paths are generated inside
the compiled core, path by path."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Tuple, Union

import numpy as np
import pandas as pd

from . import _core
from ._frames import pandas_frame
from ._protocol import ModelInputs
from .errors import InvalidInputError

__all__ = ["GBM", "JumpDiffusion", "StudentT", "Bootstrap", "Basket", "BasisSpread", "Model", "YEAR"]

YEAR = pd.Timedelta(int(_core.YEAR_NS), unit="ns")  # the engine's year (365 days)


def _closes_vol(bars: pd.DataFrame) -> Tuple[float, pd.Timedelta]:
    c = bars["close"].to_numpy(dtype=float)
    r = np.diff(np.log(c))
    step = pd.Series(bars.index).diff().median()
    return float(np.std(r, ddof=1) * math.sqrt(YEAR / step)), step


@dataclass(frozen=True)
class GBM:
    """Geometric Brownian motion: annual ``volatility`` and ``drift`` (expected growth rate), start
    price ``s0``, bars of ``interval``. ``substeps`` > 0 draws high/low from that many explicit
    sub-steps instead of the exact bridge extremes (for checking the sampler)."""

    volatility: float
    s0: float
    drift: float = 0.0
    interval: str = "1h"
    substeps: int = 0

    def __post_init__(self) -> None:
        _core.check_model(self)

    @classmethod
    def fit(cls, bars: pd.DataFrame, drift: float = 0.0, s0: Optional[float] = None) -> GBM:
        """Volatility of the close-to-close log returns of ``bars`` (annualised by their median
        interval); ``s0`` defaults to the last close; the drift is not estimated (0 unless given)."""
        bars = pandas_frame(bars, "bars")
        vol, step = _closes_vol(bars)
        return cls(vol, float(bars["close"].iloc[-1]) if s0 is None else s0, drift, interval=step)


@dataclass(frozen=True)
class JumpDiffusion:
    """Merton jump diffusion: GBM (``volatility``, ``drift``) plus ``intensity`` jumps per year of
    normal log size (``jump_mean``, ``jump_std``), compensated so the expected growth stays ``drift``."""

    volatility: float
    s0: float
    intensity: float = 10.0
    jump_mean: float = -0.02
    jump_std: float = 0.05
    drift: float = 0.0
    interval: str = "1h"
    substeps: int = 0

    def __post_init__(self) -> None:
        _core.check_model(self)


@dataclass(frozen=True)
class StudentT:
    """Student-t log returns (``dof`` > 2 degrees of freedom) scaled to the annual ``volatility``."""

    volatility: float
    s0: float
    dof: float = 4.0
    drift: float = 0.0
    interval: str = "1h"
    substeps: int = 0

    def __post_init__(self) -> None:
        _core.check_model(self)


@dataclass(frozen=True)
class Bootstrap:
    """Stationary block bootstrap of real bars (Politis–Romano, mean block length ``block`` bars):
    whole bars are resampled as (open / previous close, high / open, low / open, close / open), so
    the intrabar shape and the gaps are the real ones. ``s0`` defaults to the last close; the
    interval is the data's median interval."""

    bars: pd.DataFrame = field(repr=False)
    block: float = 24.0
    s0: Optional[float] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "bars", pandas_frame(self.bars, "bars"))
        b = self.bars
        if not isinstance(b, pd.DataFrame) or not isinstance(b.index, pd.DatetimeIndex):
            raise InvalidInputError("bars: a DataFrame of OHLC bars with a DatetimeIndex", "bars")
        for c in ("open", "high", "low", "close"):
            if c not in b.columns:
                raise InvalidInputError(f"bars: missing column {c!r}", c)
        if len(b) < 2:
            raise InvalidInputError("bars: need at least 2 bars", "bars")
        _core.check_model(self, self._inputs())

    @property
    def interval(self) -> pd.Timedelta:
        """The data's median bar interval."""
        return pd.Series(self.bars.index).diff().median()

    @property
    def substeps(self) -> int:
        """Bootstrap bars are real bars: no sub-steps."""
        return 0

    def _inputs(self, base: Optional[ModelInputs] = None) -> ModelInputs:
        """The relative bars (open / previous close, high / open, low / open, close / open) and the
        start price (``s0``, or the last close) added to ``base``."""
        b = self.bars
        o, h, lo, c = (b[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close"))
        prev = np.r_[o[0], c[:-1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.column_stack([o / prev, h / o, lo / o, c / o])
        s0 = float(c[-1]) if self.s0 is None else self.s0
        return (base or ModelInputs())._replace(relative_bars=np.ascontiguousarray(rel), s0=s0)


@dataclass(frozen=True)
class Basket:
    """Correlated GBM paths for several symbols at once (docs/montecarlo.md, "Baskets"): per symbol
    an annual ``volatility``, a start price ``s0`` and a ``drift`` (one number for all, or per
    symbol), the shocks correlated by ``correlation`` (a DataFrame indexed and labelled by the
    symbols, or an array in the order of ``volatility``'s keys: symmetric, unit diagonal, positive
    semi-definite). Each bar's high and low come from each symbol's own Brownian bridge.
    :meth:`fit` estimates the volatilities and the correlation from real bars."""

    volatility: Mapping[str, float]
    s0: Mapping[str, float]
    correlation: Any = field(repr=False)
    drift: Union[float, Mapping[str, float]] = 0.0
    interval: str = "1h"

    def __post_init__(self) -> None:
        if not isinstance(self.volatility, Mapping) or not isinstance(self.s0, Mapping):
            raise InvalidInputError("volatility: a mapping symbol -> annual volatility (and s0 likewise)", "volatility")
        names = list(self.volatility)
        if sorted(self.s0) != sorted(names):
            raise InvalidInputError(f"s0: one start price per symbol of volatility ({names})", "s0")
        if isinstance(self.drift, Mapping) and sorted(self.drift) != sorted(names):
            raise InvalidInputError(f"drift: one drift per symbol of volatility ({names})", "drift")
        c = self.correlation
        if isinstance(c, pd.DataFrame):
            if sorted(c.index) != sorted(names) or sorted(c.columns) != sorted(names):
                raise InvalidInputError(f"correlation: rows and columns must be the symbols {names}", "correlation")
            c = c.loc[names, names]
        try:
            arr = np.ascontiguousarray(np.asarray(c, dtype=np.float64))
        except (TypeError, ValueError):
            raise InvalidInputError("correlation: a square matrix of numbers", "correlation") from None
        if arr.shape != (len(names), len(names)):
            n = len(names)
            raise InvalidInputError(f"correlation: must be {n} x {n} (one row and column per symbol)", "correlation")
        object.__setattr__(self, "correlation", pd.DataFrame(arr, index=names, columns=names))
        _core.check_model(self)

    @property
    def symbols(self) -> List[str]:
        """The symbols, in the order of the paths (and of the account's contracts)."""
        return list(self.volatility)

    def _legs(self) -> List[GBM]:
        """One GBM per symbol (what the engine reads)."""
        d = self.drift
        drift = {k: float(d[k] if isinstance(d, Mapping) else d) for k in self.symbols}
        return [GBM(float(self.volatility[k]), float(self.s0[k]), drift[k], self.interval) for k in self.symbols]

    def _correlation(self) -> np.ndarray:
        return np.ascontiguousarray(self.correlation.to_numpy(dtype=np.float64))

    @classmethod
    def fit(
        cls, data: Mapping[str, pd.DataFrame], drift: float = 0.0, s0: Optional[Mapping[str, float]] = None
    ) -> Basket:
        """Volatilities and correlation of the close-to-close log returns of ``data`` (a mapping
        symbol -> bars, joined on their common timestamps), annualised by the median interval;
        ``s0`` defaults to each symbol's last close; the drift is not estimated (0 unless given)."""
        if not isinstance(data, Mapping) or len(data) < 2:
            raise InvalidInputError("data: a mapping symbol -> bars of at least two symbols", "data")
        closes = pd.concat({k: pandas_frame(v, f"data[{k}]")["close"] for k, v in data.items()}, axis=1, join="inner")
        if len(closes) < 3:
            raise InvalidInputError("data: fewer than 3 common timestamps to estimate from", "data")
        r = np.log(closes).diff().iloc[1:]
        step = pd.Series(closes.index).diff().median()
        vol = (r.std(ddof=1) * math.sqrt(YEAR / step)).to_dict()
        last = closes.iloc[-1].to_dict() if s0 is None else dict(s0)
        return cls(vol, last, r.corr(), drift, interval=step)


@dataclass(frozen=True)
class BasisSpread:
    """A spot price and a future's premium over it, for the basis (cash-and-carry) strategy in
    :func:`monte_carlo` (docs/montecarlo.md, "The basis trade"): the spot follows ``spot`` (a
    :class:`GBM`); the premium ``(F − S) / S`` reverts to ``premium`` at the rate ``reversion`` per
    year (half-life ``ln 2 / reversion`` years) with the absolute annual volatility ``premium_vol``
    (an Ornstein–Uhlenbeck process), starting at ``premium0`` (default: ``premium``). The future's
    bar is the spot's times ``1 + premium``; funding (``funding=`` of :func:`monte_carlo`) is paid on
    a perpetual. For a delivery contract the premium is that process times the time left to expiry
    over the time left at the start: it shrinks with the carry and is zero at expiry, where the
    future settles (no funding)."""

    spot: GBM
    premium: float = 0.0003
    reversion: float = 1_000.0
    premium_vol: float = 0.05
    premium0: Optional[float] = None

    def __post_init__(self) -> None:
        if not isinstance(self.spot, GBM):
            raise InvalidInputError("spot: a perpsim.GBM (the spot's price model)", "spot")
        _core.check_model(self)

    @property
    def interval(self) -> Any:
        """The spot's bar interval."""
        return self.spot.interval


Model = Union[GBM, JumpDiffusion, StudentT, Bootstrap, Basket, BasisSpread]
