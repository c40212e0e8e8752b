"""The plain-Python twin of the futures grid, written from docs/strategies.md (grid), driving the
exact reference: levels, start around the empty level, counter-orders, long/short opening at
market, trigger, stops, trailing, matched profit."""

from __future__ import annotations

import math
from fractions import Fraction as F

from perpsim.reference.exchange import Exchange as RefExchange
from perpsim.reference.ledger import _round_to, exact

GRID_BIT = 1 << 30
CLOSE_BIT = 1 << 31


def floor_step(q: F, step: F) -> F:
    return math.floor(q / step + F(1, 10**9)) * step if step else q


class GridTwin:
    """docs/strategies.md, grid: levels, start around the empty level, counter-orders, long/short opening at
    market, trigger, stops on the bar's range, trailing up/down along the path, matched profit.
    Levels are numbered from the original lower level (0); trailing moves the live window."""

    def __init__(
        self,
        ex: RefExchange,
        symbol: str,
        lower,
        upper,
        n,
        mode="neutral",
        spacing="arithmetic",
        qty=None,
        quote_per_grid=None,
        trigger=None,
        stop_upper=None,
        stop_lower=None,
        close_on_stop=True,
        trailing_up=False,
        trailing_down=False,
        trailing_up_limit=None,
        trailing_down_limit=None,
    ):
        self.sym, self.n, self.mode = symbol, n, mode
        self.sp = ex.specs[symbol]
        self.lower, self.upper, self.spacing = float(lower), float(upper), spacing
        self.base_qty = None if qty is None else exact(qty)
        self.quote = None if quote_per_grid is None else exact(quote_per_grid)
        self.trigger = None if trigger is None else exact(trigger)
        self.stop_upper = None if stop_upper is None else exact(stop_upper)
        self.stop_lower = None if stop_lower is None else exact(stop_lower)
        self.close_on_stop = close_on_stop
        self.trailing_up, self.trailing_down = trailing_up, trailing_down
        self.trail_up, self.trail_down = trailing_up, trailing_down
        self.up_limit = None if trailing_up_limit is None else exact(trailing_up_limit)
        self.down_limit = None if trailing_down_limit is None else exact(trailing_down_limit)
        self.lo = 0
        self.state = "waiting"
        self.lots: dict = {}
        self.matched = F(0)

    def level(self, k):
        lo, up, n = self.lower, self.upper, self.n
        p = lo * (up / lo) ** (k / n) if self.spacing == "geometric" else lo + k * (up - lo) / n
        return _round_to(exact(p), self.sp.tick)

    def qty_at(self, k):
        if self.base_qty is not None:
            return floor_step(self.base_qty, self.sp.step)
        at = self.trigger if self.trigger is not None else self.level(k)
        per_unit = self.sp.cs if self.sp.inverse else self.sp.cs * at
        return floor_step(self.quote / per_unit, self.sp.step)

    @property
    def hi(self):
        return self.lo + self.n

    def place(self, ex, k, side, qty, close):
        tag = GRID_BIT | (CLOSE_BIT if close else 0) | ((k + (1 << 19)) & ((1 << 20) - 1))
        try:
            ex.place(self.sym, side, "limit", float(qty), price=float(self.level(k)), tag=tag, reason="grid")
        except Exception:  # rejected orders are logged; the grid goes on
            pass

    def start(self, ex, p0):
        self.state = "running"
        lo, hi = self.lo, self.hi
        k = min(range(lo, hi + 1), key=lambda i: (abs(self.level(i) - p0), i))
        if self.mode == "long":
            lots = [(j - 1, self.qty_at(j)) for j in range(k + 1, hi + 1)]
            open_qty = sum((q for _, q in lots), F(0))
        elif self.mode == "short":
            lots = [(j + 1, self.qty_at(j)) for j in range(lo, k)]
            open_qty = -sum((q for _, q in lots), F(0))
        else:
            lots, open_qty = [], F(0)
        open_qty = _round_to(open_qty, self.sp.step)
        if open_qty != 0:
            before = len(ex.fill_rows)
            try:
                ex.place(self.sym, "buy" if open_qty > 0 else "sell", "market", float(abs(open_qty)), reason="grid")
            except Exception:
                self.state = "stopped"
                return
            f = ex.fill_rows[before]
            side = 1 if open_qty > 0 else -1
            for lvl, q in lots:
                self.lots.setdefault(lvl, []).append([side, f["price"], q, f["fee"] * q / f["qty"]])
        for j in range(lo, hi + 1):
            if j < k:
                self.place(ex, j, "buy", self.qty_at(j), self.mode == "short")
            elif j > k:
                self.place(ex, j, "sell", self.qty_at(j), self.mode == "long")

    def on_fill(self, ex, row, order):
        if row["symbol"] != self.sym:
            return
        if row["reason"] in ("liquidation", "settlement"):
            self.lots = {}
            if self.state == "running":
                self.state = "stopped"
            return
        if self.state != "running" or row["reason"] != "grid" or not order.tag & GRID_BIT:
            return
        k = (order.tag & ((1 << 20) - 1)) - (1 << 19)
        side = 1 if row["side"] == "buy" else -1
        lo, hi = self.lo, self.hi
        if not order.tag & CLOSE_BIT:
            self.lots.setdefault(k, []).append([side, row["price"], row["qty"], row["fee"]])
            if side > 0 and k < hi:
                self.place(ex, k + 1, "sell", row["qty"], True)
            elif side < 0 and k > lo:
                self.place(ex, k - 1, "buy", row["qty"], True)
        else:
            origin = k - 1 if side < 0 else k + 1
            left = row["qty"]
            lots = self.lots.get(origin, [])
            while left > 0 and lots:
                lot = lots[0]
                m = min(left, lot[2])
                lot_fee = lot[3] * m / lot[2]
                self.matched += self.sp.pnl(lot[0] * m, lot[1], row["price"]) - lot_fee - row["fee"] * m / row["qty"]
                lot[2] -= m
                lot[3] -= lot_fee
                left -= m
                if lot[2] == 0:
                    lots.pop(0)
            if side < 0 and k - 1 >= lo:
                self.place(ex, k - 1, "buy", self.qty_at(k - 1), False)
            elif side > 0 and k + 1 <= hi:
                self.place(ex, k + 1, "sell", self.qty_at(k + 1), False)

    def watch(self, ex, symbol):
        if symbol != self.sym or self.state != "running":
            return (None, None)
        return (
            self.level(self.lo - 1) if self.trail_down else None,
            self.level(self.hi + 1) if self.trail_up else None,
        )

    def step_price(self, p, up):
        lo, upr, n = self.lower, self.upper, self.n
        if self.spacing == "geometric":
            r = (upr / lo) ** (1 / n)
            return exact(float(p) * r if up else float(p) / r)
        d = (upr - lo) / n
        return exact(float(p) + d if up else float(p) - d)

    def extreme_order(self, ex, side):
        mine = [
            o for o in ex.orders if o.symbol == self.sym and o.status == "open" and o.tag & GRID_BIT and o.side == side
        ]
        if not mine:
            return None
        pick = min if side == "buy" else max
        return pick(mine, key=lambda o: (o.price, o.id)).id  # ties as Rust's min_by / max_by

    def on_price(self, ex, symbol, price):
        if symbol != self.sym or self.state != "running":
            return
        down, up = self.watch(ex, symbol)
        if up is not None and price >= up:
            if self.up_limit is not None and self.level(self.hi + 1) > self.up_limit:
                self.trail_up = False
                return
            oid = self.extreme_order(ex, "buy")
            if oid is not None:
                ex.cancel(oid)
            old_top = self.hi
            self.lo += 1
            self.place(ex, old_top, "buy", self.qty_at(old_top), False)
            if not self.trailing_down and self.stop_lower is not None:
                self.stop_lower = self.step_price(self.stop_lower, True)
        elif down is not None and price <= down:
            if self.down_limit is not None and self.level(self.lo - 1) < self.down_limit:
                self.trail_down = False
                return
            oid = self.extreme_order(ex, "sell")
            if oid is not None:
                ex.cancel(oid)
            old_bottom = self.lo
            self.lo -= 1
            self.place(ex, old_bottom, "sell", self.qty_at(old_bottom), False)
            if not self.trailing_up and self.stop_upper is not None:
                self.stop_upper = self.step_price(self.stop_upper, False)

    def on_close(self, ex):
        price = ex.cur[self.sym]
        if price is None:
            return
        lo, hi = ex.range[self.sym]
        if self.state == "waiting":
            if self.trigger is None or (lo is not None and lo <= self.trigger <= hi):
                self.start(ex, price)
        elif self.state == "running":
            stop = None
            if self.stop_lower is not None and lo <= self.stop_lower:
                stop = self.stop_lower
            elif self.stop_upper is not None and hi >= self.stop_upper:
                stop = self.stop_upper
            if stop is not None:
                self.state = "stopped"
                for o in ex.orders:
                    if o.symbol == self.sym and o.status == "open" and o.tag & GRID_BIT:
                        ex.cancel(o.id)
                q = ex.positions[self.sym].qty
                if self.close_on_stop and q != 0:
                    ex._fill_at(
                        self.sym, float(stop), abs(q), "sell" if q > 0 else "buy", exact_qty=True, reason="grid"
                    )
                    self.lots = {}
