//! The figures of each step on the second core: in a one-symbol run whose bars are checked on
//! another core ([`super::ahead`]), the checker's thread also values the steps, writes their rows
//! and folds the statistics, between its checks (which keep a few blocks past the run, decision
//! 144). The run hands it segments ([`Segment`]): a stretch of quiet bars with the positions and
//! the wallet they are valued with (the run only finds where the stretch ends), or one step that
//! the run valued itself. The folder values each quiet bar at its close
//! exactly as the stretch did ([`Marker`]), writes the rows into the history's lent lean columns
//! when every step is recorded ([`LeanColumns`]), and folds the values with the bars' own times
//! ([`CurveStats::push_all`]: the same bits as one push per step). The figures are the same, bit
//! for bit (tests/fold.rs and tests/deferred.rs hold them to the run on one thread).
//!
//! Only a strategy that reads no figure while the run goes ([`super::Strategy::figures_unread`])
//! hands them over: another's reads the fold and the rows as they stand. The run's own thread
//! writes no row of a quiet stretch (decision 142): it only finds where each stretch ends, and
//! checks a block of bars itself when it catches up with the checks ([`super::ahead`]).

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::Thread;

use super::ahead::Ahead;
use super::history::{LeanColumns, MarkedRows};
use super::Engine;
use crate::error::LedgerError;
use crate::ledger::Marker;
use crate::market::BarSeries;
use crate::stats::CurveStats;

/// Segments the run can be ahead of the folder (it waits when it is this far ahead). The
/// checker's thread checks every bar before it folds, and with the bars coming from memory the
/// checks of a year of minutes outlast 8,192 of W2's segments: the run then waited for room (W2's
/// call 4.55-4.69 → 4.08-4.22 ms in the side-by-side harness's pattern with this ring). 65,536
/// segments of 120 bytes (7.5 MB, touched as far as a run goes; from the pool it measured the
/// same).
const RING: usize = 1 << 16;

/// The run shows the folder its segments this many at a time (and the rest when it ends or waits).
const SHOW: usize = 8;

/// Values the folder folds at a time.
const BLOCK: usize = 256;

/// How long the folder sleeps when it has caught up with the run (the run wakes it when it ends
/// or waits for room): it wakes to a few hundred segments, handles them and sleeps again, instead
/// of polling a core away.
const NAP: std::time::Duration = std::time::Duration::from_micros(40);

/// What the run hands the folder.
#[derive(Clone, Copy, Debug)]
pub(super) enum Segment {
    /// Steps `from..to` (their bars' rows): quiet bars, each valued at its close with `marker`.
    Quiet {
        from: usize,
        to: usize,
        marker: Marker,
    },
    /// Step `at` at time `ts` (ns), valued `v` by the run; `row`: its row's marked figures (Σ
    /// unrealized, Σ notional, the mark) when the folder writes the rows.
    Step {
        at: usize,
        ts: i64,
        v: f64,
        row: Option<(f64, f64, f64)>,
    },
}

/// A counter on a cache line of its own.
#[repr(align(128))]
#[derive(Default)]
struct Counter(AtomicUsize);

/// Where the folder starts: the fold so far, and the lean columns when it writes the rows.
struct Start {
    curve: CurveStats,
    rows: Option<LeanColumns>,
}

/// The ring of segments between the run and the folder.
pub(super) struct Feed {
    /// The ring, made when a sink is attached (a run that keeps its figures needs none).
    ring: OnceLock<Box<[UnsafeCell<MaybeUninit<Segment>>]>>,
    /// Segments published (the run writes only at and after this, modulo the ring).
    head: Counter,
    /// Segments the folder is done with.
    tail: Counter,
    start: OnceLock<Start>,
    /// The folder's thread (the run wakes it).
    folder: OnceLock<Thread>,
    /// No segment comes after `head`.
    closed: AtomicBool,
    /// A segment named a row past the bars or the room: the figures are not the run's.
    broken: AtomicBool,
}

// SAFETY: the run writes only the ring's slots at or after `head` and publishes them with a
// release store; the folder reads only slots before a `head` it loaded with acquire and frees
// them with a release store of `tail`, which the run loads with acquire before writing a slot
// again. The lean columns are written by the folder alone while lent (history/lend.rs).
unsafe impl Sync for Feed {}
// SAFETY: as above; the raw pointers of the lent columns outlive the feed's use (the run gives
// the columns back only after the folder has returned).
unsafe impl Send for Feed {}

