//! The order lifecycle: a request is checked and rounded, judged (filters, reduce-only, triggers,
//! post-only, margin), then filled at once, rested or pended; cancel and amend.

use super::{Engine, Strategy};
use crate::error::{positive, LedgerError};
use crate::ledger::{Liquidity, PositionSide};
use crate::matching::{OrderKind, OrderRequest, Side, Status, WorkingType};
use crate::names::Named;
use crate::record::FillReason;
use crate::warnings::WarningKind;

/// Why an order on a symbol without a bar at this step is refused.
const STALE: &str = "no bar for this symbol at this step (its last price is stale)";

/// A value after rounding to the contract's increment: a huge one overflows to infinity there.
fn rounded(field: &str, v: f64) -> Result<f64, LedgerError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(LedgerError::invalid(
            field,
            "too large for the contract's increment (rounds to infinity)",
        ))
    }
}

impl Engine {
    /// Logs a new order from `r`; returns its arena index.
    pub(super) fn new_order(&mut self, r: &OrderRequest) -> u32 {
        self.book.open(r, self.now)
    }

    /// Ends order `idx` with `status` (it is out of any book or pending list).
    pub(super) fn end_order(&mut self, idx: u32, status: Status, reason: &str) {
        self.book.end(idx, status, reason, self.now);
    }

    /// Rests order `idx` in its symbol's book.
    #[inline]
    pub(super) fn rest(&mut self, idx: u32) {
        let i = self.book.get(idx).symbol;
        self.book.rest(idx, &self.account.instruments()[i]);
    }

    /// Ends order `idx` as rejected for `reason` (counted in the run's warnings).
    pub(super) fn reject(&mut self, idx: u32, field: &str, reason: String) -> LedgerError {
        self.end_order(idx, Status::Rejected, &reason);
        let symbol = self.book.get(idx).symbol;
        self.warnings
            .count(WarningKind::Rejected, Some(symbol), &reason, self.now);
        LedgerError::rejected(field, reason)
    }

    /// Validates and rounds a request (bad numbers are `InvalidInput`, nothing is logged).
    fn normalize(&self, r: &OrderRequest) -> Result<OrderRequest, LedgerError> {
        let mut r = *r;
        self.normalize_in(&mut r)?;
        Ok(r)
    }

    /// [`Engine::normalize`] in place: the request is rounded where it is (a request built on
    /// the stack field by field and copied whole was read back before its stores had landed,
    /// a stall of each copy on the fill path).
    fn normalize_in(&self, r: &mut OrderRequest) -> Result<(), LedgerError> {
        if r.symbol >= self.account.len() {
            return Err(LedgerError::invalid(
                "symbol",
                format!("no symbol #{}", r.symbol),
            ));
        }
        let inst = &self.account.instruments()[r.symbol];
        if !r.close_position {
            positive("qty", r.qty)?;
            r.qty = rounded("qty", inst.round_qty(r.qty))?;
        } else {
            r.qty = 0.0;
        }
        match r.kind {
            OrderKind::Limit => {
                r.price = rounded("price", inst.round_price(positive("price", r.price)?))?
            }
            OrderKind::StopLimit => {
                r.price = rounded("price", inst.round_price(positive("price", r.price)?))?;
                r.trigger = rounded("trigger", inst.round_price(positive("trigger", r.trigger)?))?;
            }
            OrderKind::StopMarket | OrderKind::TakeProfit | OrderKind::StopLoss => {
                r.trigger = rounded("trigger", inst.round_price(positive("trigger", r.trigger)?))?;
            }
            OrderKind::TrailingStop => {
                if !(r.callback.is_finite() && r.callback > 0.0 && r.callback < 1.0) {
                    return Err(LedgerError::invalid(
                        "callback",
                        format!("must be a rate in (0, 1), got {}", r.callback),
                    ));
                }
                if !r.activation.is_nan() {
                    r.activation = rounded(
                        "activation",
                        inst.round_price(positive("activation", r.activation)?),
                    )?;
                }
            }
            OrderKind::Market => {}
            OrderKind::Liquidation | OrderKind::Settlement | OrderKind::Deleverage => {
                return Err(LedgerError::invalid("kind", "reserved for the engine"));
            }
        }
        self.account.check_side(r.position_side)?;
        if r.position_side != PositionSide::Both {
            // Hedge mode: a sell on the long side or a buy on the short side only closes.
            let closes = r.position_side.closes(r.side.sign());
            if (r.reduce_only || r.close_position) && !closes {
                return Err(LedgerError::invalid(
                    if r.reduce_only {
                        "reduce_only"
                    } else {
                        "close_position"
                    },
                    "in hedge mode only a sell on the long side or a buy on the short side \
                     closes (and is reduce-only by itself)",
                ));
            }
            r.reduce_only = closes;
        }
        if r.working_type == WorkingType::Mark && !r.kind.has_trigger() {
            return Err(LedgerError::invalid(
                "working_type",
                "only stop, stop-limit, take-profit and stop-loss orders trigger on the mark",
            ));
        }
        Ok(())
    }

