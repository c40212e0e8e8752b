//! The statistics engine: one set of figures for every run, whether it is a backtest, a row of a
//! sweep or a Monte Carlo path. The equity curve is folded online at each step ([`CurveStats`]:
//! no history needed), and [`RunStats`] turns the fold and the account's totals into the figures
//! users read. Nothing here knows the engine: it takes numbers.
//!
//! Definitions (docs/decisions.md): step returns r = e_k / e_{k−1} − 1 from the initial balance
//! on (a step after a non-positive equity has no return); Sharpe = mean(r) / sd(r) (n − 1) ·
//! √(steps per year); Sortino = mean(r) / √(Σ min(r, 0)² / n) · √(steps per year); a year is 365
//! days; steps per year = 1 / the mean interval between steps (the observations a year really
//! has, gaps included); CAGR over the run's span (first step's open to the last step's close:
//! last − first + one mean interval); drawdowns from the running peak of the equity, the initial
//! balance included; Calmar = CAGR / |max drawdown|. The fold is O(1) per step, no allocation.

use serde::{Deserialize, Serialize};

mod lanes;
use lanes::Lanes;

use crate::market::Times;

/// Nanoseconds in a year of 365 days (crypto trades every day).
pub const YEAR_NS: f64 = 365.0 * 86_400e9;

/// Partial sums of the returns' fold (see [`CurveStats::sum`]).
pub const LANES: usize = 4;

/// The total of a fold's partial sums, added in one fixed order.
#[inline]
pub fn lanes_total(l: &[f64; LANES]) -> f64 {
    (l[0] + l[1]) + (l[2] + l[3])
}

/// An online fold of an equity curve (see the module doc).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CurveStats {
    /// The value the curve starts from (the initial balance).
    pub initial: f64,
    /// Steps seen.
    pub steps: u64,
    /// First and last step times (ns).
    pub first_ts: i64,
    /// Last step time (ns).
    pub last_ts: i64,
    /// Last value.
    pub last: f64,
    /// Highest value so far (the initial included) and when it was first reached.
    pub peak: f64,
    /// When the peak was first reached.
    pub peak_ts: i64,
    /// Lowest value (the initial included).
    pub min: f64,
    /// Largest fall from a peak (a fraction ≤ 0).
    pub max_drawdown: f64,
    /// When the peak of the largest drawdown was reached, and its trough.
    pub drawdown_start: i64,
    /// The trough of the largest drawdown.
    pub drawdown_end: i64,
    /// Steps that ended below the running peak.
    pub under_water: u64,
    /// Σ r, in [`LANES`] partial sums: return number `j` (from 0) adds to lane `j % LANES`, so
    /// that a block of returns folds in vector lanes with the bits of one-by-one pushes.
    pub sum: [f64; LANES],
    /// Σ r², in lanes as `sum`.
    pub sum2: [f64; LANES],
    /// Σ r² over r < 0, in lanes as `sum`.
    pub down2: [f64; LANES],
    /// Number of returns.
    pub n: u64,
}

impl CurveStats {
    /// A fold starting from `initial`.
    pub fn new(initial: f64) -> Self {
        Self {
            initial,
            last: initial,
            peak: initial,
            min: initial,
            ..Self::default()
        }
    }

    /// Adds the value `v` at the end of the step at `ts`.
    #[inline(always)]
    pub fn push(&mut self, ts: i64, v: f64) {
        if self.steps == 0 {
            self.first_ts = ts;
            self.peak_ts = ts;
            self.drawdown_start = ts;
            self.drawdown_end = ts;
        }
        self.last_ts = ts;
        self.steps += 1;
        if v == self.last {
            // Nothing moved (a quiet step): r = 0 changes no sum, no peak, no drawdown.
            if v > 0.0 {
                self.n += 1;
            }
            if v < self.peak {
                self.under_water += 1;
            }
            return;
        }
        if self.last > 0.0 {
            let r = v / self.last - 1.0;
            self.add_return(r);
        }
        self.last = v;
        self.level(ts, v, &mut self.guard());
        if v < self.min {
            self.min = v;
        }
    }

    /// Adds return `r` to the lane of its number.
    #[inline(always)]
    fn add_return(&mut self, r: f64) {
        let j = self.n as usize % LANES;
        self.sum[j] += r;
        self.sum2[j] += r * r;
        // Branch-free (a return's sign is a coin toss: a branch here mispredicts half the time);
        // adding 0 to a sum of squares leaves it as it was.
        let neg = r.min(0.0);
        self.down2[j] += neg * neg;
        self.n += 1;
    }

