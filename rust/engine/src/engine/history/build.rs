//! Building the full columns from the lean rows and the state rows (see the parent module): each
//! value as a full row would have computed it, column by column over each stretch of rows with one
//! state (the constant columns are fills, the others one tight loop each). A long history's columns
//! are built on the cores in parallel: each column is written by one thread with the same
//! arithmetic, so the bits do not depend on the thread count. A column of the state's own that has
//! one value on every row (the funding column of a run without funding) is not written out: a view
//! shows that value on every row (decision 136).

use std::mem::MaybeUninit;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use super::{History, A, MARK, NOTIONAL, UNREALIZED, UNREALIZED_COLUMN};
use crate::memory::{fence, put, Pooled};

/// Values (rows × columns) from which the columns are built in parallel, and written past the
/// caches (8 MB: twice a core's L2 here; a table that size is read from memory anyway).
const PARALLEL_FROM: usize = 1 << 20;

/// Pieces each column is built in, on the cores in parallel.
const PIECES: usize = 4;

/// The built columns ([`History::build`]): the shown columns but `unrealized_pnl` (a view reads
/// the lean column), those whose values vary written out in one buffer, those with one value on
/// every row kept as that value.
#[derive(Debug)]
pub struct Built {
    /// The varying columns, `rows` values each, in order.
    data: Pooled,
    /// Where each built column is.
    slots: Vec<Slot>,
    /// The one-value columns written out, on first ask ([`Built::column`]).
    written: Vec<OnceLock<Box<[f64]>>>,
    rows: usize,
}

/// Where a built column is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    /// The `k`-th column of the buffer.
    At(usize),
    /// This value on every row.
    Uniform(f64),
}

/// A column as a view of the history shows it ([`History::column_view`]).
#[derive(Clone, Copy, Debug)]
pub enum ColumnView<'a> {
    /// Its values, one per row.
    Values(&'a [f64]),
    /// This value on every row (the reference lives as long as the values would).
    Uniform(&'a f64),
}

impl Built {
    /// Built column `j`'s values (a one-value column written out the first time).
    fn column(&self, j: usize) -> &[f64] {
        match &self.slots[j] {
            Slot::At(i) => {
                let c = &self.data[i * self.rows..][..self.rows];
                // SAFETY: `build` writes every entry of the varying columns; `MaybeUninit<f64>`
                // has `f64`'s layout.
                unsafe { std::slice::from_raw_parts(c.as_ptr().cast::<f64>(), c.len()) }
            }
            Slot::Uniform(v) => {
                self.written[j].get_or_init(|| vec![*v; self.rows].into_boxed_slice())
            }
        }
    }

    /// Built column `j` as a view shows it.
    fn view(&self, j: usize) -> ColumnView<'_> {
        match &self.slots[j] {
            Slot::Uniform(v) => ColumnView::Uniform(v),
            Slot::At(_) => ColumnView::Values(self.column(j)),
        }
    }
}

impl History {
    /// The built columns (on first read after a row).
    pub(super) fn full(&self) -> &Arc<Built> {
        self.full.get_or_init(|| Arc::new(self.build()))
    }

    /// Float column `k` ([`super::ACCOUNT_COLUMNS`], position and entry per symbol,
    /// [`super::QUOTE_COLUMN`]).
    pub fn column(&self, k: usize) -> &[f64] {
        match self.column_view(k) {
            ColumnView::Values(c) => c,
            ColumnView::Uniform(_) => self.full().column(self.built_index(k)),
        }
    }

