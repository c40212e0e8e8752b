//! The account's orders: the log of every order ever placed (the arena the books index into),
//! each symbol's [`Book`] of resting orders, the orders waiting for the next step, and the
//! running open-order margin sums. This component owns all of that state; the engine asks it to
//! rest, pend, take out or end an order and reads the sums it keeps.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::book::Book;
use super::order::{Order, OrderKind, OrderRequest, ReasonId, Side, Status};
use crate::instrument::Instrument;

/// Orders of one account (see the module doc).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpenOrders {
    /// Every order placed, in id order (`id = index + 1`).
    orders: Vec<Order>,
    /// Per symbol: its resting orders.
    books: Vec<Book>,
    /// Orders placed mid-path that go live at the next step (`same_bar` off).
    pending: Vec<u32>,
    /// Time priority counter.
    seq: u64,
    /// Bumped by every change to a book (the engine's threshold cache keys on it).
    version: u64,
    /// Per order: the (remaining qty, notional) it counts for in the open-order margin, NaN when
    /// it does not count (not resting, reduce-only, trailing).
    counted: Vec<[f64; 2]>,
    /// Per symbol: Σ qty and Σ notional of the counted buy orders, then of the sell orders.
    sums: Vec<[f64; 4]>,
    /// Per symbol: how many buy and sell orders count (the sums reset to exactly 0 at none).
    counts: Vec<[u32; 2]>,
    /// The texts of the orders' reasons ([`ReasonId`] `k` is text `k - 1`), each once.
    reasons: Vec<Box<str>>,
    /// Each text's id: derived from `reasons` (not saved; rebuilt when a copy read back ends its
    /// first order).
    #[serde(skip)]
    reason_ids: HashMap<Box<str>, ReasonId>,
}

impl OpenOrders {
    /// No orders, for an account of `n` symbols.
    pub fn new(n: usize) -> Self {
        Self {
            orders: Vec::new(),
            books: vec![Book::default(); n],
            pending: Vec::new(),
            seq: 0,
            version: 1,
            counted: Vec::new(),
            sums: vec![[0.0; 4]; n],
            counts: vec![[0; 2]; n],
            reasons: Vec::new(),
            reason_ids: HashMap::new(),
        }
    }

    /// The text of `o`'s reason (empty for none).
    pub fn reason(&self, o: &Order) -> &str {
        match o.reason.0 {
            0 => "",
            k => &self.reasons[k as usize - 1],
        }
    }

    /// The id of reason `text` (none for an empty one).
    fn reason_id(&mut self, text: &str) -> ReasonId {
        if text.is_empty() {
            return ReasonId::default();
        }
        if self.reason_ids.len() < self.reasons.len() {
            self.reason_ids = (self.reasons.iter().enumerate())
                .map(|(k, t)| (t.clone(), ReasonId(k as u32 + 1)))
                .collect();
        }
        if let Some(&id) = self.reason_ids.get(text) {
            return id;
        }
        self.reasons.push(text.into());
        let id = ReasonId(self.reasons.len() as u32);
        self.reason_ids.insert(text.into(), id);
        id
    }

    /// Gives up the arena buffers (the order log and its margin counts), leaving this log empty
    /// of them; with [`OpenOrders::set_arena`], an engine hands them to the next one.
    pub fn take_arena(&mut self) -> (Vec<Order>, Vec<[f64; 2]>) {
        (
            std::mem::take(&mut self.orders),
            std::mem::take(&mut self.counted),
        )
    }

    /// Uses `orders` and `counted` (emptied) as the arena buffers of this still empty log.
    pub fn set_arena(&mut self, mut orders: Vec<Order>, mut counted: Vec<[f64; 2]>) {
        if self.orders.is_empty() {
            orders.clear();
            counted.clear();
            self.orders = orders;
            self.counted = counted;
        }
    }

    /// Every order placed so far.
    #[inline]
    pub fn log(&self) -> &[Order] {
        &self.orders
    }

    /// Order `idx` (arena index).
    #[inline]
    pub fn get(&self, idx: u32) -> &Order {
        &self.orders[idx as usize]
    }

    /// Order `idx`, mutable (its matching fields; status changes go through [`OpenOrders::end`]).
    #[inline]
    pub fn get_mut(&mut self, idx: u32) -> &mut Order {
        &mut self.orders[idx as usize]
    }

    /// Symbol `i`'s book.
    #[inline]
    pub fn book(&self, i: usize) -> &Book {
        &self.books[i]
    }

