"""The reference's funding from the premium index (the engine's ``market/premium.rs``), in exact
numbers: at each funding time, the premium samples in ``[previous time, time)`` weighted 1, 2, …, n;
``F = s·(P + clamp(I − P, −c, c))`` with ``s = hours / 8``, capped at ±cap."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any, List, Sequence, Tuple

from .ledger import exact

__all__ = ["funding_from_premium"]

HOUR_NS = 3_600_000_000_000


def funding_from_premium(
    samples: Sequence[Tuple[int, Any]],
    times: Sequence[int],
    first_window: int,
    interest_rate: Any,
    clamp: Any,
    cap: Any,
) -> Tuple[List[Tuple[int, F]], List[int]]:
    """``samples``: (time ns, premium) in time order; ``times``: funding times (ns, increasing);
    returns the (time, rate) pairs and the times without a sample."""
    i8, c8, cp = exact(interest_rate), exact(clamp), exact(cap)
    rates: List[Tuple[int, F]] = []
    empty: List[int] = []
    prev = times[0] - first_window if times else 0
    for t in times:
        window = [exact(v) for ts, v in samples if prev <= ts < t]
        if window:
            n = len(window)
            p = sum((F(k + 1) * v for k, v in enumerate(window)), F(0)) / F(n * (n + 1), 2)
            s = F(t - prev, 8 * HOUR_NS)
            f = s * (p + min(max(i8 - p, -c8), c8))
            rates.append((t, min(max(f, -cp), cp)))
        else:
            empty.append(t)
        prev = t
    return rates, empty