impl Default for Feed {
    fn default() -> Self {
        Self {
            ring: OnceLock::new(),
            head: Counter::default(),
            tail: Counter::default(),
            start: OnceLock::new(),
            folder: OnceLock::new(),
            closed: AtomicBool::new(false),
            broken: AtomicBool::new(false),
        }
    }
}

impl Feed {
    /// The run's end: the sink the engine hands its segments to, the fold continuing `curve`,
    /// the rows written into `rows` by the folder when given.
    pub(super) fn sink(&self, curve: &CurveStats, rows: Option<LeanColumns>) -> Sink {
        let ring = self.ring.get_or_init(|| {
            (0..RING)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect()
        });
        let _ = self.start.set(Start {
            curve: curve.clone(),
            rows,
        });
        Sink {
            feed: self,
            ring: ring.as_ptr(),
            head: 0,
            tail: 0,
            shown: 0,
            next: 0,
            rows: rows.is_some(),
            broken: false,
            repeat: None,
        }
    }

    /// No more segments: the folder (woken if asleep) finishes what was published and returns.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake();
    }

    fn wake(&self) {
        if let Some(t) = self.folder.get() {
            t.unpark();
        }
    }

    /// Handles the segments as they are published, on the bars `bars` (row `k` is step `k`),
    /// until the feed is closed, checking the bars' blocks a few past the run between them
    /// ([`Ahead::check_near`]); returns the fold, or None when no sink was attached (then after
    /// checking every block left).
    pub(super) fn fold(&self, bars: &BarSeries<'_>, checks: &Ahead) -> Option<CurveStats> {
        let _ = self.folder.set(std::thread::current());
        let mut spins = 0u32;
        let (mut curve, rows) = loop {
            // Closed first: a sink attached before the close is seen with it.
            let closed = self.closed.load(Ordering::Acquire);
            if let Some(s) = self.start.get() {
                break (s.curve.clone(), s.rows);
            }
            if closed {
                // No figures to make: the checks, all of them.
                checks.check(bars);
                return None;
            }
            checks.check_near(bars);
            wait(&mut spins);
        };
        let Some(ring) = self.ring.get() else {
            return None; // set before the start: never here
        };
        let mut values = [0.0f64; BLOCK];
        let mut done = 0usize;
        loop {
            let closed = self.closed.load(Ordering::Acquire);
            let head = self.head.0.load(Ordering::Acquire);
            if head > done {
                for j in done..head {
                    // SAFETY: slots before `head` were written and published (see `Sync`).
                    let seg = unsafe { (*ring[j % RING].get()).assume_init() };
                    if !self.apply(seg, bars, rows, &mut curve, &mut values) {
                        self.broken.store(true, Ordering::Release);
                    }
                }
                done = head;
                self.tail.0.store(done, Ordering::Release);
                spins = 0;
                checks.check_near(bars);
                continue;
            }
            if closed {
                return Some(curve);
            }
            checks.check_near(bars);
            wait(&mut spins);
        }
    }

    /// One segment: its rows written (when `rows`), its values folded. False when it names a row
    /// past the bars or the room.
    #[inline]
    fn apply(
        &self,
        seg: Segment,
        bars: &BarSeries<'_>,
        rows: Option<LeanColumns>,
        curve: &mut CurveStats,
        values: &mut [f64; BLOCK],
    ) -> bool {
        match seg {
            Segment::Step { at, ts, v, row } => {
                if let (Some(cols), Some((u, x, m))) = (rows, row) {
                    // SAFETY: the columns are lent to this thread (history/lend.rs).
                    if !unsafe { cols.write(at, ts, u, x, m) } {
                        return false;
                    }
                }
                curve.push(ts, v);
                true
            }
            Segment::Quiet { from, to, marker } => {
                if from > to || to > bars.len() || rows.is_some_and(|c| to > c.room()) {
                    return false;
                }
                let mut a = from;
                while a < to {
                    let b = to.min(a + BLOCK);
                    let (close, vals) = (&bars.close[a..b], &mut values[..b - a]);
                    match rows {
                        Some(cols) => {
                            // SAFETY: the columns are lent to this thread (history/lend.rs);
                            // `b <= to` is inside the room (checked above).
                            unsafe {
                                let to = cols.marked_from(a);
                                rows_into(&marker, close, vals, to, b - a);
                                cols.write_times(a, bars.ts.slice(a..b));
                            }
                        }
                        None => values_into(&marker, close, vals),
                    }
                    curve.push_all(bars.ts.slice(a..b), vals);
                    a = b;
                }
                true
            }
        }
    }
}

