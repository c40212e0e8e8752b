//! The lean columns lent to the statistics thread (engine/fold.rs): in a one-symbol run that
//! records every step, the thread that folds the statistics also writes each row's marked figures
//! (its time, Σ unrealized, Σ notional and, in an inverse account, the mark); the run writes the
//! state rows and counts the rows. Nothing else writes a lean row while they are lent.

use std::mem::MaybeUninit;

use super::{History, MARK, NOTIONAL, TIME, UNREALIZED};
use crate::ledger::Account;
use crate::market::Times;

/// Where the rows of the lent lean columns go: each column's start and the room per column.
#[derive(Clone, Copy, Debug)]
pub struct LeanColumns {
    time: *mut MaybeUninit<f64>,
    unrealized: *mut MaybeUninit<f64>,
    notional: *mut MaybeUninit<f64>,
    /// The mark column (inverse accounts).
    mark: Option<*mut MaybeUninit<f64>>,
    cap: usize,
}

impl LeanColumns {
    /// Writes row `k`: its step time (ns), Σ unrealized `u`, Σ notional `x` and the mark `m`
    /// (kept in an inverse account only). False, with nothing written, past the room. Plain
    /// stores (decision 134): the buffer comes from the pool, and the last run that had it may
    /// have left its lines dirty in another core's cache, where a store past the caches waits for
    /// each of them (a grid after two balance runs: 3.1 → 5.1 ms).
    ///
    /// # Safety
    /// The history that lent the columns is alive and has not moved its buffer (it cannot while
    /// they are lent), and no other thread writes or reads row `k` meanwhile.
    #[inline(always)]
    pub unsafe fn write(&self, k: usize, ts: i64, u: f64, x: f64, m: f64) -> bool {
        if k >= self.cap {
            return false;
        }
        self.write_in_room(k, ts, u, x, m);
        true
    }

    /// [`LeanColumns::write`] of a row known to be inside the room (no test).
    ///
    /// # Safety
    /// As [`LeanColumns::write`]; `k` is inside the room.
    #[inline(always)]
    pub unsafe fn write_in_room(&self, k: usize, ts: i64, u: f64, x: f64, m: f64) {
        debug_assert!(k < self.cap);
        *self.time.add(k) = MaybeUninit::new(f64::from_bits(ts as u64));
        self.marked(k, u, x, m);
    }

    /// Rows in the room.
    #[inline(always)]
    pub fn room(&self) -> usize {
        self.cap
    }

    /// Writes `times` (in ns, [`Times::write_ns_bits`]) as the step times of rows
    /// `k..k + times.len()`.
    ///
    /// # Safety
    /// As [`LeanColumns::write`], for the time column; the rows are inside the room.
    #[inline(always)]
    pub unsafe fn write_times(&self, k: usize, times: Times<'_>) {
        debug_assert!(k + times.len() <= self.cap);
        times.write_ns_bits(std::slice::from_raw_parts_mut(
            self.time.add(k),
            times.len(),
        ));
    }

    /// Row `k`'s marked figures; `k` is inside the room.
    ///
    /// # Safety
    /// As [`LeanColumns::write`], for those columns.
    #[inline(always)]
    unsafe fn marked(&self, k: usize, u: f64, x: f64, m: f64) {
        *self.unrealized.add(k) = MaybeUninit::new(u);
        *self.notional.add(k) = MaybeUninit::new(x);
        if let Some(c) = self.mark {
            *c.add(k) = MaybeUninit::new(m);
        }
    }

    /// The marked figures' columns from row `k` to the end of the room (Σ unrealized, Σ
    /// notional, the mark in an inverse account), for a block of quiet rows.
    ///
    /// # Safety
    /// As [`LeanColumns::write`]; no other reference to those rows lives while the slices do.
    #[inline(always)]
    pub unsafe fn marked_from(&self, k: usize) -> MarkedRows<'_> {
        let n = self.cap.saturating_sub(k);
        let k = k.min(self.cap);
        MarkedRows {
            unrealized: std::slice::from_raw_parts_mut(self.unrealized.add(k), n),
            notional: std::slice::from_raw_parts_mut(self.notional.add(k), n),
            mark: self
                .mark
                .map(|c| std::slice::from_raw_parts_mut(c.add(k), n)),
        }
    }
}

/// Rows of the marked figures' lent columns ([`LeanColumns::marked_from`]).
pub struct MarkedRows<'a> {
    /// Σ unrealized PnL.
    pub unrealized: &'a mut [MaybeUninit<f64>],
    /// Σ notional.
    pub notional: &'a mut [MaybeUninit<f64>],
    /// The first symbol's mark (inverse accounts only).
    pub mark: Option<&'a mut [MaybeUninit<f64>]>,
}

impl History {
    /// Lends the lean columns (see the module doc) to a writer on another thread, for the rows of
    /// a run that starts with none: None when rows are recorded already or there is no room
    /// reserved.
    pub(crate) fn lend(&mut self) -> Option<LeanColumns> {
        if self.rows != 0 || self.capacity == 0 || self.lent {
            return None;
        }
        let cap = self.capacity;
        let base = self.lean_mut().as_mut_ptr();
        self.lent = true;
        // SAFETY: the buffer holds `lean_width · capacity` floats; each column starts inside it.
        unsafe {
            Some(LeanColumns {
                time: base.add(TIME * cap),
                unrealized: base.add(UNREALIZED * cap),
                notional: base.add(NOTIONAL * cap),
                mark: self.inverse.then(|| base.add(MARK * cap)),
                cap,
            })
        }
    }

    /// The lent columns are back (their writer finished its rows).
    pub(crate) fn give_back(&mut self) {
        self.lent = false;
    }

    /// While the columns are lent: the next row's marked figures (Σ unrealized, Σ notional, the
    /// first symbol's mark; for the writer), its state row written here when the state changed,
    /// the row counted. None when the row is past the room (nothing counted).
    #[inline]
    pub(crate) fn lent_row(&mut self, acc: &Account, epoch: u64) -> Option<(f64, f64, f64)> {
        debug_assert!(self.lent);
        if self.rows >= self.capacity {
            return None;
        }
        let (u, x, m) = self.marked_of(acc);
        self.sync(acc, epoch);
        self.rows += 1;
        Some((u, x, m))
    }

    /// While the columns are lent: counts `n` rows whose figures the writer writes (the state is
    /// the one last synced). False when they are past the room (nothing counted).
    #[inline]
    pub(crate) fn lent_rows(&mut self, n: usize) -> bool {
        debug_assert!(self.lent);
        if self.rows + n > self.capacity {
            return false;
        }
        self.rows += n;
        true
    }
}