    /// [`CurveStats::push`] of each value `vs[k]` at `ts[k]` in turn, with the same bits: a block
    /// of positive values at once ([`CurveStats::fold_block`]), anything else one by one.
    #[inline(never)]
    pub fn push_all(&mut self, ts: Times<'_>, vs: &[f64]) {
        let m = vs.len().min(ts.len());
        let (ts, vs) = (ts.slice(0..m), &vs[..m]);
        if m >= 4 * LANES && self.steps > 0 && self.last > 0.0 {
            let before = self.clone();
            if self.fold_block(ts, vs) {
                return;
            }
            *self = before;
        }
        let mut c = std::mem::take(self);
        for (t, &v) in ts.iter().zip(vs) {
            c.push(t, v);
        }
        *self = c;
    }

    /// Folds a block whose values are all positive and finite after a positive last value (so
    /// that every step has a return), as `push` would: the returns in the lanes, a chunk of
    /// [`LANES`] at a time; the lowest value and the highest from the same pass; the peak and the
    /// drawdown value by value only when the block reaches a new peak or the drawdown's guard.
    /// Returns false, with the fold left half done, when a value is not positive and finite.
    #[inline(always)]
    fn fold_block(&mut self, ts: Times<'_>, vs: &[f64]) -> bool {
        let n0 = self.n as usize;
        // Slot `j` of a chunk holds the lane of return `n0 + j`.
        let rot = |l: &[f64; LANES]| std::array::from_fn::<f64, LANES, _>(|j| l[(n0 + j) % LANES]);
        let mut l = Lanes {
            sum: rot(&self.sum),
            sum2: rot(&self.sum2),
            down2: rot(&self.down2),
            lo: [f64::INFINITY; LANES],
            hi: [0.0; LANES],
        };
        let chunks = vs.len() / LANES;
        lanes::fold(&mut l, self.last, vs);
        let mut prev = if chunks > 0 {
            vs[chunks * LANES - 1]
        } else {
            self.last
        };
        for j in 0..LANES {
            let lane = (n0 + j) % LANES;
            (self.sum[lane], self.sum2[lane], self.down2[lane]) = (l.sum[j], l.sum2[j], l.down2[j]);
        }
        self.n += (chunks * LANES) as u64;
        let (lo, hi) = (l.lo, l.hi);
        let (mut low, mut high) = (lo[0].min(lo[1]).min(lo[2]).min(lo[3]), hi[0].max(hi[1]));
        high = high.max(hi[2]).max(hi[3]);
        for &v in &vs[chunks * LANES..] {
            self.add_return(v / prev - 1.0);
            prev = v;
            low = if v < low { v } else { low };
            high = if v > high { v } else { high };
        }
        // A NaN value leaves the lowest and highest as they were but not the sums.
        let sums_finite =
            (self.sum.iter().chain(&self.sum2).chain(&self.down2)).all(|s| s.is_finite());
        if !(low > 0.0 && high.is_finite() && sums_finite) {
            return false;
        }
        // Positive values: the lowest is the same whatever the order.
        if low < self.min {
            self.min = low;
        }
        if high > self.peak {
            self.fold_levels(ts, vs);
        } else {
            // No new peak: a value is under water when under the peak, and only a value under
            // the guard can deepen the drawdown.
            let peak = self.peak;
            self.under_water += vs.iter().map(|&v| (v < peak) as u64).sum::<u64>();
            if low < self.guard() {
                self.fold_levels_at_peak(ts, vs);
            }
        }
        self.steps += vs.len() as u64;
        self.last_ts = ts.at(ts.len() - 1);
        self.last = vs[vs.len() - 1];
        true
    }

    /// The level under which a value may deepen the drawdown (`push`'s guard; none without a
    /// positive peak).
    #[inline(always)]
    fn guard(&self) -> f64 {
        if self.peak > 0.0 {
            self.peak * (1.0 + self.max_drawdown) * (1.0 + 1e-12)
        } else {
            f64::NEG_INFINITY
        }
    }