/// Each bar's equity at its close ([`Marker::equity`] of [`Marker::marked`]) into `values`.
/// Compiled for AVX2 where the processor has it (the same operations, lane by lane: the same
/// bits): the profile-guided build left the portable loop scalar, with the marker's tests inside
/// (W1's folder 8 → 13 % of the call's samples, decision 141).
#[inline(always)]
fn values_into(marker: &Marker, close: &[f64], values: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked just above).
        return unsafe { values_into_avx2(marker, close, values) };
    }
    values_loop(marker, close, values)
}

/// [`values_into`] compiled for AVX2.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn values_into_avx2(marker: &Marker, close: &[f64], values: &mut [f64]) {
    values_loop(marker, close, values)
}

/// [`values_into`]'s loop.
#[inline(always)]
fn values_loop(marker: &Marker, close: &[f64], values: &mut [f64]) {
    for (v, &c) in values.iter_mut().zip(close) {
        *v = marker.equity(marker.marked(c).0);
    }
}

/// [`values_into`] with each bar's row's marked figures written into the first `n` rows of `to`
/// (Σ unrealized, Σ notional and, in an inverse account, the mark: [`Marker::marked`], the
/// close). Compiled for AVX2 where the processor has it, as [`values_into`].
#[inline(always)]
fn rows_into(marker: &Marker, close: &[f64], values: &mut [f64], to: MarkedRows<'_>, n: usize) {
    let (u, x) = (&mut to.unrealized[..n], &mut to.notional[..n]);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked just above).
        unsafe { rows_into_avx2(marker, close, values, u, x) };
    } else {
        rows_loop(marker, close, values, u, x);
    }
    #[cfg(not(target_arch = "x86_64"))]
    rows_loop(marker, close, values, u, x);
    if let Some(m) = to.mark {
        for (o, &c) in m[..n].iter_mut().zip(close) {
            o.write(c);
        }
    }
}

/// [`rows_into`]'s loop compiled for AVX2.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rows_into_avx2(
    marker: &Marker,
    close: &[f64],
    values: &mut [f64],
    u: &mut [MaybeUninit<f64>],
    x: &mut [MaybeUninit<f64>],
) {
    rows_loop(marker, close, values, u, x)
}

/// [`rows_into`]'s loop: each bar's value and marked figures, the same operations as one bar.
#[inline(always)]
fn rows_loop(
    marker: &Marker,
    close: &[f64],
    values: &mut [f64],
    u: &mut [MaybeUninit<f64>],
    x: &mut [MaybeUninit<f64>],
) {
    for (((v, &c), u), x) in values.iter_mut().zip(close).zip(u).zip(x) {
        let (a, b) = marker.marked(c);
        *v = marker.equity(a);
        u.write(a);
        x.write(b);
    }
}

/// Spins a little, then sleeps until woken or for [`NAP`].
#[inline]
fn wait(spins: &mut u32) {
    *spins += 1;
    if *spins < 16 {
        std::hint::spin_loop();
    } else {
        std::thread::park_timeout(NAP);
    }
}

/// Where an engine whose figures are made on another core hands its steps.
pub(super) struct Sink {
    feed: *const Feed,
    /// The feed's ring ([`RING`] slots).
    ring: *const UnsafeCell<MaybeUninit<Segment>>,
    /// Segments written (local copy of what will be published).
    head: usize,
    /// The folder's progress, as last seen.
    tail: usize,
    /// Segments published.
    shown: usize,
    /// The next step (from 0) a segment must start at.
    next: usize,
    /// The folder writes every row.
    rows: bool,
    /// A step came out of order: the figures are not the run's (an error at the run's end).
    broken: bool,
    /// Steps the run counted without running them ([`CurveStats::repeat`]: how many, the last
    /// one's time), for after the fold.
    pub(super) repeat: Option<(u64, i64)>,
}

// SAFETY: a sink is used by the run's thread alone; the feed it points to is `Sync`.
unsafe impl Send for Sink {}
unsafe impl Sync for Sink {}

impl Sink {
    #[inline(always)]
    fn feed(&self) -> &Feed {
        // SAFETY: the feed outlives the sink: the engine drops its sink before the run that
        // attached it returns ([`Engine::detach_fold`]).
        unsafe { &*self.feed }
    }

