"""Round trips (closed trades) from a run's fills, on the exchange's own average-cost rule.

A futures position has one average entry price per symbol (and side): a fill that adds to it moves
the average, a fill that reduces it realizes ``(exit - entry) * qty`` (linear; the inverse form for
coin-margined contracts), and the engine records that realized PnL on the fill. A *trade* here is
one reducing fill: the quantity it closed, the entry price it closed against, the exit price, and
its PnL net of fees (the exit fee's share for the closed quantity and the entry fees' share of the
quantity closed, pro rata). A position still open at the end is one more row, ``status="open"``:
valued at the last mark (its unrealized PnL, less its entry fees' share), as vectorbt lists open
trades. Funding is not in a trade's PnL (it is paid on the open position over time:
``Result.funding``): the trades' PnLs add up to the final equity less the initial balance less
the funding. Spot legs (reason ``"spot"``) are not futures trades and are left out.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

import numpy as np
import pandas as pd

__all__ = ["trades", "COLUMNS"]

#: The columns of :func:`trades`, in order.
COLUMNS = [
    "symbol",
    "direction",
    "entry_time",
    "exit_time",
    "qty",
    "entry_price",
    "exit_price",
    "gross_pnl",
    "fees",
    "pnl",
    "reason",
    "status",
]


def trades(fills: pd.DataFrame, open_positions: Sequence[Any] = ()) -> pd.DataFrame:
    """One row per fill that reduced a position (see the module doc), in fill order, then one per
    position of ``open_positions`` (:class:`perpsim.Position` snapshots at the end, with the time
    of the last step as ``exit_time``: ``(time, position)`` pairs) that is not flat.

    ``direction``: ``"long"`` or ``"short"`` (the position reduced); ``entry_time``: when that
    position was opened from flat (or flipped); ``gross_pnl``: the engine's realized PnL for the
    closed quantity; ``fees``: the exit fee's share plus the entry fees' share; ``pnl`` =
    ``gross_pnl - fees``; ``reason``: the closing fill's reason (``"liquidation"`` for a forced
    close); ``status``: ``"closed"``, or ``"open"`` for a position left open at the end.
    """
    rows: List[Dict[str, Any]] = []
    state: Dict[Any, Dict[str, Any]] = {}  # per (symbol, position side): hedge mode's sides apart
    f = fills[fills["reason"] != "spot"] if len(fills) else fills
    sides = f["position_side"].to_numpy() if "position_side" in f.columns else np.full(len(f), "both")
    cols = [f[c].to_numpy() for c in ("timestamp", "symbol", "side", "qty", "fee", "realized_pnl", "position")]
    entry = f["entry_price"].to_numpy() if len(f) else np.empty(0)
    price = f["price"].to_numpy() if len(f) else np.empty(0)
    reason = f["reason"].to_numpy() if len(f) else np.empty(0)
    for i, (ts, sym, side, qty, fee, realized, pos) in enumerate(zip(*cols)):
        s = state.setdefault((sym, sides[i]), {"pos": 0.0, "entry": 0.0, "fees": 0.0, "opened": ts})
        before = s["pos"]
        signed = qty if side == "buy" else -qty
        reduces = before != 0.0 and (signed > 0) != (before > 0)
        if not reduces:
            if before == 0.0:
                s["opened"] = ts
            s["fees"] += fee
        else:
            closed = min(qty, abs(before))
            share = s["fees"] * closed / abs(before)
            exit_fee = fee * closed / qty if qty > 0 else 0.0
            rows.append(
                {
                    "symbol": sym,
                    "direction": "long" if before > 0 else "short",
                    "entry_time": s["opened"],
                    "exit_time": ts,
                    "qty": closed,
                    "entry_price": s["entry"],
                    "exit_price": price[i],
                    "gross_pnl": realized,
                    "fees": share + exit_fee,
                    "pnl": realized - share - exit_fee,
                    "reason": reason[i],
                    "status": "closed",
                }
            )
            s["fees"] -= share
            if qty > closed:  # flipped: the rest opens the other side
                s["fees"] = fee - exit_fee
                s["opened"] = ts
            elif pos == 0.0:
                s["fees"] = 0.0
        s["pos"] = pos
        s["entry"] = entry[i]
    for ts, p in open_positions:
        if p.qty == 0.0:
            continue
        s = state.get((p.symbol, getattr(p, "position_side", "both")), {"fees": 0.0, "opened": ts})
        rows.append(
            {
                "symbol": p.symbol,
                "direction": "long" if p.qty > 0 else "short",
                "entry_time": s["opened"],
                "exit_time": ts,
                "qty": abs(p.qty),
                "entry_price": p.entry_price,
                "exit_price": p.mark_price,
                "gross_pnl": p.unrealized_pnl,
                "fees": s["fees"],
                "pnl": p.unrealized_pnl - s["fees"],
                "reason": "open at end",
                "status": "open",
            }
        )
    out = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("qty", "entry_price", "exit_price", "gross_pnl", "fees", "pnl"):
        out[c] = out[c].astype(float)
    return out
