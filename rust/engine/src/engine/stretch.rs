//! Quiet stretches: in a one-symbol run, a bar that reaches no order, no liquidation, no watched
//! level and nothing its strategy reacts to changes nothing but the mark. A stretch of such bars
//! is run here without the per-step frame (no strategy call, no threshold lookup, no dispatch): the
//! row recorded and the statistics folded exactly as the full step would, until a bar leaves the
//! band or an event (funding, expiry) is due, and the mark is left at the last close. Only the
//! mark moves, so the position and the wallet are read once ([`crate::ledger::Marker`]) and the
//! equity values are folded a block at a time. The rule table, the reference property tests and
//! tests/stretch.rs hold the full step and this one to the same fills and figures, bit for bit.

use std::mem::MaybeUninit;

use super::config::Record;
use super::history::{MarkedRows, Room};
use super::{Engine, Strategy};
use crate::ledger::Marker;
use crate::market::{BarSeries, Times};

/// Bars folded into the statistics at a time by a quiet stretch.
const BLOCK: usize = 256;

impl Engine {
    /// Runs the quiet bars of symbol 0 from row `r` of `bars` whose times are before `limit_ts`;
    /// returns how many it ran (0: row `r` needs the full step).
    #[inline]
    pub(super) fn quiet_stretch<S: Strategy>(
        &mut self,
        bars: &BarSeries<'_>,
        r: usize,
        limit_ts: i64,
        strat: &S,
    ) -> usize {
        let prev = self.cur[0];
        if !self.quiet_stretches
            || self.account.len() != 1
            || bars.mark.is_some()
            || self.expired[0]
            || self.blown
            || !prev.is_finite()
            || self.book.has_pending()
            || !self.book.book(0).trailing.is_empty()
            || !(self.every_step
                || self.config.record == Record::Final
                || (self.config.record == Record::Fills && !self.history.is_empty()))
            || self.config.adl_move > 0.0
        {
            return 0;
        }
        // A strategy that values itself (outside the account) takes the full step.
        let Some(band) = strat.quiet_band(self, 0) else {
            return 0;
        };
        if strat.value(self).is_some() {
            return 0;
        }
        let (down, up) = self.thresholds(0);
        let (wd, wu) = strat.watch(0);
        let lo = down
            .max(band.path.0)
            .max(if wd.is_nan() { f64::NEG_INFINITY } else { wd });
        let hi = up
            .min(band.path.1)
            .min(if wu.is_nan() { f64::INFINITY } else { wu });
        if !(prev > lo && prev < hi) {
            return 0;
        }
        let n = bars.len();
        // Times as given (any unit): "before the limit" is one comparison with a bound in that
        // unit ([`Times::before`]); a time is made nanoseconds only where it is written. With no
        // event ahead (no funding, expiry or rebate to stop at) the times are not compared.
        let before = bars.ts.before(limit_ts);
        let band = Band {
            path: (lo, hi),
            close: band.close,
            before,
            timed: limit_ts != i64::MAX,
        };
        let (ts, low, high, close) = (
            &bars.ts.raw()[..n],
            &bars.low[..n],
            &bars.high[..n],
            &bars.close[..n],
        );
        if !band.admits(low[r], high[r], close[r], ts[r]) {
            return 0;
        }
        // Nothing but the mark changes over the stretch: the legs and the wallet are read once,
        // the state rows brought up to date once, and each bar writes its marked figures (or
        // folds its equity) with the statistics fold held in registers.
        let record = self.every_step;
        if record {
            self.history.sync(&self.account, self.epoch);
        }
        let marker = self.account.marker(0);
        let split = self.sink.0.as_ref().and_then(|s| s.run_columns());
        let k = if let (Some(cols), true) = (split, record) {
            // The rows' marked figures written here; their times, the bars' values and the fold
            // made on another core (engine/fold.rs).
            let step0 = self.steps as usize;
            // SAFETY: the marked figures' columns are lent to this run (history/lend.rs), and the
            // slices end with this block.
            let k = {
                let mut to = unsafe { cols.marked_from(step0) };
                let len = (n - r).min(to.unrealized.len());
                if len == 0 {
                    return 0; // no room: the full step finds it (and the run's check fails)
                }
                r + Rows::of(bars, r..r + len).mark_any(band, &marker, &mut to)
            };
            let counted = self.history.lent_rows(k - r);
            if let Some(s) = self.sink.0.as_mut() {
                s.quiet(step0, step0 + (k - r), marker);
                if !counted {
                    s.lost();
                }
            }
            k
        } else if self.sink.0.is_some() {
            // The bars' figures are made on another core (engine/fold.rs): here only where the
            // stretch ends.
            let k = r + Rows::of(bars, r..n).scan_any(band);
            let step0 = self.steps as usize;
            let counted = !record || self.history.lent_rows(k - r);
            if let Some(s) = self.sink.0.as_mut() {
                s.quiet(step0, step0 + (k - r), marker);
                if !counted {
                    s.lost();
                }
            }
            k
        } else {
            self.stretch_here(bars, r, band, &marker, record)
        };
        let c = close[k - 1];
        self.now = bars.ts.at(k - 1);
        self.steps += (k - r) as u64;
        self.cur[0] = c;
        self.account.set_mark(0, c);
        let before = if k - 1 > r { close[k - 2] } else { prev };
        self.range[0] = (low[k - 1].min(before), high[k - 1].max(before));
        self.recorded = record;
        self.step_fills = self.fills.len();
        k - r
    }

