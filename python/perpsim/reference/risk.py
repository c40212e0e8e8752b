"""The reference's liquidation (docs/accounting.md, "Liquidation"), written apart from the engine's
engine/risk.rs: the close at the liquidation or the bankruptcy price, the clearance fee, the
insurance floor and the blown account; and the auto-deleveraging close."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any


def liquidate(ex: Any, symbol: str, price: F) -> None:
    """Liquidates ``symbol`` of ``ex`` at ``price``: an isolated position alone (its loss capped at its
    margin), or every cross position (the others at their marks), after which the account is blown.
    With ``liquidation_close='bankruptcy_price'`` the position is taken over at its bankruptcy price
    without fees. The clearance fee is the contract's rate for the bracket of the liquidated
    notional, else the run's ``liquidation_fee``."""
    if ex.liquidated_at is None:
        ex.liquidated_at = ex.now
    p = ex.positions[symbol]
    bp = ex.bankruptcy_price(symbol) if ex.cfg.liquidation_close == "bankruptcy_price" else None
    close_at, how = (price, "taker") if bp is None else (bp, "bankrupt")

    def close(s: str, qty: F, px: F) -> None:
        o = ex._new_order(s, "sell" if qty > 0 else "buy", "liquidation", abs(qty))
        sp = ex.specs[s]
        clearance = sp.clearance_rate(sp.notional(qty, px))
        rate = F(0) if how == "bankrupt" else (ex.cfg.liquidation_fee if clearance is None else clearance)
        ex._force_fill(o, -qty, px, rate, how)

    if p.margin_mode == "isolated":
        margin = ex._im(symbol)
        before = ex.wallet
        close(symbol, p.qty, close_at)
        loss = before - ex.wallet
        if loss > margin and not ex.cfg.allow_negative_balance:
            ex._cover(loss - margin)
    else:
        for s in [symbol] + [s for s in ex.specs if s != symbol]:
            ps = ex.positions[s]
            if ps.margin_mode != "cross" or ps.qty == 0:
                continue
            px = close_at if s == symbol else (ps.mark_price if ps.mark_price is not None else price)
            close(s, ps.qty, px)
        ex._blow_up()
    if not ex.cfg.allow_negative_balance and ex.wallet < 0:
        ex._cover(-ex.wallet)
    if ex.wallet <= 0:
        ex._blow_up()


def deleverage(ex: Any, symbol: str, price: F) -> None:
    """The auto-deleveraging model closes ``symbol``'s whole position at ``price`` (the level where
    the other side went bankrupt; the open in a gap), without fee."""
    pos = ex.positions[symbol].qty
    if pos != 0:
        o = ex._new_order(symbol, "sell" if pos > 0 else "buy", "adl", abs(pos))
        ex._force_fill(o, -pos, price, F(0), "bankrupt")
