//! The index-deviation strategy (docs/strategies.md): short what rose against the basket, long what
//! fell. Each step, per symbol: normalized price n = price / base (base: the first price, or a
//! moving average), index = mean of n, deviation d = n − index, target value
//! −trade_value · round(d / step, 1), traded when it differs from the position's value by more than
//! `min_trade_value`; the basket waits while a symbol has no bar; a stop closes a symbol whose deviation moved past `stop_deviation` against its
//! position and keeps it closed until |d| is back under `reentry_deviation`.

use crate::engine::{Engine, Inputs, Strategy};
use crate::error::LedgerError;
use crate::record::FillReason;

/// The index-deviation strategy over every symbol of the account.
#[derive(Clone, Debug)]
pub struct IndexDeviation {
    /// Value traded per `step` of deviation (quote).
    pub trade_value: f64,
    /// Deviation step (default 0.01).
    pub step: f64,
    /// Trade only when the target differs from the position's value by more than this.
    pub min_trade_value: f64,
    /// Moving-average window of the base (0: the first price).
    pub window: usize,
    /// Close a symbol whose deviation moved past this against its position (NaN: no stop).
    pub stop_deviation: f64,
    /// A stopped symbol trades again once |d| is under this.
    pub reentry_deviation: f64,
    base: Vec<f64>,
    history: Vec<Vec<f64>>,
    stopped: Vec<bool>,
    last_price: Vec<f64>,
    norm: Vec<f64>,
    /// When each stop-out happened (ns), in order (rare: a push per stop, not per step).
    stop_times: Vec<i64>,
}

/// The window of a stop-loss cascade: stops within one day of each other.
pub const CASCADE_WINDOW_NS: i64 = 24 * 3_600_000_000_000;

impl IndexDeviation {
    /// A strategy for `n` symbols.
    pub fn new(
        n: usize,
        trade_value: f64,
        step: f64,
        min_trade_value: f64,
        window: usize,
        stop_deviation: f64,
        reentry_deviation: f64,
    ) -> Self {
        Self {
            trade_value,
            step,
            min_trade_value,
            window,
            stop_deviation,
            reentry_deviation,
            base: vec![f64::NAN; n],
            history: vec![Vec::new(); n],
            stopped: vec![false; n],
            last_price: vec![f64::NAN; n],
            norm: vec![f64::NAN; n],
            stop_times: Vec::new(),
        }
    }

    /// Checks the parameters; the error names the field.
    pub fn validate(&self) -> Result<(), LedgerError> {
        crate::error::positive("trade_value", self.trade_value)?;
        crate::error::positive("step", self.step)?;
        let m = self.min_trade_value;
        if !(m.is_finite() && m >= 0.0) {
            return Err(LedgerError::invalid(
                "min_trade_value",
                format!("must be >= 0, got {m}"),
            ));
        }
        if !self.stop_deviation.is_nan() {
            crate::error::positive("stop_deviation", self.stop_deviation)?;
        }
        if !(self.reentry_deviation.is_nan() || self.reentry_deviation == f64::INFINITY) {
            crate::error::positive("reentry_deviation", self.reentry_deviation)?;
        }
        Ok(())
    }

    /// Whether symbol `i` is stopped out.
    pub fn is_stopped(&self, i: usize) -> bool {
        self.stopped[i]
    }

    /// The most stop-outs within any [`CASCADE_WINDOW_NS`] (a stop-loss cascade: the basket's
    /// symbols stopped one after the other as the market moves together).
    pub fn max_stops_in_window(&self) -> u64 {
        let t = &self.stop_times;
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..t.len() {
            while t[hi] - t[lo] >= CASCADE_WINDOW_NS {
                lo += 1;
            }
            best = best.max(hi + 1 - lo);
        }
        best as u64
    }

    /// Adds the strategy's figures: `stops` (stop-outs) and `max_stops_24h` (the most within one
    /// day).
    pub fn report(&self, stats: &mut crate::stats::RunStats) {
        use crate::stats::Stat;
        stats.set("stops", Stat::U(self.stop_times.len() as u64));
        stats.set("max_stops_24h", Stat::U(self.max_stops_in_window()));
    }
}

