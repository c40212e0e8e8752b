"""Contract specifications and Binance-like presets.

A :class:`Contract` describes one instrument: its kind (``"linear"`` USDT-margined, ``"inverse"``
coin-margined, ``"spot"``), contract size, exchange filters, fees, expiry, funding interval and
margin brackets. Presets (``BTCUSDT``, ``ETHUSDT``, ``BTCUSD``, ``ETHUSD``, ``BTCUSDT_SPOT``) carry
Binance-like values; :func:`quarterly` makes a delivery contract from a perpetual preset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

import pandas as pd

from . import _core
from .errors import InvalidInputError

__all__ = [
    "Contract",
    "FeeTiers",
    "preset",
    "named",
    "quarterly",
    "BTCUSDT",
    "ETHUSDT",
    "BTCUSD",
    "ETHUSD",
    "BTCUSDT_SPOT",
    "PRESETS",
]

Tier = Tuple[float, float, float]
TimestampLike = Union[pd.Timestamp, str, int, Any]


@dataclass(frozen=True)
class Contract:
    """One instrument's specification (see docs/accounting.md).

    Attributes:
        symbol: exchange symbol, e.g. ``"BTCUSDT"``.
        kind: ``"linear"``, ``"inverse"`` or ``"spot"``.
        settle_asset: settlement currency: the quote (``"USDT"``) for linear/spot, the coin for inverse.
        contract_size: linear: base units per contract (1 on Binance USDⓈ-M); inverse: USD face value.
        tick_size, step_size: price and quantity increments (0: no rounding).
        min_qty, min_notional: smallest order quantity and value (inverse: value in USD).
        maker_fee, taker_fee: fee rates on notional (negative maker fee: rebate).
        expiry: expiry of a delivery contract (UTC), ``None`` for perpetuals.
        funding_interval_hours: funding interval of a perpetual (``None``: no funding).
        brackets: margin tiers ``(notional floor, max leverage, maintenance margin rate)``, first floor 0;
            each tier's maintenance amount is derived by the exchange rule.
        allow_short: spot only: whether the position may go negative.
        funding_cap: the cap (and floor, negated) of a funding rate computed from the premium index,
            per interval (``None``: Binance's rule, the first bracket's maintenance margin rate).
        clearance_fee: the liquidation clearance fee rate on the liquidated notional, on top of the
            taker fee: one rate, or one rate per bracket tier (the tier of the liquidated notional);
            ``()``: the run's ``liquidation_fee`` option applies (docs/accounting.md, "Liquidation").

    The defaults describe a plain linear contract with no exchange filters (what a bare symbol name
    means to :class:`perpsim.Exchange`).
    """

    symbol: str
    kind: str = "linear"
    settle_asset: str = "USDT"
    contract_size: float = 1.0
    tick_size: float = 0.0
    step_size: float = 0.0
    min_qty: float = 0.0
    min_notional: float = 0.0
    maker_fee: float = 0.0002
    taker_fee: float = 0.0005
    expiry: Optional[TimestampLike] = None
    funding_interval_hours: Optional[float] = 8.0
    brackets: Tuple[Tier, ...] = ((0.0, 125.0, 0.004),)
    allow_short: bool = False
    funding_cap: Optional[float] = None
    clearance_fee: Union[float, Tuple[float, ...]] = ()

    def __post_init__(self) -> None:
        # Types are settled here (the expiry as a UTC Timestamp, numbers as floats, the brackets as
        # tuples); the engine judges the values (Instrument::validate, the bracket rules).
        s = object.__setattr__
        if self.expiry is not None:
            try:
                ts = pd.Timestamp(self.expiry)
            except (TypeError, ValueError):
                raise InvalidInputError(f"expiry: not a timestamp: {self.expiry!r}", "expiry") from None
            if ts is pd.NaT:
                raise InvalidInputError("expiry: NaT", "expiry")
            s(self, "expiry", ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC"))
        try:
            s(self, "brackets", tuple(tuple(float(x) for x in t) for t in self.brackets))
        except (TypeError, ValueError):
            raise InvalidInputError("brackets: must be a sequence of (floor, max_leverage, mmr)", "brackets") from None
        c = self.clearance_fee
        try:
            s(self, "clearance_fee", (float(c),) if isinstance(c, (int, float)) else tuple(float(x) for x in c))
        except (TypeError, ValueError):
            msg = "clearance_fee: must be a rate or a sequence of rates, one per bracket tier"
            raise InvalidInputError(msg, "clearance_fee") from None
        _core.check_contract(self)
        for name in ("contract_size", "tick_size", "step_size", "min_qty", "min_notional", "maker_fee", "taker_fee"):
            s(self, name, float(getattr(self, name)))
        if self.funding_interval_hours is not None:
            s(self, "funding_interval_hours", float(self.funding_interval_hours))
        s(self, "allow_short", bool(self.allow_short))
        if self.funding_cap is not None:
            s(self, "funding_cap", float(self.funding_cap))

    @property
    def is_inverse(self) -> bool:
        """Whether the contract is coin-margined."""
        return self.kind == "inverse"

    @property
    def max_leverage(self) -> float:
        """The highest leverage allowed (first bracket tier)."""
        return self.brackets[0][1]

    def with_fees(self, maker_fee: float, taker_fee: float) -> Contract:
        """A copy with other fee rates."""
        return dataclasses.replace(self, maker_fee=maker_fee, taker_fee=taker_fee)

    def replace(self, **changes: Any) -> Contract:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


def preset(name: str) -> Contract:
    """The preset contract ``name`` (``BTCUSDT``, ``ETHUSDT``, ``BTCUSD_PERP``/``BTCUSD``,
    ``ETHUSD_PERP``/``ETHUSD``, ``BTCUSDT_SPOT``)."""
    fields = _core.preset(name)
    fields["brackets"] = tuple(tuple(t) for t in fields["brackets"])
    return Contract(**fields)


def named(name: str) -> Contract:
    """What a symbol name means wherever a contract is expected (``Exchange("BTCUSDT")``,
    ``backtest(..., contract="BTCUSDT")``, a data key without a contract, the command line): the
    preset of that name when :func:`preset` knows it (aliases included: ``"BTCUSD"`` is
    ``BTCUSD_PERP``), otherwise a plain linear contract of size 1 without filters
    (``Contract(name)``)."""
    try:
        return preset(name)  # the engine's table (presets::by_name), aliases included
    except InvalidInputError:
        return Contract(name)


def quarterly(perpetual: Contract, expiry: TimestampLike, symbol: Optional[str] = None) -> Contract:
    """A delivery contract with the filters, fees and brackets of ``perpetual``, expiring at ``expiry``
    (UTC), without funding. The default symbol is ``<BASE>_<YYMMDD>`` (e.g. ``BTCUSD_260626``)."""
    ts = pd.Timestamp(expiry)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if symbol is None:
        base = perpetual.symbol.removesuffix("_PERP")
        symbol = f"{base}_{ts:%y%m%d}"
    return dataclasses.replace(perpetual, symbol=symbol, expiry=ts, funding_interval_hours=None)


BTCUSDT = preset("BTCUSDT")
ETHUSDT = preset("ETHUSDT")
BTCUSD = preset("BTCUSD_PERP")
ETHUSD = preset("ETHUSD_PERP")
BTCUSDT_SPOT = preset("BTCUSDT_SPOT")
PRESETS = {c.symbol: c for c in (BTCUSDT, ETHUSDT, BTCUSD, ETHUSD, BTCUSDT_SPOT)}


@dataclass(frozen=True)
class FeeTiers:
    """Fee tiers by 30-day volume (an exchange's VIP levels; docs/accounting.md, "Fee tiers"):
    ``tiers`` of (30-day quote volume from which the tier applies, maker rate, taker rate), the
    first from 0, volumes increasing; ``volume_30d``: what the account traded in the 30 days before
    the run (spread evenly over them). Given as ``fee_tiers=`` to :class:`perpsim.Exchange`,
    :func:`perpsim.backtest` or :func:`perpsim.monte_carlo`: at the first step of each UTC day the
    tier is set from the account's volume over the 30 days before, and its rates replace every
    contract's maker and taker fees. perpsim ships no exchange's table: bring the one your account
    sees (a VIP schedule, a market-maker programme's negative maker rate)."""

    tiers: Tuple[Tuple[float, float, float], ...]
    volume_30d: float = 0.0

    def __post_init__(self) -> None:
        try:
            tiers = tuple((float(v), float(m), float(t)) for v, m, t in self.tiers)
        except (TypeError, ValueError):
            msg = "fee_tiers: tiers of (30-day volume, maker rate, taker rate)"
            raise InvalidInputError(msg, "fee_tiers") from None
        object.__setattr__(self, "tiers", tiers)
        _core.check_fee_tiers(self)
        object.__setattr__(self, "volume_30d", float(self.volume_30d))
