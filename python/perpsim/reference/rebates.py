"""The reference's trade-mining and volume rebates (docs/accounting.md, "Rebates"), written apart
from the engine's: the account's volume in each period is counted at each fill (quote units), and
at the first step at or after a period's end the account is credited ``a/(a+V)·R``."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction as F
from typing import Any, List, Optional, Tuple

from .ledger import exact


@dataclass
class RebateBook:
    """One symbol's schedule for a run: (start, end, the others' volume, reward) per period, the
    account's volume per period, and the first period not yet credited."""

    periods: List[Tuple[int, int, F, F]]
    volume: List[F] = field(default_factory=list)
    credited: int = 0


def book(arrays: Tuple[Any, Any, Any, Any], now: int, old: Optional[RebateBook] = None) -> RebateBook:
    """A book from ``perpsim.data.rebates_to_arrays``' columns; periods that ended at or before
    ``now`` (the last step) are behind and not credited; a period of the ``old`` book (same start
    and end) not yet credited keeps its volume (a run continued in pieces)."""
    start, end, volume, reward = (a.tolist() for a in arrays)
    periods = [(int(s), int(e), exact(v), exact(r)) for s, e, v, r in zip(start, end, volume, reward)]
    behind = sum(1 for p in periods if p[1] <= now)
    carried = {}
    if old is not None:
        carried = {old.periods[k][:2]: old.volume[k] for k in range(old.credited, len(old.periods))}
    return RebateBook(periods, [carried.get(p[:2], F(0)) for p in periods], behind)


def count(b: RebateBook, now: int, value: F) -> None:
    """A fill of ``value`` (quote units) at ``now``: added to the period holding ``now``."""
    for k, (s, e, _, _) in enumerate(b.periods):
        if s <= now < e:
            b.volume[k] += value
            return


def credit(ex: Any, symbol: str, b: RebateBook, ts: int) -> None:
    """Credits ``symbol``'s periods ended at or before ``ts`` to ``ex``'s wallet, recording the ones
    with trading."""
    while b.credited < len(b.periods) and b.periods[b.credited][1] <= ts:
        k = b.credited
        b.credited += 1
        a = b.volume[k]
        if a <= 0:
            continue
        _, end, v, r = b.periods[k]
        amount = a / (a + v) * r
        ex.wallet += amount
        ex.rebate_rows.append(dict(timestamp=end, symbol=symbol, volume=a, market_volume=v, reward=r, amount=amount))
