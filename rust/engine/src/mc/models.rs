//! Price-path models for Monte Carlo (docs/montecarlo.md): GBM, Merton jump diffusion, Student-t
//! returns and a stationary block bootstrap of real bars, each bar's high and low drawn from the
//! extremes of a Brownian bridge between its open and close; funding constant or resampled.
//! Paths are written into a reusable buffer: no allocation per path or per bar.

use super::fastmath::exp as fast_exp;
use super::rng::Rng;
use crate::error::LedgerError;
use crate::stats::YEAR_NS;
use libm::exp;

/// Bars of one generated path (reused from path to path).
#[derive(Clone, Debug, Default)]
pub struct PathBuf {
    /// Open times (ns).
    pub ts: Vec<i64>,
    /// Opens.
    pub open: Vec<f64>,
    /// Highs.
    pub high: Vec<f64>,
    /// Lows.
    pub low: Vec<f64>,
    /// Closes.
    pub close: Vec<f64>,
    /// Funding rate paid at the open of each bar (NaN: no funding time in that bar).
    pub funding: Vec<f64>,
    /// The funding times of the path (the bars whose `funding` is a rate).
    pub funding_ts: Vec<i64>,
    /// The rates at those times.
    pub funding_rate: Vec<f64>,
}

impl PathBuf {
    /// A buffer for paths of `n` bars.
    pub fn new(n: usize) -> Self {
        Self {
            ts: vec![0; n],
            open: vec![0.0; n],
            high: vec![0.0; n],
            low: vec![0.0; n],
            close: vec![0.0; n],
            funding: vec![f64::NAN; n],
            funding_ts: Vec::new(),
            funding_rate: Vec::new(),
        }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether the buffer holds no bar.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Writes bar `k` (the high and low widened to hold the open and close) and its funding
    /// rate (NaN: no funding at this bar).
    #[inline(always)]
    pub(crate) fn put(&mut self, k: usize, ts: i64, bar: (f64, f64, f64, f64), funding: f64) {
        let (o, h, l, c) = bar;
        self.ts[k] = ts;
        self.open[k] = o;
        self.high[k] = h.max(o).max(c);
        self.low[k] = l.min(o).min(c);
        self.close[k] = c;
        self.funding[k] = funding;
        self.push_funding(ts, funding);
    }

    /// Lists a funding time and its rate (a NaN rate, no funding, is left out).
    #[inline]
    pub(crate) fn push_funding(&mut self, ts: i64, rate: f64) {
        if rate.is_finite() {
            self.funding_ts.push(ts);
            self.funding_rate.push(rate);
        }
    }
}

/// The funding times along a path: the bars whose open time is a multiple of the interval.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FundingClock {
    next: i64,
    fi: i64,
}

impl FundingClock {
    /// The clock of a path starting at `start_ts` with funding every `fi` ns (0: never).
    pub(crate) fn new(start_ts: i64, fi: i64) -> Self {
        let next = if fi > 0 {
            start_ts + (fi - start_ts.rem_euclid(fi)) % fi
        } else {
            i64::MAX
        };
        Self { next, fi }
    }

    /// Whether the bar opening at `ts` (times increasing) is a funding time: `ts % fi == 0`,
    /// without a division per bar.
    #[inline(always)]
    pub(crate) fn due(&mut self, ts: i64) -> bool {
        ts >= self.next && {
            let due = ts == self.next;
            self.next = ts - ts.rem_euclid(self.fi) + self.fi;
            due
        }
    }
}

/// The return process of a path.
#[derive(Clone, Debug, PartialEq)]
pub enum PriceModel {
    /// Geometric Brownian motion: annual drift and volatility.
    Gbm {
        /// Annual drift of the price (expected growth rate).
        drift: f64,
        /// Annual volatility.
        vol: f64,
    },
    /// Merton jump diffusion: GBM plus Poisson jumps of normal log size (compensated, so the
    /// expected growth stays `drift`).
    Merton {
        /// Annual drift.
        drift: f64,
        /// Annual diffusion volatility.
        vol: f64,
        /// Jumps per year.
        intensity: f64,
        /// Mean log jump.
        jump_mean: f64,
        /// Standard deviation of the log jump.
        jump_std: f64,
    },
    /// Student-t log returns scaled to the annual volatility `vol` (`dof` > 2).
    StudentT {
        /// Annual drift.
        drift: f64,
        /// Annual volatility.
        vol: f64,
        /// Degrees of freedom.
        dof: f64,
    },
    /// Stationary block bootstrap (Politis–Romano) of whole real bars: each bar is
    /// (open / previous close, high / open, low / open, close / open) of a real bar; blocks of
    /// geometric length with mean `block`.
    Bootstrap {
        /// Relative bars of the real series.
        rel: Vec<[f64; 4]>,
        /// Mean block length (bars).
        block: f64,
    },
}

