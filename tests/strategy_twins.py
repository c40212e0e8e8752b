"""Plain-Python twins of the built-in strategies, written from docs/strategies.md, grid and docs/strategies.md,
driving the exact reference exchange (perpsim.reference.Exchange) through its hooks. The tests
demand that the engine's Rust strategies produce the same fills."""

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


class RebalanceTwin:
    """docs/strategies.md, balance strategy: trade at the close back to the target when the value
    drifted more than adjust_ratio; with limit_orders, a resting pair at the threshold prices,
    re-placed after each fill."""

    PAIR_TAG = 0x52454241

    def __init__(self, targets: dict, kind: str, adjust_ratio: float, limit_orders: bool = False):
        self.targets = {s: exact(v) for s, v in targets.items()}
        self.kind = kind
        self.adjust = exact(adjust_ratio)
        self.limit_orders = limit_orders
        self.pair = dict.fromkeys(self.targets, (0, 0))

    def target(self, ex, s, price):
        a = ex.account
        sp = ex.specs[s]
        equity_quote = a.equity * price if sp.inverse else a.equity
        return self.targets[s] if self.kind == "value" else self.targets[s] * equity_quote

    def pair_live(self, ex, s):
        return any(i and ex.orders[i - 1].status == "open" for i in self.pair[s])

    def cancel_pair(self, ex, s):
        for i in self.pair[s]:
            if i and ex.orders[i - 1].status == "open":
                ex.cancel(i)
        self.pair[s] = (0, 0)

    def place_pair(self, ex, s):
        sp = ex.specs[s]
        price = ex.cur[s]
        q = ex.positions[s].qty
        t = self.target(ex, s, price)
        if sp.inverse or q == 0 or t == 0 or (q > 0) != (t > 0):
            return
        ids = [0, 0]
        for k, b in enumerate([1 + self.adjust, 1 - self.adjust]):
            p = _round_to(t * b / (q * sp.cs), sp.tick)
            if p <= 0:
                continue
            dq = _round_to((t - q * sp.cs * p) / (sp.cs * p), sp.step)
            if dq == 0:
                continue
            try:
                ids[k] = ex.place(
                    s,
                    "buy" if dq > 0 else "sell",
                    "limit",
                    float(abs(dq)),
                    price=float(p),
                    tag=self.PAIR_TAG,
                    reason="rebalance",
                )
            except Exception:
                pass
        self.pair[s] = (ids[0], ids[1])

    def on_fill(self, ex, row, order):
        if not self.limit_orders or row["reason"] != "rebalance" or row["symbol"] not in self.pair:
            return
        if order.id in self.pair[row["symbol"]]:
            self.cancel_pair(ex, row["symbol"])
            self.place_pair(ex, row["symbol"])

    def on_close(self, ex):
        for s in self.targets:
            price = ex.cur[s]
            if price is None or ex.expired[s]:
                continue
            sp = ex.specs[s]
            target = self.target(ex, s, price)
            q = ex.positions[s].qty
            value = q * sp.cs if sp.inverse else q * sp.cs * price
            limit_mode = self.limit_orders and not sp.inverse
            if limit_mode and self.pair_live(ex, s):
                continue
            if target != 0:
                drift = abs(value - target) / abs(target)
            else:
                drift = F(10**30) if value != 0 else F(0)
            if drift <= self.adjust:
                if limit_mode:
                    self.place_pair(ex, s)
                continue
            per_unit = sp.cs if sp.inverse else sp.cs * price
            dq = _round_to((target - value) / per_unit, sp.step)
            if abs(dq) * per_unit > F(1, 10**9) * max(abs(target), abs(value)):
                try:
                    ex.place(s, "buy" if dq > 0 else "sell", "market", float(abs(dq)), reason="rebalance")
                except Exception:
                    pass
            if limit_mode:
                self.cancel_pair(ex, s)
                self.place_pair(ex, s)


class TargetsTwin:
    """docs/strategies.md, target positions: trade to the step's target at the close."""

    def __init__(self, targets: dict, unit: str):
        self.targets = targets  # symbol -> list of floats (NaN: keep)
        self.unit = unit
        self.k = 0

    def on_fill(self, ex, row, order):
        pass

    def on_close(self, ex):
        k = self.k
        self.k += 1
        for s, col in self.targets.items():
            if k >= len(col):
                continue
            t = col[k]
            price = ex.cur[s]
            if t is None or (isinstance(t, float) and math.isnan(t)) or price is None or ex.expired[s]:
                continue
            sp = ex.specs[s]
            t = exact(t)
            per_unit = sp.cs if sp.inverse else sp.cs * price
            a = ex.account
            equity_quote = a.equity * price if sp.inverse else a.equity
            want = t if self.unit == "qty" else (t / per_unit if self.unit == "value" else t * equity_quote / per_unit)
            have = ex.positions[s].qty
            dq = _round_to(want - have, sp.step)
            if abs(dq) > F(1, 10**9) * max(abs(want), abs(have)):
                try:
                    ex.place(s, "buy" if dq > 0 else "sell", "market", float(abs(dq)), reason="strategy")
                except Exception:
                    pass


