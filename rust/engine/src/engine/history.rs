//! What the engine records of each recorded step, column by column: the account's figures and,
//! per symbol, the position and its entry price. Users read these columns (`Result.equity`,
//! `Exchange.history()`); nothing rebuilds them from the fill log.
//!
//! Recording is lean. Per row the engine writes the step time and the figures that move with the
//! marks (Σ unrealized PnL, Σ notional, and the first symbol's mark in an inverse account); the
//! account's state (wallet, margin, realized PnL, fees, funding, each position and entry) is written
//! as a state row only when it changed since the last row (a fill, funding, a transfer). The
//! full columns are built from these in one pass the first time they are read, with the same
//! arithmetic a full row would have used (the same bits), and kept until the next row. The
//! equity of each row is readable from the lean rows without building them
//! ([`History::for_each_equity`]).
//!
//! The lean columns live in one column-major buffer, each `capacity` long (a run reserves its steps
//! up front; the room is left uninitialised, never read). The built columns are one buffer handed
//! to numpy without a copy (an `Arc`): a later row builds a fresh one, so a view never changes. A
//! column of the state's own with one value on every row is kept as that value (history/build.rs).
//! The step times and Σ unrealized (the `unrealized_pnl` column) are not built again: a view reads
//! them in the lean buffer, shared the same way ([`History::share`]); the next row written takes it
//! back, copying it while a view still holds it.

use std::mem::MaybeUninit;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::error::LedgerError;
use crate::ledger::{Account, Position, PositionSide};
use crate::memory::Pooled;

mod build;
mod lend;

pub use build::{Built, ColumnView};
pub use lend::{LeanColumns, MarkedRows};

/// The account's position slots: one per symbol, two in hedge mode (the longs, then the shorts).
pub fn slots(acc: &Account) -> usize {
    acc.len() * if acc.is_hedge() { 2 } else { 1 }
}

/// Position slot `k` of [`slots`].
#[inline]
fn slot(acc: &Account, k: usize) -> &Position {
    let n = acc.len();
    if k < n {
        acc.position(k)
    } else {
        acc.leg(k - n, PositionSide::Short)
    }
}

/// Names of the account columns, in the order [`History::column`] numbers them; the per-symbol
/// columns follow (`position_<symbol>`, `entry_<symbol>` for each symbol in order; in hedge mode
/// `position_<symbol>_long`, `entry_<symbol>_long` for each, then the same `_short`), then the last
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

/// Lean columns: the step time's bits, Σ unrealized, Σ notional, then (inverse accounts) the first
/// symbol's mark.
const TIME: usize = 0;
const UNREALIZED: usize = 1;
const NOTIONAL: usize = 2;
const MARK: usize = 3;

/// The account column that is the lean Σ unrealized column itself (not built).
const UNREALIZED_COLUMN: usize = 4;

/// The recorded rows (see the module doc).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(into = "Recorded", from = "Recorded")]
pub struct History {
    /// Rows recorded.
    rows: usize,
    /// Symbols of the account.
    symbols: usize,
    /// An inverse account (its quote column needs the mark).
    inverse: bool,
    /// Room per lean column.
    capacity: usize,
    /// The lean columns, column-major, `capacity` apart (empty while `shared` holds them).
    lean: Pooled,
    /// The lean columns once handed out for a view ([`History::share`]): read here until the next
    /// row is written, which takes them back (a copy while a view still holds them).
    shared: Option<Arc<Pooled>>,
    /// State rows, flat: the row index (its bits), then the state values ([`History::state_len`]).
    states: Vec<f64>,
    /// What the state follows from, as of the last state written (bits of the wallet, realized
    /// PnL, fees and funding, then each symbol's position, entry and leverage): a row whose key
    /// is the same has the same state.
    key: Vec<u64>,
    /// The engine's change counter when the key was last compared: while it has not moved,
    /// nothing the state follows from changed (a fill, funding, a transfer all move it).
    seen: u64,
    /// The built columns ([`Built`]), built on first read.
    full: OnceLock<Arc<Built>>,
    /// The lean columns are lent to another thread's writer (history/lend.rs): no lean row is
    /// written or moved here meanwhile.
    lent: bool,
}