    /// The price an order's filters and margin are judged at.
    fn reference_price(&self, r: &OrderRequest) -> f64 {
        match r.kind {
            OrderKind::Limit | OrderKind::StopLimit => r.price,
            OrderKind::StopMarket | OrderKind::TakeProfit | OrderKind::StopLoss => r.trigger,
            _ => self.cur[r.symbol],
        }
    }

    /// Whether the account can margin its positions, its open orders and `r` at `price`.
    fn placement_margin_ok(&self, r: &OrderRequest, price: f64) -> bool {
        #[cfg(debug_assertions)]
        self.book.check_sums();
        let acc = &self.account;
        let mut need = acc.initial_margin();
        let hedge = acc.is_hedge();
        for (i, inst) in acc.instruments().iter().enumerate() {
            let extra = (i == r.symbol).then_some((r.side, r.qty, price));
            need += self
                .book
                .margin(i, inst, acc.position(i).qty, acc.leverage(i), extra, hedge);
        }
        need <= acc.equity()
    }

    /// Hedge mode: why a market order closing more than its side holds (`pos`) is refused (a
    /// resting closing order is capped at the side when it fills instead).
    fn hedge_excess(&self, r: &OrderRequest, pos: f64) -> Option<String> {
        let closes = r.position_side.closes(r.side.sign());
        (closes
            && r.kind == OrderKind::Market
            && !r.close_position
            && r.qty > pos.abs() * (1.0 + 1e-9))
            .then(|| {
                format!(
                    "closes at most the {} position of {}",
                    r.position_side.name(),
                    pos.abs()
                )
            })
    }

    /// Places an order. Market orders fill at once at the current price ± slippage; a limit that
    /// is marketable fills at once at the current price (taker; post-only ones are rejected);
    /// other orders rest. Returns the order id. A refused order is logged with its reason and
    /// returned as a `Rejected` error; the account is unchanged.
    pub fn place<S: Strategy>(
        &mut self,
        req: &OrderRequest,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        let mut r = *req;
        self.normalize_in(&mut r)?;
        self.judge(&r, req.qty, strat)
    }

    /// [`Engine::place`] of a one-way limit order that is normal already: its price on the tick
    /// and its quantity on the step, as a built-in strategy's precomputed levels and filled
    /// quantities are (what [`Engine::normalize`] would give back unchanged; debug builds check
    /// that it does). Everything else is judged as for any order. Other requests go through
    /// `place`.
    pub(crate) fn place_normal<S: Strategy>(
        &mut self,
        r: &OrderRequest,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        let plain = r.kind == OrderKind::Limit
            && r.position_side == PositionSide::Both
            && r.working_type == WorkingType::Last
            && !self.account.is_hedge()
            && r.symbol < self.account.len();
        let finite = r.qty.is_finite() && r.qty > 0.0 && r.price.is_finite() && r.price > 0.0;
        if !(plain && finite) {
            return self.place(r, strat);
        }
        debug_assert!(
            self.normalize(r)
                .is_ok_and(|n| n.qty.to_bits() == r.qty.to_bits() && n.price == r.price),
            "not a normal order: {r:?}"
        );
        self.judge(r, r.qty, strat)
    }

