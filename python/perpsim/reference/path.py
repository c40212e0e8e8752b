"""The reference's walk along a bar's path (the engine's ``engine/path.rs`` and
``matching/next_event.rs``, in exact numbers). The rules (docs/matching.md), stated the way this
code applies them:

* A step: pending orders go live; then for each symbol with a bar, in symbol order, the path; then
  the step's history row. ``update`` is a step whose bars are one-point paths (ticks).
* A bar's path starts with the **gap** from the last price to the open: everything the gap crosses
  is handled in the order it is crossed but fills at the open. Then anything already through the
  open. Then open → first extreme → second extreme → close (the path model decides the order).
* On a segment going down from ``a`` to ``b``, the candidates are: triggers that fire on a falling
  price (level = trigger, class 0), activated trailing sells (level = extreme·(1 − callback),
  class 1), resting buy limits (level = price, or one tick below without touch fills, class 2) and
  the liquidation of a long (level = liquidation price, class 3). The one with the highest level
  ≥ ``b`` comes first; ties go by class, then time priority. It is handled at
  ``min(level, current price)``, then the search starts again (what was just done may have
  changed the book or the liquidation price). Going up mirrors this.
* Limit fills are maker at the limit price (at the open in the gap); stops, TP/SL and trailing
  stops fill as taker at their level ± slippage; a stop-limit becomes a limit on trigger and fills
  at once as taker if marketable; liquidation closes at its level with taker + liquidation fee.
"""

from __future__ import annotations

import math
from fractions import Fraction as F
from typing import Any, Dict, List, Optional, Tuple

from .ledger import Ledger, exact
from .orders import TRIGGER_KINDS, RefOrder, _Config, _v, triggers_rising

__all__ = ["PathWalk"]


