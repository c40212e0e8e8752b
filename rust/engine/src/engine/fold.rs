//! The statistics fold on the second core: in a one-symbol run whose bars are checked on another
//! core ([`super::ahead`]), the checker's thread then folds the equity curve too. The run writes
//! each step's value into a buffer ([`Feed`]) and publishes how far it got; the folder takes the
//! values in order with the bars' own times ([`CurveStats::push_all`]: the same bits as one push
//! per step) and hands its fold back when the run ends. The run's thread no longer folds; the
//! figures are the same, bit for bit (tests/fold.rs holds them to the fold on one thread).
//!
//! Only a strategy that reads no figure while the run goes ([`super::Strategy::figures_unread`])
//! has its fold moved: another's reads the fold as it stands.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::error::LedgerError;
use crate::market::Times;
use crate::memory::Pooled;
use crate::stats::CurveStats;

use super::Engine;

/// The run publishes its values this many at a time (and the rest when it ends): the folder
/// never reads a cache line the run is still writing, and the count it watches changes a few
/// thousand times a year of minutes, not at every step.
const PUBLISH: usize = 512;

/// A counter on a cache line of its own (the run stores it, the folder polls it).
#[repr(align(128))]
#[derive(Default)]
struct Published(AtomicUsize);

/// The buffer between the run and the folder: one value per step, written by the run in order
/// and read by the folder up to what the run published.
pub(super) struct Feed {
    /// The values' room (one per bar of the run).
    room: *mut MaybeUninit<f64>,
    /// Its length.
    cap: usize,
    /// Values written: the run writes only past this, the folder reads only before it.
    published: Published,
    /// The fold the values continue (the engine's when its sink was attached): the folder starts
    /// once it is set.
    start: OnceLock<CurveStats>,
    /// The run ended: no value comes after `published`.
    closed: AtomicBool,
}

// SAFETY: the run's thread writes only the room's values at or after `published` and then
// publishes them with a release store; the folder reads only values before a `published` it
// loaded with acquire. No value is written and read at the same time.
unsafe impl Sync for Feed {}
// SAFETY: the room is a plain buffer of floats, owned by the caller of `Feed::new` for the
// feed's whole life.
unsafe impl Send for Feed {}