/// Free rows of the lean columns ([`History::room`]), each slice as long as the room asked for:
/// the step time's bits, Σ unrealized, Σ notional and (inverse accounts) the first symbol's mark.
pub struct Room<'a> {
    /// The step times' bits.
    pub time: &'a mut [MaybeUninit<f64>],
    /// Σ unrealized PnL.
    pub unrealized: &'a mut [MaybeUninit<f64>],
    /// Σ notional.
    pub notional: &'a mut [MaybeUninit<f64>],
    /// The first symbol's mark (inverse accounts only).
    pub mark: Option<&'a mut [MaybeUninit<f64>]>,
}

/// A history as stored (pickled): its lean rows.
#[derive(Clone, Serialize, Deserialize)]
struct Recorded {
    symbols: usize,
    inverse: bool,
    timestamp: Vec<i64>,
    lean: Vec<f64>,
    states: Vec<f64>,
}

impl From<History> for Recorded {
    fn from(h: History) -> Self {
        let lean = (UNREALIZED..h.lean_width())
            .flat_map(|k| h.lean_column(k).to_vec())
            .collect();
        Self {
            symbols: h.symbols,
            inverse: h.inverse,
            timestamp: h.timestamps().to_vec(),
            lean,
            states: h.states,
        }
    }
}

impl From<Recorded> for History {
    fn from(r: Recorded) -> Self {
        let n = r.timestamp.len();
        let mut h = History::new(r.symbols, r.inverse);
        let mut data: Vec<f64> = r
            .timestamp
            .iter()
            .map(|&t| f64::from_bits(t as u64))
            .collect();
        data.extend_from_slice(&r.lean);
        if data.len() == n * h.lean_width() {
            h.lean = Pooled::from(data);
            h.capacity = n;
            h.rows = n;
            let s = h.state_len();
            if r.states.len() > s && r.states.len() % (s + 1) == 0 {
                // The key is not stored: the next row writes its state again.
                h.states = r.states;
            } else {
                h.rows = 0; // a malformed record: nothing of it is kept
            }
        }
        h
    }
}

impl PartialEq for History {
    fn eq(&self, other: &Self) -> bool {
        self.timestamps() == other.timestamps()
            && self.width() == other.width()
            && (0..self.width()).all(|k| self.column(k) == other.column(k))
    }
}

impl History {
    /// An empty history for an account of `symbols` symbols (`inverse`: an inverse account).
    pub fn new(symbols: usize, inverse: bool) -> Self {
        Self {
            rows: 0,
            symbols,
            inverse,
            capacity: 0,
            lean: Pooled::empty(),
            shared: None,
            states: Vec::new(),
            key: Vec::new(),
            seen: 0,
            full: OnceLock::new(),
            lent: false,
        }
    }

    /// Lean columns per row.
    #[inline]
    fn lean_width(&self) -> usize {
        3 + self.inverse as usize
    }

    /// Values per state: wallet, margin, realized PnL, fees, funding, then position and entry per
    /// symbol.
    #[inline]
    fn state_len(&self) -> usize {
        5 + 2 * self.symbols
    }

    /// Appends the account's figures at `timestamp`; `epoch` is the engine's change counter
    /// (bumped by every fill, funding payment or change to the account's settings).
    #[inline]
    pub fn push(&mut self, timestamp: i64, acc: &Account, epoch: u64) {
        let (unrealized, notional, mark) = self.marked_of(acc);
        self.sync(acc, epoch);
        self.push_marked(timestamp, unrealized, notional, mark);
    }

