//! What the engine records of each recorded step, column by column: the account's figures and,
//! per symbol, the position and its entry price. Users read these columns (`Result.equity`,
//! `Exchange.history()`); nothing rebuilds them from the fill log.
//!
//! The float columns live in one column-major buffer, each column `capacity` long (a run reserves
//! its steps up front, so a row is a few stores at fixed offsets; the room is left uninitialised,
//! never read, so reserving costs nothing per row). An export takes the buffer into an `Arc` and
//! hands numpy a view of its recorded rows without a copy; a later push first copies the data into
//! a fresh buffer (copy on write), so a view never changes.

use std::mem::MaybeUninit;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::LedgerError;
use crate::ledger::Account;
use crate::memory::Pooled;

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

/// The recorded rows (see the module doc). The step times are one more column of the buffer,
/// after the float columns (their bits), so that they come from the pool too: a fresh 4 MB vector
/// per run cost a page fault per page.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(into = "Recorded", from = "Recorded")]
pub struct History {
    /// Rows recorded.
    rows: usize,
    /// Number of float columns.
    width: usize,
    /// Room per column in `buf` (0 while the data is shared: the next push copies it back).
    capacity: usize,
    /// The distance between two columns in the data (`buf`'s or the shared buffer's capacity).
    stride: usize,
    /// Column-major: column `k` is `data[k * stride ..]`, its first `rows` entries recorded
    /// (initialised), the rest room; column `width` holds the step times' bits.
    buf: Pooled,
    /// The data, once handed out for a view (then `buf` is empty).
    shared: Option<Arc<Pooled>>,
}

/// A history as stored (pickled): its recorded rows only, column after column.
#[derive(Clone, Serialize, Deserialize)]
struct Recorded {
    timestamp: Vec<i64>,
    width: usize,
    data: Vec<f64>,
}

impl From<History> for Recorded {
    fn from(h: History) -> Self {
        let data = (0..h.width).flat_map(|k| h.column(k).to_vec()).collect();
        Self {
            timestamp: h.timestamps().to_vec(),
            width: h.width,
            data,
        }
    }
}

impl From<Recorded> for History {
    fn from(r: Recorded) -> Self {
        let n = r.timestamp.len();
        let mut data = r.data;
        data.extend(r.timestamp.iter().map(|&t| f64::from_bits(t as u64)));
        Self {
            buf: Pooled::from(data),
            rows: n,
            width: r.width,
            capacity: n,
            stride: n,
            shared: None,
        }
    }
}

impl PartialEq for History {
    fn eq(&self, other: &Self) -> bool {
        self.timestamps() == other.timestamps()
            && self.width == other.width
            && (0..self.width).all(|k| self.column(k) == other.column(k))
    }
}

impl History {
    /// An empty history for an account of `symbols` symbols.
    pub fn new(symbols: usize) -> Self {
        Self {
            rows: 0,
            width: A + 2 * symbols + 1,
            capacity: 0,
            stride: 0,
            buf: Pooled::empty(),
            shared: None,
        }
    }

    /// Takes over `old`'s buffers, emptied, when this history is still empty.
    pub fn recycle(&mut self, old: History) {
        if self.rows != 0 || old.width != self.width {
            return;
        }
        if old.shared.is_none() {
            self.buf = old.buf;
            self.capacity = old.capacity;
            self.stride = old.stride;
        }
    }

    /// The data (`buf`, or the shared buffer once handed out).
    #[inline]
    fn data(&self) -> &[MaybeUninit<f64>] {
        self.shared.as_deref().map_or(&self.buf, |v| v)
    }