/// Funding along a path.
#[derive(Clone, Debug, PartialEq)]
pub enum FundingModel {
    /// No funding.
    None,
    /// The same rate at every funding time.
    Constant(f64),
    /// A rate drawn (uniformly, with replacement) from a real history at each funding time.
    Resample(Vec<f64>),
}

impl FundingModel {
    /// The rate at a funding time (NaN: no funding).
    #[inline(always)]
    pub(crate) fn draw(&self, rng: &mut Rng) -> f64 {
        match self {
            FundingModel::None => f64::NAN,
            FundingModel::Constant(r) => *r,
            FundingModel::Resample(v) => v[rng.below(v.len())],
        }
    }
}

/// A model with its start price, bar interval and funding schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    /// The return process.
    pub model: PriceModel,
    /// Price at the open of the first bar.
    pub s0: f64,
    /// Bar interval (ns).
    pub interval_ns: i64,
    /// Open time of the first bar (ns).
    pub start_ts: i64,
    /// Funding rates.
    pub funding: FundingModel,
    /// Funding interval (ns; funding at the bars whose open time is a multiple of it).
    pub funding_interval_ns: i64,
    /// 0: high/low from the Brownian-bridge extremes; k > 0: from k explicit sub-steps (for
    /// checking the bridge sampler against brute force).
    pub substeps: u32,
}

impl ModelSpec {
    /// Checks the parameters, naming the first bad one.
    pub fn validate(&self) -> Result<(), LedgerError> {
        use crate::error::{finite, positive};
        positive("s0", self.s0)?;
        if self.interval_ns <= 0 {
            return Err(LedgerError::invalid("interval", "must be > 0"));
        }
        match &self.model {
            PriceModel::Gbm { drift, vol } => {
                finite("drift", *drift)?;
                non_negative("volatility", *vol)?;
            }
            PriceModel::Merton {
                drift,
                vol,
                intensity,
                jump_mean,
                jump_std,
            } => {
                finite("drift", *drift)?;
                non_negative("volatility", *vol)?;
                non_negative("intensity", *intensity)?;
                finite("jump_mean", *jump_mean)?;
                non_negative("jump_std", *jump_std)?;
            }
            PriceModel::StudentT { drift, vol, dof } => {
                finite("drift", *drift)?;
                non_negative("volatility", *vol)?;
                if !(dof.is_finite() && *dof > 2.0) {
                    return Err(LedgerError::invalid(
                        "dof",
                        format!("must be > 2, got {dof}"),
                    ));
                }
            }
            PriceModel::Bootstrap { rel, block } => {
                if rel.is_empty() {
                    return Err(LedgerError::invalid(
                        "bars",
                        "the series to resample is empty",
                    ));
                }
                if !(block.is_finite() && *block >= 1.0) {
                    return Err(LedgerError::invalid(
                        "block",
                        format!("must be >= 1, got {block}"),
                    ));
                }
                if let Some(r) = rel
                    .iter()
                    .position(|b| !b.iter().all(|x| x.is_finite() && *x > 0.0))
                {
                    return Err(LedgerError::bad_row(
                        "bars",
                        r,
                        "prices must be finite and > 0",
                    ));
                }
            }
        }
        match &self.funding {
            FundingModel::Constant(r) => {
                finite("funding", *r)?;
            }
            FundingModel::Resample(v) => {
                if v.is_empty() {
                    return Err(LedgerError::invalid(
                        "funding",
                        "the history to resample is empty",
                    ));
                }
                if let Some(r) = v.iter().position(|x| !x.is_finite()) {
                    return Err(LedgerError::bad_row("funding", r, "not finite"));
                }
            }
            FundingModel::None => {}
        }
        Ok(())
    }

    /// Writes path `rng`'s bars into `out` (all of its length). GBM bars with bridge extremes
    /// go by blocks ([`super::gbm`]), with the bits of [`ModelSpec::generate_bar_by_bar`].
    pub fn generate(&self, rng: &mut Rng, out: &mut PathBuf) {
        match self.model {
            PriceModel::Gbm { drift, vol } if self.substeps == 0 => {
                super::gbm::generate(self, drift, vol, rng, out)
            }
            _ => self.generate_bar_by_bar(rng, out),
        }
    }