    /// A row's figures that move with the marks: Σ unrealized PnL, Σ notional, and the first
    /// symbol's mark (NaN unless the account is inverse).
    #[inline]
    fn marked_of(&self, acc: &Account) -> (f64, f64, f64) {
        debug_assert!(slots(acc) == self.symbols);
        let (mut unrealized, mut notional) = (0.0, 0.0);
        for i in 0..acc.len() {
            let (u, x) = acc.position_marked(i);
            unrealized += u;
            notional += x;
        }
        let mark = if self.inverse {
            acc.mark_price(0).unwrap_or(f64::NAN)
        } else {
            f64::NAN
        };
        (unrealized, notional, mark)
    }

    /// Brings the state rows up to the account's state as of the next row (a state row when it
    /// changed since the last one). [`History::push`] does it for each row; a stretch of rows
    /// over which only the marks move does it once and writes them with
    /// [`History::push_marked`].
    #[inline]
    pub fn sync(&mut self, acc: &Account, epoch: u64) {
        if epoch != self.seen || self.key.is_empty() {
            self.seen = epoch;
            if self.state_changed(acc) {
                self.write_state(self.rows, acc);
            }
        } else {
            // The counter's promise, checked in every debug run (the cargo tests).
            debug_assert!(
                !self.state_changed(acc),
                "the state changed without the counter"
            );
        }
        if self.full.get().is_some() {
            self.full = OnceLock::new();
        }
    }

    /// Appends a row of the figures that move with the marks (Σ unrealized PnL and Σ notional
    /// over the account's positions, and in an inverse account the first symbol's mark), the
    /// account's state being the one last brought in by [`History::sync`].
    #[inline(always)]
    pub fn push_marked(&mut self, timestamp: i64, unrealized: f64, notional: f64, mark: f64) {
        debug_assert!(!self.lent, "the lean columns are lent");
        let n = self.rows;
        if n == self.capacity {
            self.grow(n.max(64));
        }
        let cap = self.capacity;
        let base = self.lean_mut().as_mut_ptr();
        // SAFETY: `grow` keeps `lean` at `lean_width * capacity` floats and `n < capacity` here;
        // every offset is (column < lean_width) · capacity + n, inside the buffer.
        unsafe {
            *base.add(TIME * cap + n) = MaybeUninit::new(f64::from_bits(timestamp as u64));
            *base.add(UNREALIZED * cap + n) = MaybeUninit::new(unrealized);
            *base.add(NOTIONAL * cap + n) = MaybeUninit::new(notional);
            if self.inverse {
                *base.add(MARK * cap + n) = MaybeUninit::new(mark);
            }
        }
        self.rows = n + 1;
    }

