//! Per-path statistics computed online at each close (no equity history kept): final and minimum
//! equity, maximum drawdown, time under water, and the moments of the step returns.

use crate::matching::Engine;
use crate::record::FillRow;
use crate::strategy::Strategy;

/// Running figures of one equity curve.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CurveStats {
    /// Steps seen.
    pub steps: u64,
    /// Last equity.
    pub last: f64,
    /// Highest equity so far (starts at the initial balance).
    pub peak: f64,
    /// Lowest equity.
    pub min: f64,
    /// Largest drawdown from a peak (a fraction ≤ 0).
    pub max_drawdown: f64,
    /// Steps that closed below the running peak.
    pub under_water: u64,
    /// Σ step returns, Σ squares, Σ squares of the negative ones, and their count.
    pub sum: f64,
    /// Σ r².
    pub sum2: f64,
    /// Σ r² over r < 0.
    pub down2: f64,
    /// Number of step returns.
    pub n: u64,
}

impl CurveStats {
    /// Starts from `initial` equity.
    pub fn new(initial: f64) -> Self {
        Self {
            last: initial,
            peak: initial,
            min: initial,
            ..Self::default()
        }
    }

    /// Adds the equity at a close.
    #[inline]
    pub fn push(&mut self, eq: f64) {
        if self.last > 0.0 {
            let r = eq / self.last - 1.0;
            self.sum += r;
            self.sum2 += r * r;
            if r < 0.0 {
                self.down2 += r * r;
            }
            self.n += 1;
        }
        self.steps += 1;
        self.last = eq;
        if eq > self.peak {
            self.peak = eq;
        } else if eq < self.peak {
            self.under_water += 1;
            if self.peak > 0.0 {
                let dd = eq / self.peak - 1.0;
                if dd < self.max_drawdown {
                    self.max_drawdown = dd;
                }
            }
        }
        if eq < self.min {
            self.min = eq;
        }
    }
}

/// A strategy wrapped so that each close feeds [`CurveStats`] (and, optionally, a kept curve).
pub struct Tracked<'c, S> {
    /// The strategy.
    pub inner: S,
    /// The running figures.
    pub stats: CurveStats,
    /// Equity per step, for the few paths whose curve is kept.
    pub curve: Option<&'c mut Vec<f64>>,
}

impl<S: Strategy> Strategy for Tracked<'_, S> {
    #[inline]
    fn on_fill(&mut self, e: &mut Engine, f: &FillRow) {
        self.inner.on_fill(e, f);
    }

    #[inline]
    fn on_close(&mut self, e: &mut Engine) {
        self.inner.on_close(e);
        let eq = e.account().equity();
        self.stats.push(eq);
        if let Some(c) = self.curve.as_deref_mut() {
            c.push(eq);
        }
    }

    #[inline]
    fn after_close(&mut self, e: &Engine) {
        self.inner.after_close(e);
    }

    #[inline]
    fn watch(&self, symbol: usize) -> (f64, f64) {
        self.inner.watch(symbol)
    }

    #[inline]
    fn on_price(&mut self, e: &mut Engine, symbol: usize, price: f64) {
        self.inner.on_price(e, symbol, price);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawdown_time_under_water_and_returns() {
        let mut s = CurveStats::new(100.0);
        for eq in [110.0, 99.0, 105.0, 120.0, 60.0] {
            s.push(eq);
        }
        assert_eq!(s.steps, 5);
        assert_eq!(s.peak, 120.0);
        assert_eq!(s.min, 60.0);
        assert_eq!(s.max_drawdown, -0.5);
        assert_eq!(s.under_water, 3);
        assert_eq!(s.n, 5);
        assert!(
            (s.sum
                - (0.1 + (99.0 / 110.0 - 1.0) + (105.0 / 99.0 - 1.0) + (120.0 / 105.0 - 1.0)
                    - 0.5))
                .abs()
                < 1e-12
        );
    }
}
