//! The matching engine: an account, its resting orders, and the walk along each bar's intrabar
//! path that fills them, in the order the price reaches them (spec/matching.md).
//!
//! Per step: [`Engine::begin_step`] (pending orders go live), funding ([`Engine::funding`]),
//! settlement ([`Engine::settle`]), the path of each symbol's bar ([`Engine::bar`]), then
//! [`Engine::end_step`] (the strategy's close decision, the equity row).

use serde::{Deserialize, Serialize};

use super::book::Book;
use super::order::{Order, OrderKind, OrderRequest, Side, Status};
use crate::error::{positive, LedgerError};
use crate::ledger::{Account, Liquidity, MarginMode};
use crate::market::{Bar, PathModel};
use crate::record::{EquityHistory, FillRow, FundingRow};
use crate::strategy::Strategy;

/// Matching options.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Intrabar path model.
    pub path: PathModel,
    /// Slippage of market, stop, TP/SL and trailing fills, as a fraction of the price.
    pub slippage: f64,
    /// Limit orders fill when the price touches them (else the price must trade one tick through).
    pub touch_fills: bool,
    /// Orders placed during a bar are live at once on the rest of its path (else from the next step).
    pub same_bar: bool,
    /// Cap of limit (maker) fills per bar as a fraction of the bar's volume (0: no cap).
    pub max_participation: f64,
    /// Liquidation fee rate on the liquidated notional, on top of the taker fee.
    pub liquidation_fee: f64,
    /// Let the wallet go below zero after a liquidation (default: the insurance fund covers it).
    pub allow_negative_balance: bool,
    /// Record one equity row per step (default). Off, only the final figures remain (summary
    /// runs such as Monte Carlo paths).
    pub record_equity: bool,
    /// Liquidate at the liquidation price (default). Off: positions are never liquidated, as in
    /// frictionless studies (the principle: liquidation is on unless switched off).
    pub liquidation: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            path: PathModel::NearestFirst,
            slippage: 0.0,
            touch_fills: true,
            same_bar: true,
            max_participation: 0.0,
            liquidation_fee: 0.0,
            allow_negative_balance: false,
            record_equity: true,
            liquidation: true,
        }
    }
}

impl Config {
    /// Checks the numbers; the error names the option.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let ok = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && v >= lo && v < hi {
                Ok(())
            } else {
                Err(LedgerError::invalid(
                    name,
                    format!("must be in [{lo}, {hi}), got {v}"),
                ))
            }
        };
        ok("slippage", self.slippage, 0.0, 0.5)?;
        ok(
            "max_participation",
            self.max_participation,
            0.0,
            1.000_000_1,
        )?;
        ok("liquidation_fee", self.liquidation_fee, 0.0, 0.5)
    }
}

/// What the walk found next on a segment.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Event {
    Trigger(u32),
    Trailing(u32),
    Limit(u32),
    Liquidation,
    Watch,
}

/// The matching engine for one account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Engine {
    account: Account,
    config: Config,
    orders: Vec<Order>,
    books: Vec<Book>,
    pending: Vec<u32>,
    fills: Vec<FillRow>,
    funding_rows: Vec<FundingRow>,
    history: EquityHistory,
    now: i64,
    in_path: bool,
    cur: Vec<f64>,
    gap_fill: f64,
    vol_left: Vec<f64>,
    expired: Vec<bool>,
    liq: Vec<f64>,
    liq_dirty: bool,
    /// Bumped by every change that can move a symbol's thresholds (book, position, wallet).
    epoch: u64,
    /// Per symbol: (low, high) of the last bar (its previous price included).
    range: Vec<(f64, f64)>,
    /// Per symbol: (epoch, down, up) of the last [`Engine::thresholds`] computation.
    thr: Vec<(u64, f64, f64)>,
    blown: bool,
    liquidated_at: Option<i64>,
    seq: u64,
    /// Per order: the (remaining qty, notional) it counts for in the open-order margin, NaN when
    /// it does not count (not resting, reduce-only, trailing).
    om: Vec<[f64; 2]>,
    /// Per symbol: Σ qty and Σ notional of the counted buy and sell orders.
    osum: Vec<[f64; 4]>,
    /// Per symbol: how many buy and sell orders count (the sums reset to exactly 0 at none).
    ocnt: Vec<[u32; 2]>,
}

const NONE: f64 = f64::NAN;

impl Engine {
    /// An engine around `account`.
    pub fn new(account: Account, config: Config) -> Result<Self, LedgerError> {
        config.validate()?;
        let n = account.len();
        Ok(Self {
            account,
            config,
            orders: Vec::new(),
            books: vec![Book::default(); n],
            pending: Vec::new(),
            fills: Vec::new(),
            funding_rows: Vec::new(),
            history: EquityHistory::default(),
            now: i64::MIN,
            in_path: false,
            cur: vec![NONE; n],
            gap_fill: NONE,
            vol_left: vec![f64::INFINITY; n],
            expired: vec![false; n],
            liq: vec![NONE; n],
            liq_dirty: true,
            epoch: 1,
            range: vec![(f64::NAN, f64::NAN); n],
            thr: vec![(0, f64::NAN, f64::NAN); n],
            blown: false,
            liquidated_at: None,
            seq: 0,
            om: Vec::new(),
            osum: vec![[0.0; 4]; n],
            ocnt: vec![[0; 2]; n],
        })
    }

    /// Takes over the large buffers of a finished engine (orders, fills, funding records), emptied,
    /// so that a run of many short simulations (Monte Carlo paths) does not allocate and fault in
    /// fresh memory for each. Nothing else carries over.
    pub fn recycle(&mut self, mut old: Engine) {
        if !self.orders.is_empty() || !self.fills.is_empty() {
            return; // only into a fresh engine
        }
        old.orders.clear();
        old.fills.clear();
        old.funding_rows.clear();
        old.om.clear();
        self.orders = old.orders;
        self.fills = old.fills;
        self.funding_rows = old.funding_rows;
        self.om = old.om;
    }

