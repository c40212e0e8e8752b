//! What a price model's parameters can mean over a run's horizon (docs/montecarlo.md, "Parameters
//! that cannot mean a market"). A model whose median path gains or loses a factor of a billion, whose
//! one-sigma move over the horizon is a factor of ten thousand, or whose one-sigma move in one bar
//! is more than e-fold, does not describe a market: its paths collapse to zero or run off to
//! infinity and every figure computed on them ("no risk", say) is meaningless. Such parameters are
//! refused before any path runs; a path that leaves the representable price range anyway is
//! refused when it is generated.

use super::models::{ModelSpec, PathBuf, PriceModel};
use crate::error::LedgerError;
use crate::stats::YEAR_NS;

/// The largest |median log growth| over the horizon: ln(1e9).
pub const MAX_MEDIAN_LOG: f64 = 20.723_265_836_946_41;
/// The largest one-sigma log move over the horizon: ln(1e4).
pub const MAX_HORIZON_SIGMA: f64 = 9.210_340_371_976_184;
/// The largest one-sigma log move in one bar.
pub const MAX_BAR_SIGMA: f64 = 1.0;

impl ModelSpec {
    /// Checks that the model means a market over `n_bars` bars (see the module doc); the error
    /// names the parameter that is out of range.
    pub fn validate_horizon(&self, n_bars: usize) -> Result<(), LedgerError> {
        let end = i64::try_from(n_bars)
            .ok()
            .and_then(|n| n.checked_mul(self.interval_ns))
            .and_then(|span| span.checked_add(self.start_ts));
        if end.is_none() {
            return Err(LedgerError::invalid(
                "n_bars",
                format!(
                    "{n_bars} bars of this interval end beyond the representable times (year 2262)"
                ),
            ));
        }
        let dt = self.interval_ns as f64 / YEAR_NS;
        let t = dt * n_bars as f64;
        // (drift, diffusion variance, jump variance, jump compensation and mean, per year)
        let (drift, var, jump_var, jumps) = match &self.model {
            PriceModel::Gbm { drift, vol } | PriceModel::StudentT { drift, vol, .. } => {
                (*drift, vol * vol, 0.0, 0.0)
            }
            PriceModel::Merton {
                drift,
                vol,
                intensity,
                jump_mean,
                jump_std,
            } => {
                let kappa = (jump_mean + 0.5 * jump_std * jump_std).exp() - 1.0;
                if !kappa.is_finite() {
                    return Err(LedgerError::invalid(
                        "jump_std",
                        format!("jumps of log size {jump_mean} ± {jump_std} have no finite mean"),
                    ));
                }
                let jv = intensity * (jump_mean * jump_mean + jump_std * jump_std);
                (*drift, vol * vol, jv, intensity * (jump_mean - kappa))
            }
            PriceModel::Bootstrap { .. } => return Ok(()), // real bars, resampled
        };
        let bar_sigma = ((var + jump_var) * dt).sqrt();
        if bar_sigma > MAX_BAR_SIGMA {
            let field = if jump_var > var {
                "jump_std"
            } else {
                "volatility"
            };
            return Err(LedgerError::invalid(
                field,
                format!(
                    "a one-sigma move of {bar_sigma:.3} in log price per bar (more than e-fold): \
                     not a market path"
                ),
            ));
        }
        let sigma = ((var + jump_var) * t).sqrt();
        if sigma > MAX_HORIZON_SIGMA {
            let field = if jump_var > var {
                "jump_std"
            } else {
                "volatility"
            };
            return Err(LedgerError::invalid(
                field,
                format!(
                    "a one-sigma move of {sigma:.1} in log price over the {n_bars} bars (a factor \
                     of {:.3e}): the paths run off to zero or infinity",
                    sigma.exp()
                ),
            ));
        }
        let median = (drift - 0.5 * var + jumps) * t;
        if median.is_nan() || median.abs() > MAX_MEDIAN_LOG {
            let field = if jumps.abs() > drift.abs().max(0.5 * var) {
                "jump_mean"
            } else if drift.abs() >= 0.5 * var {
                "drift"
            } else {
                "volatility"
            };
            return Err(LedgerError::invalid(
                field,
                format!(
                    "the median path's log price moves {median:.1} over the {n_bars} bars (a \
                     factor of {:.3e}): every path collapses to zero or runs off to infinity",
                    median.exp()
                ),
            ));
        }
        Ok(())
    }
}

