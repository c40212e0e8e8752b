"""The reference's liquidation and bankruptcy prices (docs/accounting.md, "Liquidation" and
"Hedge mode"), written apart from the engine's ledger/margin.rs: one-way positions, and a hedge-mode
symbol's long and short under cross margin, which move together."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any, Optional, Tuple


def _tier(table: list, notional: F) -> tuple:
    """The bracket tier holding ``notional`` (the last whose floor is at or under it)."""
    t = table[0]
    for row in table:
        if notional >= row[0]:
            t = row
    return t


def liquidation_price(
    spec: Any, side: int, qty: F, entry: F, wallet: F, mm_other: F = F(0), upnl_other: F = F(0)
) -> Optional[F]:
    """Liquidation price (one-way mode) from docs/accounting.md, or None.

    Linear: LP = (WB − TMM_other + UPNL_other + cum − Side·Q·EP) / (Q·MMR − Side·Q);
    inverse: LP = Q·(MMR + Side) / (WB − TMM_other + UPNL_other + cum + Side·Q/EP).
    The tier used is the first whose notional range holds the notional at LP (else the entry's).
    """
    if qty == 0 or spec.kind == "spot":
        return None
    q = abs(qty) * spec.cs
    wb = wallet - mm_other + upnl_other

    def lp_for(t: tuple) -> Optional[F]:
        _, _, mmr, cum = t
        if spec.inverse:
            den = wb + cum + side * q / entry
            return None if den == 0 else q * (mmr + side) / den
        den = q * mmr - side * q
        return None if den == 0 else (wb + cum - side * q * entry) / den

    def notional_at(p: F) -> F:
        return q / p if spec.inverse else q * p

    table = spec.brackets
    for i, t in enumerate(table):
        lp = lp_for(t)
        if lp is not None and lp > 0:
            x = notional_at(lp)
            ceiling = table[i + 1][0] if i + 1 < len(table) else None
            if x >= t[0] and (ceiling is None or x < ceiling):
                return lp
    lp = lp_for(_tier(table, notional_at(entry)))
    return lp if lp is not None and lp > 0 else None


def bankruptcy_price(spec: Any, side: int, qty: F, entry: F, wallet: F, upnl_other: F = F(0)) -> Optional[F]:
    """Bankruptcy price (docs/accounting.md): where the backing wallet is used up, or None.

    Linear: BP = EP − (WB + UPNL_other) / (Side·Q); inverse: BP = Side·Q / (WB + UPNL_other + Side·Q/EP).
    """
    if qty == 0 or spec.kind == "spot":
        return None
    q = abs(qty) * spec.cs
    wb = wallet + upnl_other
    if spec.inverse:
        den = wb + side * q / entry
        bp = None if den == 0 else side * q / den
    else:
        bp = entry - wb / (side * q)
    return bp if bp is not None and bp > 0 else None


def hedge_liquidation_price(
    spec: Any,
    long: Tuple[F, F],
    short: Tuple[F, F],
    wallet: F,
    mm_other: F = F(0),
    upnl_other: F = F(0),
    maintenance: bool = True,
) -> Optional[Tuple[F, bool]]:
    """Hedge mode, cross margin: the one price where a symbol's long ``(qty, entry)`` and short
    ``(|qty|, entry)``, moving together, leave the margin balance at the maintenance margin (each
    side in the tier of its own notional there; ``maintenance=False``: at zero, the bankruptcy
    price), with whether a falling price reaches it. None when there is none.

    Linear: LP = (WB − TMM_other + UPNL_other + cum_L + cum_S − Q_L·EP_L + Q_S·EP_S) /
    (Q_L·MMR_L + Q_S·MMR_S − Q_L + Q_S), reached falling when the denominator is negative.
    Inverse: LP = (Q_L·(MMR_L + 1) + Q_S·(MMR_S − 1)) / (WB − TMM_other + UPNL_other + cum_L + cum_S
    + Q_L/EP_L − Q_S/EP_S), reached falling when the numerator is positive."""
    if spec.kind == "spot" or (long[0] == 0 and short[0] == 0):
        return None
    ql, qs = long[0] * spec.cs, short[0] * spec.cs
    wb = wallet - mm_other + upnl_other
    table = spec.brackets
    zero = (F(0), 0, F(0), F(0))

    def tiers(q: F) -> list:
        return [zero] if q == 0 or not maintenance else list(table)

    def solve(tl: tuple, ts: tuple) -> Optional[Tuple[F, bool]]:
        (ml, cl), (ms, cs) = (tl[2], tl[3]), (ts[2], ts[3])
        if spec.inverse:
            den = wb + cl + cs + (ql / long[1] if ql else 0) - (qs / short[1] if qs else 0)
            num = ql * (ml + 1) + qs * (ms - 1)
            return None if den == 0 else (num / den, num > 0)
        num = wb + cl + cs - (ql * long[1] if ql else 0) + (qs * short[1] if qs else 0)
        den = ql * ml + qs * ms - ql + qs
        return None if den == 0 else (num / den, den < 0)

    def fits(q: F, t: tuple, p: F) -> bool:
        if q == 0 or not maintenance:
            return True
        x = q / p if spec.inverse else q * p
        i = table.index(t)
        ceiling = table[i + 1][0] if i + 1 < len(table) else None
        return x >= t[0] and (ceiling is None or x < ceiling)

    for tl in tiers(ql):
        for ts in tiers(qs):
            r = solve(tl, ts)
            if r is not None and r[0] > 0 and fits(ql, tl, r[0]) and fits(qs, ts, r[0]):
                return r

    def at_entry(q: F, e: F) -> tuple:
        if q == 0 or not maintenance:
            return zero
        return _tier(table, q / e if spec.inverse else q * e)

    r = solve(at_entry(ql, long[1]), at_entry(qs, short[1]))
    return r if r is not None and r[0] > 0 else None