    /// Whether the rows are lent (the folder writes them): each step's row then goes through
    /// [`Sink::step`].
    #[inline(always)]
    pub(super) fn rows_lent(&self) -> bool {
        self.rows
    }

    /// Steps `from..to`: quiet bars valued with `marker`.
    #[inline]
    pub(super) fn quiet(&mut self, from: usize, to: usize, marker: Marker) {
        if from != self.next || to < from {
            self.broken = true;
            return;
        }
        self.next = to;
        self.push(Segment::Quiet { from, to, marker });
    }

    /// Step `at` at `ts`, valued `v`, with its row's marked figures when the rows are lent (the
    /// folder writes them).
    #[inline]
    pub(super) fn step(&mut self, at: usize, ts: i64, v: f64, row: Option<(f64, f64, f64)>) {
        if at != self.next || row.is_some() != self.rows_lent() {
            self.broken = true;
            return;
        }
        self.next = at + 1;
        self.push(Segment::Step { at, ts, v, row });
    }

    /// A row could not be counted (past the room): the figures are not the run's.
    pub(super) fn lost(&mut self) {
        self.broken = true;
    }

    #[inline(always)]
    fn push(&mut self, seg: Segment) {
        if self.head - self.tail >= RING {
            self.room();
        }
        // SAFETY: the ring has `RING` slots and lives as long as the feed; the slot is free (the
        // folder is done with it) and the folder reads it only once it is published (see
        // `Feed`'s `Sync`).
        unsafe { (*(*self.ring.add(self.head % RING)).get()).write(seg) };
        self.head += 1;
        if self.head - self.shown >= SHOW {
            self.flush();
        }
    }

    /// Waits for the folder to free a slot of the ring.
    #[cold]
    fn room(&mut self) {
        self.flush();
        let mut spins = 0u32;
        loop {
            self.tail = self.feed().tail.0.load(Ordering::Acquire);
            if self.head - self.tail < RING {
                return;
            }
            self.feed().wake();
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Shows the folder every segment written.
    pub(super) fn flush(&mut self) {
        self.shown = self.head;
        self.feed().head.0.store(self.head, Ordering::Release);
    }

    /// Whether every step came in order and was counted.
    pub(super) fn check(&self) -> Result<(), LedgerError> {
        if self.broken {
            return Err(lost());
        }
        Ok(())
    }
}

fn lost() -> LedgerError {
    LedgerError::invalid(
        "data",
        "the run's figures lost a step (an engine bug: please report it)",
    )
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("next", &self.next).finish()
    }
}

/// An engine's sink, if its figures are made on another core. A copy of the engine makes its
/// own: the copy has no sink.
#[derive(Debug, Default)]
pub(super) struct SinkSlot(pub(super) Option<Sink>);

impl Clone for SinkSlot {
    fn clone(&self) -> Self {
        Self(None)
    }
}

impl Engine {
    /// From here on the steps' figures are made on `feed`'s folder (the rows too when every
    /// step is recorded and the history can lend its columns).
    pub(super) fn attach_fold(&mut self, feed: &Feed) {
        let rows = if self.every_step {
            self.history.lend()
        } else {
            None
        };
        if self.every_step && rows.is_none() {
            return; // the rows stay here, and with them the fold
        }
        self.sink.0 = Some(feed.sink(&self.curve, rows));
    }

    /// Whether the steps' figures go to another core.
    pub(super) fn folds_elsewhere(&self) -> bool {
        self.sink.0.is_some()
    }

    /// The run is over: every segment goes to the folder (before the feed closes).
    pub(super) fn flush_fold(&mut self) {
        if let Some(s) = self.sink.0.as_mut() {
            s.flush();
        }
    }

    /// The run that attached `feed` ended and the folder returned `folded` (None: it failed):
    /// its fold becomes the engine's, the lent columns come back, the steps counted without
    /// running are added. An error when a step was lost or the folder failed.
    pub(super) fn detach_fold(
        &mut self,
        feed: &Feed,
        folded: Option<CurveStats>,
    ) -> Result<(), LedgerError> {
        let Some(sink) = self.sink.0.take() else {
            return Ok(());
        };
        self.history.give_back();
        sink.check()?;
        if feed.broken.load(Ordering::Acquire) {
            return Err(lost());
        }
        self.curve = folded.ok_or_else(lost)?;
        if let Some((k, t)) = sink.repeat {
            self.curve.repeat(k, t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