def run_twin(contract, bars, make_hooks, funding=None, **kw):
    """The reference exchange over `bars` (one symbol) with the strategy `make_hooks(ex)`."""
    ex = RefExchange(contract, **kw)
    ex.hooks = make_hooks(ex)
    ex.run({next(iter(ex.specs)): bars}, funding=funding)
    return ex


def round1(x: F) -> F:
    """round(x, 1) with halves away from zero (as Rust's f64::round)."""
    s = 1 if x >= 0 else -1
    return s * F(math.floor(abs(x) * 10 + F(1, 2)), 10)


def past(a: F, b: F) -> bool:
    """a > b by more than a relative 1e-9 (the engine's rule at the stop and re-entry levels)."""
    return a > b + F(1, 10**9) * max(abs(b), F(1, 10**12))


class IndexDeviationTwin:
    """docs/strategies.md, index deviation: n = price/base, index = mean n, d = n − index, target value
    −trade_value·round(d/step, 1), traded when off by more than min_trade_value; stop and re-entry."""

    def __init__(self, symbols, trade_value, step=0.01, min_trade_value=20.0, window=0, stop=None, reentry=None):
        self.symbols = list(symbols)
        self.tv, self.step, self.min_tv = exact(trade_value), exact(step), exact(min_trade_value)
        self.window = window
        self.stop = None if stop is None else exact(stop)
        self.reentry = self.stop if reentry is None else exact(reentry)
        self.base = {}
        self.hist = {s: [] for s in self.symbols}
        self.stopped = dict.fromkeys(self.symbols, False)

    def on_fill(self, ex, row, order):
        pass

    def on_close(self, ex):
        norm = {}
        for s in self.symbols:
            p = ex.cur[s]
            if p is None:
                continue
            if self.window == 0:
                self.base.setdefault(s, p)
                base = self.base[s]
            else:
                h = self.hist[s]
                if len(h) == self.window:
                    h.pop(0)
                h.append(p)
                base = sum(h, F(0)) / len(h)
            norm[s] = p / base
        if not norm:
            return
        index = sum(norm.values(), F(0)) / len(norm)
        for s in self.symbols:
            if s not in norm or ex.expired[s]:
                continue
            d = norm[s] - index
            sp = ex.specs[s]
            price = ex.cur[s]
            q = ex.positions[s].qty
            if self.stopped[s]:
                if self.reentry is not None and past(self.reentry, abs(d)):
                    self.stopped[s] = False
                else:
                    continue
            per_unit = sp.cs if sp.inverse else sp.cs * price
            against = self.stop is not None and ((q < 0 and past(d, self.stop)) or (q > 0 and past(-d, self.stop)))
            if against:
                self.stopped[s] = True
                try:
                    ex.place(s, "buy" if q < 0 else "sell", "market", float(abs(q)), reason="strategy")
                except Exception:
                    pass
                continue
            target = -self.tv * round1(d / self.step)
            value = q * per_unit
            gap = abs(target - value)
            if gap > self.min_tv + F(1, 10**9) * max(abs(target), abs(value), self.min_tv):
                dq = _round_to((target - value) / per_unit, sp.step)
                if dq != 0:
                    try:
                        ex.place(s, "buy" if dq > 0 else "sell", "market", float(abs(dq)), reason="strategy")
                    except Exception:
                        pass


DAY_NS = 86_400 * 10**9


