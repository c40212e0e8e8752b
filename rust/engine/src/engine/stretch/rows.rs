//! A quiet stretch's bars ([`Rows`]) and the band they must stay inside ([`Band`]): the loops
//! that find where a stretch ends, writing each bar's figures as they go or not. The loops that
//! only test the bars ([`Rows::scan`]) take [`LANES`] bars at a time without a
//! branch (compiled for AVX2 where the processor has it), with the same comparisons as one bar at
//! a time; the first bar that leaves the band is found in the lanes' mask.

use std::mem::MaybeUninit;

use crate::engine::history::Room;
use crate::ledger::Marker;
use crate::market::{BarSeries, Times};

/// Asks the processor to bring the cache line where `xs` starts into its cache (a hint, with no
/// effect on any value).
#[inline(always)]
fn prefetch<T>(xs: &[T]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing into the program and cannot fault; SSE is part of every
    // x86-64 processor.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(xs.as_ptr().cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = xs;
}

/// Bars [`Rows::scan`] tests at a time (a cache line of each column).
const LANES: usize = 8;

/// How far ahead [`Rows::ahead`] asks for the columns a stretch's end reads (bars: eight cache
/// lines). Two lines ahead were enough while those rows came from memory at the pace of the scan;
/// with the rows in the shared cache (decision 144) the scan outran them: eight lines ran W2's
/// call in 0.928 (±1.8 %) of the time and W1's in 0.992 (±1.1 %); four lines 1.026 and 1.000 of
/// eight, sixteen 1.001 and 1.002 (decision 146).
const AHEAD: usize = 64;

/// Series from this many bars have every column a stretch's end reads asked for ahead
/// ([`Rows::ahead`]): shorter ones (a Monte Carlo path, 8,760 hourly bars) sit in the core's own
/// cache, where asking for more lines only costs instructions (a first build without this bound
/// ran the balance strategy's Monte Carlo 5-10 % slower, in single runs).
const FAR_ROWS: usize = 1 << 14;

/// What keeps a stretch's bars quiet.
#[derive(Clone, Copy)]
pub(super) struct Band {
    /// Each bar's low above the first and its high below the second.
    pub(super) path: (f64, f64),
    /// Each bar's close strictly inside.
    pub(super) close: (f64, f64),
    /// Each bar's time under this bound, in the times' unit ([`Times::before`]), when `timed`.
    pub(super) before: i64,
    /// An event (funding, expiry, rebate) is ahead: the times are compared with `before`.
    pub(super) timed: bool,
}

impl Band {
    /// Whether a bar of `low`, `high`, `close` at time `ts` stays quiet; `PATH`: its low and high
    /// are compared (false only when the band of the path is every price), `TIMED`: its time is
    /// (false only when no event is ahead), `CLOSE`: its close is (false only when the band of
    /// closes is every price: a checked close is finite, inside it). Every comparison is made,
    /// without a branch, so that the lanes of [`Rows::scan`] vectorise.
    #[inline(always)]
    fn holds<const PATH: bool, const TIMED: bool, const CLOSE: bool>(
        &self,
        low: f64,
        high: f64,
        close: f64,
        ts: i64,
    ) -> bool {
        let ((lo, hi), (clo, chi)) = (self.path, self.close);
        (!PATH | ((low > lo) & (high < hi)))
            & (!CLOSE | ((close > clo) & (close < chi)))
            & (!TIMED | (ts < self.before))
    }

    /// [`Band::holds`] with every comparison the band asks for (the stretch's first bar).
    pub(super) fn admits(&self, low: f64, high: f64, close: f64, ts: i64) -> bool {
        if self.timed {
            self.holds::<true, true, true>(low, high, close, ts)
        } else {
            self.holds::<true, false, true>(low, high, close, ts)
        }
    }

    /// Whether the path can reach something: a band of the path other than every price (else
    /// nothing rests, no liquidation and no watched level is in play, and the lows and highs
    /// need not be read).
    #[inline(always)]
    fn reaches_path(&self) -> bool {
        !(self.path.0 == f64::NEG_INFINITY && self.path.1 == f64::INFINITY)
    }

    /// Whether the band of closes is narrower than every price (else the closes need not be
    /// read to find where a stretch ends).
    #[inline(always)]
    fn reaches_close(&self) -> bool {
        !(self.close.0 == f64::NEG_INFINITY && self.close.1 == f64::INFINITY)
    }
}

/// A block of a stretch's bars.
pub(super) struct Rows<'a> {
    ts: Times<'a>,
    /// The times' raw values from the block's first row to its end (not cut: as `open`).
    stamps: &'a [i64],
    open: &'a [f64],
    low: &'a [f64],
    high: &'a [f64],
    close: &'a [f64],
    /// The closes of the block's rows (not cut: as `open`; the prefetch looks past the stretch
    /// when the band does not read them).
    closes: &'a [f64],
    /// The series is long enough to be read ahead ([`FAR_ROWS`]).
    far: bool,
}