    /// The judging of a normal request `r` (asked for `asked` before rounding) and what follows:
    /// [`Engine::place`] after the request's checks and rounding. The request is read where its
    /// caller built it (by reference, not copied whole), and the function is kept out of line: one
    /// body per strategy type, whatever its callers (inlined into some of them, it moved the grid's
    /// fill bench by 5-9 % either way from one build to the next).
    #[inline(never)]
    fn judge<S: Strategy>(
        &mut self,
        r: &OrderRequest,
        asked: f64,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        let i = r.symbol;
        let idx = self.new_order(r);
        let id = idx as u64 + 1;
        let cur = self.cur[i];
        if self.blown {
            return Err(self.reject(idx, "order", "account liquidated".into()));
        }
        if self.expired[i] {
            return Err(self.reject(idx, "order", "contract expired".into()));
        }
        if self.stale[i] {
            return Err(self.reject(idx, "symbol", STALE.into()));
        }
        let inst = &self.account.instruments()[i];
        let refp = self.reference_price(r);
        if !r.close_position {
            if r.qty <= 0.0 || r.qty < inst.min_qty {
                let m = format!(
                    "quantity {} is under the minimum quantity {}",
                    asked, inst.min_qty
                );
                return Err(self.reject(idx, "qty", m));
            }
            if refp.is_finite() && inst.order_value_usd(r.qty, refp) < inst.min_notional {
                let m = format!(
                    "notional {} is under the minimum notional {}",
                    inst.order_value_usd(r.qty, refp),
                    inst.min_notional
                );
                return Err(self.reject(idx, "qty", m));
            }
        }
        let pos = self.account.leg(i, r.position_side).qty;
        if (r.reduce_only || r.close_position)
            && (pos == 0.0 || (pos > 0.0) == (r.side == Side::Buy))
        {
            return Err(self.reject(
                idx,
                "reduce_only",
                "reduce-only: no position to reduce".into(),
            ));
        }
        if let Some(m) = self.hedge_excess(r, pos) {
            return Err(self.reject(idx, "qty", m));
        }
        if r.kind == OrderKind::Market && !cur.is_finite() {
            return Err(self.reject(idx, "order", "no price yet for a market order".into()));
        }
        // A trigger on the mark is judged against the mark, others against the last price.
        let against = match r.working_type {
            WorkingType::Mark => self.account.mark_price(i).unwrap_or(cur),
            WorkingType::Last => cur,
        };
        if r.kind.has_trigger() && against.is_finite() {
            let t = r.trigger;
            let fired = if r.kind.triggers_rising(r.side) {
                against >= t
            } else {
                against <= t
            };
            if fired {
                return Err(self.reject(idx, "trigger", "would trigger immediately".into()));
            }
        }
        let marketable = r.kind == OrderKind::Limit && marketable(r.side, r.price, cur);
        if r.post_only && marketable {
            return Err(self.reject(
                idx,
                "post_only",
                "post-only order would take liquidity".into(),
            ));
        }
        if !r.reduce_only
            && !matches!(r.kind, OrderKind::Market | OrderKind::TrailingStop)
            && !marketable
            && !self.config.what_if
            && !self.placement_margin_ok(r, refp)
        {
            return Err(self.reject(idx, "qty", "insufficient margin".into()));
        }
        match r.kind {
            OrderKind::Market => {
                let p = cur * (1.0 + r.side.sign() * self.config.slippage);
                return self.execute(idx, p, Liquidity::Taker, strat).map(|_| id);
            }
            _ if marketable => return self.execute(idx, cur, Liquidity::Taker, strat).map(|_| id),
            OrderKind::TrailingStop if cur.is_finite() => self.trail_touch(idx, cur),
            _ => {}
        }
        if self.in_path && !self.config.same_bar {
            self.book.pend(idx, &self.account.instruments()[i]);
        } else {
            self.rest(idx);
        }
        Ok(id)
    }

