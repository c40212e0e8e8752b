"""Plain-Python twins of the built-in strategies, written from docs/strategies.md, driving the exact
reference exchange (perpsim.reference.Exchange) through its hooks. The tests
demand that the engine's Rust strategies produce the same fills."""

from __future__ import annotations

import math
from fractions import Fraction as F

from grid_twin import GridTwin, floor_step  # noqa: F401  (the grid's twin has its own module)
from perpsim.reference.exchange import Exchange as RefExchange
from perpsim.reference.ledger import _round_to, exact


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
        # The pair's prices are the strategy's decision, made in double precision
        # (docs/strategies.md), as the grid's levels are: a bar that reaches the price to its last
        # digit touches it. The exchange then accounts for the orders exactly.
        tf, qf, cs, a = float(t), float(q), float(sp.cs), float(self.adjust)
        for k, b in enumerate([1.0 + a, 1.0 - a]):
            p = _round_to(exact(tf * b / (qf * cs)), sp.tick)
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
            if drift <= self.adjust * (1 + F(1, 10**9)):
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


# a premium within this of a threshold counts as at it (the engine's rule for float noise)
TIE = F(1, 10**10)


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
                if early and self.close_th is not None and v is not None and v <= self.close_th + TIE:
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
                if v is not None and v >= self.open_th - TIE:
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