    /// [`ModelSpec::generate`] one bar after another: every model's definition.
    pub fn generate_bar_by_bar(&self, rng: &mut Rng, out: &mut PathBuf) {
        let n = out.len();
        out.funding_ts.clear();
        out.funding_rate.clear();
        let mut clock = FundingClock::new(self.start_ts, self.funding_interval_ns);
        let dt = self.interval_ns as f64 / YEAR_NS;
        let mut prev = self.s0;
        let mut cursor = 0usize;
        let p_new = match &self.model {
            PriceModel::Bootstrap { rel, block } => {
                cursor = rng.below(rel.len());
                1.0 / block
            }
            _ => 0.0,
        };
        for k in 0..n {
            let ts = self.start_ts + k as i64 * self.interval_ns;
            let bar = match &self.model {
                PriceModel::Bootstrap { rel, .. } => {
                    if k > 0 {
                        if rng.uniform() < p_new {
                            cursor = rng.below(rel.len());
                        } else {
                            cursor = (cursor + 1) % rel.len();
                        }
                    }
                    let [g, hr, lr, cr] = rel[cursor];
                    // The first bar opens at s0; later ones keep the real gap from the close.
                    let o = if k == 0 { prev } else { prev * g };
                    (o, o * hr, o * lr, o * cr)
                }
                _ => self.diffusion_bar(rng, prev, dt),
            };
            prev = bar.3;
            let funding = if clock.due(ts) {
                self.funding.draw(rng)
            } else {
                f64::NAN
            };
            out.put(k, ts, bar, funding);
        }
    }

    /// One bar of a diffusion model from `open`: (open, high, low, close).
    #[inline]
    fn diffusion_bar(&self, rng: &mut Rng, open: f64, dt: f64) -> (f64, f64, f64, f64) {
        let (vol, r) = match self.model {
            PriceModel::Gbm { drift, vol } => {
                let r = (drift - 0.5 * vol * vol) * dt + vol * dt.sqrt() * rng.normal();
                (vol, r)
            }
            PriceModel::Merton {
                drift,
                vol,
                intensity,
                jump_mean,
                jump_std,
            } => {
                let kappa = exp(jump_mean + 0.5 * jump_std * jump_std) - 1.0;
                let mut r = (drift - 0.5 * vol * vol - intensity * kappa) * dt
                    + vol * dt.sqrt() * rng.normal();
                for _ in 0..rng.poisson(intensity * dt) {
                    r += jump_mean + jump_std * rng.normal();
                }
                (vol, r)
            }
            PriceModel::StudentT { drift, vol, dof } => {
                let scale = vol * dt.sqrt() * ((dof - 2.0) / dof).sqrt();
                let r = (drift - 0.5 * vol * vol) * dt + scale * rng.student_t(dof);
                (vol, r)
            }
            PriceModel::Bootstrap { .. } => unreachable!("bootstrap bars are not diffused"),
        };
        self.bar_from(rng, open, r, vol, dt)
    }

    /// The bar from `open` whose log return is `r`, its high and low drawn from the extremes of
    /// a Brownian bridge of volatility `vol` over `dt` (or from explicit sub-steps).
    #[inline(always)]
    pub(crate) fn bar_from(
        &self,
        rng: &mut Rng,
        open: f64,
        r: f64,
        vol: f64,
        dt: f64,
    ) -> (f64, f64, f64, f64) {
        let close = open * fast_exp(r);
        if self.substeps > 0 {
            return self.substep_bar(rng, open, close, r, vol, dt);
        }
        let v = 2.0 * vol * vol * dt;
        let e_up = rng.exponential();
        let (up, down) = bridge_extremes(r, v, e_up, rng.exponential());
        (open, open * fast_exp(up), open * fast_exp(down), close)
    }

    /// High and low from `substeps` explicit Brownian-bridge sub-steps between open and close.
    fn substep_bar(
        &self,
        rng: &mut Rng,
        open: f64,
        close: f64,
        r: f64,
        vol: f64,
        dt: f64,
    ) -> (f64, f64, f64, f64) {
        let k = self.substeps as usize;
        let h = dt / k as f64;
        // The bridge walked forward: from x at time t, the next point given the end r at dt.
        let (mut x, mut hi, mut lo) = (0.0f64, 0.0f64, 0.0f64);
        for j in 0..k - 1 {
            let left = dt - j as f64 * h;
            let mean = x + (r - x) * h / left;
            let sd = vol * (h * (left - h) / left).sqrt();
            x = mean + sd * rng.normal();
            hi = hi.max(x);
            lo = lo.min(x);
        }
        hi = hi.max(r);
        lo = lo.min(r);
        (open, open * fast_exp(hi), open * fast_exp(lo), close)
    }
}