/// `round(x, 1)`: to one decimal, halves away from zero (the nudge keeps 12.4999999999 standing
/// for the decimal 12.5 from rounding down).
fn round1(x: f64) -> f64 {
    let t = x * 10.0;
    (t + 1e-9_f64.copysign(t)).round() / 10.0
}

/// `a > b` by more than a relative 1e-9: a deviation equal to the stop is not past it, whatever
/// the float noise.
fn past(a: f64, b: f64) -> bool {
    a > b + 1e-9 * b.abs().max(1e-12)
}

impl Strategy for IndexDeviation {
    fn check_inputs(&self, e: &mut Engine, inputs: &Inputs<'_, '_>) -> Result<(), LedgerError> {
        inputs.check_overlap(e.account(), true)
    }

    fn on_close(&mut self, e: &mut Engine) {
        let n = self.base.len().min(e.account().len());
        // The index needs every live symbol's price at this step: while one has no bar (or no
        // price yet), the basket waits.
        if (0..n).any(|i| !e.is_expired(i) && (e.is_stale(i) || !e.price(i).is_finite())) {
            return;
        }
        // Normalized prices into a buffer kept across steps (no allocation per step).
        let (mut sum, mut count) = (0.0, 0usize);
        for i in 0..n {
            self.norm[i] = f64::NAN;
            let p = e.price(i);
            if !p.is_finite() || e.is_expired(i) {
                continue;
            }
            self.last_price[i] = p;
            let base = if self.window == 0 {
                if self.base[i].is_nan() {
                    self.base[i] = p;
                }
                self.base[i]
            } else {
                let h = &mut self.history[i];
                if h.len() == self.window {
                    h.remove(0);
                }
                h.push(p);
                h.iter().sum::<f64>() / h.len() as f64
            };
            self.norm[i] = p / base;
            sum += self.norm[i];
            count += 1;
        }
        if count == 0 {
            return;
        }
        let index = sum / count as f64;
        for i in 0..n {
            let ni = self.norm[i];
            if ni.is_nan() || e.is_expired(i) {
                continue;
            }
            let d = ni - index;
            let price = self.last_price[i];
            let q = e.account().position(i).qty;
            if self.stopped[i] {
                if past(self.reentry_deviation, d.abs()) {
                    self.stopped[i] = false;
                } else {
                    continue;
                }
            }
            let against = (q < 0.0 && past(d, self.stop_deviation))
                || (q > 0.0 && past(-d, self.stop_deviation));
            let inst = &e.account().instruments()[i];
            let per_unit = inst.unit_value(price);
            if !self.stop_deviation.is_nan() && against {
                self.stopped[i] = true;
                self.stop_times.push(e.now());
                let _ = e.market(i, -q, FillReason::Strategy, self);
                continue;
            }
            let target = -self.trade_value * round1(d / self.step);
            let value = q * per_unit;
            let gap = (target - value).abs();
            // Over the minimum by more than a relative 1e-9: a gap equal to the minimum (common:
            // targets move in steps of trade_value / 10) does not trade, whatever the float noise.
            let tol = 1e-9 * target.abs().max(value.abs()).max(self.min_trade_value);
            if gap > self.min_trade_value + tol {
                let dq = inst.round_qty((target - value) / per_unit);
                if dq != 0.0 {
                    let _ = e.market(i, dq, FillReason::Strategy, self);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cascade_counts_the_stops_within_one_day() {
        let h = 3_600_000_000_000i64;
        let mut s = IndexDeviation::new(3, 100.0, 0.01, 0.0, 0, 0.05, 0.05);
        assert_eq!(s.max_stops_in_window(), 0);
        s.stop_times = vec![0, 10 * h, 23 * h, 24 * h, 30 * h, 80 * h];
        // [0, 24h) holds 3; [10h, 34h) holds 4 (10, 23, 24, 30); a stop 24h after another is
        // in the next window.
        assert_eq!(s.max_stops_in_window(), 4);
        s.stop_times = vec![0, 24 * h, 48 * h];
        assert_eq!(s.max_stops_in_window(), 1);
    }
}