    /// [`Engine::quiet_stretch`]'s bars from row `r` valued, recorded (when `record`) and
    /// folded here, a block at a time; returns the row where the stretch ends.
    fn stretch_here(
        &mut self,
        bars: &BarSeries<'_>,
        r: usize,
        band: Band,
        marker: &Marker,
        record: bool,
    ) -> usize {
        let n = bars.len();
        let history = &mut self.history;
        // The equity of each bar, folded a block at a time (the fold's state in registers); the
        // room is left uninitialised (a stretch that ends at once would clear it for nothing).
        let mut values = [MaybeUninit::<f64>::uninit(); BLOCK];
        let mut k = r;
        while k < n {
            let end = n.min(k + BLOCK);
            let rows = Rows::of(bars, k..end);
            let values = &mut values[..end - k];
            let m = if record {
                let mut room = history.room(end - k);
                let m = rows.run_any(band, marker, Some(&mut room), values);
                // SAFETY: `run` wrote the room's first `m` rows of every column.
                unsafe { history.commit(m) };
                m
            } else {
                rows.run_any(band, marker, None, values)
            };
            // SAFETY: `run` wrote the first `m` values (it writes each bar's before it counts
            // it), and `MaybeUninit<f64>` has the layout of `f64`.
            let ran = unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<f64>(), m) };
            self.curve.push_all(rows.ts_to(m), ran);
            k += m;
            if k < end {
                break;
            }
        }
        k
    }
}

/// Asks the processor to bring the cache line where `xs` starts into its cache (a hint, with no
/// effect on any value).
#[inline(always)]
fn prefetch(xs: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing into the program and cannot fault; SSE is part of every
    // x86-64 processor.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(xs.as_ptr().cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = xs;
}

/// What keeps a stretch's bars quiet.
#[derive(Clone, Copy)]
struct Band {
    /// Each bar's low above the first and its high below the second.
    path: (f64, f64),
    /// Each bar's close strictly inside.
    close: (f64, f64),
    /// Each bar's time under this bound, in the times' unit ([`Times::before`]), when `timed`.
    before: i64,
    /// An event (funding, expiry, rebate) is ahead: the times are compared with `before`.
    timed: bool,
}

impl Band {
    /// Whether a bar of `low`, `high`, `close` at time `ts` stays quiet; `PATH`: its low and high
    /// are compared (false only when the band of the path is every price), `TIMED`: its time is
    /// (false only when no event is ahead).
    #[inline(always)]
    fn holds<const PATH: bool, const TIMED: bool>(
        &self,
        low: f64,
        high: f64,
        close: f64,
        ts: i64,
    ) -> bool {
        let ((lo, hi), (clo, chi)) = (self.path, self.close);
        (!PATH || (low > lo && high < hi))
            && close > clo
            && close < chi
            && (!TIMED || ts < self.before)
    }

    /// [`Band::holds`] with every comparison the band asks for (the stretch's first bar).
    fn admits(&self, low: f64, high: f64, close: f64, ts: i64) -> bool {
        if self.timed {
            self.holds::<true, true>(low, high, close, ts)
        } else {
            self.holds::<true, false>(low, high, close, ts)
        }
    }

