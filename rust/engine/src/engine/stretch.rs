//! Quiet stretches: in a one-symbol run, a bar that reaches no order, no liquidation, no watched
//! level and nothing its strategy reacts to changes nothing but the mark. A stretch of such bars
//! is run here without the per-step frame (no strategy call, no threshold lookup, no dispatch): the
//! row recorded and the statistics folded exactly as the full step would, until a bar leaves the
//! band or an event (funding, expiry) is due, and the mark is left at the last close. Only the
//! mark moves, so the position and the wallet are read once ([`crate::ledger::Marker`]) and the
//! equity values are folded a block at a time. The rule table, the reference property tests and
//! tests/stretch.rs hold the full step and this one to the same fills and figures, bit for bit.

use super::config::Record;
use super::{Engine, Strategy};
use crate::market::BarSeries;

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
        let Some((band_lo, band_hi)) = strat.quiet_band(self, 0) else {
            return 0;
        };
        if strat.value(self).is_some() {
            return 0;
        }
        let (down, up) = self.thresholds(0);
        let (wd, wu) = strat.watch(0);
        let lo = down
            .max(band_lo)
            .max(if wd.is_nan() { f64::NEG_INFINITY } else { wd });
        let hi = up
            .min(band_hi)
            .min(if wu.is_nan() { f64::INFINITY } else { wu });
        if !(prev > lo && prev < hi) {
            return 0;
        }
        let n = bars.len();
        let (ts, low, high, close) = (
            &bars.ts[..n],
            &bars.low[..n],
            &bars.high[..n],
            &bars.close[..n],
        );
        let quiet = |k: usize| low[k] > lo && high[k] < hi && ts[k] < limit_ts;
        if !quiet(r) {
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
        let history = &mut self.history;
        // The equity of each bar, folded a block at a time (the fold's state in registers).
        let mut values = [0.0f64; BLOCK];
        let mut k = r;
        let mut open = true;
        while open && k < n {
            let start = k;
            let end = n.min(k + BLOCK);
            while k < end {
                if !quiet(k) {
                    open = false;
                    break;
                }
                // The full step of a quiet bar, less what cannot happen in it.
                let c = close[k];
                let (u, x) = marker.marked(c);
                if record {
                    history.push_marked(ts[k], u, x, c);
                }
                values[k - start] = marker.equity(u);
                k += 1;
            }
            self.curve.push_all(&ts[start..k], &values[..k - start]);
        }
        let c = close[k - 1];
        self.now = ts[k - 1];
        self.steps += (k - r) as u64;
        self.cur[0] = c;
        self.account.set_mark(0, c);
        let before = if k - 1 > r { close[k - 2] } else { prev };
        self.range[0] = (low[k - 1].min(before), high[k - 1].max(before));
        self.recorded = record;
        self.step_fills = self.fills.len();
        k - r
    }
}
