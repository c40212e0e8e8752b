"""The reference's orders: the order record, the run options in exact numbers, and the small rules
about order kinds (which triggers fire on a rising price, what a kind's fills are called)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction as F
from typing import Optional

__all__ = ["RefOrder", "FILL_REASON", "STALE", "TRIGGER_KINDS", "triggers_rising"]

# why an order on a symbol without a bar at the step is rejected (the engine's words)
STALE = "no bar for this symbol at this step (its last price is stale)"

RISING_KINDS_BUY = {"stop_market", "stop_limit", "stop_loss"}  # buy side of these fires on a rising price
TRIGGER_KINDS = {"stop_market", "stop_limit", "take_profit", "stop_loss"}
FILL_REASON = {
    "market": "user",
    "limit": "user",
    "stop_market": "stop",
    "stop_limit": "stop",
    "take_profit": "tp",
    "stop_loss": "sl",
    "trailing_stop": "trailing",
    "liquidation": "liquidation",
    "settlement": "settlement",
    "adl": "adl",
}


def triggers_rising(kind: str, side: str) -> bool:
    """Whether a trigger order fires on a rising price: buy stops and buy stop-losses, sell
    take-profits."""
    if kind == "take_profit":
        return side == "sell"
    return side == "buy"


def _v(x: Optional[F]) -> F:
    """A value the engine's logic guarantees is set at that point."""
    assert x is not None
    return x


def closes(position_side: str, side: str) -> bool:
    """Hedge mode: an order of ``side`` on ``position_side`` only closes (a sell on the long side,
    a buy on the short side); never in one-way mode ("both")."""
    return position_side != "both" and (position_side == "long") == (side == "sell")


@dataclass
class RefOrder:
    """One order of the reference engine (the orders log is the list of these)."""

    id: int
    symbol: str
    side: str
    kind: str
    qty: F
    price: Optional[F] = None
    trigger: Optional[F] = None
    callback: Optional[F] = None
    activation: Optional[F] = None
    extreme: Optional[F] = None
    reduce_only: bool = False
    post_only: bool = False
    close_position: bool = False
    triggered: bool = False
    filled: F = F(0)
    avg_price: F = F(0)
    status: str = "open"
    reason: str = ""
    placed: int = 0
    updated: int = 0
    seq: int = 0
    in_book: bool = False
    pending: bool = False
    tag: int = 0
    fill_reason: Optional[str] = None
    working_type: str = "last"  # which price fires a trigger: "last" or "mark"
    position_side: str = "both"  # hedge mode: "long" or "short"

    @property
    def sign(self) -> int:
        return 1 if self.side == "buy" else -1

    @property
    def rests_as_limit(self) -> bool:
        return self.kind == "limit" or (self.kind == "stop_limit" and self.triggered)


@dataclass
class _Config:
    """The run options in exact numbers (names, defaults and checks are the engine's:
    ``perpsim._core.exchange_options``)."""

    path: str
    slippage: F
    touch_fills: bool
    same_bar: bool
    max_participation: F
    liquidation_fee: F
    liquidation_close: str
    allow_negative_balance: bool
    liquidation: bool
    adl_move: F = F(0)