impl<'a> Rows<'a> {
    /// Rows `range` of `bars`.
    #[inline(always)]
    pub(super) fn of(bars: &BarSeries<'a>, range: std::ops::Range<usize>) -> Self {
        Rows {
            ts: bars.ts.slice(range.clone()),
            stamps: &bars.ts.raw()[range.clone()],
            open: &bars.open[range.clone()],
            low: &bars.low[range.clone()],
            high: &bars.high[range.clone()],
            close: &bars.close[range.clone()],
            closes: &bars.close[range],
            far: bars.len() >= FAR_ROWS,
        }
    }

    /// The first `m` times.
    #[inline(always)]
    pub(super) fn ts_to(&self, m: usize) -> Times<'_> {
        self.ts.slice(0..m)
    }

    /// [`Rows::run`] compiled for the band: the lows and highs read only when the path can reach
    /// something ([`Band::reaches_path`]), the times compared only when an event is ahead.
    #[inline(always)]
    pub(super) fn run_any(
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

    /// [`Rows::scan`] compiled for the band (as [`Rows::run_any`]).
    #[inline(always)]
    pub(super) fn scan_any(&self, band: Band) -> usize {
        match (band.reaches_path(), band.timed, band.reaches_close()) {
            (true, true, true) => self.scan::<true, true, true>(band),
            (true, false, true) => self.scan::<true, false, true>(band),
            (false, true, true) => self.scan::<false, true, true>(band),
            (false, false, true) => self.scan::<false, false, true>(band),
            (true, true, false) => self.scan::<true, true, false>(band),
            (true, false, false) => self.scan::<true, false, false>(band),
            (false, true, false) => self.scan::<false, true, false>(band),
            (false, false, false) => self.scan::<false, false, false>(band),
        }
    }

    /// How many of the rows, from the first, stay inside `band` (their figures are made on
    /// another core: engine/fold.rs); the row that ends the stretch is asked for as in
    /// [`Rows::run`].
    #[inline(never)]
    fn scan<const PATH: bool, const TIMED: bool, const CLOSE: bool>(&self, band: Band) -> usize {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked just above).
            return unsafe { self.scan_avx2::<PATH, TIMED, CLOSE>(band) };
        }
        self.scan_lanes::<PATH, TIMED, CLOSE, false>(band)
    }

    /// [`Rows::scan`] compiled for AVX2.
    ///
    /// # Safety
    /// The processor must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scan_avx2<const PATH: bool, const TIMED: bool, const CLOSE: bool>(
        &self,
        band: Band,
    ) -> usize {
        self.scan_lanes::<PATH, TIMED, CLOSE, true>(band)
    }

    /// [`Rows::scan`]'s loop: [`LANES`] bars at a time tested without a branch (the same
    /// comparisons as [`Band::holds`]; `AVX`: in AVX2's lanes, [`Rows::outside_avx2`]), then the
    /// first that fails found in the lanes' mask; the last bars one at a time.
    #[inline(always)]
    fn scan_lanes<const PATH: bool, const TIMED: bool, const CLOSE: bool, const AVX: bool>(
        &self,
        band: Band,
    ) -> usize {
        let len = self.close.len();
        let rows = self.cut(len);
        let mut i = 0;
        while i + LANES <= len {
            #[cfg(target_arch = "x86_64")]
            let out = if AVX {
                // SAFETY: `AVX` is set only by `scan_avx2`, called where the processor has AVX2.
                unsafe { rows.outside_avx2::<PATH, TIMED, CLOSE>(&band, i) }
            } else {
                rows.outside::<PATH, TIMED, CLOSE>(&band, i)
            };
            #[cfg(not(target_arch = "x86_64"))]
            let out = rows.outside::<PATH, TIMED, CLOSE>(&band, i);
            if out != 0 {
                let k = i + out.trailing_zeros() as usize;
                rows.ends::<PATH, CLOSE>(k);
                return k;
            }
            rows.ahead::<PATH, CLOSE>(i);
            i += LANES;
        }
        (i..len)
            .find(|&i| !rows.quiet::<PATH, TIMED, CLOSE>(&band, i))
            .unwrap_or(len)
    }

    /// The first `len` rows, their columns cut to that length once (no bounds check per bar;
    /// the opens and the uncut closes are not: the prefetch looks past the stretch).
    #[inline(always)]
    fn cut(&self, len: usize) -> Rows<'_> {
        Rows {
            ts: self.ts.slice(0..len),
            stamps: self.stamps,
            open: self.open,
            low: &self.low[..len],
            high: &self.high[..len],
            close: &self.close[..len],
            closes: self.closes,
            far: self.far,
        }
    }

    /// Whether bar `i` stays inside `band` (`PATH`: its low and high are compared; `TIMED`: its
    /// time is). The bar that ends the stretch is walked from its open, and the range of the bar
    /// before is kept: the columns the stretch did not read (the open; with a band of closes, the
    /// lows and highs too) are asked for now, to arrive before the walk reads them. A stretch may
    /// end at any bar: the columns the band does not read are asked for [`AHEAD`] bars ahead,
    /// once every [`LANES`] bars ([`Rows::ahead`]).
    #[inline(always)]
    fn quiet<const PATH: bool, const TIMED: bool, const CLOSE: bool>(
        &self,
        band: &Band,
        i: usize,
    ) -> bool {
        let (low, high) = (self.low, self.high);
        let q = band.holds::<PATH, TIMED, CLOSE>(
            if PATH { low[i] } else { 0.0 },
            if PATH { high[i] } else { 0.0 },
            if CLOSE { self.close[i] } else { 0.0 },
            if TIMED { self.ts.raw()[i] } else { 0 },
        );
        if !q {
            self.ends::<PATH, CLOSE>(i);
        } else if i % LANES == 0 {
            self.ahead::<PATH, CLOSE>(i);
        }
        q
    }

    /// Which of the [`LANES`] bars from `i` leave `band` (bit `j`: bar `i + j`), tested without
    /// a branch ([`Band::holds`]).
    #[inline(always)]
    fn outside<const PATH: bool, const TIMED: bool, const CLOSE: bool>(
        &self,
        band: &Band,
        i: usize,
    ) -> u32 {
        let (low, high) = if PATH {
            (&self.low[i..i + LANES], &self.high[i..i + LANES])
        } else {
            (&[0.0; LANES][..], &[0.0; LANES][..])
        };
        let close = if CLOSE {
            &self.close[i..i + LANES]
        } else {
            &[0.0; LANES][..]
        };
        let ts = &self.ts.raw()[i..i + LANES];
        let mut out = 0u32;
        for j in 0..LANES {
            let q = band.holds::<PATH, TIMED, CLOSE>(low[j], high[j], close[j], ts[j]);
            out |= u32::from(!q) << j;
        }
        out
    }

    /// [`Rows::outside`] in AVX2's lanes, four bars to a register: the same comparisons
    /// ([`Band::holds`]: ordered, so a NaN leaves the band as there), with each lane's result
    /// taken by one mask instruction. Written out because the compiler kept the portable lanes'
    /// bit assembly as scalar comparisons (one `vcmpnltsd` per bar in the balance strategy's
    /// band of closes, ~1.7 ns a bar).
    ///
    /// # Safety
    /// The processor must have AVX2; bars `i..i + LANES` are in the rows.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn outside_avx2<const PATH: bool, const TIMED: bool, const CLOSE: bool>(
        &self,
        band: &Band,
        i: usize,
    ) -> u32 {
        use std::arch::x86_64::*;
        let ((lo, hi), (clo, chi)) = (band.path, band.close);
        let mut out = 0u32;
        for h in 0..LANES / 4 {
            let j = i + 4 * h;
            let mut keep = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
            // Each lane: `a` above `lo` and `b` below `hi` (ordered: false at a NaN).
            let inside = |a: &[f64], b: &[f64], lo: f64, hi: f64| {
                let (a, b) = (_mm256_loadu_pd(a.as_ptr()), _mm256_loadu_pd(b.as_ptr()));
                _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_GT_OQ>(a, _mm256_set1_pd(lo)),
                    _mm256_cmp_pd::<_CMP_LT_OQ>(b, _mm256_set1_pd(hi)),
                )
            };
            if PATH {
                let (l, u) = (&self.low[j..j + 4], &self.high[j..j + 4]);
                keep = _mm256_and_pd(keep, inside(l, u, lo, hi));
            }
            if CLOSE {
                let c = &self.close[j..j + 4];
                keep = _mm256_and_pd(keep, inside(c, c, clo, chi));
            }
            if TIMED {
                let t = _mm256_loadu_si256(self.ts.raw()[j..j + 4].as_ptr().cast());
                let early = _mm256_cmpgt_epi64(_mm256_set1_epi64x(band.before), t);
                keep = _mm256_and_pd(keep, _mm256_castsi256_pd(early));
            }
            out |= ((!_mm256_movemask_pd(keep) as u32) & 0xF) << (4 * h);
        }
        out
    }

    /// Bar `i` ends the stretch: the columns its walk reads that the stretch did not (its open
    /// and time; with a band of closes, the lows and highs of it and the bar before; with no
    /// band of closes, the close of the bar before, where the stretch leaves the mark) are asked
    /// for now.
    #[inline(always)]
    fn ends<const PATH: bool, const CLOSE: bool>(&self, i: usize) {
        if !PATH {
            let j = i.saturating_sub(1);
            for col in [self.low, self.high] {
                prefetch(&col[j..]);
                prefetch(&col[i..]);
            }
        }
        prefetch(&self.open[i..]);
        prefetch(&self.stamps[i..]);
        if !CLOSE && self.far {
            prefetch(&self.closes[i.saturating_sub(1)..]);
        }
    }

    /// A stretch may end at any bar: the columns the band does not read, [`AHEAD`] bars
    /// past bar `i`, are asked for (called every [`LANES`] bars). With a band of the path
    /// (`PATH`), the opens and times on any series; on a series too long for the caches
    /// ([`FAR_ROWS`]) also the closes when the band has none (`CLOSE` false), and the opens,
    /// times, lows and highs when it has no band of the path. The stretch's end reads its last
    /// bar's close, time and range: misses there were ~40 % of the step loop's own time in the
    /// harness's grid (W2) and ~57 % in its balance strategy (W1) (perf); with them asked for
    /// ahead, the calls take 0.87-0.91 (W2) and 0.90-0.92 (W1) of the time (decision 137).
    #[inline(always)]
    fn ahead<const PATH: bool, const CLOSE: bool>(&self, i: usize) {
        if PATH {
            if let Some(ahead) = self.open.get(i + AHEAD..) {
                prefetch(ahead);
            }
            if let Some(ahead) = self.stamps.get(i + AHEAD..) {
                prefetch(ahead);
            }
        }
        if !self.far {
            return;
        }
        if !PATH {
            if let Some(ahead) = self.open.get(i + AHEAD..) {
                prefetch(ahead);
            }
            if let Some(ahead) = self.stamps.get(i + AHEAD..) {
                prefetch(ahead);
            }
            for col in [self.low, self.high] {
                if let Some(ahead) = col.get(i + AHEAD..) {
                    prefetch(ahead);
                }
            }
        }
        if let (false, Some(ahead)) = (CLOSE, self.closes.get(i + AHEAD..)) {
            prefetch(ahead);
        }
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
        let quiet = |i: usize| rows.quiet::<PATH, TIMED, true>(&band, i);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Prices on and around the band's edges, NaN among them, in a fixed pseudo-random order.
    fn column(seed: u64, n: usize) -> Vec<f64> {
        let picks = [
            90.0,
            95.0,
            99.0,
            100.0,
            101.0,
            105.0,
            110.0,
            f64::NAN,
            96.5,
            104.0,
        ];
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                picks[(x % picks.len() as u64) as usize]
            })
            .collect()
    }

    fn outside_both<const PATH: bool, const TIMED: bool, const CLOSE: bool>() {
        let n = 64;
        let (open, low, high, close) = (column(1, n), column(2, n), column(3, n), column(4, n));
        let ts: Vec<i64> = (0..n as i64).map(|t| 30 + t * 7 % 23).collect();
        let bars = BarSeries::ohlc(&ts, &open, &high, &low, &close);
        let band = Band {
            path: (95.0, 105.0),
            close: (96.5, 104.0),
            before: 40,
            timed: TIMED,
        };
        let rows = Rows::of(&bars, 0..n);
        for i in (0..=n - LANES).step_by(3) {
            let lanes = rows.outside::<PATH, TIMED, CLOSE>(&band, i);
            let one: u32 = (0..LANES)
                .map(|j| {
                    let k = i + j;
                    u32::from(!band.holds::<PATH, TIMED, CLOSE>(low[k], high[k], close[k], ts[k]))
                        << j
                })
                .sum();
            assert_eq!(lanes, one, "portable lanes at {i}");
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has AVX2; bars i..i + LANES are in the rows.
                let avx = unsafe { rows.outside_avx2::<PATH, TIMED, CLOSE>(&band, i) };
                assert_eq!(avx, one, "AVX2 lanes at {i}");
            }
        }
    }

    /// Every band's lanes, portable and AVX2, find the bars that one bar at a time does.
    #[test]
    fn lanes_agree_with_one_bar_at_a_time() {
        outside_both::<true, true, true>();
        outside_both::<true, false, true>();
        outside_both::<false, true, true>();
        outside_both::<false, false, true>();
        outside_both::<true, true, false>();
        outside_both::<true, false, false>();
        outside_both::<false, true, false>();
        outside_both::<false, false, false>();
    }
}