    /// Room for `n` more rows in the lean columns, grown if needed: a stretch of rows over which
    /// only the marks move writes them here ([`Room`]) and counts them with
    /// [`History::commit`]. Writing through the room's own slices lets the compiler keep the
    /// stretch's figures in registers (a write through the buffer's pointer may alias them).
    #[inline]
    pub fn room(&mut self, n: usize) -> Room<'_> {
        debug_assert!(!self.lent, "the lean columns are lent");
        let rows = self.rows;
        if rows + n > self.capacity {
            self.grow(n.max(64));
        }
        let cap = self.capacity;
        let inverse = self.inverse;
        let (time, rest) = self.lean_mut().split_at_mut(cap);
        let (unrealized, rest) = rest.split_at_mut(cap);
        let (notional, rest) = rest.split_at_mut(cap);
        let end = rows + n;
        Room {
            time: &mut time[rows..end],
            unrealized: &mut unrealized[rows..end],
            notional: &mut notional[rows..end],
            mark: if inverse {
                Some(&mut rest[rows..end])
            } else {
                None
            },
        }
    }

    /// Counts `m` rows written in the last [`History::room`].
    ///
    /// # Safety
    /// The first `m` rows of each column of that room were written (they are read as floats
    /// from now on), and no row was pushed since the room was taken.
    #[inline]
    pub unsafe fn commit(&mut self, m: usize) {
        debug_assert!(self.rows + m <= self.capacity);
        self.rows += m;
    }

    /// Whether the state differs from the last one written (branch-free over the key).
    #[cold]
    fn state_changed(&self, acc: &Account) -> bool {
        let k = &self.key;
        if k.len() != 4 + 3 * self.symbols {
            return true;
        }
        let mut diff = (k[0] ^ acc.wallet_balance().to_bits())
            | (k[1] ^ acc.realized_pnl().to_bits())
            | (k[2] ^ acc.fees().to_bits())
            | (k[3] ^ acc.funding().to_bits());
        for i in 0..self.symbols {
            let p = slot(acc, i);
            diff |= (k[4 + 3 * i] ^ p.qty.to_bits())
                | (k[5 + 3 * i] ^ p.entry.to_bits())
                | (k[6 + 3 * i] ^ acc.leverage(i % acc.len()).to_bits());
        }
        diff != 0
    }

    /// Records the account's state as of row `row` (and its key).
    #[cold]
    fn write_state(&mut self, row: usize, acc: &Account) {
        let mut margin = 0.0;
        for i in 0..acc.len() {
            if !acc.is_flat(i) {
                margin += acc.position_margin(i);
            }
        }
        self.key.clear();
        self.key.extend(
            [
                acc.wallet_balance(),
                acc.realized_pnl(),
                acc.fees(),
                acc.funding(),
            ]
            .map(f64::to_bits),
        );
        self.states.push(f64::from_bits(row as u64));
        self.states.extend([
            acc.wallet_balance(),
            margin,
            acc.realized_pnl(),
            acc.fees(),
            acc.funding(),
        ]);
        for i in 0..self.symbols {
            let p = slot(acc, i);
            self.key.extend([
                p.qty.to_bits(),
                p.entry.to_bits(),
                acc.leverage(i % acc.len()).to_bits(),
            ]);
            self.states
                .extend([p.qty, if p.qty == 0.0 { 0.0 } else { p.entry }]);
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was recorded.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Lean column `k`'s recorded rows.
    #[inline]
    fn lean_column(&self, k: usize) -> &[f64] {
        if self.rows == 0 {
            return &[];
        }
        let c = &self.lean_buffer()[k * self.capacity..][..self.rows];
        // SAFETY: a lean column's first `rows` entries are recorded (written by `push`, copied by
        // `grow`, built by `From<Recorded>`); `MaybeUninit<f64>` has `f64`'s layout.
        unsafe { std::slice::from_raw_parts(c.as_ptr().cast::<f64>(), c.len()) }
    }

    /// The step time of each row (ns since the epoch).
    pub fn timestamps(&self) -> &[i64] {
        let c = self.lean_column(TIME);
        // SAFETY: the time column holds i64 bits; f64 and i64 have the same size and alignment,
        // and every bit pattern is a valid i64.
        unsafe { std::slice::from_raw_parts(c.as_ptr().cast::<i64>(), c.len()) }
    }

    /// The last row's step time.
    pub fn last_timestamp(&self) -> Option<i64> {
        self.timestamps().last().copied()
    }

    /// Calls `f(time, equity)` for each row, in order, without building the columns (the equity
    /// each built row has, to the bit).
    pub fn for_each_equity(&self, mut f: impl FnMut(i64, f64)) {
        let (ts, u) = (self.timestamps(), self.lean_column(UNREALIZED));
        let mut states = self.state_rows().peekable();
        let mut wallet = f64::NAN;
        for r in 0..self.rows {
            while let Some((_, st)) = states.next_if(|&(at, _)| at <= r) {
                wallet = st[0];
            }
            f(ts[r], wallet + u[r]);
        }
    }

    /// The state rows: (row index, state values).
    fn state_rows(&self) -> impl Iterator<Item = (usize, &[f64])> {
        self.states
            .chunks_exact(self.state_len() + 1)
            .map(|c| (c[0].to_bits() as usize, &c[1..]))
    }

    /// Makes room for `additional` more rows (so that a run allocates once, not per bar); an
    /// error when they, and the columns built from them, do not fit in the memory available
    /// (checked before allocating).
    pub fn reserve(&mut self, additional: usize) -> Result<(), LedgerError> {
        let need = self.len() + additional;
        if need > self.capacity {
            let per_row = (self.lean_width() + self.width()) as u64 * 8;
            let bytes = (need as u64).saturating_mul(per_row);
            crate::memory::ensure("record", "recording every step", bytes)?;
            let next = Pooled::try_new(self.lean_width().saturating_mul(need))?;
            self.relayout(next, need);
        }
        Ok(())
    }

    /// Re-lays the lean data out in a fresh buffer with room for `more` rows beyond the current
    /// ones.
    #[cold]
    fn grow(&mut self, more: usize) {
        let cap = (self.len() + more).max(self.capacity);
        let next = Pooled::new(self.lean_width() * cap);
        self.relayout(next, cap);
    }

    /// Copies the lean rows into `next` (room for `cap` rows per column) and makes it the buffer.
    fn relayout(&mut self, mut next: Pooled, cap: usize) {
        // Lent columns are being written by another thread: they never move (the run reserves
        // its rows before it lends them and counts no row past them).
        assert!(!self.lent, "the lean columns are lent");
        let n = self.len();
        for k in 0..self.lean_width() {
            next[k * cap..k * cap + n]
                .copy_from_slice(&self.lean_buffer()[k * self.capacity..][..n]);
        }
        self.lean = next;
        self.shared = None;
        self.capacity = cap;
    }

    /// Number of float columns.
    pub fn width(&self) -> usize {
        A + 2 * self.symbols + 1
    }

    /// Number of float columns a view shows: all of them for an inverse account; a linear
    /// account's [`QUOTE_COLUMN`] is its equity, so it is left out (the last column of a year of
    /// minutes would be 4 MB written for nothing; [`History::column`] gives the equity for it).
    pub fn shown_width(&self) -> usize {
        self.width() - !self.inverse as usize
    }

    /// Number of float columns the built buffer holds: the shown ones but `unrealized_pnl`, which
    /// is the lean Σ unrealized column.
    fn built_width(&self) -> usize {
        self.shown_width() - 1
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

    /// The buffers behind [`History::column`] and [`History::timestamps`], handed out without a
    /// copy: the built columns (a fresh buffer is built after the next row) and the lean ones
    /// (the next row written takes them back, copying them while they are still held). Whatever
    /// those two methods return until the next row points into these buffers.
    pub fn share(&mut self) -> SharedColumns {
        let built = Arc::clone(self.full());
        let lean = Arc::clone(
            self.shared
                .get_or_insert_with(|| Arc::new(std::mem::take(&mut self.lean))),
        );
        SharedColumns { built, lean }
    }

    /// The lean buffer, to read (wherever it is held).
    #[inline]
    fn lean_buffer(&self) -> &Pooled {
        self.shared.as_deref().unwrap_or(&self.lean)
    }

    /// The lean buffer, to write: taken back if it was shared (copied while a view holds it).
    #[inline]
    fn lean_mut(&mut self) -> &mut Pooled {
        if let Some(a) = self.shared.take() {
            self.lean = Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone());
        }
        &mut self.lean
    }
}

/// The buffers a view of the history reads ([`History::share`]); holding them keeps its columns
/// valid and unchanged.
#[derive(Clone, Debug)]
pub struct SharedColumns {
    /// The built columns.
    pub built: Arc<Built>,
    /// The lean columns (the step times, Σ unrealized).
    pub lean: Arc<Pooled>,
}