    /// The peak, the under-water count and the drawdown after value `v` at `ts`, with `below`
    /// the drawdown's guard, kept up to date.
    #[inline(always)]
    fn level(&mut self, ts: i64, v: f64, below: &mut f64) {
        if v > self.peak {
            self.peak = v;
            self.peak_ts = ts;
            *below = self.guard();
        } else if v < self.peak {
            self.under_water += 1;
            // Only a value near or below the worst level so far can deepen the drawdown (the
            // guard is a superset of those: the division decides).
            if v < *below {
                self.deepen(ts, v);
                *below = self.guard();
            }
        }
    }

    /// [`CurveStats::level`] for each value of a block, in turn.
    fn fold_levels(&mut self, ts: Times<'_>, vs: &[f64]) {
        let mut below = self.guard();
        for (t, &v) in ts.iter().zip(vs) {
            self.level(t, v, &mut below);
        }
    }

    /// `push`'s drawdown for each value of a block that reaches no new peak (the under-water
    /// count is done).
    fn fold_levels_at_peak(&mut self, ts: Times<'_>, vs: &[f64]) {
        let mut below = self.guard();
        for (t, &v) in ts.iter().zip(vs) {
            if v < below && v < self.peak {
                self.deepen(t, v);
                below = self.guard();
            }
        }
    }

    /// Value `v` at `ts`, under the guard: the largest drawdown if it is deeper.
    #[inline(always)]
    fn deepen(&mut self, ts: i64, v: f64) {
        let dd = v / self.peak - 1.0;
        if dd < self.max_drawdown {
            self.max_drawdown = dd;
            self.drawdown_start = self.peak_ts;
            self.drawdown_end = ts;
        }
    }

    /// More steps, the last at `last_ts`, at which the value does not change (a run that has
    /// nothing left to do): the same result as pushing the last value `k` times.
    pub fn repeat(&mut self, k: u64, last_ts: i64) {
        if k == 0 || self.steps == 0 {
            return;
        }
        self.last_ts = last_ts;
        self.steps += k;
        if self.last > 0.0 {
            self.n += k; // r = 0: the sums do not change
        }
        if self.last < self.peak {
            self.under_water += k;
        }
    }

    /// The mean interval between steps (ns; NaN with fewer than two steps).
    pub fn mean_step(&self) -> f64 {
        if self.steps < 2 {
            f64::NAN
        } else {
            (self.last_ts - self.first_ts) as f64 / (self.steps - 1) as f64
        }
    }
}

/// One figure of a run, typed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stat {
    /// A number.
    F(f64),
    /// A count.
    U(u64),
    /// A flag.
    B(bool),
    /// A time (ns), or none.
    T(Option<i64>),
}

/// The account's totals a run ends with, beside its curve.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    /// Number of fills.
    pub fills: u64,
    /// Traded notional (settlement currency).
    pub volume: f64,
    /// Σ fees.
    pub fees: f64,
    /// Σ funding received.
    pub funding: f64,
    /// Σ rebates credited.
    pub rebates: f64,
    /// When the account (cross) or a position (isolated) was first liquidated.
    pub liquidated_at: Option<i64>,
    /// The index of that step.
    pub liquidation_step: Option<u64>,
}

/// The figures of one run (the rows of `Result.stats`, of a sweep and of a Monte Carlo path).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunStats {
    /// The value the run started from.
    pub initial_balance: f64,
    /// The value at the end.
    pub final_equity: f64,
    /// final / initial − 1.
    pub total_return: f64,
    /// Compound annual growth rate (NaN for a run of one step or a final value ≤ 0).
    pub cagr: f64,
    /// Largest fall from a peak (≤ 0).
    pub max_drawdown: f64,
    /// When the peak of the largest drawdown was reached (ns).
    pub max_drawdown_start: Option<i64>,
    /// When its trough was (ns).
    pub max_drawdown_end: Option<i64>,
    /// Annualised Sharpe ratio of the step returns (no risk-free rate).
    pub sharpe: f64,
    /// Annualised Sortino ratio (target 0).
    pub sortino: f64,
    /// CAGR / |max drawdown|.
    pub calmar: f64,
    /// Lowest value at a step's end (the initial included).
    pub min_equity: f64,
    /// Fraction of the steps that ended below the running peak.
    pub time_under_water: f64,
    /// Number of steps.
    pub steps: u64,
    /// Number of fills.
    pub fills: u64,
    /// Traded notional / initial balance.
    pub turnover: f64,
    /// Σ fees.
    pub fees: f64,
    /// Σ funding received (negative: paid).
    pub funding: f64,
    /// Σ trade-mining and volume rebates credited.
    pub rebates: f64,
    /// When the first liquidation happened.
    pub liquidated_at: Option<i64>,
    /// The step of the first liquidation.
    pub liquidation_step: Option<u64>,
    /// The strategy's own figures (grid matched profit, basis counts, ...), in order.
    pub strategy: Vec<(&'static str, Stat)>,
}

