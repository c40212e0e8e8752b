//! Correlated baskets for Monte Carlo (docs/montecarlo.md, "Baskets"): one GBM per symbol, their
//! shocks correlated by a correlation matrix (its Cholesky factor), each bar's high and low from its
//! own Brownian bridge, funding per symbol. One random stream per path, drawn in a fixed order, so a
//! path is the same on any thread count or machine.

use super::models::{FundingClock, ModelSpec, PathBuf, PriceModel};
use super::rng::Rng;
use crate::error::LedgerError;
use crate::stats::YEAR_NS;

/// A basket of correlated GBM legs.
#[derive(Clone, Debug, PartialEq)]
pub struct BasketSpec {
    /// One GBM model per symbol (its drift, volatility, start price and funding), all with the
    /// same interval, start time and funding interval.
    pub legs: Vec<ModelSpec>,
    /// The correlation of the legs' shocks, row-major (n × n).
    pub correlation: Vec<f64>,
    /// Its lower Cholesky factor, row-major (computed by [`BasketSpec::new`]).
    chol: Vec<f64>,
}

impl BasketSpec {
    /// A basket of `legs` (each a GBM) with shock correlation `correlation` (row-major n × n:
    /// symmetric, unit diagonal, entries in [−1, 1], positive semi-definite). The error names
    /// the field.
    pub fn new(legs: Vec<ModelSpec>, correlation: Vec<f64>) -> Result<Self, LedgerError> {
        let n = legs.len();
        if n < 2 {
            return Err(LedgerError::invalid(
                "model",
                "a basket has at least two symbols",
            ));
        }
        for l in &legs {
            l.validate()?;
            if !matches!(l.model, PriceModel::Gbm { .. }) || l.substeps != 0 {
                return Err(LedgerError::invalid(
                    "model",
                    "the legs of a basket are GBM (no sub-steps)",
                ));
            }
            let same = l.interval_ns == legs[0].interval_ns
                && l.start_ts == legs[0].start_ts
                && l.funding_interval_ns == legs[0].funding_interval_ns;
            if !same {
                return Err(LedgerError::invalid(
                    "interval",
                    "the legs of a basket share the bar interval, start and funding interval",
                ));
            }
        }
        let chol = cholesky(&correlation, n)?;
        Ok(Self {
            legs,
            correlation,
            chol,
        })
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.legs.len()
    }

    /// Whether the basket has no symbol (never, once built).
    pub fn is_empty(&self) -> bool {
        self.legs.is_empty()
    }

    /// Checks that every leg means a market over `n_bars` bars.
    pub fn validate_horizon(&self, n_bars: usize) -> Result<(), LedgerError> {
        self.legs
            .iter()
            .try_for_each(|l| l.validate_horizon(n_bars))
    }

    /// Writes path `rng`'s bars into `out` (one buffer per leg, all of the same length): per bar,
    /// one standard normal per leg, correlated by the Cholesky factor, then each leg's bar and
    /// bridge extremes, then each leg's funding.
    pub fn generate(&self, rng: &mut Rng, out: &mut [PathBuf]) {
        let n = self.legs.len();
        let first = &self.legs[0];
        let bars = out[0].len();
        let dt = first.interval_ns as f64 / YEAR_NS;
        let mut clock = FundingClock::new(first.start_ts, first.funding_interval_ns);
        let mut z = vec![0.0; n];
        let mut prev: Vec<f64> = self.legs.iter().map(|l| l.s0).collect();
        for b in out.iter_mut() {
            b.funding_ts.clear();
            b.funding_rate.clear();
        }
        for k in 0..bars {
            let ts = first.start_ts + k as i64 * first.interval_ns;
            for x in z.iter_mut() {
                *x = rng.normal();
            }
            let due = clock.due(ts);
            for (i, leg) in self.legs.iter().enumerate() {
                let row = &self.chol[i * n..i * n + i + 1];
                let e: f64 = row.iter().zip(&z).map(|(l, z)| l * z).sum();
                let PriceModel::Gbm { drift, vol } = leg.model else {
                    unreachable!("basket legs are GBM (checked in new)")
                };
                let r = (drift - 0.5 * vol * vol) * dt + vol * dt.sqrt() * e;
                let bar = leg.bar_from(rng, prev[i], r, vol, dt);
                prev[i] = bar.3;
                let funding = if due { leg.funding.draw(rng) } else { f64::NAN };
                out[i].put(k, ts, bar, funding);
            }
        }
    }
}