    /// Appends the account's figures at `timestamp`.
    #[inline]
    pub fn push(&mut self, timestamp: i64, acc: &Account, s: &Snapshot) {
        let n = self.rows;
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
        let (cap, w) = (self.capacity, self.width);
        debug_assert!(n < cap && self.buf.len() == (w + 1) * cap && w == A + 2 * acc.len() + 1);
        let base = self.buf.as_mut_ptr();
        // SAFETY: `grow` keeps `buf` at `(width + 1) * capacity` floats and `n < capacity` here;
        // every offset is (column ≤ width) · capacity + n, inside the buffer. The account's symbols
        // are the history's (`width = A + 2 · symbols + 1`, fixed at construction).
        unsafe {
            for (k, v) in row.into_iter().enumerate() {
                *base.add(k * cap + n) = MaybeUninit::new(v);
            }
            for i in 0..acc.len() {
                let p = acc.position(i);
                let entry = if p.qty == 0.0 { 0.0 } else { p.entry };
                *base.add((A + 2 * i) * cap + n) = MaybeUninit::new(p.qty);
                *base.add((A + 2 * i + 1) * cap + n) = MaybeUninit::new(entry);
            }
            *base.add((w - 1) * cap + n) = MaybeUninit::new(quote);
            *base.add(w * cap + n) = MaybeUninit::new(f64::from_bits(timestamp as u64));
        }
        self.rows = n + 1;
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was recorded.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The step time of each row (ns since the epoch).
    pub fn timestamps(&self) -> &[i64] {
        let c = &self.data()[self.width * self.stride..][..self.rows];
        // SAFETY: the first `rows` entries of the time column are recorded (written by `push` as
        // an i64's bits, copied by `relayout`, built by `From<Recorded>`); `MaybeUninit<f64>` and
        // `i64` have the same size and alignment, and every bit pattern is a valid i64.
        unsafe { std::slice::from_raw_parts(c.as_ptr().cast::<i64>(), c.len()) }
    }

    /// The last row's step time.
    pub fn last_timestamp(&self) -> Option<i64> {
        self.timestamps().last().copied()
    }

    /// Makes room for `additional` more rows (so that a run allocates once, not per bar); an
    /// error when they do not fit in the memory available (checked before allocating).
    pub fn reserve(&mut self, additional: usize) -> Result<(), LedgerError> {
        let need = self.len() + additional;
        if need > self.capacity {
            let bytes = (need as u64).saturating_mul(8 * (self.width as u64 + 1));
            crate::memory::ensure("record", "recording every step", bytes)?;
            let next = Pooled::try_new((self.width + 1).saturating_mul(need))?;
            self.relayout(next, need);
        }
        Ok(())
    }

    /// Re-lays the data out in a fresh buffer with room for `more` rows beyond the current ones
    /// (and takes it back from a shared export).
    #[cold]
    fn grow(&mut self, more: usize) {
        let cap = (self.len() + more).max(self.capacity);
        let next = Pooled::new((self.width + 1) * cap);
        self.relayout(next, cap);
    }

    /// Copies the rows into `next` (room for `cap` rows per column) and makes it the buffer.
    fn relayout(&mut self, mut next: Pooled, cap: usize) {
        let n = self.len();
        let (old, stride) = (self.data(), self.stride);
        for k in 0..=self.width {
            next[k * cap..k * cap + n].copy_from_slice(&old[k * stride..][..n]);
        }
        self.buf = next;
        self.shared = None;
        self.capacity = cap;
        self.stride = cap;
    }

    /// Number of float columns.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The distance between two columns in the data (for a strided view of it).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Float column `k` ([`ACCOUNT_COLUMNS`], position and entry per symbol, [`QUOTE_COLUMN`]).
    pub fn column(&self, k: usize) -> &[f64] {
        let c = &self.data()[k * self.stride..][..self.len()];
        // SAFETY: a column's first `len` entries are recorded (written by `push`, copied by
        // `grow`, built by `From<Recorded>`); `MaybeUninit<f64>` has `f64`'s layout.
        unsafe { std::slice::from_raw_parts(c.as_ptr().cast::<f64>(), c.len()) }
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

    /// The column-major data (`width` columns, `stride` apart; the first `len` entries of each
    /// are recorded, the rest uninitialised room: a view must read only those), handed out
    /// without a copy: the history keeps reading it, and copies it into a fresh buffer before it
    /// records again.
    pub fn share(&mut self) -> Arc<Pooled> {
        if let Some(s) = &self.shared {
            return Arc::clone(s);
        }
        let s = Arc::new(std::mem::take(&mut self.buf));
        self.shared = Some(Arc::clone(&s));
        self.capacity = 0;
        s
    }
}