/// The log extremes of a Brownian bridge from 0 to `r` whose variance over the bar is `v / 2`
/// (`v` = 2·vol²·dt), from two standard exponentials (−ln U of a uniform U), `e_up` for the
/// maximum and `e_down` for the minimum: max = (r + √(r² + v·E)) / 2, min = (r − √(r² + v·E')) / 2.
#[inline(always)]
pub(super) fn bridge_extremes(r: f64, v: f64, e_up: f64, e_down: f64) -> (f64, f64) {
    (
        0.5 * (r + (r * r + v * e_up).sqrt()),
        0.5 * (r - (r * r + v * e_down).sqrt()),
    )
}

fn non_negative(field: &str, v: f64) -> Result<f64, LedgerError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(LedgerError::invalid(
            field,
            format!("must be >= 0, got {v}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(model: PriceModel, substeps: u32) -> ModelSpec {
        ModelSpec {
            model,
            s0: 100.0,
            interval_ns: 3_600_000_000_000,
            start_ts: 0,
            funding: FundingModel::Constant(0.0001),
            funding_interval_ns: 8 * 3_600_000_000_000,
            substeps,
        }
    }

    #[test]
    fn bars_are_consistent_and_funding_every_eight_hours() {
        for m in [
            PriceModel::Gbm {
                drift: 0.1,
                vol: 0.8,
            },
            PriceModel::Merton {
                drift: 0.0,
                vol: 0.5,
                intensity: 50.0,
                jump_mean: -0.02,
                jump_std: 0.05,
            },
            PriceModel::StudentT {
                drift: 0.0,
                vol: 0.8,
                dof: 4.0,
            },
            PriceModel::Bootstrap {
                rel: vec![[1.0, 1.01, 0.98, 1.005], [1.001, 1.02, 0.99, 0.995]],
                block: 5.0,
            },
        ] {
            let s = spec(m, 0);
            s.validate().unwrap();
            let mut b = PathBuf::new(1000);
            s.generate(&mut Rng::for_path(3, 9), &mut b);
            for k in 0..1000 {
                assert!(
                    b.low[k] <= b.open[k].min(b.close[k]) && b.high[k] >= b.open[k].max(b.close[k])
                );
                assert!(b.low[k] > 0.0);
                if k > 0 && !matches!(s.model, PriceModel::Bootstrap { .. }) {
                    assert_eq!(b.open[k], b.close[k - 1]);
                }
                assert_eq!(b.funding[k].is_nan(), k % 8 != 0);
            }
        }
    }

    #[test]
    fn gbm_has_its_volatility_and_the_bridge_matches_brute_force() {
        // Annualised volatility of the log returns.
        let s = spec(
            PriceModel::Gbm {
                drift: 0.0,
                vol: 0.8,
            },
            0,
        );
        let mut b = PathBuf::new(200_000);
        s.generate(&mut Rng::for_path(5, 0), &mut b);
        let r: Vec<f64> = (0..b.len())
            .map(|k| (b.close[k] / b.open[k]).ln())
            .collect();
        let m = r.iter().sum::<f64>() / r.len() as f64;
        let v = r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / r.len() as f64;
        let ann = (v * 365.0 * 24.0).sqrt();
        assert!((ann - 0.8).abs() < 0.01, "{ann}");
        // Mean log range of a bar: bridge sampler vs 2,000 explicit sub-steps.
        let mean_range = |sub: u32, n: usize| {
            let s = spec(
                PriceModel::Gbm {
                    drift: 0.0,
                    vol: 0.8,
                },
                sub,
            );
            let mut b = PathBuf::new(n);
            s.generate(&mut Rng::for_path(11, 1), &mut b);
            (0..n).map(|k| (b.high[k] / b.low[k]).ln()).sum::<f64>() / n as f64
        };
        let exact = mean_range(0, 100_000);
        let brute = mean_range(2_000, 4_000);
        // Brownian range: E = 2·sqrt(2/π)·σ√dt ≈ 0.01364; discrete monitoring is a bit lower.
        let theory = 2.0 * (2.0 / std::f64::consts::PI).sqrt() * 0.8 / (365.0f64 * 24.0).sqrt();
        assert!((exact / theory - 1.0).abs() < 0.01, "{exact} vs {theory}");
        assert!((brute / theory - 1.0).abs() < 0.04, "{brute} vs {theory}");
    }
}