/// The lower Cholesky factor of the correlation matrix `c` (n × n, row-major), checked: the error
/// names `correlation`. A positive semi-definite matrix (perfectly correlated legs) is accepted.
fn cholesky(c: &[f64], n: usize) -> Result<Vec<f64>, LedgerError> {
    let bad = |why: String| LedgerError::invalid("correlation", why);
    if c.len() != n * n {
        return Err(bad(format!(
            "must be {n} × {n} (one row and column per symbol)"
        )));
    }
    for i in 0..n {
        if c[i * n + i] != 1.0 {
            return Err(bad(format!("the diagonal must be 1 (row {i})")));
        }
        for j in 0..n {
            let x = c[i * n + j];
            if !(x.is_finite() && (-1.0..=1.0).contains(&x)) {
                return Err(bad(format!(
                    "entries must be in [-1, 1] (row {i}, column {j})"
                )));
            }
            if (x - c[j * n + i]).abs() > 1e-12 {
                return Err(bad(format!("must be symmetric (row {i}, column {j})")));
            }
        }
    }
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = c[i * n + i] - s;
                if d < -1e-10 {
                    return Err(bad(
                        "not positive semi-definite: no set of returns has these correlations"
                            .into(),
                    ));
                }
                l[i * n + i] = d.max(0.0).sqrt();
            } else {
                let d = l[j * n + j];
                l[i * n + j] = if d > 1e-12 {
                    (c[i * n + j] - s) / d
                } else {
                    0.0
                };
            }
        }
    }
    // A semi-definite matrix factored with zero pivots must still be reproduced.
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..=j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if (s - c[i * n + j]).abs() > 1e-8 {
                return Err(bad(
                    "not positive semi-definite: no set of returns has these correlations".into(),
                ));
            }
        }
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mc::FundingModel;

    fn leg(s0: f64, vol: f64) -> ModelSpec {
        ModelSpec {
            model: PriceModel::Gbm { drift: 0.0, vol },
            s0,
            interval_ns: 3_600_000_000_000,
            start_ts: 0,
            funding: FundingModel::Constant(0.0001),
            funding_interval_ns: 8 * 3_600_000_000_000,
            substeps: 0,
        }
    }

    #[test]
    fn the_generated_returns_have_the_correlation_and_volatilities() {
        let rho = 0.7;
        let b = BasketSpec::new(
            vec![leg(100.0, 0.6), leg(50.0, 0.9), leg(10.0, 0.3)],
            vec![1.0, rho, 0.0, rho, 1.0, -0.2, 0.0, -0.2, 1.0],
        )
        .unwrap();
        let n = 100_000;
        let mut out = vec![PathBuf::new(n); 3];
        b.generate(&mut Rng::for_path(7, 0), &mut out);
        let r: Vec<Vec<f64>> = out
            .iter()
            .map(|p| (0..n).map(|k| (p.close[k] / p.open[k]).ln()).collect())
            .collect();
        let sd = |x: &[f64]| {
            let m = x.iter().sum::<f64>() / n as f64;
            (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64).sqrt()
        };
        let corr = |x: &[f64], y: &[f64]| {
            let (mx, my) = (
                x.iter().sum::<f64>() / n as f64,
                y.iter().sum::<f64>() / n as f64,
            );
            let c = x
                .iter()
                .zip(y)
                .map(|(a, b)| (a - mx) * (b - my))
                .sum::<f64>()
                / n as f64;
            c / (sd(x) * sd(y))
        };
        assert!((corr(&r[0], &r[1]) - rho).abs() < 0.01);
        assert!((corr(&r[1], &r[2]) + 0.2).abs() < 0.01);
        assert!(corr(&r[0], &r[2]).abs() < 0.01);
        let ann = sd(&r[1]) * (365.0f64 * 24.0).sqrt();
        assert!((ann - 0.9).abs() < 0.01, "{ann}");
        for p in &out {
            assert_eq!(p.funding_ts.len(), n.div_ceil(8));
            for k in 1..n {
                assert_eq!(p.open[k], p.close[k - 1]);
                assert!(p.low[k] <= p.open[k].min(p.close[k]));
            }
        }
    }

    #[test]
    fn a_matrix_that_is_no_correlation_is_refused() {
        let legs = || vec![leg(1.0, 0.5), leg(1.0, 0.5), leg(1.0, 0.5)];
        for (c, words) in [
            (
                vec![1.0, 0.9, 0.9, 0.9, 1.0, -0.9, 0.9, -0.9, 1.0],
                "semi-definite",
            ),
            (
                vec![1.0, 0.5, 0.0, 0.4, 1.0, 0.0, 0.0, 0.0, 1.0],
                "symmetric",
            ),
            (
                vec![1.0, 0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 1.0],
                "diagonal",
            ),
            (vec![1.0, 0.0, 0.0, 1.0], "3 × 3"),
        ] {
            let e = BasketSpec::new(legs(), c).unwrap_err();
            assert_eq!(e.field, "correlation");
            assert!(e.message.contains(words), "{}", e.message);
        }
        // Perfectly correlated legs are a correlation (semi-definite): the paths move together.
        let b =
            BasketSpec::new(vec![leg(1.0, 0.5), leg(2.0, 0.5)], vec![1.0, 1.0, 1.0, 1.0]).unwrap();
        let mut out = vec![PathBuf::new(100); 2];
        b.generate(&mut Rng::for_path(1, 1), &mut out);
        for k in 0..100 {
            assert!((out[1].close[k] / out[0].close[k] - 2.0).abs() < 1e-9);
        }
    }
}
