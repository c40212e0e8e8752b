//! The bars' rows checked on another core while a run goes ([`super::Inputs::check_deferring`]):
//! the rows are checked [`CHECK_ROWS`] at a time, each block by whichever thread claims it first.
//! The helper thread claims block after block, no further than a few blocks past where the run
//! is when it also makes the run's figures ([`Ahead::check_near`], decision 144: the rows are
//! then still in the shared cache when the run and the folder read them); the run claims the
//! next one whenever it would otherwise wait for the checks (the first, before the helper has
//! started; later ones when the helper is late, as after an idle spell, decision 140). The
//! checked prefix is published as blocks complete in order; the run takes no row the checks
//! have not passed. A bad row stops the run, and the run's caller then gives the error of the
//! whole check (engine/run.rs).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::market::BarSeries;

/// Bars checked at a time (8,192 rows: 320 KB of times and prices).
pub const CHECK_ROWS: usize = 8192;

/// Bars from which a run's checks go to a second core (65,536: about 80 µs of checks). A
/// shorter series is checked before its run: starting the thread would cost about what it
/// hides.
pub const AHEAD_ROWS: usize = 1 << 16;

/// How far past the run the helper checks while it also makes the run's figures
/// ([`Ahead::check_near`]): three blocks (24,576 rows, ~1 MB of times and prices), so that the
/// rows the run and the folder read after the checks are still in the cache the cores share.
/// Checked all at once (as before decision 144), the rows had left it by then: the run's scan and
/// the folder read them from memory again. With W1 (the balance strategy on a year of minutes)
/// 8 blocks ran the call in 0.89 of the time, 3 blocks in 0.95 of that, 16 in 1.07; with W2
/// (the grid) 8 blocks 0.95, 3 about the same (decision 144).
const NEAR_ROWS: usize = 3 * CHECK_ROWS;

/// A row counter on a cache line of its own.
#[repr(align(128))]
#[derive(Debug, Default)]
struct At(AtomicUsize);

/// How far the checks got, on the bars of `rows` rows.
#[derive(Debug)]
pub(super) struct Ahead {
    /// Rows checked (all rows before this one keep the rules).
    done: AtomicUsize,
    /// The next block to claim.
    next: AtomicUsize,
    /// Each block's checks passed (a block done out of order waits here for those before it).
    passed: Box<[AtomicBool]>,
    /// The bars' rows.
    rows: usize,
    /// A check found a bad row (at or after `done`).
    failed: AtomicBool,
    /// The run ended: the helper may stop.
    stop: AtomicBool,
    /// Where the run is (a row it has reached; [`Ahead::note`]).
    run_at: At,
}

impl Ahead {
    /// The checks of `rows` rows, none made yet.
    pub(super) fn new(rows: usize) -> Self {
        Self {
            done: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            passed: (0..rows.div_ceil(CHECK_ROWS))
                .map(|_| AtomicBool::new(false))
                .collect(),
            rows,
            failed: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            run_at: At::default(),
        }
    }

    /// Checks blocks of `bars` as they are claimed, until none is left, a check fails or
    /// [`Ahead::stop`] (the helper's part). A check that failed in any way (a panic included)
    /// is a bad block: the run never waits for checks that stopped.
    pub(super) fn check(&self, bars: &BarSeries<'_>) {
        while !self.stop.load(Ordering::Relaxed) && !self.failed.load(Ordering::Acquire) {
            if !self.check_one(bars) {
                return;
            }
        }
    }

    /// Checks blocks (as [`Ahead::check`]) while the next one starts less than [`NEAR_ROWS`]
    /// past where the run is; false once no block is left to check (or the checks stopped).
    pub(super) fn check_near(&self, bars: &BarSeries<'_>) -> bool {
        loop {
            if self.stop.load(Ordering::Relaxed) || self.failed.load(Ordering::Acquire) {
                return false;
            }
            let next = self.next.load(Ordering::Relaxed);
            if next >= self.passed.len() {
                return false;
            }
            let near = self.run_at.0.load(Ordering::Relaxed) + NEAR_ROWS;
            if next * CHECK_ROWS >= near {
                return true;
            }
            if !self.check_one(bars) {
                return false;
            }
        }
    }

    /// The run has reached row `r`.
    #[inline(always)]
    pub(super) fn note(&self, r: usize) {
        self.run_at.0.store(r, Ordering::Relaxed);
    }

