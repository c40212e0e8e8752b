//! What the engine records of each recorded step, column by column: the account's figures and,
//! per symbol, the position and its entry price. Users read these columns (`Result.equity`,
//! `Exchange.history()`); nothing rebuilds them from the fill log.
//!
//! The float columns live in one column-major buffer, each column `capacity` long (a run reserves
//! its steps up front, so a row is a few stores at fixed offsets). The buffer is shared (`Arc`):
//! an export hands numpy a view of it without a copy, and a later push copies it first if the
//! export still holds it (copy on write).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ledger::Account;

/// Names of the account columns, in the order [`History::column`] numbers them; the per-symbol
/// columns follow (`position_<symbol>`, `entry_<symbol>` for each symbol in order), then the last
/// column, [`QUOTE_COLUMN`] (last, so that a linear account's table leaves it out as a view).
pub const ACCOUNT_COLUMNS: [&str; 8] = [
    "equity",
    "wallet_balance",
    "margin",
    "realized_pnl",
    "unrealized_pnl",
    "fees",
    "funding",
    "effective_leverage",
];

/// The last column: equity in quote at the first symbol's mark (inverse accounts; equals the
/// equity otherwise).
pub const QUOTE_COLUMN: &str = "equity_quote";

const A: usize = ACCOUNT_COLUMNS.len();

/// The account's figures at one moment (one pass over the symbols).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Snapshot {
    /// Equity (margin balance).
    pub equity: f64,
    /// Wallet balance.
    pub wallet: f64,
    /// Σ unrealized PnL.
    pub unrealized: f64,
    /// Σ position notional.
    pub notional: f64,
    /// Σ position initial margin.
    pub margin: f64,
}

impl Snapshot {
    /// The account's figures now.
    #[inline]
    pub fn of(acc: &Account) -> Self {
        let (mut unrealized, mut notional, mut margin) = (0.0, 0.0, 0.0);
        for i in 0..acc.len() {
            if acc.position(i).qty != 0.0 {
                unrealized += acc.position_unrealized(i);
                notional += acc.position_notional(i);
                margin += acc.position_margin(i);
            }
        }
        let wallet = acc.wallet_balance();
        Self {
            equity: wallet + unrealized,
            wallet,
            unrealized,
            notional,
            margin,
        }
    }
}

/// The recorded rows (see the module doc).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Step timestamps (ns since the epoch).
    pub timestamp: Vec<i64>,
    /// Number of float columns.
    width: usize,
    /// Room per column.
    capacity: usize,
    /// Column-major floats: column `k` is `buf[k * capacity .. k * capacity + len]`.
    buf: Arc<Vec<f64>>,
}

impl History {
    /// An empty history for an account of `symbols` symbols.
    pub fn new(symbols: usize) -> Self {
        Self {
            timestamp: Vec::new(),
            width: A + 2 * symbols + 1,
            capacity: 0,
            buf: Arc::new(Vec::new()),
        }
    }

    /// Takes over `old`'s buffers, emptied, when this history is still empty.
    pub fn recycle(&mut self, mut old: History) {
        if !self.timestamp.is_empty() || old.width != self.width {
            return;
        }
        old.timestamp.clear();
        self.timestamp = old.timestamp;
        if Arc::strong_count(&old.buf) == 1 {
            self.buf = old.buf;
            self.capacity = old.capacity;
        }
    }

    /// Appends the account's figures at `timestamp`.
    #[inline]
    pub fn push(&mut self, timestamp: i64, acc: &Account, s: &Snapshot) {
        let n = self.timestamp.len();
        if n == self.capacity {
            self.grow(n.max(64));
        }
        let lev = if s.notional == 0.0 {
            0.0
        } else if s.equity > 0.0 {
            s.notional / s.equity
        } else {
            f64::INFINITY
        };
        let quote = if acc.is_inverse() {
            s.equity * acc.mark_price(0).unwrap_or(f64::NAN)
        } else {
            s.equity
        };
        let row = [
            s.equity,
            s.wallet,
            s.margin,
            acc.realized_pnl(),
            s.unrealized,
            acc.fees(),
            acc.funding(),
            lev,
        ];
        let cap = self.capacity;
        let buf = Arc::make_mut(&mut self.buf);
        let w = self.width;
        assert!(n < cap && buf.len() == w * cap && w == A + 2 * acc.len() + 1);
        let base = buf.as_mut_ptr();
        // SAFETY: every offset is (column < width) * cap + (n < cap) < width * cap = buf.len(),
        // checked by the assert above.
        unsafe {
            for (k, v) in row.into_iter().enumerate() {
                *base.add(k * cap + n) = v;
            }
            for i in 0..acc.len() {
                let p = acc.position(i);
                *base.add((A + 2 * i) * cap + n) = p.qty;
                *base.add((A + 2 * i + 1) * cap + n) = if p.qty == 0.0 { 0.0 } else { p.entry };
            }
            *base.add((w - 1) * cap + n) = quote;
        }
        self.timestamp.push(timestamp);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.timestamp.len()
    }

    /// Whether no row was recorded.
    pub fn is_empty(&self) -> bool {
        self.timestamp.is_empty()
    }

    /// Makes room for `additional` more rows (so that a run allocates once, not per bar).
    pub fn reserve(&mut self, additional: usize) {
        let need = self.len() + additional;
        if need > self.capacity {
            self.grow(need - self.len());
        }
        self.timestamp.reserve(additional);
        crate::memory::advise_huge(&mut self.timestamp);
    }

    /// Re-lays the buffer out with room for `more` rows beyond the current ones.
    #[cold]
    fn grow(&mut self, more: usize) {
        let n = self.len();
        let cap = (n + more).max(self.capacity);
        // Zeroed by the allocator (fresh pages are not touched until written), with huge pages
        // for long runs: on first touch, a few faults instead of one per 4 KiB.
        let mut next = vec![0.0f64; self.width * cap];
        crate::memory::advise_huge(&mut next);
        for k in 0..self.width {
            next[k * cap..k * cap + n].copy_from_slice(&self.buf[k * self.capacity..][..n]);
        }
        self.buf = Arc::new(next);
        self.capacity = cap;
    }

    /// Number of float columns.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Room per column of the shared buffer.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Float column `k` ([`ACCOUNT_COLUMNS`], position and entry per symbol, [`QUOTE_COLUMN`]).
    pub fn column(&self, k: usize) -> &[f64] {
        &self.buf[k * self.capacity..][..self.len()]
    }

    /// The equity column.
    pub fn equity(&self) -> &[f64] {
        self.column(0)
    }

    /// Symbol `i`'s position column.
    pub fn position(&self, i: usize) -> &[f64] {
        self.column(A + 2 * i)
    }

    /// Symbol `i`'s entry price column (0 when flat).
    pub fn entry(&self, i: usize) -> &[f64] {
        self.column(A + 2 * i + 1)
    }

    /// The shared column-major buffer (`width` columns of `capacity`; the first `len` rows of
    /// each are recorded), for an export without a copy.
    pub fn shared(&self) -> Arc<Vec<f64>> {
        Arc::clone(&self.buf)
    }
}