    /// A market order at an explicit price (no slippage): the step-driven API's `buy`/`sell`, and
    /// with `filters == false` its `close` (closing a position is exempt from the minimum quantity
    /// and notional, as on the exchanges).
    pub fn fill_at<S: Strategy>(
        &mut self,
        symbol: usize,
        qty: f64,
        price: f64,
        filters: bool,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        self.fill_at_as(symbol, qty, price, filters, None, strat)
    }

    /// [`Engine::fill_at`] with the reason its fill is recorded with (a strategy's stop, say).
    pub fn fill_at_as<S: Strategy>(
        &mut self,
        symbol: usize,
        qty: f64,
        price: f64,
        filters: bool,
        reason: Option<FillReason>,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        self.fill_at_side(
            symbol,
            PositionSide::Both,
            qty,
            price,
            filters,
            reason,
            strat,
        )
    }

    /// [`Engine::fill_at_as`] on the position of `side` (hedge mode: `Long` or `Short`).
    #[allow(clippy::too_many_arguments)]
    pub fn fill_at_side<S: Strategy>(
        &mut self,
        symbol: usize,
        side: PositionSide,
        qty: f64,
        price: f64,
        filters: bool,
        reason: Option<FillReason>,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        positive("price", price)?;
        if !(qty.is_finite() && qty != 0.0) {
            return Err(LedgerError::invalid(
                "qty",
                format!("must be a finite number > 0, got {}", qty.abs()),
            ));
        }
        let mut r = OrderRequest::new(symbol, Side::of(qty), OrderKind::Market, qty.abs());
        r.reason = reason;
        r.position_side = side;
        if filters {
            r = self.normalize(&r)?;
        } else {
            if symbol >= self.account.len() {
                return Err(LedgerError::invalid(
                    "symbol",
                    format!("no symbol #{symbol}"),
                ));
            }
            self.account.check_side(side)?;
            r.reduce_only = side.closes(r.side.sign());
        }
        let idx = self.new_order(&r);
        if self.blown {
            return Err(self.reject(idx, "order", "account liquidated".into()));
        }
        if self.expired[symbol] {
            return Err(self.reject(idx, "order", "contract expired".into()));
        }
        if self.stale[symbol] {
            return Err(self.reject(idx, "symbol", STALE.into()));
        }
        if filters {
            if let Err(e) = self.account.check_order(symbol, qty.abs(), price) {
                return Err(self.reject(idx, &e.field, e.message));
            }
        }
        if let Some(m) = self.hedge_excess(&r, self.account.leg(symbol, side).qty) {
            return Err(self.reject(idx, "qty", m));
        }
        self.execute(idx, price, Liquidity::Taker, strat)
            .map(|_| idx as u64 + 1)
    }

    /// Trades signed `qty` of symbol `i` at the current price ± slippage (a strategy's market
    /// order, its fill recorded with `reason`).
    pub fn market<S: Strategy>(
        &mut self,
        i: usize,
        qty: f64,
        reason: FillReason,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        self.market_side(i, PositionSide::Both, qty, reason, strat)
    }

    /// [`Engine::market`] on the position of `side` (hedge mode: `Long` or `Short`).
    pub fn market_side<S: Strategy>(
        &mut self,
        i: usize,
        side: PositionSide,
        qty: f64,
        reason: FillReason,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        let mut r =
            OrderRequest::new(i, Side::of(qty), OrderKind::Market, qty.abs()).tagged(0, reason);
        r.position_side = side;
        // Rounded and judged where it was built (no copy of the request: see `normalize_in`).
        let asked = r.qty;
        self.normalize_in(&mut r)?;
        self.judge(&r, asked, strat)
    }

    /// A take-profit or stop-loss (`kind`) on symbol `i`'s position at `trigger`: the closing side,
    /// reduce-only, for `qty` or (None) the whole position at fill time. Refused without a position.
    pub fn protect<S: Strategy>(
        &mut self,
        i: usize,
        kind: OrderKind,
        trigger: f64,
        qty: Option<f64>,
        working_type: WorkingType,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        let b = PositionSide::Both;
        self.protect_side(i, b, kind, trigger, qty, working_type, strat)
    }