impl RunStats {
    /// The figures of a run whose curve folded into `c`, with the account's `totals`.
    pub fn new(c: &CurveStats, totals: &Totals) -> Self {
        let initial = c.initial;
        let last = c.last;
        let step = c.mean_step();
        let ppy = if step > 0.0 { YEAR_NS / step } else { f64::NAN };
        let span = if c.steps > 1 {
            ((c.last_ts - c.first_ts) as f64 + step) / YEAR_NS
        } else {
            f64::NAN
        };
        let cagr = if span > 0.0 && last > 0.0 && initial > 0.0 {
            // Capped: a short run's annualisation can overflow a float.
            (((last / initial).ln() / span).min(700.0)).exp() - 1.0
        } else {
            f64::NAN
        };
        let n = c.n as f64;
        let (sharpe, sortino) = if c.n > 1 {
            let (sum, sum2) = (lanes_total(&c.sum), lanes_total(&c.sum2));
            let mean = sum / n;
            let var = ((sum2 - sum * mean) / (n - 1.0)).max(0.0);
            let sd = var.sqrt();
            let down = (lanes_total(&c.down2) / n).sqrt();
            let a = ppy.sqrt();
            (
                if sd > 0.0 { mean / sd * a } else { f64::NAN },
                if down > 0.0 {
                    mean / down * a
                } else {
                    f64::NAN
                },
            )
        } else {
            (f64::NAN, f64::NAN)
        };
        let mdd = c.max_drawdown;
        let seen = c.steps > 0;
        Self {
            initial_balance: initial,
            final_equity: last,
            total_return: last / initial - 1.0,
            cagr,
            max_drawdown: mdd,
            max_drawdown_start: seen.then_some(c.drawdown_start),
            max_drawdown_end: seen.then_some(c.drawdown_end),
            sharpe,
            sortino,
            calmar: if mdd < 0.0 {
                cagr / mdd.abs()
            } else {
                f64::NAN
            },
            min_equity: c.min,
            time_under_water: if seen {
                c.under_water as f64 / c.steps as f64
            } else {
                0.0
            },
            steps: c.steps,
            fills: totals.fills,
            turnover: totals.volume / initial,
            fees: totals.fees,
            funding: totals.funding,
            rebates: totals.rebates,
            liquidated_at: totals.liquidated_at,
            liquidation_step: totals.liquidation_step,
            strategy: Vec::new(),
        }
    }

    /// Every figure by name, in the order users read them: the common ones, then the strategy's.
    pub fn fields(&self) -> Vec<(&'static str, Stat)> {
        use Stat::*;
        let mut v = vec![
            ("initial_balance", F(self.initial_balance)),
            ("final_equity", F(self.final_equity)),
            ("total_return", F(self.total_return)),
            ("cagr", F(self.cagr)),
            ("max_drawdown", F(self.max_drawdown)),
            ("max_drawdown_start", T(self.max_drawdown_start)),
            ("max_drawdown_end", T(self.max_drawdown_end)),
            ("sharpe", F(self.sharpe)),
            ("sortino", F(self.sortino)),
            ("calmar", F(self.calmar)),
            ("min_equity", F(self.min_equity)),
            ("time_under_water", F(self.time_under_water)),
            ("steps", U(self.steps)),
            ("fills", U(self.fills)),
            ("turnover", F(self.turnover)),
            ("fees", F(self.fees)),
            ("funding", F(self.funding)),
            ("rebates", F(self.rebates)),
            ("liquidated", B(self.liquidated_at.is_some())),
            ("liquidated_at", T(self.liquidated_at)),
        ];
        v.extend(self.strategy.iter().copied());
        v
    }

    /// Sets (or adds) the strategy figure `name`.
    pub fn set(&mut self, name: &'static str, value: Stat) {
        match self.strategy.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.strategy.push((name, value)),
        }
    }
}

#[cfg(test)]
mod tests;