    /// Claims the next block and checks it; false when no block was left to claim.
    fn check_one(&self, bars: &BarSeries<'_>) -> bool {
        let b = self.next.fetch_add(1, Ordering::Relaxed);
        if b >= self.passed.len() {
            return false;
        }
        let (from, end) = (b * CHECK_ROWS, ((b + 1) * CHECK_ROWS).min(self.rows));
        // From the row before, for the order of the times.
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            end <= bars.len() && bars.rows(from.saturating_sub(1)..end).validate().is_ok()
        }));
        if !matches!(ok, Ok(true)) {
            self.failed.store(true, Ordering::Release);
            return true;
        }
        self.passed[b].store(true, Ordering::Release);
        self.publish();
        true
    }

    /// Moves the checked prefix past every block passed in order (by either thread).
    fn publish(&self) {
        let mut done = self.done.load(Ordering::Acquire);
        loop {
            let b = done / CHECK_ROWS;
            if done >= self.rows || !self.passed[b].load(Ordering::Acquire) {
                return;
            }
            let end = ((b + 1) * CHECK_ROWS).min(self.rows);
            done = match self
                .done
                .compare_exchange(done, end, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => end,
                Err(now) => now,
            };
        }
    }

    /// The rows checked once row `r` is: checks a block itself while the checks are behind
    /// (`bars`), else waits for the helper; None when a check found a bad row.
    pub(super) fn past(&self, r: usize, bars: &BarSeries<'_>) -> Option<usize> {
        let mut spins = 0u32;
        loop {
            let done = self.done.load(Ordering::Acquire);
            if done > r {
                return Some(done);
            }
            if self.failed.load(Ordering::Acquire) {
                // A block is published before another can fail: look once more.
                let done = self.done.load(Ordering::Acquire);
                return (done > r).then_some(done);
            }
            if self.check_one(bars) {
                continue;
            }
            // Every block is claimed: the helper is checking the one row `r` is in.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` good bars (times a minute apart), the close at `bad` made NaN when given.
    fn bars(n: usize, bad: Option<usize>) -> (Vec<i64>, Vec<f64>, Vec<f64>) {
        let ts: Vec<i64> = (0..n as i64).map(|k| 60 * k).collect();
        let good = vec![100.0; n];
        let mut close = good.clone();
        if let Some(b) = bad {
            close[b] = f64::NAN;
        }
        (ts, good, close)
    }

    /// With no helper at all, the run checks every block it needs itself.
    #[test]
    fn the_run_alone_checks_the_blocks_it_waits_for() {
        let n = 3 * CHECK_ROWS + 17;
        let (ts, p, c) = bars(n, None);
        let b = BarSeries::ohlc(&ts, &p, &p, &p, &c);
        let a = Ahead::new(n);
        assert_eq!(a.past(0, &b), Some(CHECK_ROWS));
        assert_eq!(a.past(CHECK_ROWS + 5, &b), Some(2 * CHECK_ROWS));
        assert_eq!(a.past(n - 1, &b), Some(n));
        assert_eq!(a.next.load(Ordering::Relaxed), 4, "each block checked once");
    }

    /// A bad row stops the rows at its block: the rows before stay checked, its own are not.
    #[test]
    fn a_bad_block_ends_the_checked_rows_before_it() {
        let n = 4 * CHECK_ROWS;
        let (ts, p, c) = bars(n, Some(2 * CHECK_ROWS + 3));
        let b = BarSeries::ohlc(&ts, &p, &p, &p, &c);
        let a = Ahead::new(n);
        assert_eq!(a.past(2 * CHECK_ROWS - 1, &b), Some(2 * CHECK_ROWS));
        assert_eq!(a.past(2 * CHECK_ROWS, &b), None);
        assert_eq!(a.past(n - 1, &b), None);
        // A helper that comes late claims nothing more.
        a.check(&b);
        assert_eq!(a.done.load(Ordering::Relaxed), 2 * CHECK_ROWS);
    }

    /// The helper's paced checks stop a few blocks past where the run is, go on as it moves, and
    /// say when none is left.
    #[test]
    fn the_paced_checks_keep_near_the_run() {
        let n = 10 * CHECK_ROWS + 5;
        let (ts, p, c) = bars(n, None);
        let b = BarSeries::ohlc(&ts, &p, &p, &p, &c);
        let a = Ahead::new(n);
        let near = NEAR_ROWS / CHECK_ROWS;
        assert!(a.check_near(&b), "blocks are left");
        assert_eq!(a.done.load(Ordering::Relaxed), NEAR_ROWS);
        assert!(a.check_near(&b), "nothing more until the run moves");
        assert_eq!(a.next.load(Ordering::Relaxed), near);
        a.note(2 * CHECK_ROWS + 1);
        assert!(a.check_near(&b));
        assert_eq!(a.done.load(Ordering::Relaxed), (near + 3) * CHECK_ROWS);
        a.note(n - 1);
        assert!(!a.check_near(&b), "every block checked");
        assert_eq!(a.done.load(Ordering::Relaxed), n);
        // The run found everything checked.
        assert_eq!(a.past(n - 1, &b), Some(n));
    }

    /// A helper and the run claim blocks at once: every block is checked once, and the rows
    /// come out checked in order.
    #[test]
    fn the_helper_and_the_run_share_the_blocks() {
        let n = 40 * CHECK_ROWS + 1;
        let (ts, p, c) = bars(n, None);
        let b = BarSeries::ohlc(&ts, &p, &p, &p, &c);
        for _ in 0..10 {
            let a = Ahead::new(n);
            std::thread::scope(|sc| {
                sc.spawn(|| a.check(&b));
                let mut r = 0;
                while r < n {
                    let done = a.past(r, &b).expect("good bars");
                    assert!(done > r && done <= n);
                    r = done;
                }
            });
            assert_eq!(a.done.load(Ordering::Relaxed), n);
            assert!(a.passed.iter().all(|p| p.load(Ordering::Relaxed)));
        }
    }
}
