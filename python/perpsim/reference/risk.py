"""The reference's liquidation (docs/accounting.md, "Liquidation"), written apart from the engine's
engine/risk.rs: the close at the liquidation or the bankruptcy price, the clearance fee, the
insurance floor and the blown account; and the auto-deleveraging close."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any


def liquidate(ex: Any, symbol: str, price: F, down: bool) -> None:
    """Liquidates ``symbol`` of ``ex`` at ``price``, reached falling (``down``) or rising: an isolated
    position alone (its loss capped at its margin; in hedge mode the long when falling, the short
    when rising), or every cross position (the others at their marks), after which the account is
    blown. With ``liquidation_close='bankruptcy_price'`` the position is taken over at its
    bankruptcy price without fees. The clearance fee is the contract's rate for the bracket of the
    liquidated notional, else the run's ``liquidation_fee``."""
    if ex.liquidated_at is None:
        ex.liquidated_at = ex.now
    isolated = ex.positions[symbol].margin_mode == "isolated"
    if not ex.hedge:
        side = "both"
    elif isolated:
        side = "long" if down else "short"
    else:  # cross: the symbol's one bankruptcy price, named by an open side
        side = "long" if ex.positions[symbol].qty != 0 else "short"
    bp = ex.bankruptcy_price(symbol, side) if ex.cfg.liquidation_close == "bankruptcy_price" else None
    close_at, how = (price, "taker") if bp is None else (bp, "bankrupt")

    def close(s: str, leg: str, qty: F, px: F) -> None:
        o = ex._new_order(s, "sell" if qty > 0 else "buy", "liquidation", abs(qty), position_side=leg)
        sp = ex.specs[s]
        clearance = sp.clearance_rate(sp.notional(qty, px))
        rate = F(0) if how == "bankrupt" else (ex.cfg.liquidation_fee if clearance is None else clearance)
        ex._force_fill(o, -qty, px, rate, how)

    if isolated:
        p = ex._side(symbol, side)
        margin = ex._leg_im(p)
        before = ex.wallet
        close(symbol, side, p.qty, close_at)
        loss = before - ex.wallet
        if loss > margin and not ex.cfg.allow_negative_balance:
            ex._cover(loss - margin)
    else:
        for s in [symbol] + [s for s in ex.specs if s != symbol]:
            first = ex.positions[s]
            if first.margin_mode != "cross":
                continue
            px = close_at if s == symbol else (first.mark_price if first.mark_price is not None else price)
            for leg, ps in ex._open_sides(s):
                close(s, leg, ps.qty, px)
        ex._blow_up()
    if not ex.cfg.allow_negative_balance and ex.wallet < 0:
        ex._cover(-ex.wallet)
    if ex.wallet <= 0:
        ex._blow_up()


def deleverage(ex: Any, symbol: str, price: F, down: bool) -> None:
    """The auto-deleveraging model closes ``symbol``'s whole position at ``price`` (the level where
    the other side went bankrupt; the open in a gap), without fee: in hedge mode the short when the
    price fell (``down``), else the long."""
    side = "both" if not ex.hedge else ("short" if down else "long")
    pos = ex._side(symbol, side).qty
    if pos != 0:
        o = ex._new_order(symbol, "sell" if pos > 0 else "buy", "adl", abs(pos), position_side=side)
        ex._force_fill(o, -pos, price, F(0), "bankrupt")
