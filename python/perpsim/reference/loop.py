"""The reference's event loop (:meth:`perpsim.reference.Exchange.run`), written apart from the
engine's: per step, funding for the funding times since the previous step at the bar's open (the mark's
open when the bar has the mark's own bar), then a
delivery contract's settlement, then each symbol's bar along its path, then the close. A symbol
without a bar at a step is stale for it: orders on it are rejected and it is marked at its last
price."""

from __future__ import annotations

import math
from fractions import Fraction as F
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import pandas as pd

from ..data import rebates_to_arrays
from .ledger import Ledger, exact
from .rebates import book as rebate_book
from .rebates import credit as credit_rebates

SETTLEMENT_WINDOW = 30 * 60 * 1_000_000_000  # delivery settles at the index's average over this


def replay(
    ex: Any,
    data: Mapping[str, pd.DataFrame],
    funding: Optional[Mapping[str, pd.Series]] = None,
    settlement: Optional[Mapping[str, float]] = None,
    clock: Optional[Sequence[int]] = None,
    rebates: Optional[Any] = None,
) -> None:
    """:meth:`perpsim.reference.Exchange.run` on ``ex``: the event loop (funding, rebates,
    settlement, path, close per step)."""
    if isinstance(data, pd.DataFrame):
        data = {next(iter(ex.specs)): data}
    if isinstance(funding, pd.Series):
        funding = {next(iter(ex.specs)): funding}
    if settlement is not None and not isinstance(settlement, Mapping):
        settlement = {next(iter(ex.specs)): settlement}
    funding = funding or {}
    settlement = settlement or {}
    if rebates is not None and not isinstance(rebates, Mapping):
        rebates = {next(iter(ex.specs)): rebates}
    ex.rebate_books = {
        s: rebate_book(rebates_to_arrays(df, f"rebates[{s}]"), ex.now, ex.rebate_books.get(s))
        for s, df in (rebates or {}).items()
    }
    events: Dict[int, Dict[str, Any]] = {}
    index: Dict[str, List[Tuple[int, Any]]] = {}  # per symbol: (bar open time, index close)
    for s, df in data.items():
        if "price" in df.columns and "open" not in df.columns:  # ticks
            df = df.assign(open=df["price"], high=df["price"], low=df["price"], close=df["price"])
        ts = df.index.as_unit("ns").asi8 if hasattr(df.index, "as_unit") else df.index.asi8
        vol = df["volume"].tolist() if "volume" in df.columns else [None] * len(df)
        cols = ("mark_open", "mark_high", "mark_low", "mark_close")
        marks: List[Optional[Tuple[Any, ...]]] = [None] * len(df)
        if all(k in df.columns for k in cols):
            marks = list(zip(*(df[k].tolist() for k in cols)))
        if "index_close" in df.columns:
            index[s] = [(t, x) for t, x in zip(ts.tolist(), df["index_close"].tolist()) if not math.isnan(x)]
        for t, o, h, lo, c, v, m in zip(
            ts.tolist(), df["open"].tolist(), df["high"].tolist(), df["low"].tolist(), df["close"].tolist(), vol, marks
        ):
            events.setdefault(t, {})[s] = (o, h, lo, c, v, m)
    fq = {
        s: list(zip((f.index.as_unit("ns").asi8 if hasattr(f.index, "as_unit") else f.index.asi8).tolist(), f.tolist()))
        for s, f in funding.items()
    }
    # funding times at or before the last step are behind us: not paid again
    fc = {s: sum(1 for t, _ in fq[s] if t <= ex.now) for s in fq}
    for t in clock or ():
        events.setdefault(int(t), {})
    for ts in sorted(events):
        bars = events[ts]
        ex.last_ts = ts
        ex.stale = {s: s not in bars for s in ex.specs}
        ex.begin_step(ts)
        for s in ex.specs:
            if s in bars and s in fq:
                while fc[s] < len(fq[s]) and fq[s][fc[s]][0] <= ts:
                    ft, rate = fq[s][fc[s]]
                    pos = ex._net(s)
                    held = bool(ex._legs(s))
                    m = bars[s][5]
                    # at the mark's open when the bar has the mark's own bar
                    at = m[0] if m is not None and not math.isnan(m[0]) else bars[s][0]
                    paid = Ledger.apply_funding(ex, s, rate, at)
                    if held:
                        ex.funding_rows.append(
                            dict(
                                timestamp=ft,
                                symbol=s,
                                rate=exact(rate),
                                mark_price=exact(at),
                                position=pos,
                                payment=paid,
                            )
                        )
                    fc[s] += 1
            if s in ex.rebate_books:
                credit_rebates(ex, s, ex.rebate_books[s], ts)
            exp = ex.specs[s].contract.expiry
            if exp is not None and not ex.expired[s] and pd.Timestamp(exp).value <= ts:
                last = ex.cur[s]
                fallback = bars[s][0] if s in bars else None
                # a given price, else the index's average over the 30 minutes before expiry,
                # else the last price
                x = pd.Timestamp(exp).value
                window = [exact(v) for t, v in index.get(s, []) if x - SETTLEMENT_WINDOW <= t < x]
                price: Any = settlement.get(s)
                if price is None and window:
                    price = sum(window, F(0)) / len(window)
                if price is None:
                    price = float(last) if last is not None else fallback
                if price is not None:
                    ex.settle(s, price)
        for s in ex.specs:
            if s in bars:
                ex.bar(s, *bars[s])
        ex.end_step()
    ex.stale = dict.fromkeys(ex.specs, False)
