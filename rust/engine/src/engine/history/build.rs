//! Building the full columns from the lean rows and the state rows (see the parent module): each
//! value as a full row would have computed it, column by column over each stretch of rows with one
//! state (the constant columns are fills, the others one tight loop each). A long history's columns
//! are built on the cores in parallel: each column is written by one thread with the same
//! arithmetic, so the bits do not depend on the thread count.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::{History, A, MARK, NOTIONAL, UNREALIZED, UNREALIZED_COLUMN};
use crate::memory::{fence, put, Pooled};

/// Values (rows × columns) from which the columns are built in parallel, and written past the
/// caches (8 MB: twice a core's L2 here; a table that size is read from memory anyway).
const PARALLEL_FROM: usize = 1 << 20;

/// Pieces each column is built in, on the cores in parallel.
const PIECES: usize = 4;

impl History {
    /// Builds the full columns: [`History::built_width`] float columns of `rows` each (the
    /// shown ones in order, but `unrealized_pnl`: a view reads the lean column).
    pub(super) fn build(&self) -> Pooled {
        let (n, w) = (self.rows, self.built_width());
        let large = n * w >= PARALLEL_FROM;
        self.build_on(large && !crate::mc::is_forked(), large)
    }

    /// [`History::build`], on the cores in parallel or not, with stores past the caches or not.
    fn build_on(&self, parallel: bool, stream: bool) -> Pooled {
        let (n, w) = (self.rows, self.built_width());
        let mut out = Pooled::new(w * n);
        if n == 0 {
            return out;
        }
        let states: Vec<(usize, &[f64])> = self.state_rows().collect();
        // Each column in pieces of whole cache lines, so that the cores share the work evenly
        // (whole columns left one core a column behind the other).
        let piece = if parallel {
            n.div_ceil(PIECES).next_multiple_of(8)
        } else {
            n
        };
        let column = |(j, from, col): (usize, usize, &mut [MaybeUninit<f64>])| {
            let k = j + (j >= UNREALIZED_COLUMN) as usize;
            if stream {
                self.build_column::<true>(k, from, col, &states);
            } else {
                self.build_column::<false>(k, from, col, &states);
            }
        };
        let pieces = out.chunks_mut(n).enumerate().flat_map(|(j, col)| {
            col.chunks_mut(piece)
                .enumerate()
                .map(move |(p, c)| (j, p * piece, c))
        });
        if parallel {
            pieces.collect::<Vec<_>>().into_par_iter().for_each(column);
        } else {
            pieces.for_each(column);
        }
        out
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
        let (n, w) = (from + col.len(), self.width());
        // The state in force at row `from` (the first state row is row 0's), and those after it.
        let first = states.partition_point(|s| s.0 <= from).saturating_sub(1);
        let (u, no) = (self.lean_column(UNREALIZED), self.lean_column(NOTIONAL));
        let mark = self.inverse.then(|| self.lean_column(MARK));
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
            match k {
                // equity, then the columns that follow from it and the lean rows
                0 => each::<STREAM>(out, |i| wallet + u[i]),
                7 => each::<STREAM>(out, |i| {
                    let (equity, nr) = (wallet + u[i], no[i]);
                    if nr == 0.0 {
                        0.0
                    } else if equity > 0.0 {
                        nr / equity
                    } else {
                        f64::INFINITY
                    }
                }),
                k if k == w - 1 => each::<STREAM>(out, |i| {
                    let equity = wallet + u[i];
                    mark.map_or(equity, |m| equity * m[a + i])
                }),
                // wallet, margin, realized PnL, fees, funding; then position and entry per slot
                1..=3 => fill::<STREAM>(out, st[k - 1]),
                5 | 6 => fill::<STREAM>(out, st[k - 2]),
                k => fill::<STREAM>(out, st[5 + (k - A)]),
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
            let bits = |b: &Pooled| -> Vec<u64> {
                b.iter()
                    .map(|v| unsafe { v.assume_init() }.to_bits())
                    .collect()
            };
            let (par, seq) = (h.build_on(true, true), h.build_on(false, false));
            assert_eq!(bits(&par), bits(&seq), "inverse: {inverse}");
            assert_eq!(h.column(0).len(), rows);
        }
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
