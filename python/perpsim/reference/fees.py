"""The reference's fee tiers by 30-day volume (docs/accounting.md, "Fee tiers"), written apart from
the engine's ledger/fee_tiers.rs: at the first step of each UTC day the tier is set from the
account's quote volume over the 30 days before, and its rates replace every contract's."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any, List, Tuple

from .ledger import exact

DAY_NS = 86_400_000_000_000
WINDOW_DAYS = 30


class RefFeeTiers:
    """A :class:`perpsim.FeeTiers` in exact numbers, with the account's volume by day."""

    def __init__(self, schedule: Any) -> None:
        self.tiers: List[Tuple[F, F, F]] = [(exact(v), exact(m), exact(t)) for v, m, t in schedule.tiers]
        self.past: List[F] = [exact(schedule.volume_30d) / WINDOW_DAYS] * WINDOW_DAYS
        self.current = F(0)
        self.day: Any = None
        self.tier = self._tier()

    def _tier(self) -> int:
        volume = sum(self.past, F(0))
        return max(k for k, t in enumerate(self.tiers) if volume >= t[0])

    def rates(self) -> Tuple[F, F]:
        """The current tier's (maker, taker) rates."""
        return self.tiers[self.tier][1], self.tiers[self.tier][2]

    def roll(self, ts: int) -> None:
        """The step at ``ts`` starts: a new UTC day closes the days since and sets the tier."""
        day = ts // DAY_NS
        if day == self.day:
            return
        if self.day is not None and day > self.day:
            closed = [self.current] + [F(0)] * (day - self.day - 1)
            self.past = (self.past + closed)[-WINDOW_DAYS:]
        self.current = F(0)
        self.day = day
        self.tier = self._tier()