    /// [`Engine::protect`] of the position on `position_side` (hedge mode: `Long` or `Short`).
    #[allow(clippy::too_many_arguments)]
    pub fn protect_side<S: Strategy>(
        &mut self,
        i: usize,
        position_side: PositionSide,
        kind: OrderKind,
        trigger: f64,
        qty: Option<f64>,
        working_type: WorkingType,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        let field = if kind == OrderKind::TakeProfit {
            "take_profit"
        } else {
            "stop_loss"
        };
        positive("trigger", trigger)?;
        if i >= self.account.len() {
            return Err(LedgerError::invalid("symbol", format!("no symbol #{i}")));
        }
        self.account.check_side(position_side)?;
        let q = self.account.leg(i, position_side).qty;
        if q == 0.0 {
            return Err(LedgerError::rejected(field, "no position to protect"));
        }
        let side = if q > 0.0 { Side::Sell } else { Side::Buy };
        let mut r = OrderRequest::new(i, side, kind, qty.unwrap_or(0.0));
        r.position_side = position_side;
        r.trigger = trigger;
        r.reduce_only = true;
        r.close_position = qty.is_none();
        r.working_type = working_type;
        self.place(&r, strat)
    }

    /// Cancels an open order.
    pub fn cancel(&mut self, id: u64) -> Result<(), LedgerError> {
        let idx = self.open_index(id)?;
        self.book.unrest(idx);
        self.book.unpend(idx);
        self.end_order(idx, Status::Cancelled, "cancelled");
        Ok(())
    }

    fn open_index(&self, id: u64) -> Result<u32, LedgerError> {
        match self.order(id) {
            Some(o) if o.status == Status::Open => Ok((id - 1) as u32),
            Some(o) => Err(LedgerError::invalid(
                "order_id",
                format!("order {id} is {}", o.status.name()),
            )),
            None => Err(LedgerError::invalid("order_id", format!("no order {id}"))),
        }
    }

    /// Changes an open order's price (limit price, or trigger for stop kinds) and/or quantity. The
    /// amended order is checked like a new one and loses its time priority; if it is refused the
    /// original stays as it was.
    pub fn amend<S: Strategy>(
        &mut self,
        id: u64,
        price: Option<f64>,
        qty: Option<f64>,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        let idx = self.open_index(id)?;
        let o = *self.book.get(idx);
        let mut r = OrderRequest {
            symbol: o.symbol,
            side: o.side,
            kind: if o.triggered {
                OrderKind::Limit
            } else {
                o.kind
            },
            qty: o.qty - o.filled,
            price: o.price,
            trigger: o.trigger,
            callback: o.callback,
            activation: o.activation,
            reduce_only: o.reduce_only,
            post_only: o.post_only,
            close_position: o.close_position,
            tag: o.tag,
            reason: Some(o.fill_reason),
            // A triggered stop-limit is a plain limit now.
            working_type: if o.triggered {
                WorkingType::Last
            } else {
                o.working_type
            },
            position_side: o.position_side,
        };
        if let Some(p) = price {
            if matches!(r.kind, OrderKind::Limit | OrderKind::StopLimit) {
                r.price = p;
            } else {
                r.trigger = p;
            }
        }
        if let Some(q) = qty {
            r.qty = q;
        }
        let r = self.normalize(&r)?;
        // Take the old order out, try the new one; put the old back if refused.
        self.book.unrest(idx);
        let was_pending = self.book.unpend(idx);
        match self.place(&r, strat) {
            Ok(new_id) => {
                let reason = format!("amended: replaced by order {new_id}");
                self.end_order(idx, Status::Cancelled, &reason);
                Ok(new_id)
            }
            Err(e) => {
                // The refused replacement stays in the log as rejected; the original goes back.
                if was_pending {
                    self.book.pend(idx, &self.account.instruments()[o.symbol]);
                } else {
                    self.rest(idx);
                }
                Err(e)
            }
        }
    }
}

/// Whether a limit at `price` on `side` would trade at once against `cur`.
#[inline]
pub(super) fn marketable(side: Side, price: f64, cur: f64) -> bool {
    cur.is_finite()
        && match side {
            Side::Buy => price >= cur,
            Side::Sell => price <= cur,
        }
}