impl PathBuf {
    /// Whether every price of the path is finite and within a factor 1e12 of `s0` either way
    /// (else the path left the range where its figures mean anything). Each bar's low and high
    /// bound it, and each is tested for being finite itself: past ~1e296 the factor's bound is
    /// infinite, and a high that overflowed passed it (a trailing grid then shifted up towards
    /// the infinite price for ever). The closes are tested too: an undefined close (NaN) is
    /// inside any band of lows and highs.
    pub fn in_range(&self, s0: f64) -> bool {
        let (lo, hi) = (s0 * 1e-12, s0 * 1e12);
        self.low.iter().all(|&x| x >= lo)
            && self.high.iter().all(|&x| x <= hi && x.is_finite())
            && self.close.iter().all(|x| x.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mc::FundingModel;

    fn spec(model: PriceModel) -> ModelSpec {
        ModelSpec {
            model,
            s0: 100.0,
            interval_ns: 3_600_000_000_000,
            start_ts: 0,
            funding: FundingModel::None,
            funding_interval_ns: 0,
            substeps: 0,
        }
    }

    #[test]
    fn market_like_models_pass_and_collapsing_ones_name_their_parameter() {
        let ok = spec(PriceModel::Gbm {
            drift: 0.0,
            vol: 1.5,
        });
        ok.validate_horizon(8_760).unwrap();
        let collapse = spec(PriceModel::Gbm {
            drift: 0.0,
            vol: 8.0,
        });
        assert_eq!(
            collapse.validate_horizon(8_760).unwrap_err().field,
            "volatility"
        );
        let drift = spec(PriceModel::Gbm {
            drift: -40.0,
            vol: 0.5,
        });
        assert_eq!(drift.validate_horizon(8_760).unwrap_err().field, "drift");
        let jumps = spec(PriceModel::Merton {
            drift: 0.0,
            vol: 0.5,
            intensity: 100.0,
            jump_mean: -0.9,
            jump_std: 0.1,
        });
        assert_eq!(
            jumps.validate_horizon(8_760).unwrap_err().field,
            "jump_mean"
        );
        let huge = spec(PriceModel::Merton {
            drift: 0.0,
            vol: 0.5,
            intensity: 1.0,
            jump_mean: 0.0,
            jump_std: 40.0,
        });
        assert_eq!(huge.validate_horizon(10).unwrap_err().field, "jump_std");
    }

    #[test]
    fn a_path_that_overflowed_is_out_of_range_whatever_its_start() {
        let mut p = PathBuf::new(3);
        let s0 = 1e302;
        p.low.copy_from_slice(&[s0, s0, s0]);
        p.high.copy_from_slice(&[s0, 2.0 * s0, 3.0 * s0]);
        p.close.copy_from_slice(&[s0, 1.5 * s0, 2.0 * s0]);
        assert!(p.in_range(s0));
        // The start's factor 1e12 is infinite here: an infinite high is still out.
        p.high[2] = f64::INFINITY;
        assert!(!p.in_range(s0));
        p.high[2] = 3.0 * s0;
        p.close[1] = f64::NAN;
        assert!(!p.in_range(s0));
        // An ordinary start: a high a factor 1e13 up is out, as before.
        let mut q = PathBuf::new(1);
        (q.low[0], q.high[0], q.close[0]) = (100.0, 1e15, 100.0);
        assert!(!q.in_range(100.0));
        q.high[0] = 1e13;
        assert!(q.in_range(100.0));
    }
}