    /// The version counter: changes whenever a book changes.
    #[inline]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether order `idx` waits for the next step.
    pub fn is_pending(&self, idx: u32) -> bool {
        self.pending.contains(&idx)
    }

    /// Logs a new open order from request `r` at time `now`; returns its arena index.
    pub fn open(&mut self, r: &OrderRequest, now: i64) -> u32 {
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
            extreme: f64::NAN,
            reduce_only: r.reduce_only || r.close_position,
            post_only: r.post_only,
            close_position: r.close_position,
            triggered: false,
            status: Status::Open,
            reason: ReasonId::default(),
            placed: now,
            updated: now,
            seq: self.seq,
            tag: r.tag,
            fill_reason: r.reason.unwrap_or(r.kind.fill_reason()),
            working_type: r.working_type,
            position_side: r.position_side,
        });
        self.counted.push([f64::NAN; 2]);
        idx
    }

    /// Rests order `idx` in its symbol's book (counted in the margin sums).
    #[inline]
    pub fn rest(&mut self, idx: u32, inst: &Instrument) {
        self.version += 1;
        let i = self.orders[idx as usize].symbol;
        self.books[i].insert(&self.orders, idx);
        self.count(idx, inst);
    }

    /// Takes order `idx` out of its book (no-op if it does not rest there).
    #[inline]
    pub fn unrest(&mut self, idx: u32) {
        self.version += 1;
        let i = self.orders[idx as usize].symbol;
        self.books[i].remove(&self.orders, idx);
        self.uncount(idx);
    }

    /// Puts order `idx` on the pending list (live from the next step).
    pub fn pend(&mut self, idx: u32, inst: &Instrument) {
        self.pending.push(idx);
        self.count(idx, inst);
    }

    /// Takes order `idx` off the pending list (no-op if not there); whether it was there.
    pub fn unpend(&mut self, idx: u32) -> bool {
        match self.pending.iter().position(|&j| j == idx) {
            Some(p) => {
                self.pending.remove(p);
                self.uncount(idx);
                true
            }
            None => false,
        }
    }

    /// Empties the pending list; each order stays counted in the margin sums until the caller
    /// [`OpenOrders::release`]s it (then rests, fills or ends it).
    pub fn take_pending(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.pending)
    }

    /// Takes order `idx`, just taken off the pending list, out of the margin sums.
    pub fn release(&mut self, idx: u32) {
        self.uncount(idx);
    }

    /// Whether any order waits for the next step.
    #[inline]
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Ends order `idx` with `status` and `reason` at `now` (taken out of the margin sums; the
    /// caller has taken it out of its book or pending list).
    pub fn end(&mut self, idx: u32, status: Status, reason: &str, now: i64) {
        self.uncount(idx);
        let reason = self.reason_id(reason);
        let o = &mut self.orders[idx as usize];
        o.status = status;
        o.reason = reason;
        o.updated = now;
    }

    /// Ends every resting and pending order of symbol `i` (or of every symbol) with `status`.
    pub fn end_all(&mut self, symbol: Option<usize>, status: Status, reason: &str, now: i64) {
        for i in 0..self.books.len() {
            if symbol.is_some_and(|s| s != i) {
                continue;
            }
            let idxs: Vec<u32> = self.books[i].all().collect();
            for idx in idxs {
                self.unrest(idx);
                self.end(idx, status, reason, now);
            }
        }
        let pend: Vec<u32> = self
            .pending
            .iter()
            .copied()
            .filter(|&j| symbol.is_none_or(|s| self.orders[j as usize].symbol == s))
            .collect();
        for idx in pend {
            self.unpend(idx);
            self.end(idx, status, reason, now);
        }
    }

    /// A partial fill changed what order `idx` counts for: recount it.
    pub fn recount(&mut self, idx: u32, inst: &Instrument) {
        if !self.counted[idx as usize][0].is_nan() {
            self.uncount(idx);
            self.count(idx, inst);
        }
    }

    /// Ids of the open orders of symbol `i` (resting or pending), sorted.
    pub fn open_ids(&self, i: usize) -> Vec<u64> {
        let pending = self
            .pending
            .iter()
            .copied()
            .filter(|&j| self.orders[j as usize].symbol == i);
        let mut v: Vec<u64> = self.books[i]
            .all()
            .chain(pending)
            .map(|j| self.orders[j as usize].id)
            .collect();
        v.sort_unstable();
        v
    }

    /// Counts order `idx` in its symbol's margin sums (resting or pending orders that are not
    /// reduce-only or trailing), at its limit price (stop-limit) or trigger.
    fn count(&mut self, idx: u32, inst: &Instrument) {
        let o = &self.orders[idx as usize];
        if !self.counted[idx as usize][0].is_nan()
            || o.reduce_only
            || o.kind == OrderKind::TrailingStop
            || o.status != Status::Open
        {
            return;
        }
        let p = margin_price(o);
        let q = o.qty - o.filled;
        let n = inst.notional(q, p);
        let k = side_index(o.side);
        let sums = &mut self.sums[o.symbol];
        sums[2 * k] += q;
        sums[2 * k + 1] += n;
        self.counts[o.symbol][k] += 1;
        self.counted[idx as usize] = [q, n];
    }

    /// Takes order `idx` out of the margin sums (no-op if it is not counted).
    fn uncount(&mut self, idx: u32) {
        let [q, n] = self.counted[idx as usize];
        if q.is_nan() {
            return;
        }
        let o = &self.orders[idx as usize];
        let k = side_index(o.side);
        let c = &mut self.counts[o.symbol][k];
        *c -= 1;
        let sums = &mut self.sums[o.symbol];
        if *c == 0 {
            sums[2 * k] = 0.0;
            sums[2 * k + 1] = 0.0;
        } else {
            sums[2 * k] -= q;
            sums[2 * k + 1] -= n;
            // Taking out an order a million times larger than what is left loses the rest to
            // rounding (1e300 + 0.4 − 1e300 = 0): the side is summed again from its orders.
            if q.abs() > RECOUNT * sums[2 * k].abs() || n.abs() > RECOUNT * sums[2 * k + 1].abs() {
                self.counted[idx as usize] = [f64::NAN; 2];
                self.resum(o.symbol, o.side);
                return;
            }
        }
        self.counted[idx as usize] = [f64::NAN; 2];
    }

    /// Symbol `i`'s running sums on `side`, added up again from its counted orders (in order).
    #[cold]
    fn resum(&mut self, i: usize, side: Side) {
        let k = side_index(side);
        let mut s = [0.0; 2];
        for (j, &[q, n]) in self.counted.iter().enumerate() {
            let o = &self.orders[j];
            if !q.is_nan() && o.symbol == i && side_index(o.side) == k {
                s[0] += q;
                s[1] += n;
            }
        }
        self.sums[i][2 * k] = s[0];
        self.sums[i][2 * k + 1] = s[1];
    }

    /// Margin needed by symbol `i`'s open orders (plus an `extra` order (side, qty, price)): per
    /// side, the notional of what would open exposure beyond the opposite position `position`, the
    /// larger side, over `leverage`. In `hedge` mode the counted orders all open a side (closing
    /// ones are reduce-only): the buys' and the sells' notional both count, over `leverage`.
    pub fn margin(
        &self,
        i: usize,
        inst: &Instrument,
        position: f64,
        leverage: f64,
        extra: Option<(Side, f64, f64)>,
        hedge: bool,
    ) -> f64 {
        let mut s = self.sums[i];
        if let Some((side, qty, price)) = extra {
            let k = side_index(side);
            s[2 * k] += qty;
            s[2 * k + 1] += inst.notional(qty, price);
        }
        let excess = |q: f64, n: f64, against: f64| {
            if q <= 0.0 {
                0.0
            } else {
                n * ((q - against).max(0.0) / q)
            }
        };
        if hedge {
            return (s[1] + s[3]) / leverage;
        }
        let b = excess(s[0], s[1], (-position).max(0.0));
        let a = excess(s[2], s[3], position.max(0.0));
        b.max(a) / leverage
    }

    /// Debug builds: every countable resting or pending order is counted, and the running sums
    /// equal the sum of what the counted orders count for. (Orders just taken off the pending list
    /// stay counted until released, so the sums are checked against the counted orders, not
    /// against a scan of the books.)
    ///
    /// The scan reads every order ever logged, and it runs at each order placed: quadratic in the
    /// log's length (a trailing grid shifting across 180,000 levels in one bar of a fuzz case ran
    /// for hours). Past [`CHECK_ALL_UNDER`] orders it runs when the log's length is a power of
    /// two, linear in all.
    #[cfg(debug_assertions)]
    pub fn check_sums(&self) {
        let n = self.orders.len();
        if n > CHECK_ALL_UNDER && !n.is_power_of_two() {
            return;
        }
        for i in 0..self.books.len() {
            let pending = self
                .pending
                .iter()
                .copied()
                .filter(|&j| self.orders[j as usize].symbol == i);
            for j in self.books[i].all().chain(pending) {
                let o = &self.orders[j as usize];
                debug_assert!(
                    o.reduce_only
                        || o.kind == OrderKind::TrailingStop
                        || !self.counted[j as usize][0].is_nan(),
                    "order {} rests uncounted",
                    o.id
                );
            }
            let mut s = [0.0; 4];
            for (j, &[q, n]) in self.counted.iter().enumerate() {
                let o = &self.orders[j];
                if q.is_nan() || o.symbol != i {
                    continue;
                }
                debug_assert!(
                    o.status == Status::Open,
                    "order {} counted after it ended",
                    o.id
                );
                let k = 2 * side_index(o.side);
                s[k] += q;
                s[k + 1] += n;
            }
            for k in 0..4 {
                let (a, b) = (s[k], self.sums[i][k]);
                debug_assert!(
                    a == b || (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                    "open-order sums drifted: {s:?} vs {:?}",
                    self.sums[i]
                );
            }
        }
    }
}

/// Debug builds check the open-order sums at every placement while the log is this short
/// ([`OpenOrders::check_sums`]).
#[cfg(debug_assertions)]
const CHECK_ALL_UNDER: usize = 4096;

/// How much larger than what is left of a running sum an order taken out of it may be before the
/// sum is added up again ([`OpenOrders::uncount`]).
const RECOUNT: f64 = 1e6;

/// 0 for buys, 1 for sells.
#[inline]
fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// The price an open order's margin is counted at: its limit price (limits, stop-limits), else its
/// trigger.
#[inline]
fn margin_price(o: &Order) -> f64 {
    if o.rests_as_limit() || o.kind == OrderKind::StopLimit {
        o.price
    } else {
        o.trigger
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each reason's text is kept once, given back for every order that ended with it, and read
    /// back from a copy of the log.
    #[test]
    fn the_reasons_are_kept_once_and_read_back() {
        let mut book = OpenOrders::new(1);
        let ids: Vec<u32> = (0..4)
            .map(|k| book.open(&OrderRequest::limit(0, Side::Buy, 100.0 - k as f64, 1.0), 1))
            .collect();
        book.end(ids[0], Status::Cancelled, "by the user", 2);
        book.end(ids[1], Status::Rejected, "no margin", 2);
        book.end(ids[2], Status::Cancelled, "by the user", 3);
        book.end(ids[3], Status::Filled, "", 3);
        let texts = |b: &OpenOrders| -> Vec<String> {
            b.log().iter().map(|o| b.reason(o).to_string()).collect()
        };
        let want = ["by the user", "no margin", "by the user", ""];
        assert_eq!(texts(&book), want);
        assert_eq!(book.reasons.len(), 2, "each text once");
        assert_eq!(book.log()[0].reason, book.log()[2].reason);
        let bytes = bincode::serialize(&book).unwrap();
        let mut back: OpenOrders = bincode::deserialize(&bytes).unwrap();
        assert_eq!(texts(&back), want);
        let more = back.open(&OrderRequest::limit(0, Side::Sell, 200.0, 1.0), 4);
        back.end(more, Status::Cancelled, "by the user", 5);
        assert_eq!(back.reason(&back.log()[4]), "by the user");
        assert_eq!(back.reasons.len(), 2, "still each text once after the copy");
    }

    #[test]
    fn a_huge_order_taken_out_leaves_the_others_in_the_sums() {
        // Found by the fuzzer: 1e300 + 0.43 − 1e300 is 0 in a running sum.
        let inst = Instrument::plain_linear("X", 0.0002, 0.0005);
        let mut book = OpenOrders::new(1);
        let small = book.open(&OrderRequest::limit(0, Side::Buy, 100.0, 0.43), 1);
        let huge = book.open(&OrderRequest::limit(0, Side::Buy, 5e-309, 1e300), 1);
        book.rest(small, &inst);
        book.rest(huge, &inst);
        book.unrest(huge);
        assert_eq!(book.sums[0][0], 0.43);
        assert_eq!(book.sums[0][1], inst.notional(0.43, 100.0));
        #[cfg(debug_assertions)]
        book.check_sums();
    }
}
