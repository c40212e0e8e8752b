//! Quiet stretches: in a one-symbol run, a bar that reaches no order, no liquidation, no watched
//! level and nothing its strategy reacts to changes nothing but the mark. A stretch of such bars
//! is run here without the per-step frame (no strategy call, no threshold lookup, no dispatch): the
//! mark is set, the row recorded (or the statistics folded), exactly as the full step would, until a
//! bar leaves the band or an event (funding, expiry) is due. The rule table and the reference
//! property tests hold the full step and this one to the same fills and figures.

use super::config::Record;
use super::{Engine, Strategy};
use crate::market::BarSeries;

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
            || bars.mark.is_some()
            || self.expired[0]
            || self.blown
            || !prev.is_finite()
            || self.book.has_pending()
            || !self.book.book(0).trailing.is_empty()
            || !(self.every_step || self.config.record == Record::Final)
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
        let mut k = r;
        while k < n {
            let t = bars.ts[k];
            if !(bars.low[k] > lo && bars.high[k] < hi && t < limit_ts) {
                break;
            }
            // The full step of a quiet bar, less what cannot happen in it.
            let c = bars.close[k];
            self.now = t;
            self.steps += 1;
            self.cur[0] = c;
            self.account.set_mark(0, c);
            // Every step recorded: the statistics fold the rows when read; else they follow here.
            if self.every_step {
                self.history.push(t, &self.account, self.epoch);
            } else {
                let eq = self.account.equity();
                self.curve.push(t, eq);
            }
            k += 1;
        }
        if k > r {
            let before = if k - 1 > r { bars.close[k - 2] } else { prev };
            self.range[0] = (bars.low[k - 1].min(before), bars.high[k - 1].max(before));
            self.recorded = self.every_step;
            self.step_fills = self.fills.len();
        }
        k - r
    }
}