    /// Float column `k` as a view shows it: its values, or the one value of a column that has
    /// the same value on every row and is not written out (decision 136).
    pub fn column_view(&self, k: usize) -> ColumnView<'_> {
        if self.rows == 0 {
            return ColumnView::Values(&[]);
        }
        if k == UNREALIZED_COLUMN {
            return ColumnView::Values(self.lean_column(UNREALIZED));
        }
        self.full().view(self.built_index(k))
    }

    /// Where shown column `k` (not `unrealized_pnl`) is among the built ones. A linear account's
    /// quote column is its equity (not built); any other column past the last is out of range.
    fn built_index(&self, k: usize) -> usize {
        let k = if k == self.shown_width() && !self.inverse {
            0
        } else {
            k
        };
        k - (k > UNREALIZED_COLUMN) as usize
    }

    /// The shown column that built column `j` is (the inverse of [`History::built_index`]).
    fn shown_index(j: usize) -> usize {
        j + (j >= UNREALIZED_COLUMN) as usize
    }

    /// The index in a state row of shown column `k`'s value, for the state's own columns
    /// (wallet, margin, realized PnL, fees, funding; position and entry per slot); None for the
    /// columns made per row from the lean ones (equity, effective leverage, the quote column).
    fn state_value(&self, k: usize) -> Option<usize> {
        match k {
            0 | 7 => None,
            k if k == self.width() - 1 => None,
            1..=3 => Some(k - 1),
            5 | 6 => Some(k - 2),
            k => Some(5 + (k - A)),
        }
    }

    /// Where each built column goes: a column of the state's own whose value is the same (the
    /// same bits) in every state in force over the rows is that value; any other the next
    /// column of the buffer.
    fn slots(&self, states: &[(usize, &[f64])]) -> Vec<Slot> {
        let n = self.rows;
        // The states in force over at least one row.
        let covering: Vec<&[f64]> = states
            .iter()
            .enumerate()
            .filter(|&(i, &(at, _))| at < states.get(i + 1).map_or(n, |s| s.0).min(n))
            .map(|(_, &(_, st))| st)
            .collect();
        let mut next = 0;
        (0..self.built_width())
            .map(|j| {
                let k = Self::shown_index(j);
                let one = self.state_value(k).and_then(|s| {
                    let v = covering.first()?[s];
                    covering
                        .iter()
                        .all(|st| st[s].to_bits() == v.to_bits())
                        .then_some(v)
                });
                one.map(Slot::Uniform).unwrap_or_else(|| {
                    next += 1;
                    Slot::At(next - 1)
                })
            })
            .collect()
    }

    /// Builds the columns ([`Built`]).
    pub(super) fn build(&self) -> Built {
        let (n, w) = (self.rows, self.built_width());
        let large = n * w >= PARALLEL_FROM;
        self.build_on(large && !crate::mc::is_forked(), large)
    }

    /// [`History::build`], on the cores in parallel or not, with stores past the caches or not.
    fn build_on(&self, parallel: bool, stream: bool) -> Built {
        let n = self.rows;
        let states: Vec<(usize, &[f64])> = self.state_rows().collect();
        let slots = if n == 0 {
            Vec::new()
        } else {
            self.slots(&states)
        };
        let varying: Vec<usize> = (0..slots.len())
            .filter(|&j| matches!(slots[j], Slot::At(_)))
            .collect();
        let mut data = Pooled::new(varying.len() * n);
        if n > 0 {
            // Each column in pieces of whole cache lines, so that the cores share the work
            // evenly (whole columns left one core a column behind the other).
            let piece = if parallel {
                n.div_ceil(PIECES).next_multiple_of(8)
            } else {
                n
            };
            let column = |(j, from, col): (usize, usize, &mut [MaybeUninit<f64>])| {
                let k = Self::shown_index(j);
                if stream {
                    self.build_column::<true>(k, from, col, &states);
                } else {
                    self.build_column::<false>(k, from, col, &states);
                }
            };
            let pieces = data.chunks_mut(n).zip(varying).flat_map(|(col, j)| {
                col.chunks_mut(piece)
                    .enumerate()
                    .map(move |(p, c)| (j, p * piece, c))
            });
            if parallel {
                pieces.collect::<Vec<_>>().into_par_iter().for_each(column);
            } else {
                pieces.for_each(column);
            }
        }
        Built {
            data,
            written: slots.iter().map(|_| OnceLock::new()).collect(),
            slots,
            rows: n,
        }
    }

    /// Rows `from..` of column `k` of the shown columns (any but `unrealized_pnl`, which is not
    /// built) into `col` (`STREAM`: with [`put`]'s stores past the caches).
    fn build_column<const STREAM: bool>(
        &self,
        k: usize,
        from: usize,
        col: &mut [MaybeUninit<f64>],
        states: &[(usize, &[f64])],
    ) {
        let n = from + col.len();
        // The state in force at row `from` (the first state row is row 0's), and those after it.
        let first = states.partition_point(|s| s.0 <= from).saturating_sub(1);
        let (u, no) = (self.lean_column(UNREALIZED), self.lean_column(NOTIONAL));
        let mark = self.inverse.then(|| self.lean_column(MARK));
        let own = self.state_value(k);
        for (j, &(at, st)) in states.iter().enumerate().skip(first) {
            let (a, to) = (at.max(from), states.get(j + 1).map_or(n, |s| s.0).min(n));
            if to <= a {
                if at >= n {
                    break;
                }
                continue;
            }
            let (out, u, no) = (&mut col[a - from..to - from], &u[a..to], &no[a..to]);
            let wallet = st[0];
            match (own, k) {
                // wallet, margin, realized PnL, fees, funding; position and entry per slot
                (Some(s), _) => fill::<STREAM>(out, st[s]),
                // equity, then the columns that follow from it and the lean rows
                (None, 0) => each::<STREAM>(out, |i| wallet + u[i]),
                (None, 7) => each::<STREAM>(out, |i| {
                    let (equity, nr) = (wallet + u[i], no[i]);
                    if nr == 0.0 {
                        0.0
                    } else if equity > 0.0 {
                        nr / equity
                    } else {
                        f64::INFINITY
                    }
                }),
                (None, _) => each::<STREAM>(out, |i| {
                    let equity = wallet + u[i];
                    mark.map_or(equity, |m| equity * m[a + i])
                }),
            }
        }
        fence::<STREAM>();
    }
}

