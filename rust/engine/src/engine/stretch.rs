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
use super::{Engine, Strategy};
use crate::ledger::Marker;
use crate::market::BarSeries;

mod rows;

use rows::{Band, Rows};

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
        let k = if self.sink.0.is_some() {
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