    // ----- reading ------------------------------------------------------------------------

    /// The account.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Mutable access to the account's settings (leverage, margin mode); fills go through the engine.
    pub fn account_mut(&mut self) -> &mut Account {
        self.touch_liquidation();
        &mut self.account
    }

    /// The options.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every order placed so far (the orders log), in id order (`id = index + 1`).
    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// The order with id `id`.
    pub fn order(&self, id: u64) -> Option<&Order> {
        id.checked_sub(1).and_then(|i| self.orders.get(i as usize))
    }

    /// Every fill so far.
    pub fn fills(&self) -> &[FillRow] {
        &self.fills
    }

    /// Every funding payment so far.
    pub fn funding_rows(&self) -> &[FundingRow] {
        &self.funding_rows
    }

    /// The equity history (one row per step).
    pub fn history(&self) -> &EquityHistory {
        &self.history
    }

    /// Reserves room for `steps` more history rows (so that a run allocates once, not per bar).
    pub fn reserve_steps(&mut self, steps: usize) {
        if self.config.record_equity {
            self.history.reserve(steps);
        }
    }

    /// The current step's timestamp.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The current price of symbol `i` (the path point being processed, else the last mark).
    pub fn price(&self, i: usize) -> f64 {
        self.cur[i]
    }

    /// The range symbol `i`'s price covered in its last bar (with the gap from the price before):
    /// (low, high); NaN before any bar.
    pub fn bar_range(&self, i: usize) -> (f64, f64) {
        self.range[i]
    }

    /// Whether symbol `i`'s contract has expired (settled).
    pub fn is_expired(&self, i: usize) -> bool {
        self.expired[i]
    }

    /// Whether a liquidation has blown the account (it no longer trades).
    pub fn blown(&self) -> bool {
        self.blown
    }

    /// When the account was liquidated (cross) or first had a position liquidated (isolated).
    pub fn liquidated_at(&self) -> Option<i64> {
        self.liquidated_at
    }

    /// Ids of the open orders of symbol `i` (including those waiting to go live).
    pub fn open_orders(&self, i: usize) -> Vec<u64> {
        let mut v: Vec<u64> = self.books[i]
            .all()
            .chain(
                self.pending
                    .iter()
                    .copied()
                    .filter(|&j| self.orders[j as usize].symbol == i),
            )
            .map(|j| self.orders[j as usize].id)
            .collect();
        v.sort_unstable();
        v
    }

    // ----- orders -------------------------------------------------------------------------

    #[inline]
    fn book_insert(&mut self, i: usize, idx: u32) {
        self.epoch += 1;
        self.books[i].insert(&self.orders, idx);
        self.margin_on(idx);
    }

    #[inline]
    fn book_remove(&mut self, i: usize, idx: u32) {
        self.epoch += 1;
        self.books[i].remove(idx);
        self.margin_off(idx);
    }

    /// Puts order `idx` on the pending list (live from the next step).
    #[inline]
    fn pend(&mut self, idx: u32) {
        self.pending.push(idx);
        self.margin_on(idx);
    }

    /// Takes order `idx` off the pending list (no-op if not there).
    #[inline]
    fn unpend(&mut self, idx: u32) {
        if let Some(p) = self.pending.iter().position(|&j| j == idx) {
            self.pending.remove(p);
            self.margin_off(idx);
        }
    }

    /// Counts order `idx` in its symbol's open-order margin sums (resting or pending orders that
    /// are not reduce-only or trailing), at its limit price (stop-limit) or trigger.
    fn margin_on(&mut self, idx: u32) {
        let o = &self.orders[idx as usize];
        if !self.om[idx as usize][0].is_nan()
            || o.reduce_only
            || o.kind == OrderKind::TrailingStop
            || o.status != Status::Open
        {
            return;
        }
        let p = if o.rests_as_limit() || o.kind == OrderKind::StopLimit {
            o.price
        } else {
            o.trigger
        };
        let q = o.qty - o.filled;
        let n = self.account.instruments()[o.symbol].notional(q, p);
        let k = if o.side == Side::Buy { 0 } else { 1 };
        let sums = &mut self.osum[o.symbol];
        sums[2 * k] += q;
        sums[2 * k + 1] += n;
        self.ocnt[o.symbol][k] += 1;
        self.om[idx as usize] = [q, n];
    }

    /// Takes order `idx` out of the open-order margin sums (no-op if it is not counted).
    fn margin_off(&mut self, idx: u32) {
        let [q, n] = self.om[idx as usize];
        if q.is_nan() {
            return;
        }
        let o = &self.orders[idx as usize];
        let k = if o.side == Side::Buy { 0 } else { 1 };
        let c = &mut self.ocnt[o.symbol][k];
        *c -= 1;
        let sums = &mut self.osum[o.symbol];
        if *c == 0 {
            sums[2 * k] = 0.0;
            sums[2 * k + 1] = 0.0;
        } else {
            sums[2 * k] -= q;
            sums[2 * k + 1] -= n;
        }
        self.om[idx as usize] = [f64::NAN; 2];
    }

    #[inline]
    fn touch_liquidation(&mut self) {
        self.liq_dirty = true;
        self.epoch += 1;
    }

    fn new_order(&mut self, r: &OrderRequest) -> u32 {
        self.seq += 1;
        let idx = self.orders.len() as u32;
        self.orders.push(Order {
            id: idx as u64 + 1,
            symbol: r.symbol,
            side: r.side,
            kind: r.kind,
            qty: r.qty,
            filled: 0.0,
            avg_price: 0.0,
            price: r.price,
            trigger: r.trigger,
            callback: r.callback,
            activation: r.activation,
            extreme: NONE,
            reduce_only: r.reduce_only || r.close_position,
            post_only: r.post_only,
            close_position: r.close_position,
            triggered: false,
            status: Status::Open,
            reason: String::new(),
            placed: self.now,
            updated: self.now,
            seq: self.seq,
            tag: r.tag,
            fill_reason: r.reason.unwrap_or(r.kind.fill_reason()),
        });
        self.om.push([f64::NAN; 2]);
        idx
    }