class PathWalk(Ledger):
    """The ledger plus the walk along the path; :class:`~perpsim.reference.Exchange` adds the
    orders and the steps."""

    cfg: _Config
    cur: Dict[str, Optional[F]]
    gap_fill: Optional[F]
    mark_gap_fill: Optional[F] = None
    own_mark: bool = False
    vol_left: Dict[str, Optional[F]]
    hooks: Any
    blown: bool
    expired: Dict[str, bool]
    in_path: bool
    range: Dict[str, Tuple[Optional[F], Optional[F]]]
    bar_ref: Dict[str, Optional[F]]
    now: int

    def _book(self, symbol: str) -> List[RefOrder]:
        raise NotImplementedError

    def _execute(self, o: RefOrder, price: F, liquidity: str, raise_: bool = False) -> bool:
        raise NotImplementedError

    def _liquidate(self, symbol: str, price: F, down: bool) -> None:
        raise NotImplementedError

    def _deleverage(self, symbol: str, price: F, down: bool) -> None:
        raise NotImplementedError

    def _net(self, symbol: str) -> F:
        """The net position of ``symbol`` (long + short in hedge mode)."""
        return sum((p.qty for p in self._legs(symbol)), F(0))

    def _trail_touch(self, o: RefOrder, p: F) -> None:
        if o.extreme is None:
            if o.activation is None or (p >= o.activation if o.side == "sell" else p <= o.activation):
                o.extreme = p
        else:
            o.extreme = max(o.extreme, p) if o.side == "sell" else min(o.extreme, p)

    def _trail_update(self, symbol: str, p: F) -> None:
        for o in self._book(symbol):
            if o.kind == "trailing_stop":
                self._trail_touch(o, p)

    def _candidates(self, symbol: str, down: bool) -> List[Tuple[F, int, int, Any]]:
        sp = self.specs[symbol]
        out: List[Tuple[F, int, int, Any]] = []
        left = self.vol_left[symbol]
        vol_ok = left is None or left > 0
        for o in self._book(symbol):
            if o.kind == "trailing_stop":
                if o.extreme is not None and o.side == ("sell" if down else "buy"):
                    cb = _v(o.callback)
                    lvl = o.extreme * (1 - cb) if down else o.extreme * (1 + cb)
                    out.append((lvl, 1, o.seq, o))
            elif o.rests_as_limit:
                if o.side == ("buy" if down else "sell") and vol_ok:
                    lvl = _v(o.price)
                    if not self.cfg.touch_fills and self.gap_fill is None:
                        if sp.tick:
                            lvl = lvl - sp.tick if down else lvl + sp.tick
                        else:
                            lvl = F(math.nextafter(float(lvl), -math.inf if down else math.inf))
                    out.append((lvl, 2, o.seq, o))
            elif triggers_rising(o.kind, o.side) != down and not (self.own_mark and o.working_type == "mark"):
                out.append((_v(o.trigger), 0, o.seq, o))
        if self.cfg.liquidation and not self.own_mark and self._legs(symbol):
            lp = self.liquidation_levels(symbol)[0 if down else 1]
            if lp is not None:
                out.append((lp, 3, 0, "liquidation_down" if down else "liquidation_up"))
        if self.hooks is not None and hasattr(self.hooks, "watch"):
            w = self.hooks.watch(self, symbol)[0 if down else 1]
            if w is not None:
                out.append((w, 4, 0, "watch"))
        m, ref = self.cfg.adl_move, self.bar_ref[symbol]
        if m > 0 and ref is not None:  # auto-deleveraging: the winning side, in profit
            short = self.shorts[symbol] if self.hedge else self.positions[symbol]
            long = self.positions[symbol]
            if down and short.qty < 0 and ref * (1 - m) < short.entry_price:
                out.append((ref * (1 - m), 5, 0, "adl_down"))
            if not down and long.qty > 0 and ref * (1 + m) > long.entry_price:
                out.append((ref * (1 + m), 5, 0, "adl_up"))
        return out

    def _walk(self, symbol: str, a: F, b: F, down: bool) -> None:
        self.cur[symbol] = a
        while not self.blown:
            cands = [c for c in self._candidates(symbol, down) if (c[0] >= b if down else c[0] <= b)]
            if not cands:
                return
            lvl, _, _, ev = (max if down else min)(
                cands, key=lambda c: (c[0], -c[1], -c[2]) if down else (c[0], c[1], c[2])
            )
            now = _v(self.cur[symbol])
            at = min(lvl, now) if down else max(lvl, now)
            self._process(symbol, ev, at)

    def _process(self, symbol: str, ev: Any, at: F) -> None:
        self.cur[symbol] = at
        if not self.own_mark:
            self.positions[symbol].mark_price = at
        fp = at if self.gap_fill is None else self.gap_fill
        slip = self.cfg.slippage
        if ev in ("liquidation_down", "liquidation_up"):
            self._liquidate(symbol, fp, ev == "liquidation_down")
            return
        if ev == "watch":
            self.hooks.on_price(self, symbol, at)
            return
        if ev in ("adl_down", "adl_up"):
            self._deleverage(symbol, fp, ev == "adl_down")
            return
        o: RefOrder = ev
        if o.kind == "trailing_stop":
            o.in_book = False
            self._execute(o, fp * (1 + o.sign * slip), "taker")
        elif o.rests_as_limit:
            self._execute(o, _v(o.price) if self.gap_fill is None else fp, "maker")
        else:  # a trigger fires
            o.in_book = False
            if o.kind == "stop_limit":
                o.triggered = True
                if _v(o.price) >= fp if o.side == "buy" else _v(o.price) <= fp:
                    self._execute(o, fp, "taker")
                else:
                    o.in_book = True
            else:
                self._execute(o, fp * (1 + o.sign * slip), "taker")

    def _high_first(self, o: F, h: F, lo: F, pos: F) -> bool:
        m = self.cfg.path
        if m == "open_high_low_close":
            return True
        if m == "open_low_high_close":
            return False
        if m == "worst_case" and pos != 0:
            return pos < 0
        return (h - o) < (o - lo)

    def _points(self, o: F, h: F, lo: F, c: F, pos: F) -> List[F]:
        return [h, lo, c] if self._high_first(o, h, lo, pos) else [lo, h, c]

    # -- the mark's own path (the engine's engine/mark_path.rs) ---------------------------------
    def _mark_event(self, symbol: str, t_now: F, ma: F, mb: F) -> Optional[Tuple[F, F, Any]]:
        """The mark's next event on the pair (its clock time, the mark then, and the event): the
        triggers on the mark first, then the liquidation, at the earliest time; at once when the
        mark is already through the level, else where it crosses it on its way to ``mb``."""
        m_now = _v(self.positions[symbol].mark_price)

        def reach(level: F, down: bool) -> Optional[Tuple[F, F]]:
            if (down and level >= m_now) or (not down and level <= m_now):
                return t_now, m_now
            if (down and mb < m_now and level >= mb) or (not down and mb > m_now and level <= mb):
                return (level - ma) / (mb - ma), level
            return None

        cands: List[Tuple[F, int, int, F, Any]] = []  # (time, class, seq, mark then, event)
        for o in self._book(symbol):
            if o.working_type == "mark" and not o.rests_as_limit and o.kind in TRIGGER_KINDS:
                r = reach(_v(o.trigger), not triggers_rising(o.kind, o.side))
                if r is not None:
                    cands.append((r[0], 0, o.seq, r[1], o))
        if self._legs(symbol) and self.cfg.liquidation:
            for lp, down in zip(self.liquidation_levels(symbol), (True, False)):
                r = None if lp is None else reach(lp, down)
                if r is not None:
                    cands.append((r[0], 3, 0, r[1], "liquidation_down" if down else "liquidation_up"))
        if not cands:
            return None
        t, _, _, m, ev = min(cands, key=lambda c: (c[0], c[1], c[2]))
        return t, m, ev

    def _paired(self, symbol: str, a: F, b: F, ma: F, mb: F) -> None:
        """The trade price from ``a`` to ``b`` and the mark from ``ma`` to ``mb`` on one clock
        t in [0, 1]; orders by the trade price, the liquidation by the mark, in the order of t
        (ties: the order first)."""
        self.cur[symbol] = a
        self.positions[symbol].mark_price = ma
        t_now = F(0)
        while not self.blown:
            trade = None
            if b != a:
                down = b < a
                cands = [c for c in self._candidates(symbol, down) if (c[0] >= b if down else c[0] <= b)]
                if cands:
                    lvl, _, _, ev = (max if down else min)(
                        cands, key=lambda c: (c[0], -c[1], -c[2]) if down else (c[0], c[1], c[2])
                    )
                    now = _v(self.cur[symbol])
                    at = min(lvl, now) if down else max(lvl, now)
                    trade = ((at - a) / (b - a), at, ev)
            mark = self._mark_event(symbol, t_now, ma, mb)
            if trade is not None and (mark is None or trade[0] <= mark[0]):
                t, at, ev = trade
                t_now = max(t, t_now)
                self.positions[symbol].mark_price = ma if mb == ma else ma + t_now * (mb - ma)
                self._process(symbol, ev, at)
            elif mark is not None:
                t_now = max(mark[0], t_now)
                if b != a:
                    self.cur[symbol] = a + t_now * (b - a)
                self.positions[symbol].mark_price = mark[1]
                if mark[2] in ("liquidation_down", "liquidation_up"):
                    at = mark[1] if self.mark_gap_fill is None else self.mark_gap_fill
                    self._liquidate(symbol, at, mark[2] == "liquidation_down")
                else:  # a trigger on the mark fills at the trade price of that moment
                    self._process(symbol, mark[2], _v(self.cur[symbol]))
            else:
                return

    def _marked_bar(self, symbol: str, o: F, h: F, lo: F, c: F, mark: Tuple[F, F, F, F]) -> None:
        mo, mh, ml, mc = mark
        prev = self.cur[symbol]
        pm = self.positions[symbol].mark_price
        pm = mo if pm is None else pm
        self.gap_fill = o
        self.mark_gap_fill = mo
        self._paired(symbol, prev if prev is not None else o, o, pm, mo)
        self._walk(symbol, o, o, True)
        self._walk(symbol, o, o, False)
        self._paired(symbol, o, o, mo, mo)
        self.gap_fill = None
        self.mark_gap_fill = None
        self._trail_update(symbol, o)
        high_first = self._high_first(o, h, lo, self._net(symbol))
        trade, marks = ([h, lo, c], [mh, ml, mc]) if high_first else ([lo, h, c], [ml, mh, mc])
        m_at = mo
        for p, mp in zip(trade, marks):
            self._paired(symbol, _v(self.cur[symbol]), p, m_at, mp)
            self.cur[symbol] = p
            m_at = mp
            self.positions[symbol].mark_price = mp
            self._trail_update(symbol, p)

    def bar(
        self, symbol: str, o: Any, h: Any, lo: Any, c: Any, volume: Any = None, mark: Optional[Tuple] = None
    ) -> None:
        """Runs one bar of ``symbol`` along its path (the engine's ``bar``); ``mark``: the mark's
        own (open, high, low, close), walked beside the trade path (module doc of the engine's
        engine/mark_path.rs)."""
        if self.expired[symbol]:
            return
        o, h, lo, c = (exact(x) for x in (o, h, lo, c))
        self.in_path = True
        mp = self.cfg.max_participation
        vol = None if volume is None or (isinstance(volume, float) and math.isnan(volume)) else exact(volume)
        self.vol_left[symbol] = mp * vol if (mp > 0 and vol is not None) else None
        prev = self.cur[symbol]
        self.range[symbol] = (min(lo, prev), max(h, prev)) if prev is not None else (lo, h)
        self.bar_ref[symbol] = prev if prev is not None else o
        if mark is not None and not any(isinstance(x, float) and math.isnan(x) for x in mark):
            self.own_mark = True
            self._marked_bar(symbol, o, h, lo, c, tuple(exact(x) for x in mark))  # type: ignore[arg-type]
            self.own_mark = False
            self.in_path = False
            return
        self.gap_fill = o
        if prev is not None and o < prev:
            self._walk(symbol, prev, o, True)
        elif prev is not None and o > prev:
            self._walk(symbol, prev, o, False)
        self._walk(symbol, o, o, True)
        self._walk(symbol, o, o, False)
        self.gap_fill = None
        self.cur[symbol] = o
        self.positions[symbol].mark_price = o
        self._trail_update(symbol, o)
        for p in self._points(o, h, lo, c, self._net(symbol)):
            cur = _v(self.cur[symbol])
            if p < cur:
                self._walk(symbol, cur, p, True)
            elif p > cur:
                self._walk(symbol, cur, p, False)
            self.cur[symbol] = p
            self.positions[symbol].mark_price = p
            self._trail_update(symbol, p)
        self.in_path = False

    def end_step(self) -> None:
        if self.hooks is not None and not self.blown:
            self.hooks.on_close(self)
        if self.hooks is not None and hasattr(self.hooks, "after_close"):
            self.hooks.after_close(self)  # every step, blown or not (the engine's after_close)
        self._record_row(self.now)