class BasisTwin:
    """docs/strategies.md, futures-spot basis: buy the coin on spot and short the same coin amount of
    the future with the best premium when it reaches the open threshold; close both legs at the close
    threshold, or let a delivery contract settle (then sell the coin). Spot wallet beside the
    futures account; money moves by transfers (linear: the capital sits in the futures account;
    inverse: in the spot wallet as quote, the coin bought is deposited as collateral)."""

    def __init__(
        self,
        spot,
        spot_fee,
        open_threshold,
        close_threshold=None,
        annualized=False,
        hold_to_expiry=False,
        size=("fraction", 0.9),
        initial_cash=0.0,
    ):
        self.spot = list(spot)
        self.fee = exact(spot_fee)
        self.open_th = exact(open_threshold)
        self.close_th = None if close_threshold is None else exact(close_threshold)
        self.annualized = annualized
        self.hold = hold_to_expiry
        self.size_kind, self.size = size[0], exact(size[1])
        self.cash = exact(initial_cash)
        self.coin = F(0)
        self.k = 0
        self.last = None
        self.open = None  # (symbol, coin, qty)
        self.trades = []  # (ts, side, qty, price, fee)
        self.values = []

    def on_fill(self, ex, row, order):
        pass

    def metrics(self, ex, sym, s):
        f = ex.cur[sym]
        if f is None or ex.expired[sym]:
            return None
        p = (f - s) / s
        exp = ex.specs[sym].contract.expiry
        a = p * 365 * DAY_NS / (exp.value - ex.now) if exp is not None and exp.value > ex.now else None
        return p, a

    def metric(self, m):
        return m[1] if self.annualized else m[0]

    def best(self, ex, s):
        dated = all(sp.contract.expiry is not None for sp in ex.specs.values())
        best = None
        for sym in ex.specs:
            m = self.metrics(ex, sym, s)
            if m is None:
                continue
            key = m[1] if dated else m[0]
            if key is None:
                continue
            if best is None or key > (best[1][1] if dated else best[1][0]):
                best = (sym, m)
        return best

    def spot_trade(self, ex, side, qty, price):
        value = qty * price
        fee = value * self.fee
        if side > 0:
            self.cash -= value + fee
            self.coin += qty
        else:
            self.cash += value - fee
            self.coin -= qty
        self.trades.append((ex.now, side, qty, price, fee))

    def try_open(self, ex, sym, s):
        sp = ex.specs[sym]
        f = ex.cur[sym]
        inverse = sp.inverse
        lev = ex.positions[sym].leverage
        if self.size_kind == "coin":
            coin = self.size
        elif self.size_kind == "quote":
            coin = self.size / s
        elif inverse:
            coin = self.size * self.cash / (s * (1 + self.fee))
        else:
            a = ex.account
            free = min(a.available_balance, ex.wallet)
            coin = self.size * free / (s * (1 + self.fee) + f / lev + f * max(sp.taker, F(0)))
        qty = floor_step(coin * f / sp.cs if inverse else coin / sp.cs, sp.step)
        if not (qty > 0 and coin > 0):
            return
        if not inverse:
            coin = qty * sp.cs
        cost = coin * s * (1 + self.fee)
        moved = coin if inverse else -cost
        if inverse and cost > self.cash:
            return
        try:
            ex.transfer(moved)
        except Exception:
            return
        try:
            ex.place(sym, "sell", "market", float(qty), reason="strategy")
        except Exception:
            ex.wallet -= moved
            ex.transfers -= moved
            return
        self.spot_trade(ex, 1, coin, s)
        if inverse:
            self.coin -= coin
        else:
            self.cash += cost
        self.open = (sym, coin, qty)

    def unwind(self, ex, s):
        sym, coin, _ = self.open
        self.open = None
        if ex.specs[sym].inverse:
            a = ex.account
            w = min(ex.wallet, a.available_balance)
            if w > 0:
                ex.transfer(-w)
                self.coin += w
                self.spot_trade(ex, -1, w, s)
        else:
            self.spot_trade(ex, -1, coin, s)
            if self.cash > 0:
                ex.transfer(self.cash)
                self.cash = F(0)

    def record(self, ex, s):
        a = ex.account
        inverse = next(iter(ex.specs.values())).inverse
        fut = a.equity * s if inverse and a.equity != 0 else (F(0) if inverse else a.equity)
        spot = self.coin * s if self.coin != 0 else F(0)
        self.values.append(self.cash + spot + fut)

    def spot_now(self):
        x = self.spot[self.k] if self.k < len(self.spot) else math.nan
        if math.isfinite(x) and x > 0:
            self.last = exact(x)
        return self.last

    def on_close(self, ex):
        s = self.spot_now()
        if s is None:
            return
        if self.open is not None:
            sym = self.open[0]
            if ex.positions[sym].qty == 0:
                self.unwind(ex, s)
            else:
                m = self.metrics(ex, sym, s)
                early = not (self.hold and ex.specs[sym].contract.expiry is not None)
                v = None if m is None else self.metric(m)
                if early and self.close_th is not None and v is not None and v <= self.close_th:
                    q = ex.positions[sym].qty
                    try:
                        ex.place(sym, "buy" if q < 0 else "sell", "market", float(abs(q)), reason="strategy")
                        ok = True
                    except Exception:
                        ok = False
                    if ok:
                        self.unwind(ex, s)
        if self.open is None:
            b = self.best(ex, s)
            if b is not None:
                v = self.metric(b[1])
                if v is not None and v >= self.open_th:
                    self.try_open(ex, b[0], s)

    def after_close(self, ex):
        s = self.spot_now()
        if ex.blown and s is not None and self.open is not None:
            sym, coin, _ = self.open
            self.open = None
            if not ex.specs[sym].inverse:
                self.spot_trade(ex, -1, coin, s)  # sold into the spot wallet
        if s is None:
            self.values.append(None)
        else:
            self.record(ex, s)
        self.k += 1