/// Every entry of `out` set to `v` (by [`put`]; plain stores fill without it).
#[inline(always)]
fn fill<const STREAM: bool>(out: &mut [MaybeUninit<f64>], v: f64) {
    if !STREAM {
        out.fill(MaybeUninit::new(v));
        return;
    }
    each::<STREAM>(out, |_| v);
}

/// Entry `i` of `out` set to `f(i)` (by [`put`]; streamed two at a time where aligned).
#[inline(always)]
fn each<const STREAM: bool>(out: &mut [MaybeUninit<f64>], f: impl Fn(usize) -> f64) {
    #[cfg(target_arch = "x86_64")]
    if STREAM {
        use std::arch::x86_64::{_mm_set_pd, _mm_stream_pd};
        let head = out.as_ptr().align_offset(16).min(out.len());
        let (a, rest) = out.split_at_mut(head);
        for (i, o) in a.iter_mut().enumerate() {
            put::<STREAM>(o, f(i));
        }
        let mut pairs = rest.chunks_exact_mut(2);
        let mut i = head;
        for p in &mut pairs {
            // SAFETY: `p` is two floats starting 16-byte aligned (after `head`).
            unsafe { _mm_stream_pd(p.as_mut_ptr().cast::<f64>(), _mm_set_pd(f(i + 1), f(i))) };
            i += 2;
        }
        for o in pairs.into_remainder() {
            put::<STREAM>(o, f(i));
        }
        return;
    }
    for (i, o) in out.iter_mut().enumerate() {
        put::<STREAM>(o, f(i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Account, Liquidity, PositionSide};
    use crate::Instrument;

    #[test]
    fn the_parallel_streamed_build_has_the_bits_of_the_sequential_one() {
        for inverse in [false, true] {
            let mut inst = Instrument::plain_linear("X", 0.0002, 0.0005);
            if inverse {
                inst.kind = crate::instrument::ContractKind::Inverse;
            }
            let balance = if inverse { 100.0 } else { 1e6 };
            let mut acc = Account::new(vec![inst], balance, 10.0).unwrap();
            let mut h = History::new(1, inverse);
            let rows = PARALLEL_FROM / h.width() + 1_000;
            let mut epoch = 0;
            for r in 0..rows {
                let p = 100.0 + (r as f64 * 0.013).sin() * 5.0;
                acc.set_mark(0, p);
                if r % 997 == 0 {
                    let dq = if r % 2 == 0 { 1.0 } else { -0.5 };
                    acc.fill_leg(0, PositionSide::Both, dq, p, Liquidity::Maker)
                        .unwrap();
                    epoch += 1;
                }
                h.push(r as i64, &acc, epoch);
            }
            let bits = |b: &Built| -> Vec<Vec<u64>> {
                (0..b.slots.len())
                    .map(|j| b.column(j).iter().map(|v| v.to_bits()).collect())
                    .collect()
            };
            let (par, seq) = (h.build_on(true, true), h.build_on(false, false));
            assert_eq!(bits(&par), bits(&seq), "inverse: {inverse}");
            assert_eq!(par.slots, seq.slots);
            assert_eq!(h.column(0).len(), rows);
        }
    }

    #[test]
    fn a_column_with_one_value_on_every_row_is_kept_as_that_value() {
        // Funding is never paid: its column is 0.0 on every row. The position and the wallet
        // (its fee) change at row 10: theirs vary. Each column reads as the full rows would.
        let inst = Instrument::plain_linear("X", 0.0002, 0.0005);
        let mut acc = Account::new(vec![inst], 1e6, 10.0).unwrap();
        let mut h = History::new(1, false);
        let (mut wallet, mut position) = (Vec::new(), Vec::new());
        for r in 0..50 {
            acc.set_mark(0, 100.0 + r as f64);
            let epoch = if r >= 10 { 1 } else { 0 };
            if r == 10 {
                acc.fill_leg(0, PositionSide::Both, 1.0, 110.0, Liquidity::Maker)
                    .unwrap();
            }
            h.push(r, &acc, epoch);
            wallet.push(acc.wallet_balance());
            position.push(acc.position(0).qty);
        }
        let b = h.build_on(false, false);
        let (funding, built_position) = (6 - 1, 8 - 1); // shown columns 6 and 8
        assert_eq!(b.slots[funding], Slot::Uniform(0.0));
        assert!(matches!(b.slots[built_position], Slot::At(_)));
        // Realized PnL too is 0.0 throughout (the fill opens the position): two columns kept as
        // a value.
        let kept = b
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Uniform(_)))
            .count();
        assert_eq!((kept, b.data.len()), (2, (b.slots.len() - 2) * 50));
        assert_eq!(b.slots[3], Slot::Uniform(0.0)); // shown column 3, before unrealized_pnl
        assert!(matches!(h.column_view(6), ColumnView::Uniform(&v) if v == 0.0));
        assert_eq!(h.column(6), &[0.0; 50][..]);
        assert!(matches!(h.column_view(8), ColumnView::Values(_)));
        assert_eq!(h.column(8), &position[..]);
        assert_eq!(h.column(1), &wallet[..]);
        assert_ne!(wallet[9], wallet[10]);
    }

    #[test]
    fn shared_columns_stay_as_they_were_while_rows_are_added() {
        let inst = Instrument::plain_linear("X", 0.0002, 0.0005);
        let mut acc = Account::new(vec![inst], 1e6, 10.0).unwrap();
        let mut h = History::new(1, false);
        h.reserve(100).unwrap();
        let row = |h: &mut History, acc: &mut Account, r: usize, epoch: u64| {
            acc.set_mark(0, 100.0 + r as f64);
            h.push(r as i64, acc, epoch);
        };
        acc.fill_leg(0, PositionSide::Both, 1.0, 100.0, Liquidity::Maker)
            .unwrap();
        for r in 0..100 {
            row(&mut h, &mut acc, r, 1);
        }
        let snapshot = |h: &History| -> Vec<Vec<f64>> {
            let mut cols: Vec<Vec<f64>> =
                (0..h.shown_width()).map(|k| h.column(k).to_vec()).collect();
            cols.push(h.timestamps().iter().map(|&t| t as f64).collect());
            cols
        };
        let shared = h.share();
        let views: Vec<&[f64]> = (0..h.shown_width())
            .map(|k| {
                let c = h.column(k);
                // SAFETY: the buffers `shared` holds outlive these views (checked below).
                unsafe { std::slice::from_raw_parts(c.as_ptr(), c.len()) }
            })
            .collect();
        let before = snapshot(&h);
        assert_eq!(before[UNREALIZED_COLUMN][99], 99.0);
        // More rows than the room reserved (the lean columns move), and a fill.
        for r in 100..1_000 {
            row(&mut h, &mut acc, r, 1);
        }
        acc.fill_leg(0, PositionSide::Both, 1.0, 1_000.0, Liquidity::Maker)
            .unwrap();
        row(&mut h, &mut acc, 1_000, 2);
        let after = snapshot(&h);
        for (k, v) in views.iter().enumerate() {
            assert_eq!(v.to_vec(), before[k], "column {k}");
            assert_eq!(after[k][..100], before[k][..], "column {k}");
            assert_eq!(after[k].len(), 1_001);
        }
        assert_eq!(after[UNREALIZED_COLUMN][999], 999.0);
        drop(shared);
    }
}