impl Feed {
    /// A feed over `room` (one value per bar of the run; the caller keeps it alive and unmoved
    /// while the feed is used).
    pub(super) fn new(room: &mut Pooled) -> Self {
        Self {
            room: room.as_mut_ptr(),
            cap: room.len(),
            published: Published::default(),
            start: OnceLock::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// The run's end to this feed: the sink the engine writes into, starting the fold from
    /// `curve`.
    pub(super) fn sink(&self, curve: &CurveStats) -> Sink {
        let _ = self.start.set(curve.clone());
        let next = self.published.0.load(Ordering::Relaxed);
        Sink {
            feed: self,
            room: self.room,
            cap: self.cap,
            next,
            shown: next,
            broken: false,
            repeat: None,
        }
    }

    /// No more values: the folder (on thread `folder`, woken if asleep) finishes what was
    /// published and returns.
    pub(super) fn close(&self, folder: &std::thread::Thread) {
        self.closed.store(true, Ordering::Release);
        folder.unpark();
    }

    /// Folds the values as they are published, with the times `ts` (row `k`'s time is the time
    /// of value `k`), until the feed is closed; returns the fold, or None when no sink was
    /// attached.
    pub(super) fn fold(&self, ts: Times<'_>) -> Option<CurveStats> {
        let mut spins = 0u32;
        let mut curve = loop {
            // Closed first: a sink attached before the close is seen with it.
            let closed = self.closed.load(Ordering::Acquire);
            if let Some(c) = self.start.get() {
                break c.clone();
            }
            if closed {
                return None;
            }
            wait(&mut spins);
        };
        let mut done = 0usize;
        loop {
            let closed = self.closed.load(Ordering::Acquire);
            let p = self.published.0.load(Ordering::Acquire).min(self.cap);
            if p > done {
                // SAFETY: values before `p` were written and published (see `Sync` above).
                let vals =
                    unsafe { std::slice::from_raw_parts(self.room.add(done).cast(), p - done) };
                curve.push_all(ts.slice(done..p), vals);
                done = p;
                spins = 0;
                continue;
            }
            if closed {
                return Some(curve);
            }
            wait(&mut spins);
        }
    }

    /// The values published (all of them, once the run ended), for a fold on the caller's own
    /// thread when the folder could not give one.
    pub(super) fn published(&self) -> &[f64] {
        let p = self.published.0.load(Ordering::Acquire).min(self.cap);
        // SAFETY: as in `fold`.
        unsafe { std::slice::from_raw_parts(self.room.cast(), p) }
    }
}

/// How long the folder sleeps when it has caught up with the run (the run wakes it when it
/// closes the feed): the run publishes a block every few microseconds, so the folder wakes to a
/// few dozen blocks, folds them in a few microseconds and sleeps again, instead of polling.
const NAP: std::time::Duration = std::time::Duration::from_micros(40);

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

/// Where an engine with its fold on another core puts each step's value.
pub(super) struct Sink {
    feed: *const Feed,
    /// The feed's room and its length (kept here: the feed's own fields share no line with the
    /// run's hot path).
    room: *mut MaybeUninit<f64>,
    cap: usize,
    /// The next value's index (the step's, from 0).
    next: usize,
    /// Values published so far.
    shown: usize,
    /// A value came out of order or past the room: the fold is not the run's (an error at the
    /// run's end, never figures).
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
        // attached it returns ([`super::Engine::detach_fold`]).
        unsafe { &*self.feed }
    }

    /// Room for the `len` values of steps `at..at + len` (the run writes them, then
    /// [`Sink::publish`]es); None when that is not the next room in order.
    #[inline(always)]
    pub(super) fn room(&mut self, at: usize, len: usize) -> Option<&mut [MaybeUninit<f64>]> {
        if at != self.next || at + len > self.cap {
            self.broken = true;
            return None;
        }
        // SAFETY: values at and after `next` are the run's alone (see `Feed`'s `Sync`).
        Some(unsafe { std::slice::from_raw_parts_mut(self.room.add(at), len) })
    }

    /// Values before `to` are written: the folder may take them (a whole number of
    /// [`PUBLISH`] blocks at a time; [`Sink::flush`] shows the rest).
    #[inline(always)]
    pub(super) fn publish(&mut self, to: usize) {
        self.next = to;
        let whole = to - to % PUBLISH;
        if whole > self.shown {
            self.shown = whole;
            self.feed().published.0.store(whole, Ordering::Release);
        }
    }

    /// Shows the folder every value written.
    pub(super) fn flush(&mut self) {
        self.shown = self.next;
        self.feed().published.0.store(self.next, Ordering::Release);
    }

    /// Step `at`'s value `v`.
    #[inline(always)]
    pub(super) fn put(&mut self, at: usize, v: f64) {
        if let Some(r) = self.room(at, 1) {
            r[0].write(v);
            self.publish(at + 1);
        }
    }

    /// Whether every value came in order.
    pub(super) fn check(&self) -> Result<(), LedgerError> {
        if self.broken {
            return Err(LedgerError::invalid(
                "data",
                "the statistics fold lost a step's value (an engine bug: please report it)",
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("next", &self.next).finish()
    }
}

/// An engine's sink, if its fold is on another core. A copy of the engine folds on its own
/// thread: the copy has no sink.
#[derive(Debug, Default)]
pub(super) struct SinkSlot(pub(super) Option<Sink>);

impl Clone for SinkSlot {
    fn clone(&self) -> Self {
        Self(None)
    }
}

impl Engine {
    /// From here on each step's value goes to `feed` instead of this thread's fold.
    pub(super) fn attach_fold(&mut self, feed: &Feed) {
        self.sink.0 = Some(feed.sink(&self.curve));
    }

    /// The run is over: every value it wrote goes to the folder (before the feed closes).
    pub(super) fn flush_fold(&mut self) {
        if let Some(s) = self.sink.0.as_mut() {
            s.flush();
        }
    }

    /// The run that attached `feed` ended (the feed closed): its fold comes back as the engine's,
    /// `folded` by the folder, or here from the published values when the folder gave none; the
    /// steps counted without running are added after it. An error when a value was lost.
    pub(super) fn detach_fold(
        &mut self,
        feed: &Feed,
        folded: Option<CurveStats>,
        ts: Times<'_>,
    ) -> Result<(), LedgerError> {
        let Some(sink) = self.sink.0.take() else {
            return Ok(());
        };
        sink.check()?;
        self.curve = folded.unwrap_or_else(|| {
            let vals = feed.published();
            let mut c = self.curve.clone();
            c.push_all(ts.slice(0..vals.len()), vals);
            c
        });
        if let Some((k, t)) = sink.repeat {
            self.curve.repeat(k, t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(n: usize) -> Vec<i64> {
        (0..n as i64).map(|k| 1_000 + 60 * k).collect()
    }

    /// Values with ups, downs, a repeat and a new peak.
    fn values(n: usize) -> Vec<f64> {
        (0..n)
            .map(|k| 100.0 + ((k * 37 % 101) as f64 - 50.0) / 7.0 + (k / 9) as f64 * 0.01)
            .collect()
    }

    #[test]
    fn the_folder_folds_what_the_sink_gets_as_one_thread_would() {
        let n = 5 * PUBLISH + 77;
        let (ts, vs) = (times(n), values(n));
        let start = CurveStats::new(100.0);
        let mut want = start.clone();
        for (&t, &v) in ts.iter().zip(&vs) {
            want.push(t, v);
        }
        let mut room = Pooled::new(n);
        let feed = Feed::new(&mut room);
        let got = std::thread::scope(|sc| {
            let folder = sc.spawn(|| feed.fold(Times::ns(&ts)));
            let mut sink = feed.sink(&start);
            // One value at a time, then blocks of uneven lengths.
            let mut k = 0;
            while k < n {
                let len = if k < 600 { 1 } else { (k % 300) + 1 }.min(n - k);
                if len == 1 {
                    sink.put(k, vs[k]);
                } else {
                    let r = sink.room(k, len).unwrap();
                    for (j, slot) in r.iter_mut().enumerate() {
                        slot.write(vs[k + j]);
                    }
                    sink.publish(k + len);
                }
                k += len;
            }
            sink.check().unwrap();
            sink.flush();
            feed.close(folder.thread());
            folder.join().unwrap()
        });
        assert_eq!(got, Some(want));
    }

    #[test]
    fn a_value_out_of_order_is_an_error_not_a_figure() {
        let mut room = Pooled::new(8);
        let feed = Feed::new(&mut room);
        let mut sink = feed.sink(&CurveStats::new(1.0));
        sink.put(0, 1.0);
        sink.put(2, 1.0); // step 1 skipped
        assert!(sink.check().is_err());
        let mut sink = feed.sink(&CurveStats::new(1.0));
        assert!(sink.room(0, 9).is_none(), "past the room");
        assert!(sink.check().is_err());
    }

    #[test]
    fn a_feed_closed_without_a_sink_gives_no_fold() {
        let mut room = Pooled::new(4);
        let feed = Feed::new(&mut room);
        feed.close(&std::thread::current());
        assert_eq!(feed.fold(Times::ns(&[1, 2, 3, 4])), None);
    }
}