    fn end_order(&mut self, idx: u32, status: Status, reason: &str) {
        self.margin_off(idx);
        let now = self.now;
        let o = &mut self.orders[idx as usize];
        o.status = status;
        o.reason = reason.to_string();
        o.updated = now;
    }

    fn reject(&mut self, idx: u32, field: &str, reason: String) -> LedgerError {
        self.end_order(idx, Status::Rejected, &reason);
        LedgerError::rejected(field, reason)
    }

    /// Validates and rounds a request (bad numbers are `InvalidInput`, nothing is logged).
    fn normalize(&self, r: &OrderRequest) -> Result<OrderRequest, LedgerError> {
        if r.symbol >= self.account.len() {
            return Err(LedgerError::invalid(
                "symbol",
                format!("no symbol #{}", r.symbol),
            ));
        }
        let inst = &self.account.instruments()[r.symbol];
        let mut r = *r;
        if !r.close_position {
            positive("qty", r.qty)?;
            r.qty = inst.round_qty(r.qty);
        } else {
            r.qty = 0.0;
        }
        match r.kind {
            OrderKind::Limit => r.price = inst.round_price(positive("price", r.price)?),
            OrderKind::StopLimit => {
                r.price = inst.round_price(positive("price", r.price)?);
                r.trigger = inst.round_price(positive("trigger", r.trigger)?);
            }
            OrderKind::StopMarket | OrderKind::TakeProfit | OrderKind::StopLoss => {
                r.trigger = inst.round_price(positive("trigger", r.trigger)?);
            }
            OrderKind::TrailingStop => {
                if !(r.callback.is_finite() && r.callback > 0.0 && r.callback < 1.0) {
                    return Err(LedgerError::invalid(
                        "callback",
                        format!("must be a rate in (0, 1), got {}", r.callback),
                    ));
                }
                if !r.activation.is_nan() {
                    r.activation = inst.round_price(positive("activation", r.activation)?);
                }
            }
            OrderKind::Market => {}
            OrderKind::Liquidation | OrderKind::Settlement => {
                return Err(LedgerError::invalid("kind", "reserved for the engine"));
            }
        }
        Ok(r)
    }

    /// The price an order's filters and margin are judged at.
    fn reference_price(&self, r: &OrderRequest) -> f64 {
        match r.kind {
            OrderKind::Limit | OrderKind::StopLimit => r.price,
            OrderKind::StopMarket | OrderKind::TakeProfit | OrderKind::StopLoss => r.trigger,
            _ => self.cur[r.symbol],
        }
    }

    /// Margin needed by the open orders of symbol `i` (plus an extra order): per side, the notional
    /// of what would open exposure beyond the opposite position, the larger side, over leverage.
    fn order_margin(&self, i: usize, extra: Option<(Side, f64, f64)>) -> f64 {
        let [mut bq, mut bn, mut sq, mut sn] = self.osum[i];
        if let Some((side, qty, price)) = extra {
            let n = self.account.instruments()[i].notional(qty, price);
            match side {
                Side::Buy => {
                    bq += qty;
                    bn += n;
                }
                Side::Sell => {
                    sq += qty;
                    sn += n;
                }
            }
        }
        let pos = self.account.position(i).qty;
        let excess = |q: f64, n: f64, against: f64| {
            if q <= 0.0 {
                0.0
            } else {
                n * ((q - against).max(0.0) / q)
            }
        };
        let b = excess(bq, bn, (-pos).max(0.0));
        let s = excess(sq, sn, pos.max(0.0));
        b.max(s) / self.account.leverage(i)
    }

    /// The open-order sums of symbol `i` recomputed from the book (debug check of the running
    /// sums).
    #[cfg(debug_assertions)]
    fn scan_sums(&self, i: usize) -> [f64; 4] {
        let inst = &self.account.instruments()[i];
        let mut s = [0.0; 4];
        let pending = self
            .pending
            .iter()
            .copied()
            .filter(|&j| self.orders[j as usize].symbol == i);
        for j in self.books[i].all().chain(pending) {
            let o = &self.orders[j as usize];
            if o.reduce_only || o.kind == OrderKind::TrailingStop {
                continue;
            }
            let p = if o.rests_as_limit() || o.kind == OrderKind::StopLimit {
                o.price
            } else {
                o.trigger
            };
            let k = if o.side == Side::Buy { 0 } else { 2 };
            s[k] += o.qty - o.filled;
            s[k + 1] += inst.notional(o.qty - o.filled, p);
        }
        s
    }