    /// Whether the path can reach something: a band of the path other than every price (else
    /// nothing rests, no liquidation and no watched level is in play, and the lows and highs
    /// need not be read).
    #[inline(always)]
    fn reaches_path(&self) -> bool {
        !(self.path.0 == f64::NEG_INFINITY && self.path.1 == f64::INFINITY)
    }
}

/// A block of a stretch's bars.
struct Rows<'a> {
    ts: Times<'a>,
    open: &'a [f64],
    low: &'a [f64],
    high: &'a [f64],
    close: &'a [f64],
}

impl<'a> Rows<'a> {
    /// Rows `range` of `bars`.
    #[inline(always)]
    fn of(bars: &BarSeries<'a>, range: std::ops::Range<usize>) -> Self {
        Rows {
            ts: bars.ts.slice(range.clone()),
            open: &bars.open[range.clone()],
            low: &bars.low[range.clone()],
            high: &bars.high[range.clone()],
            close: &bars.close[range],
        }
    }

    /// The first `m` times.
    #[inline(always)]
    fn ts_to(&self, m: usize) -> Times<'_> {
        self.ts.slice(0..m)
    }

    /// [`Rows::run`] compiled for the band: the lows and highs read only when the path can reach
    /// something ([`Band::reaches_path`]), the times compared only when an event is ahead.
    #[inline(always)]
    fn run_any(
        &self,
        band: Band,
        marker: &Marker,
        room: Option<&mut Room<'_>>,
        values: &mut [MaybeUninit<f64>],
    ) -> usize {
        match (band.reaches_path(), band.timed) {
            (true, true) => self.run::<true, true>(band, marker, room, values),
            (true, false) => self.run::<true, false>(band, marker, room, values),
            (false, true) => self.run::<false, true>(band, marker, room, values),
            (false, false) => self.run::<false, false>(band, marker, room, values),
        }
    }

    /// [`Rows::mark`] compiled for the band (as [`Rows::run_any`]).
    #[inline(always)]
    fn mark_any(&self, band: Band, marker: &Marker, to: &mut MarkedRows<'_>) -> usize {
        match (band.reaches_path(), band.timed) {
            (true, true) => self.mark::<true, true>(band, marker, to),
            (true, false) => self.mark::<true, false>(band, marker, to),
            (false, true) => self.mark::<false, true>(band, marker, to),
            (false, false) => self.mark::<false, false>(band, marker, to),
        }
    }

    /// How many of the rows, from the first, stay inside `band`, each one's marked figures
    /// written into `to` as [`Rows::run`] writes them (its time, value and fold are made on
    /// another core: engine/fold.rs). At most as many rows as `to` has room for.
    #[inline(never)]
    fn mark<const PATH: bool, const TIMED: bool>(
        &self,
        band: Band,
        marker: &Marker,
        to: &mut MarkedRows<'_>,
    ) -> usize {
        let len = self.close.len().min(to.unrealized.len());
        let rows = self.cut(len);
        let close = rows.close;
        let marker = *marker;
        let unrealized: &mut [MaybeUninit<f64>] = &mut to.unrealized[..len];
        let notional: &mut [MaybeUninit<f64>] = &mut to.notional[..len];
        let mut mark = to.mark.as_deref_mut().map(|m| &mut m[..len]);
        for i in 0..len {
            if !rows.quiet::<PATH, TIMED>(&band, i) {
                return i;
            }
            let c = close[i];
            let (u, x) = marker.marked(c);
            unrealized[i].write(u);
            notional[i].write(x);
            if let Some(m) = mark.as_deref_mut() {
                m[i].write(c);
            }
        }
        len
    }

    /// [`Rows::scan`] compiled for the band (as [`Rows::run_any`]).
    #[inline(always)]
    fn scan_any(&self, band: Band) -> usize {
        match (band.reaches_path(), band.timed) {
            (true, true) => self.scan::<true, true>(band),
            (true, false) => self.scan::<true, false>(band),
            (false, true) => self.scan::<false, true>(band),
            (false, false) => self.scan::<false, false>(band),
        }
    }

    /// How many of the rows, from the first, stay inside `band` (their figures are made on
    /// another core: engine/fold.rs); the row that ends the stretch is asked for as in
    /// [`Rows::run`].
    #[inline(never)]
    fn scan<const PATH: bool, const TIMED: bool>(&self, band: Band) -> usize {
        let len = self.close.len();
        let rows = self.cut(len);
        (0..len)
            .find(|&i| !rows.quiet::<PATH, TIMED>(&band, i))
            .unwrap_or(len)
    }

    /// The first `len` rows, their columns cut to that length once (no bounds check per bar;
    /// the opens are not cut: the prefetch looks past the stretch).
    #[inline(always)]
    fn cut(&self, len: usize) -> Rows<'_> {
        Rows {
            ts: self.ts.slice(0..len),
            open: self.open,
            low: &self.low[..len],
            high: &self.high[..len],
            close: &self.close[..len],
        }
    }

    /// Whether bar `i` stays inside `band` (`PATH`: its low and high are compared; `TIMED`: its
    /// time is). The bar that ends the stretch is walked from its open, and the range of the bar
    /// before is kept: the columns the stretch did not read (the open; with a band of closes, the
    /// lows and highs too) are asked for now, to arrive before the walk reads them. A band of the
    /// path may end the stretch at any bar: the opens are asked for two cache lines ahead, one
    /// line every eight bars.
    #[inline(always)]
    fn quiet<const PATH: bool, const TIMED: bool>(&self, band: &Band, i: usize) -> bool {
        let (low, high) = (self.low, self.high);
        let q = band.holds::<PATH, TIMED>(
            if PATH { low[i] } else { 0.0 },
            if PATH { high[i] } else { 0.0 },
            self.close[i],
            if TIMED { self.ts.raw()[i] } else { 0 },
        );
        if !q {
            if !PATH {
                let j = i.saturating_sub(1);
                for col in [low, high] {
                    prefetch(&col[j..]);
                    prefetch(&col[i..]);
                }
            }
            prefetch(&self.open[i..]);
        } else if PATH && i % 8 == 0 {
            if let Some(ahead) = self.open.get(i + 16..) {
                prefetch(ahead);
            }
        }
        q
    }

    /// Runs the block's bars while they stay inside `band` (`PATH`: the lows and highs are
    /// compared; `TIMED`: the times are):
    /// each bar's marked figures go into `room` (when recording) and its equity into `values`.
    /// Returns how many bars it ran. The figures are the full step's ([`Marker::marked`],
    /// [`Marker::equity`]); written through the room's own slices, the position, the wallet and
    /// the band stay in registers. The loop is compiled on its own, away from the step's
    /// register pressure.
    #[inline(never)]
    fn run<const PATH: bool, const TIMED: bool>(
        &self,
        band: Band,
        marker: &Marker,
        room: Option<&mut Room<'_>>,
        values: &mut [MaybeUninit<f64>],
    ) -> usize {
        let len = values.len();
        let rows = self.cut(len);
        let (ts, close) = (rows.ts.raw(), rows.close);
        let marker = *marker;
        let per = self.ts.per();
        let quiet = |i: usize| rows.quiet::<PATH, TIMED>(&band, i);
        match room {
            Some(room) => {
                let time: &mut [MaybeUninit<f64>] = &mut room.time[..len];
                let unrealized: &mut [MaybeUninit<f64>] = &mut room.unrealized[..len];
                let notional: &mut [MaybeUninit<f64>] = &mut room.notional[..len];
                let mut mark = room.mark.as_deref_mut().map(|m| &mut m[..len]);
                for i in 0..len {
                    if !quiet(i) {
                        return i;
                    }
                    let c = close[i];
                    let (u, x) = marker.marked(c);
                    time[i].write(f64::from_bits(ts[i].wrapping_mul(per) as u64));
                    unrealized[i].write(u);
                    notional[i].write(x);
                    if let Some(m) = mark.as_deref_mut() {
                        m[i].write(c);
                    }
                    values[i].write(marker.equity(u));
                }
            }
            None => {
                for i in 0..len {
                    if !quiet(i) {
                        return i;
                    }
                    let (u, _) = marker.marked(close[i]);
                    values[i].write(marker.equity(u));
                }
            }
        }
        len
    }
}
