"""The reference matching engine: orders filled along each bar's intrabar path, in exact Python.
The orders, the step frame and the event loop are here; the walk along the path and its rules are
in :mod:`perpsim.reference.path`."""

from __future__ import annotations

import math
from fractions import Fraction as F
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import pandas as pd

from .. import _core
from ..contracts import Contract
from ..errors import InvalidInputError, OrderRejectedError
from .api import OrderApi
from .fees import RefFeeTiers
from .ledger import _num, _round_to, exact
from .loop import replay
from .orders import FILL_REASON, STALE, TRIGGER_KINDS, RefOrder, _Config, _v, closes, triggers_rising
from .path import PathWalk
from .rebates import count as count_rebate
from .risk import deleverage, liquidate

__all__ = ["Exchange", "RefOrder"]


class Exchange(OrderApi, PathWalk):
    """Exact reference of :class:`perpsim.Exchange` with its matching engine."""

    def __init__(
        self,
        contracts: Union[str, Contract, Iterable[Union[str, Contract]]],
        initial_balance: float = 10_000.0,
        leverage: Optional[float] = None,
        maker_fee: Optional[float] = None,
        taker_fee: Optional[float] = None,
        margin_mode: str = "cross",
        fee_tiers: Any = None,
        position_mode: str = "one_way",
        **options: Any,
    ) -> None:
        super().__init__(contracts, initial_balance, leverage, maker_fee, taker_fee, margin_mode, position_mode)
        if fee_tiers is not None:
            self.fee_tiers = RefFeeTiers(fee_tiers)
        o = _core.exchange_options(**options)  # the engine's option list, defaults and checks
        self.cfg = _Config(
            o["path"],
            exact(o["slippage"]),
            o["touch_fills"],
            o["same_bar"],
            exact(o["max_participation"]),
            exact(o["liquidation_fee"]),
            o["liquidation_close"],
            o["allow_negative_balance"],
            o["liquidation"] and not o["what_if"],  # the what-if ledger liquidates nothing
            exact(o["adl_move"]),
        )
        self.margin_checks = not o["what_if"]
        self.orders: List[RefOrder] = []
        self.fill_rows: List[dict] = []
        self.funding_rows: List[dict] = []
        self.rebate_rows: List[dict] = []
        self.rebate_books: Dict[str, Any] = {}  # per symbol: the current run's schedule (reference/rebates.py)
        self.now = -(2**63)
        self.in_path = False
        self.cur: Dict[str, Optional[F]] = dict.fromkeys(self.specs)
        self.gap_fill: Optional[F] = None
        self.vol_left: Dict[str, Optional[F]] = dict.fromkeys(self.specs)  # None: no cap
        self.expired: Dict[str, bool] = dict.fromkeys(self.specs, False)
        # per symbol: no bar at the current step of a run (not tradable; marked at its last price)
        self.stale: Dict[str, bool] = dict.fromkeys(self.specs, False)
        self.blown = False
        self.liquidated_at: Optional[int] = None
        self.seq = 0
        self.hooks: Any = None  # a strategy: on_fill(ex, fill_row, order), on_close(ex)
        self.range: Dict[str, Tuple[Optional[F], Optional[F]]] = dict.fromkeys(self.specs, (None, None))
        self.bar_ref: Dict[str, Optional[F]] = dict.fromkeys(self.specs)  # where each bar started (ADL)

    # -- orders ----------------------------------------------------------------------------
    def _new_order(self, symbol: str, side: str, kind: str, qty: F, **kw: Any) -> RefOrder:
        self.seq += 1
        o = RefOrder(
            len(self.orders) + 1, symbol, side, kind, qty, placed=self.now, updated=self.now, seq=self.seq, **kw
        )
        if o.close_position:
            o.reduce_only = True
        self.orders.append(o)
        return o

    def _end(self, o: RefOrder, status: str, reason: str) -> None:
        o.status, o.reason, o.updated = status, reason, self.now
        o.in_book = o.pending = False

    def _reject(self, o: RefOrder, field_: str, reason: str) -> OrderRejectedError:
        self._end(o, "rejected", reason)
        return OrderRejectedError(f"{field_}: {reason}", field_)

    def _book(self, symbol: str) -> List[RefOrder]:
        return [o for o in self.orders if o.symbol == symbol and o.in_book]

    def open_orders(self, symbol: Optional[str] = None) -> List[int]:
        """Ids of the open orders (of one symbol, or all)."""
        if symbol is not None:
            self._spec(symbol)
        return [o.id for o in self.orders if o.status == "open" and (symbol is None or o.symbol == symbol)]

    def _order_margin(self, symbol: str, extra: Optional[Tuple[str, F, F]] = None) -> F:
        sp = self.specs[symbol]
        bq = bn = sq = sn = F(0)
        items = [
            (o.side, o.qty - o.filled, o.price if (o.rests_as_limit or o.kind == "stop_limit") else o.trigger)
            for o in self.orders
            if o.symbol == symbol and (o.in_book or o.pending) and not o.reduce_only and o.kind != "trailing_stop"
        ]
        if extra is not None:
            items.append(extra)
        for side, q, p in items:
            n = sp.notional(q, _v(p))
            if side == "buy":
                bq, bn = bq + q, bn + n
            else:
                sq, sn = sq + q, sn + n
        if self.hedge:  # every counted order opens a side (closing ones are reduce-only)
            return (bn + sn) / self.positions[symbol].leverage
        pos = self.positions[symbol].qty

        def excess(q: F, n: F, against: F) -> F:
            return F(0) if q <= 0 else n * (max(q - against, F(0)) / q)

        b = excess(bq, bn, max(-pos, F(0)))
        s = excess(sq, sn, max(pos, F(0)))
        return max(b, s) / self.positions[symbol].leverage

    def place(
        self,
        symbol: str,
        side: str,
        kind: str,
        qty: Any = None,
        *,
        price: Any = None,
        trigger: Any = None,
        callback: Any = None,
        activation: Any = None,
        reduce_only: bool = False,
        post_only: bool = False,
        close_position: bool = False,
        tag: int = 0,
        reason: Optional[str] = None,
        working_type: str = "last",
        position_side: str = "both",
    ) -> int:
        """Places an order (the engine's ``place``); returns its id or raises OrderRejectedError.
        ``tag`` stays on the order; its fills are recorded with ``reason`` (default: the kind's).
        ``working_type``: which price fires a trigger order, ``"last"`` or ``"mark"``.
        ``position_side``: in hedge mode ``"long"`` or ``"short"``; a sell on the long side or a buy
        on the short side only closes (reduce-only by itself)."""
        sp = self._spec(symbol)
        if side not in ("buy", "sell"):
            raise InvalidInputError("side: must be 'buy' or 'sell'", "side")
        if working_type not in ("last", "mark"):
            raise InvalidInputError("working_type: must be 'last' or 'mark'", "working_type")
        if close_position:
            q = F(0)
        else:
            q = _round_to(_num("qty", qty, positive=True), sp.step)
        p = t = cb = act = None
        if kind in ("limit", "stop_limit"):
            p = _round_to(_num("price", price, positive=True), sp.tick)
        if kind in TRIGGER_KINDS:
            t = _round_to(_num("trigger", trigger, positive=True), sp.tick)
        if kind == "trailing_stop":
            cb = _num("callback", callback)
            if not (0 < cb < 1):
                raise InvalidInputError("callback: must be a rate in (0, 1)", "callback")
            if activation is not None and not (isinstance(activation, float) and math.isnan(activation)):
                act = _round_to(_num("activation", activation, positive=True), sp.tick)
        if working_type == "mark" and kind not in TRIGGER_KINDS:
            raise InvalidInputError("working_type: only trigger orders fire on the mark", "working_type")
        self._side(symbol, position_side)
        if position_side != "both":
            closing = closes(position_side, side)
            if (reduce_only or close_position) and not closing:
                f = "reduce_only" if reduce_only else "close_position"
                raise InvalidInputError(f"{f}: in hedge mode only the closing side is reduce-only", f)
            reduce_only = closing
        o = self._new_order(
            symbol,
            side,
            kind,
            q,
            price=p,
            trigger=t,
            callback=cb,
            activation=act,
            reduce_only=reduce_only,
            post_only=post_only,
            close_position=close_position,
            tag=tag,
            fill_reason=reason,
            working_type=working_type,
            position_side=position_side,
        )
        cur = self.cur[symbol]
        if self.blown:
            raise self._reject(o, "order", "account liquidated")
        if self.expired[symbol]:
            raise self._reject(o, "order", "contract expired")
        if self.stale[symbol]:
            raise self._reject(o, "symbol", STALE)
        refp = p if kind in ("limit", "stop_limit") else (t if kind in TRIGGER_KINDS else cur)
        if not close_position:
            if q <= 0 or q < sp.min_qty:
                raise self._reject(o, "qty", "quantity under the minimum quantity")
            if refp is not None and (q * sp.cs if sp.inverse else q * sp.cs * refp) < sp.min_notional:
                raise self._reject(o, "qty", "notional under the minimum notional")
        pos = self._side(symbol, position_side).qty
        if o.reduce_only and (pos == 0 or (pos > 0) == (side == "buy")):
            raise self._reject(o, "reduce_only", "reduce-only: no position to reduce")
        if self._hedge_excess(o, pos):
            raise self._reject(o, "qty", f"closes at most the {position_side} position of {abs(pos)}")
        if kind == "market" and cur is None:
            raise self._reject(o, "order", "no price yet for a market order")
        # a trigger on the mark is judged against the mark
        against = cur
        if working_type == "mark" and self.positions[symbol].mark_price is not None:
            against = self.positions[symbol].mark_price
        if kind in TRIGGER_KINDS and against is not None:
            fired = against >= _v(t) if triggers_rising(kind, side) else against <= _v(t)
            if fired:
                raise self._reject(o, "trigger", "would trigger immediately")
        marketable = kind == "limit" and cur is not None and (_v(p) >= cur if side == "buy" else _v(p) <= cur)
        if post_only and marketable:
            raise self._reject(o, "post_only", "post-only order would take liquidity")
        if not o.reduce_only and kind not in ("market", "trailing_stop") and not marketable and self.margin_checks:
            need = sum(self._im(s) for s in self.specs)
            for s in self.specs:
                need += self._order_margin(s, (side, q, _v(refp)) if s == symbol else None)
            if need > self.account.equity:
                raise self._reject(o, "qty", "insufficient margin")
        if kind == "market":
            self._execute(o, _v(cur) * (1 + o.sign * self.cfg.slippage), "taker", raise_=True)
            return o.id
        if marketable:
            self._execute(o, _v(cur), "taker", raise_=True)
            return o.id
        if kind == "trailing_stop" and cur is not None:
            self._trail_touch(o, cur)
        if self.in_path and not self.cfg.same_bar:
            o.pending = True
        else:
            o.in_book = True
        return o.id

    # -- fills -----------------------------------------------------------------------------
    def _execute(self, o: RefOrder, price: F, liquidity: str, raise_: bool = False) -> bool:
        sp = self.specs[o.symbol]
        q: Optional[F] = None if o.close_position else o.qty - o.filled
        if o.reduce_only:
            pos = self._side(o.symbol, o.position_side).qty
            if pos == 0 or (pos > 0) == (o.side == "buy"):
                self._end(o, "cancelled", "reduce-only: no position to reduce")
                return False
            q = abs(pos) if q is None else min(q, abs(pos))
        q = _v(q)
        cap = self.vol_left[o.symbol]
        if liquidity == "maker" and cap is not None:
            c = math.floor(cap / sp.step + F(1, 10**9)) * sp.step if sp.step else cap
            if c <= 0:
                self.vol_left[o.symbol] = F(0)  # less than one step left: the bar's budget is spent
                return False
            q = min(q, c)
        try:
            f = self.fill(o.symbol, o.sign * q, price, liquidity, o.position_side)
        except OrderRejectedError as e:
            self._end(o, "rejected", str(e).split(": ", 1)[-1])
            if raise_:
                raise
            return False
        if liquidity == "maker" and cap is not None:
            self.vol_left[o.symbol] = cap - q
        o.avg_price = (o.avg_price * o.filled + price * q) / (o.filled + q)
        o.filled += q
        o.updated = self.now
        if o.close_position or o.reduce_only or o.filled >= o.qty:
            o.status = "filled"
            o.in_book = o.pending = False
        self._record_fill(o, q, price, f, liquidity)
        return True

    def _record_fill(self, o: RefOrder, q: F, price: F, f: dict, liquidity: str, extra_fee: F = F(0)) -> None:
        self.fill_rows.append(
            dict(
                timestamp=self.now,
                symbol=o.symbol,
                order_id=o.id,
                side=o.side,
                qty=q,
                price=price,
                fee=f["fee"] + extra_fee,
                liquidity=liquidity,
                realized_pnl=f["realized_pnl"],
                position=f["position"],
                reason=o.fill_reason or FILL_REASON[o.kind],
            )
        )
        b = self.rebate_books.get(o.symbol)
        if b is not None:
            sp = self.specs[o.symbol]
            count_rebate(b, self.now, q * sp.cs if sp.inverse else q * sp.cs * price)
        if self.hooks is not None:
            self.hooks.on_fill(self, self.fill_rows[-1], o)

    def _force_fill(self, o: RefOrder, dq: F, price: F, extra_rate: F, liquidity: str = "taker") -> None:
        f = self.fill(o.symbol, dq, price, liquidity, o.position_side)
        extra = extra_rate * self.specs[o.symbol].notional(dq, price)
        if extra:
            p = self._side(o.symbol, o.position_side)
            p.fees += extra
            self.fees += extra
            self.wallet -= extra
        o.filled, o.avg_price, o.status, o.updated = abs(dq), price, "filled", self.now
        self._record_fill(o, abs(dq), price, f, "taker", extra)

    def buy(self, symbol: str, price: Any, qty: Any, *, position_side: str = "both") -> dict:
        """Market buy at ``price`` (taker, no slippage), logged as a market order."""
        return self._fill_at(symbol, price, qty, "buy", position_side=position_side)

    def sell(self, symbol: str, price: Any, qty: Any, *, position_side: str = "both") -> dict:
        """Market sell at ``price`` (taker, no slippage), logged as a market order."""
        return self._fill_at(symbol, price, qty, "sell", position_side=position_side)

    def close(self, symbol: str, price: Any, *, position_side: str = "both") -> Optional[dict]:
        self._spec(symbol)
        _num("price", price, positive=True)
        pos = self._side(symbol, position_side).qty
        if pos == 0:
            return None
        side = "sell" if pos > 0 else "buy"
        return self._fill_at(symbol, price, abs(pos), side, exact_qty=True, position_side=position_side)

    def _hedge_excess(self, o: RefOrder, pos: F) -> bool:
        """Hedge mode: a market order closing more than its side holds (refused; a resting closing
        order is capped at the side when it fills instead)."""
        return (
            closes(o.position_side, o.side)
            and o.kind == "market"
            and not o.close_position
            and o.qty > abs(pos) * (1 + F(1, 10**9))
        )

    def _fill_at(
        self,
        symbol: str,
        price: Any,
        qty: Any,
        side: str,
        exact_qty: bool = False,
        reason: Optional[str] = None,
        position_side: str = "both",
    ) -> dict:
        sp = self._spec(symbol)
        pr = _num("price", price, positive=True)
        qn = qty if exact_qty else _num("qty", qty, positive=True)
        self._side(symbol, position_side)
        q = qn if exact_qty else _round_to(qn, sp.step)
        o = self._new_order(
            symbol,
            side,
            "market",
            q,
            fill_reason=reason,
            position_side=position_side,
            reduce_only=closes(position_side, side),
        )
        if self.blown:
            raise self._reject(o, "order", "account liquidated")
        if self.expired[symbol]:
            raise self._reject(o, "order", "contract expired")
        if self.stale[symbol]:
            raise self._reject(o, "symbol", STALE)
        if not exact_qty:
            try:
                self._check_order(sp, qty, price)
            except OrderRejectedError as e:
                raise self._reject(o, e.field or "qty", str(e).split(": ", 1)[-1]) from None
        if self._hedge_excess(o, self._side(symbol, position_side).qty):
            raise self._reject(o, "qty", f"closes at most the {position_side} position")
        n = len(self.fill_rows)
        self._execute(o, pr, "taker", raise_=True)
        row = self.fill_rows[n]
        return dict(
            symbol=symbol,
            order_id=o.id,
            qty=o.sign * row["qty"],
            price=row["price"],
            fee=row["fee"],
            realized_pnl=row["realized_pnl"],
            position=row["position"],
            entry_price=self._side(symbol, position_side).entry_price,
            liquidity="taker",
        )

    # -- events ----------------------------------------------------------------------------
    def begin_step(self, ts: int) -> None:
        if self.fee_tiers is not None:
            self.fee_tiers.roll(ts)
        self.now = ts
        for o in [o for o in self.orders if o.pending]:
            o.pending = False
            if o.status != "open":
                continue
            cur = self.cur[o.symbol]
            if (
                o.kind == "limit"
                and not self.stale[o.symbol]
                and cur is not None
                and (_v(o.price) >= cur if o.side == "buy" else _v(o.price) <= cur)
            ):
                self._execute(o, cur, "taker")
            else:
                o.in_book = True

    def apply_funding(self, symbol: str, rate: Any, mark_price: Any) -> F:
        """Funding (recorded when a position is open); returns the amount received."""
        legs = self._legs(symbol) if symbol in self.positions else []
        pos = sum((p.qty for p in legs), F(0))
        paid = super().apply_funding(symbol, rate, mark_price)
        if legs:
            ts = self.last_ts if self.last_ts is not None else 0
            self.funding_rows.append(
                dict(
                    timestamp=ts,
                    symbol=symbol,
                    rate=exact(rate),
                    mark_price=exact(mark_price),
                    position=pos,
                    payment=paid,
                )
            )
        return paid

    def settle(self, symbol: str, price: Any) -> None:
        """Delivery settlement: closes at ``price`` (taker), expires the symbol's orders."""
        self._spec(symbol)
        pr = _num("price", price, positive=True)
        for o in self.orders:
            if o.symbol == symbol and (o.in_book or o.pending):
                self._end(o, "expired", "contract expired")
        self.expired[symbol] = True
        self.cur[symbol] = pr
        self.positions[symbol].mark_price = pr
        for side, p in self._open_sides(symbol):
            pos = p.qty
            o = self._new_order(symbol, "sell" if pos > 0 else "buy", "settlement", abs(pos), position_side=side)
            self._force_fill(o, -pos, pr, F(0))

    def _open_sides(self, symbol: str) -> list:
        """(side, position) of each open position of ``symbol`` (one-way: its position)."""
        sides = ["long", "short"] if self.hedge else ["both"]
        return [(s, self._side(symbol, s)) for s in sides if self._side(symbol, s).qty != 0]

    def _liquidate(self, symbol: str, price: F, down: bool) -> None:
        liquidate(self, symbol, price, down)

    def _deleverage(self, symbol: str, price: F, down: bool) -> None:
        deleverage(self, symbol, price, down)

    def _cover(self, amount: F) -> None:
        self.wallet += amount
        self.insurance = getattr(self, "insurance", F(0)) + amount

    def _blow_up(self) -> None:
        self.blown = True
        for o in self.orders:
            if o.in_book or o.pending:
                self._end(o, "cancelled", "account liquidated")

    def _ts(self, timestamp: Any) -> int:
        ts = timestamp if isinstance(timestamp, int) else pd.Timestamp(timestamp).value
        if self.last_ts is not None and ts < self.last_ts:
            raise InvalidInputError("timestamp: earlier than the previous step", "timestamp")
        return ts

    def update(self, timestamp: Any, prices: Union[Mapping[str, float], float]) -> None:
        """A step of one-point paths at ``prices`` (NaN or missing: no price this step)."""
        ts = self._ts(timestamp)
        if not isinstance(prices, Mapping):
            if len(self.specs) != 1:
                raise InvalidInputError("prices: pass a mapping symbol -> price", "prices")
            prices = {next(iter(self.specs)): prices}
        new: Dict[str, F] = {}
        for s, v in prices.items():
            self._spec(s)
            v = float(v)
            if math.isnan(v):
                continue
            if not (math.isfinite(v) and v > 0):
                raise InvalidInputError(f"prices: bad price for {s}", "prices")
            new[s] = exact(v)
        self.last_ts = ts
        self.begin_step(ts)
        for s in self.specs:
            if s in new:
                self.bar(s, new[s], new[s], new[s], new[s])
        self.end_step()

    def step(self, timestamp: Any, bars: Mapping[str, Any]) -> None:
        """One step with a bar ``(open, high, low, close[, volume])`` per symbol."""
        ts = self._ts(timestamp)
        for s in bars:
            self._spec(s)
        self.last_ts = ts
        self.begin_step(ts)
        for s in self.specs:
            if s in bars:
                self.bar(s, *bars[s])
        self.end_step()

    def run(
        self,
        data: Mapping[str, pd.DataFrame],
        funding: Optional[Mapping[str, pd.Series]] = None,
        settlement: Optional[Mapping[str, float]] = None,
        clock: Optional[Sequence[int]] = None,
        rebates: Optional[Any] = None,
    ) -> None:
        """Replays bar DataFrames (the engine's event loop: funding → rebates → settlement → path →
        close); ``clock``: extra step times (ns), as the engine's ``run_clocked``. A symbol without
        a bar at a step is stale for it (orders on it are rejected), as in the engine."""
        replay(self, data, funding, settlement, clock, rebates)

    # -- records ---------------------------------------------------------------------------
    def fills(self) -> pd.DataFrame:
        """The fills (amounts as floats)."""
        return pd.DataFrame([{k: (float(v) if isinstance(v, F) else v) for k, v in r.items()} for r in self.fill_rows])

    def rebates(self) -> pd.DataFrame:
        """The rebates credited (amounts as floats)."""
        return pd.DataFrame(
            [{k: (float(v) if isinstance(v, F) else v) for k, v in r.items()} for r in self.rebate_rows]
        )

    def orders_log(self) -> List[RefOrder]:
        """The orders, as placed and as they ended."""
        return list(self.orders)