    fn placement_margin_ok(&self, r: &OrderRequest, price: f64) -> bool {
        #[cfg(debug_assertions)]
        for i in 0..self.account.len() {
            let (a, b) = (self.scan_sums(i), self.osum[i]);
            for k in 0..4 {
                debug_assert!(
                    (a[k] - b[k]).abs() <= 1e-9 * a[k].abs().max(1.0),
                    "open-order sums drifted: {a:?} vs {b:?}"
                );
            }
        }
        let mut need = self.account.initial_margin();
        for i in 0..self.account.len() {
            let extra = (i == r.symbol).then_some((r.side, r.qty, price));
            need += self.order_margin(i, extra);
        }
        need <= self.account.equity()
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
        let r = self.normalize(req)?;
        let i = r.symbol;
        let idx = self.new_order(&r);
        let id = idx as u64 + 1;
        let cur = self.cur[i];
        if self.blown {
            return Err(self.reject(idx, "order", "account liquidated".into()));
        }
        if self.expired[i] {
            return Err(self.reject(idx, "order", "contract expired".into()));
        }
        let inst = &self.account.instruments()[i];
        let refp = self.reference_price(&r);
        if !r.close_position {
            if r.qty <= 0.0 || r.qty < inst.min_qty {
                let m = format!(
                    "quantity {} is under the minimum quantity {}",
                    req.qty, inst.min_qty
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
        let pos = self.account.position(i).qty;
        if (r.reduce_only || r.close_position)
            && (pos == 0.0 || (pos > 0.0) == (r.side == Side::Buy))
        {
            return Err(self.reject(
                idx,
                "reduce_only",
                "reduce-only: no position to reduce".into(),
            ));
        }
        if r.kind == OrderKind::Market && !cur.is_finite() {
            return Err(self.reject(idx, "order", "no price yet for a market order".into()));
        }
        if r.kind.has_trigger() && cur.is_finite() {
            let t = r.trigger;
            let fired = if r.kind.triggers_rising(r.side) {
                cur >= t
            } else {
                cur <= t
            };
            if fired {
                return Err(self.reject(idx, "trigger", "would trigger immediately".into()));
            }
        }
        let marketable = r.kind == OrderKind::Limit
            && cur.is_finite()
            && match r.side {
                Side::Buy => r.price >= cur,
                Side::Sell => r.price <= cur,
            };
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
            && !self.placement_margin_ok(&r, refp)
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
            self.pend(idx);
        } else {
            self.book_insert(i, idx);
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
        reason: Option<crate::record::FillReason>,
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
        if filters {
            r = self.normalize(&r)?;
        }
        let idx = self.new_order(&r);
        if self.blown {
            return Err(self.reject(idx, "order", "account liquidated".into()));
        }
        if self.expired[symbol] {
            return Err(self.reject(idx, "order", "contract expired".into()));
        }
        if filters {
            if let Err(e) = self.account.check_order(symbol, qty.abs(), price) {
                return Err(self.reject(idx, &e.field, e.message));
            }
        }
        self.execute(idx, price, Liquidity::Taker, strat)
            .map(|_| idx as u64 + 1)
    }

    /// Cancels an open order.
    pub fn cancel(&mut self, id: u64) -> Result<(), LedgerError> {
        let idx = self.open_index(id)?;
        let i = self.orders[idx as usize].symbol;
        self.book_remove(i, idx);
        self.unpend(idx);
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
        let o = self.orders[idx as usize].clone();
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
        let i = o.symbol;
        self.book_remove(i, idx);
        let was_pending = self.pending.iter().position(|&j| j == idx);
        if was_pending.is_some() {
            self.unpend(idx);
        }
        match self.place(&r, strat) {
            Ok(new_id) => {
                self.end_order(
                    idx,
                    Status::Cancelled,
                    &format!("amended: replaced by order {new_id}"),
                );
                Ok(new_id)
            }
            Err(e) => {
                // The refused replacement stays in the log as rejected; the original goes back.
                if was_pending.is_some() {
                    self.pend(idx);
                } else {
                    self.book_insert(i, idx);
                }
                Err(e)
            }
        }
    }

    // ----- fills --------------------------------------------------------------------------

    /// Fills what order `idx` can fill now at `price`. Reduce-only orders are capped at the
    /// position (cancelled when there is nothing to reduce); maker fills respect the bar's volume
    /// cap. A fill the account refuses (margin) rejects the order.
    fn execute<S: Strategy>(
        &mut self,
        idx: u32,
        price: f64,
        liquidity: Liquidity,
        strat: &mut S,
    ) -> Result<bool, LedgerError> {
        let o = &self.orders[idx as usize];
        let i = o.symbol;
        let side = o.side;
        let mut q = if o.close_position {
            f64::INFINITY
        } else {
            o.qty - o.filled
        };
        if o.reduce_only {
            let pos = self.account.position(i).qty;
            if pos == 0.0 || (pos > 0.0) == (side == Side::Buy) {
                self.book_remove(i, idx);
                self.end_order(idx, Status::Cancelled, "reduce-only: no position to reduce");
                return Ok(false);
            }
            q = q.min(pos.abs());
        }
        if liquidity == Liquidity::Maker && self.vol_left[i].is_finite() {
            let inst = &self.account.instruments()[i];
            let cap = inst.floor_qty(self.vol_left[i]);
            if cap <= 0.0 {
                // Less than one step of volume left: the bar's budget is spent.
                self.vol_left[i] = 0.0;
                return Ok(false);
            }
            q = q.min(cap);
        }
        let reason = self.orders[idx as usize].fill_reason;
        match self.account.fill(i, side.sign() * q, price, liquidity) {
            Ok(f) => {
                if liquidity == Liquidity::Maker && self.vol_left[i].is_finite() {
                    self.vol_left[i] -= q;
                }
                let now = self.now;
                let o = &mut self.orders[idx as usize];
                o.avg_price = (o.avg_price * o.filled + price * q) / (o.filled + q);
                o.filled += q;
                o.updated = now;
                let done = o.close_position || o.reduce_only || o.filled >= o.qty * (1.0 - 1e-12);
                if done {
                    o.status = Status::Filled;
                    self.book_remove(i, idx);
                } else if !self.om[idx as usize][0].is_nan() {
                    // A partial fill: the order counts for what is left.
                    self.margin_off(idx);
                    self.margin_on(idx);
                }
                let row = FillRow {
                    ts: now,
                    symbol: i,
                    order_id: idx as u64 + 1,
                    side: side.sign() as i8,
                    qty: q,
                    price,
                    fee: f.fee,
                    maker: liquidity == Liquidity::Maker,
                    realized: f.realized,
                    position: f.position,
                    entry: f.entry,
                    reason,
                };
                self.after_fill(row, strat);
                Ok(true)
            }
            Err(e) => {
                self.book_remove(i, idx);
                self.unpend(idx);
                Err(self.reject(idx, &e.field.clone(), e.message))
            }
        }
    }

    fn after_fill<S: Strategy>(&mut self, row: FillRow, strat: &mut S) {
        self.touch_liquidation();
        self.fills.push(row);
        let row = self.fills.last().expect("just pushed").clone();
        strat.on_fill(self, &row);
    }

    /// Trades signed `qty` of symbol `i` at the current price ± slippage (a strategy's market
    /// order, its fill recorded with `reason`).
    pub fn market<S: Strategy>(
        &mut self,
        i: usize,
        qty: f64,
        reason: crate::record::FillReason,
        strat: &mut S,
    ) -> Result<u64, LedgerError> {
        let r = OrderRequest::new(i, Side::of(qty), OrderKind::Market, qty.abs()).tagged(0, reason);
        self.place(&r, strat)
    }

    // ----- events -------------------------------------------------------------------------

    /// Starts a step at `ts`: orders waiting for the next step go live (a limit that is now
    /// marketable fills at once at the current price as taker).
    pub fn begin_step<S: Strategy>(&mut self, ts: i64, strat: &mut S) {
        self.now = ts;
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        for idx in pending {
            self.margin_off(idx);
            let o = &self.orders[idx as usize];
            if o.status != Status::Open {
                continue;
            }
            let i = o.symbol;
            let cur = self.cur[i];
            let marketable = o.kind == OrderKind::Limit
                && cur.is_finite()
                && match o.side {
                    Side::Buy => o.price >= cur,
                    Side::Sell => o.price <= cur,
                };
            if marketable {
                let _ = self.execute(idx, cur, Liquidity::Taker, strat);
            } else {
                self.book_insert(i, idx);
            }
        }
    }

    /// Funding on symbol `i` at `ts`: the position's notional at `mark` × `rate` (longs pay when
    /// positive). Recorded when a position is open.
    pub fn funding(&mut self, i: usize, ts: i64, rate: f64, mark: f64) -> Result<f64, LedgerError> {
        let position = self.account.position(i).qty;
        let paid = self.account.apply_funding(i, rate, mark)?;
        if position != 0.0 {
            self.funding_rows.push(FundingRow {
                ts,
                symbol: i,
                rate,
                mark,
                position,
                payment: paid,
            });
            self.touch_liquidation();
        }
        Ok(paid)
    }

    /// Delivery settlement of symbol `i` at `price`: the position closes at that price with the
    /// taker fee, its orders expire and the symbol no longer trades.
    pub fn settle<S: Strategy>(
        &mut self,
        i: usize,
        price: f64,
        strat: &mut S,
    ) -> Result<(), LedgerError> {
        positive("price", price)?;
        let idxs: Vec<u32> = self.books[i].all().collect();
        for idx in idxs {
            self.book_remove(i, idx);
            self.end_order(idx, Status::Expired, "contract expired");
        }
        let pend: Vec<u32> = self
            .pending
            .iter()
            .copied()
            .filter(|&j| self.orders[j as usize].symbol == i)
            .collect();
        for idx in pend {
            self.pending.retain(|&j| j != idx);
            self.end_order(idx, Status::Expired, "contract expired");
        }
        self.expired[i] = true;
        self.cur[i] = price;
        self.account.mark(i, price)?;
        let pos = self.account.position(i).qty;
        if pos != 0.0 {
            let r = OrderRequest::new(i, Side::of(-pos), OrderKind::Settlement, pos.abs());
            let idx = self.new_order(&r);
            self.force_fill(idx, -pos, price, 0.0, strat);
        }
        Ok(())
    }

    /// A forced taker fill (liquidation, settlement) that the account always accepts (it reduces).
    fn force_fill<S: Strategy>(
        &mut self,
        idx: u32,
        dq: f64,
        price: f64,
        extra_fee_rate: f64,
        strat: &mut S,
    ) {
        let i = self.orders[idx as usize].symbol;
        let reason = self.orders[idx as usize].kind.fill_reason();
        let f = self
            .account
            .fill(i, dq, price, Liquidity::Taker)
            .expect("a closing fill is always accepted");
        let extra = extra_fee_rate * self.account.instruments()[i].notional(dq, price);
        if extra != 0.0 {
            self.account.charge_fee(i, extra);
        }
        let now = self.now;
        let o = &mut self.orders[idx as usize];
        o.filled = dq.abs();
        o.avg_price = price;
        o.status = Status::Filled;
        o.updated = now;
        let row = FillRow {
            ts: now,
            symbol: i,
            order_id: idx as u64 + 1,
            side: if dq > 0.0 { 1 } else { -1 },
            qty: dq.abs(),
            price,
            fee: f.fee + extra,
            maker: false,
            realized: f.realized,
            position: f.position,
            entry: f.entry,
            reason,
        };
        self.after_fill(row, strat);
    }

    /// Liquidates at `price`: an isolated position alone (its loss capped at its margin), or every
    /// cross position (the others at their current prices), after which the account is blown.
    fn liquidate<S: Strategy>(&mut self, i: usize, price: f64, strat: &mut S) {
        if self.liquidated_at.is_none() {
            self.liquidated_at = Some(self.now);
        }
        let rate = self.config.liquidation_fee;
        if self.account.margin_mode(i) == MarginMode::Isolated {
            let margin = self.account.position_margin(i);
            let wallet_before = self.account.wallet_balance();
            let pos = self.account.position(i).qty;
            let r = OrderRequest::new(i, Side::of(-pos), OrderKind::Liquidation, pos.abs());
            let idx = self.new_order(&r);
            self.force_fill(idx, -pos, price, rate, strat);
            let loss = wallet_before - self.account.wallet_balance();
            if loss > margin && !self.config.allow_negative_balance {
                self.account.cover_loss(loss - margin);
            }
        } else {
            let order: Vec<usize> = std::iter::once(i)
                .chain((0..self.account.len()).filter(|&j| j != i))
                .collect();
            for j in order {
                if self.account.margin_mode(j) != MarginMode::Cross {
                    continue;
                }
                let pos = self.account.position(j).qty;
                if pos == 0.0 {
                    continue;
                }
                let p = if j == i {
                    price
                } else {
                    self.account.mark_price(j).unwrap_or(price)
                };
                let r = OrderRequest::new(j, Side::of(-pos), OrderKind::Liquidation, pos.abs());
                let idx = self.new_order(&r);
                self.force_fill(idx, -pos, p, rate, strat);
            }
            self.blow_up();
        }
        if !self.config.allow_negative_balance {
            let w = self.account.wallet_balance();
            if w < 0.0 {
                self.account.cover_loss(-w);
            }
        }
        if self.account.wallet_balance() <= 0.0 {
            self.blow_up();
        }
    }

    fn blow_up(&mut self) {
        self.blown = true;
        for i in 0..self.books.len() {
            let idxs: Vec<u32> = self.books[i].all().collect();
            for idx in idxs {
                self.book_remove(i, idx);
                self.end_order(idx, Status::Cancelled, "account liquidated");
            }
        }
        for idx in std::mem::take(&mut self.pending) {
            self.end_order(idx, Status::Cancelled, "account liquidated");
        }
    }

    // ----- the path -----------------------------------------------------------------------

    #[inline]
    fn liq_level(&mut self, i: usize) -> f64 {
        if !self.config.liquidation {
            return NONE;
        }
        if self.liq_dirty {
            for j in 0..self.account.len() {
                self.liq[j] = self.account.liquidation_price(j).unwrap_or(NONE);
            }
            self.liq_dirty = false;
        }
        self.liq[i]
    }

    /// Trailing stops of symbol `i` see price `p`: activation, and the extreme since.
    #[inline]
    fn trail_update(&mut self, i: usize, p: f64) {
        if self.books[i].trailing.is_empty() {
            return;
        }
        for k in 0..self.books[i].trailing.len() {
            let idx = self.books[i].trailing[k];
            self.trail_touch(idx, p);
        }
    }

    fn trail_touch(&mut self, idx: u32, p: f64) {
        let o = &mut self.orders[idx as usize];
        if o.extreme.is_nan() {
            let active = o.activation.is_nan()
                || match o.side {
                    Side::Sell => p >= o.activation,
                    Side::Buy => p <= o.activation,
                };
            if active {
                o.extreme = p;
            }
        } else {
            o.extreme = match o.side {
                Side::Sell => o.extreme.max(p),
                Side::Buy => o.extreme.min(p),
            };
        }
    }

    /// The highest level a falling price would handle first and the lowest a rising price would,
    /// over the symbol's book and its liquidation price (trailing stops excluded: the caller checks
    /// there are none). The walks handle a level `l` going down to `b` when `l >= b`.
    #[inline]
    fn thresholds(&mut self, i: usize) -> (f64, f64) {
        let (e, d, u) = self.thr[i];
        if e == self.epoch {
            return (d, u);
        }
        let (d, u) = self.compute_thresholds(i);
        self.thr[i] = (self.epoch, d, u);
        (d, u)
    }

    fn compute_thresholds(&mut self, i: usize) -> (f64, f64) {
        // Limits count at their own price even without touch fills: a gap that lands exactly on
        // a limit fills it (at the open), so only a range strictly beyond every level is quiet.
        let book = &self.books[i];
        let mut down = f64::NEG_INFINITY;
        let mut up = f64::INFINITY;
        if let Some(&j) = book.falling.last() {
            down = down.max(self.orders[j as usize].trigger);
        }
        if let Some(&j) = book.buy_limits.last() {
            down = down.max(self.orders[j as usize].price);
        }
        if let Some(&j) = book.rising.last() {
            up = up.min(self.orders[j as usize].trigger);
        }
        if let Some(&j) = book.sell_limits.last() {
            up = up.min(self.orders[j as usize].price);
        }
        let q = self.account.position(i).qty;
        if q != 0.0 {
            let lp = self.liq_level(i);
            if !lp.is_nan() {
                if q > 0.0 {
                    down = down.max(lp);
                } else {
                    up = up.min(lp);
                }
            }
        }
        (down, up)
    }

    #[inline]
    fn fill_price(&self, at: f64) -> f64 {
        if self.gap_fill.is_nan() {
            at
        } else {
            self.gap_fill
        }
    }

    /// Walks symbol `i` down from `a` to `b`, handling everything the price reaches, highest first.
    fn walk_down<S: Strategy>(&mut self, i: usize, a: f64, b: f64, strat: &mut S) {
        self.cur[i] = a;
        let tick = self.account.instruments()[i].tick_size;
        loop {
            if self.blown {
                return;
            }
            let (mut lvl, mut class, mut seq, mut ev) =
                (f64::NEG_INFINITY, u8::MAX, u64::MAX, None);
            let mut consider = |l: f64, c: u8, s: u64, e: Event| {
                if l >= b && (l > lvl || (l == lvl && (c, s) < (class, seq))) {
                    (lvl, class, seq, ev) = (l, c, s, Some(e));
                }
            };
            let book = &self.books[i];
            if let Some(&j) = book.falling.last() {
                let o = &self.orders[j as usize];
                consider(o.trigger, 0, o.seq, Event::Trigger(j));
            }
            for &j in &book.trailing {
                let o = &self.orders[j as usize];
                if o.side == Side::Sell && !o.extreme.is_nan() {
                    consider(o.extreme * (1.0 - o.callback), 1, o.seq, Event::Trailing(j));
                }
            }
            if self.vol_left[i] > 0.0 {
                if let Some(&j) = book.buy_limits.last() {
                    let o = &self.orders[j as usize];
                    let reach = if self.config.touch_fills || !self.gap_fill.is_nan() {
                        o.price
                    } else if tick > 0.0 {
                        o.price - tick
                    } else {
                        o.price.next_down()
                    };
                    consider(reach, 2, o.seq, Event::Limit(j));
                }
            }
            if self.account.position(i).qty > 0.0 {
                let lp = self.liq_level(i);
                if !lp.is_nan() {
                    consider(lp, 3, 0, Event::Liquidation);
                }
            }
            let w = strat.watch(i).0;
            if !w.is_nan() {
                consider(w, 4, 0, Event::Watch);
            }
            let Some(e) = ev else { return };
            let at = lvl.min(self.cur[i]);
            self.process(i, e, at, strat);
        }
    }

    /// Walks symbol `i` up from `a` to `b`, handling everything the price reaches, lowest first.
    fn walk_up<S: Strategy>(&mut self, i: usize, a: f64, b: f64, strat: &mut S) {
        self.cur[i] = a;
        let tick = self.account.instruments()[i].tick_size;
        loop {
            if self.blown {
                return;
            }
            let (mut lvl, mut class, mut seq, mut ev) = (f64::INFINITY, u8::MAX, u64::MAX, None);
            let mut consider = |l: f64, c: u8, s: u64, e: Event| {
                if l <= b && (l < lvl || (l == lvl && (c, s) < (class, seq))) {
                    (lvl, class, seq, ev) = (l, c, s, Some(e));
                }
            };
            let book = &self.books[i];
            if let Some(&j) = book.rising.last() {
                let o = &self.orders[j as usize];
                consider(o.trigger, 0, o.seq, Event::Trigger(j));
            }
            for &j in &book.trailing {
                let o = &self.orders[j as usize];
                if o.side == Side::Buy && !o.extreme.is_nan() {
                    consider(o.extreme * (1.0 + o.callback), 1, o.seq, Event::Trailing(j));
                }
            }
            if self.vol_left[i] > 0.0 {
                if let Some(&j) = book.sell_limits.last() {
                    let o = &self.orders[j as usize];
                    let reach = if self.config.touch_fills || !self.gap_fill.is_nan() {
                        o.price
                    } else if tick > 0.0 {
                        o.price + tick
                    } else {
                        o.price.next_up()
                    };
                    consider(reach, 2, o.seq, Event::Limit(j));
                }
            }
            if self.account.position(i).qty < 0.0 {
                let lp = self.liq_level(i);
                if !lp.is_nan() {
                    consider(lp, 3, 0, Event::Liquidation);
                }
            }
            let w = strat.watch(i).1;
            if !w.is_nan() {
                consider(w, 4, 0, Event::Watch);
            }
            let Some(e) = ev else { return };
            let at = lvl.max(self.cur[i]);
            self.process(i, e, at, strat);
        }
    }

    fn process<S: Strategy>(&mut self, i: usize, e: Event, at: f64, strat: &mut S) {
        self.cur[i] = at;
        let _ = self.account.mark(i, at);
        let fp = self.fill_price(at);
        let slip = self.config.slippage;
        match e {
            Event::Trigger(j) => {
                self.book_remove(i, j);
                let o = &self.orders[j as usize];
                let side = o.side;
                if o.kind == OrderKind::StopLimit {
                    let limit = o.price;
                    let marketable = match side {
                        Side::Buy => limit >= fp,
                        Side::Sell => limit <= fp,
                    };
                    self.orders[j as usize].triggered = true;
                    if marketable {
                        let _ = self.execute(j, fp, Liquidity::Taker, strat);
                    } else {
                        self.book_insert(i, j);
                    }
                } else {
                    let _ =
                        self.execute(j, fp * (1.0 + side.sign() * slip), Liquidity::Taker, strat);
                }
            }
            Event::Trailing(j) => {
                self.book_remove(i, j);
                let side = self.orders[j as usize].side;
                let _ = self.execute(j, fp * (1.0 + side.sign() * slip), Liquidity::Taker, strat);
            }
            Event::Limit(j) => {
                let p = if self.gap_fill.is_nan() {
                    self.orders[j as usize].price
                } else {
                    fp
                };
                let _ = self.execute(j, p, Liquidity::Maker, strat);
            }
            Event::Liquidation => self.liquidate(i, fp, strat),
            Event::Watch => strat.on_price(self, i, at),
        }
    }

    /// Runs symbol `i`'s bar along its path: the gap from the last price to the open (everything
    /// it crosses fills at the open), then open → extremes → close; marks the symbol at the close.
    pub fn bar<S: Strategy>(&mut self, i: usize, bar: &Bar, strat: &mut S) {
        if self.expired[i] {
            return;
        }
        if self.account.len() > 1 {
            // Other symbols' marks moved since: a cross liquidation price depends on them.
            self.touch_liquidation();
        }
        let prev = self.cur[i];
        let open = bar.open;
        self.range[i] = if prev.is_finite() {
            (bar.low.min(prev), bar.high.max(prev))
        } else {
            (bar.low, bar.high)
        };
        if prev.is_finite() && self.books[i].trailing.is_empty() && bar.close_mark() == bar.close {
            // Quiet bar: when nothing rests within the range the path covers (the previous price,
            // the high and the low), the walk would find nothing; only the mark moves.
            let (down, up) = self.thresholds(i);
            let (wd, wu) = strat.watch(i);
            let (down, up) = (
                if wd.is_nan() { down } else { down.max(wd) },
                if wu.is_nan() { up } else { up.min(wu) },
            );
            if bar.low.min(prev) > down && bar.high.max(prev) < up {
                self.cur[i] = bar.close;
                self.account.set_mark(i, bar.close);
                return;
            }
        }
        self.in_path = true;
        self.vol_left[i] = if self.config.max_participation > 0.0 && bar.volume.is_finite() {
            self.config.max_participation * bar.volume
        } else {
            f64::INFINITY
        };
        self.gap_fill = open;
        if prev.is_finite() && open < prev {
            self.walk_down(i, prev, open, strat);
        } else if prev.is_finite() && open > prev {
            self.walk_up(i, prev, open, strat);
        }
        self.walk_down(i, open, open, strat);
        self.walk_up(i, open, open, strat);
        self.gap_fill = NONE;
        self.cur[i] = open;
        let _ = self.account.mark(i, open);
        self.trail_update(i, open);
        let pos = self.account.position(i).qty;
        for p in self
            .config
            .path
            .points(open, bar.high, bar.low, bar.close, pos)
        {
            let c = self.cur[i];
            if p < c {
                self.walk_down(i, c, p, strat);
            } else if p > c {
                self.walk_up(i, c, p, strat);
            }
            self.cur[i] = p;
            let _ = self.account.mark(i, p);
            self.trail_update(i, p);
        }
        let m = bar.close_mark();
        if m != bar.close {
            let _ = self.account.mark(i, m);
            let pos = self.account.position(i).qty;
            if pos != 0.0 && !self.blown {
                self.touch_liquidation();
                let lp = self.liq_level(i);
                if !lp.is_nan() && ((pos > 0.0 && m <= lp) || (pos < 0.0 && m >= lp)) {
                    self.liquidate(i, lp, strat);
                    let _ = self.account.mark(i, m);
                }
            }
        }
        self.in_path = false;
    }

    /// Ends the step: the strategy's close decision, then one equity row.
    pub fn end_step<S: Strategy>(&mut self, strat: &mut S) {
        if !self.blown {
            strat.on_close(self);
        }
        strat.after_close(self);
        if self.config.record_equity {
            self.history.push(self.now, &self.account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::Instrument;
    use crate::record::FillRow;

    /// A one-level grid: a filled buy places a sell one step up, and back.
    struct Counter {
        step: f64,
    }

    impl Strategy for Counter {
        fn on_fill(&mut self, e: &mut Engine, f: &FillRow) {
            let side = if f.side > 0 { Side::Sell } else { Side::Buy };
            let price = f.price + if f.side > 0 { self.step } else { -self.step };
            let _ = e.place(&OrderRequest::limit(f.symbol, side, price, f.qty), self);
        }
    }

    fn engine(same_bar: bool) -> Engine {
        let acc = Account::new(vec![Instrument::plain_linear("X", 0.0, 0.0)], 1e6, 10.0).unwrap();
        Engine::new(
            acc,
            Config {
                same_bar,
                ..Config::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn counter_orders_are_live_at_once_on_the_rest_of_the_path() {
        let mut e = engine(true);
        let mut s = Counter { step: 1.0 };
        e.begin_step(0, &mut s);
        e.bar(0, &Bar::tick(0, 100.0), &mut s);
        e.end_step(&mut s);
        e.place(&OrderRequest::limit(0, Side::Buy, 96.0, 1.0), &mut s)
            .unwrap();
        e.begin_step(1, &mut s);
        // open 100 → low 95 (buy 96 fills, sell 97 placed) → high 103 (sell 97 fills, buy 96 placed)
        e.bar(0, &Bar::ohlc(1, 100.0, 103.0, 95.0, 101.0), &mut s);
        e.end_step(&mut s);
        let prices: Vec<f64> = e.fills().iter().map(|f| f.price).collect();
        assert_eq!(prices, vec![96.0, 97.0]);
        assert_eq!(e.account().position(0).qty, 0.0);
        assert_eq!(e.account().realized_pnl(), 1.0);
    }

    #[test]
    fn same_bar_off_defers_counter_orders_to_the_next_step() {
        let mut e = engine(false);
        let mut s = Counter { step: 1.0 };
        e.begin_step(0, &mut s);
        e.bar(0, &Bar::tick(0, 100.0), &mut s);
        e.end_step(&mut s);
        e.place(&OrderRequest::limit(0, Side::Buy, 96.0, 1.0), &mut s)
            .unwrap();
        e.begin_step(1, &mut s);
        e.bar(0, &Bar::ohlc(1, 100.0, 103.0, 95.0, 95.5), &mut s);
        e.end_step(&mut s);
        assert_eq!(e.fills().len(), 1);
        e.begin_step(2, &mut s);
        e.bar(0, &Bar::ohlc(2, 95.5, 98.0, 95.5, 97.5), &mut s);
        e.end_step(&mut s);
        let prices: Vec<f64> = e.fills().iter().map(|f| f.price).collect();
        assert_eq!(prices, vec![96.0, 97.0]);
    }

    #[test]
    fn a_bar_that_touches_nothing_changes_nothing_but_the_mark() {
        let mut e = engine(true);
        let mut s = crate::strategy::NoStrategy;
        e.begin_step(0, &mut s);
        e.bar(0, &Bar::tick(0, 100.0), &mut s);
        for k in 0..50 {
            e.place(
                &OrderRequest::limit(0, Side::Buy, 90.0 - k as f64, 0.1),
                &mut s,
            )
            .unwrap();
            e.place(
                &OrderRequest::limit(0, Side::Sell, 110.0 + k as f64, 0.1),
                &mut s,
            )
            .unwrap();
        }
        e.end_step(&mut s);
        e.begin_step(1, &mut s);
        e.bar(0, &Bar::ohlc(1, 100.0, 109.0, 91.0, 105.0), &mut s);
        e.end_step(&mut s);
        assert!(e.fills().is_empty());
        assert_eq!(e.open_orders(0).len(), 100);
        assert_eq!(e.account().mark_price(0), Some(105.0));
    }
}
