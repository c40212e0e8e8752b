//! The bars' rows checked on another core while a run goes ([`super::Inputs::check_deferring`]):
//! the first [`CHECK_ROWS`] rows on the run's own thread, then a checker thread validates
//! [`CHECK_ROWS`] rows at a time and publishes how far it got; the run takes no row the checks
//! have not passed. A bad row stops the run, and the run's caller then
//! gives the error of the whole check (engine/run.rs).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::market::BarSeries;

/// Bars checked at a time (8,192 rows: 320 KB of times and prices).
pub const CHECK_ROWS: usize = 8192;

/// Bars from which a run's checks go to a second core (65,536: about 80 µs of checks). A
/// shorter series is checked before its run: starting the thread would cost about what it
/// hides.
pub const AHEAD_ROWS: usize = 1 << 16;

/// How far the checker got.
#[derive(Debug, Default)]
pub(super) struct Ahead {
    /// Rows checked (all rows before this one keep the rules).
    done: AtomicUsize,
    /// The checker found a bad row (at or after `done`).
    failed: AtomicBool,
    /// The run ended: the checker may stop.
    stop: AtomicBool,
}

impl Ahead {
    /// Checks `bars`, a block at a time from where the checks got, until the end, a bad block or
    /// [`Ahead::stop`]. A check that failed in any way (a panic included) is a bad block: the
    /// run never waits for a checker that stopped.
    pub(super) fn check(&self, bars: &BarSeries<'_>) {
        self.check_to(bars, bars.len());
    }

    /// Checks the first block on the caller's thread, before the checker thread starts: starting
    /// a thread takes longer than checking a block, and the run's first rows would wait for it.
    pub(super) fn check_first(&self, bars: &BarSeries<'_>) {
        self.check_to(bars, CHECK_ROWS.min(bars.len()));
    }

    /// [`Ahead::check`] of the rows before `end`.
    fn check_to(&self, bars: &BarSeries<'_>, end: usize) {
        let all = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.blocks(bars, end)));
        if all.is_err() {
            self.failed.store(true, Ordering::Release);
        }
    }

    /// [`Ahead::check_to`]'s blocks.
    fn blocks(&self, bars: &BarSeries<'_>, n: usize) {
        let mut r = self.done.load(Ordering::Acquire);
        while r < n && !self.stop.load(Ordering::Relaxed) && !self.failed.load(Ordering::Acquire) {
            let end = (r + CHECK_ROWS).min(n);
            // From the row before, for the order of the times.
            if bars.rows(r.saturating_sub(1)..end).validate().is_err() {
                self.failed.store(true, Ordering::Release);
                return;
            }
            self.done.store(end, Ordering::Release);
            r = end;
        }
    }

    /// The rows checked once row `r` is: waits for the checker; None when it found a bad row
    /// at or before `r`.
    pub(super) fn past(&self, r: usize) -> Option<usize> {
        let mut spins = 0u32;
        loop {
            let done = self.done.load(Ordering::Acquire);
            if done > r {
                return Some(done);
            }
            if self.failed.load(Ordering::Acquire) {
                // The checker publishes before it fails: look once more.
                let done = self.done.load(Ordering::Acquire);
                return (done > r).then_some(done);
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// The run ended.
    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
