//! A spot price and a future's premium over it, for running the basis (cash-and-carry) strategy in
//! Monte Carlo (docs/montecarlo.md, "The basis trade"): the spot follows a GBM with Brownian-bridge
//! extremes; the premium `(F − S) / S` follows an Ornstein–Uhlenbeck process (exact
//! discretisation) around its long-run level; the future's bar is the spot's bar times
//! `1 + premium` (its high and low at the larger and smaller premium of the bar's two ends).
//! A delivery future's premium is that process scaled by the time left to expiry over the time
//! left at the start (the carry shrinks with the time to expiry), so it converges to zero at
//! expiry; after it the future is the spot. Funding is paid on the future (a perpetual's).
//! One random stream per path, drawn in a fixed order.

use super::models::{FundingClock, ModelSpec, PathBuf, PriceModel};
use super::rng::Rng;
use crate::error::LedgerError;
use crate::stats::YEAR_NS;

/// The spot and the premium of a perpetual over it.
#[derive(Clone, Debug, PartialEq)]
pub struct SpreadSpec {
    /// The spot's GBM (its `funding` is the future's).
    pub spot: ModelSpec,
    /// The premium's long-run level, `(F − S) / S`.
    pub premium: f64,
    /// How fast the premium returns to its level, per year (half-life `ln 2 / reversion` years).
    pub reversion: f64,
    /// The premium's volatility, per square root of a year (absolute, not relative).
    pub premium_vol: f64,
    /// The premium at the start.
    pub premium0: f64,
    /// A delivery future's expiry (ns; `None`: a perpetual): the premium converges to zero there.
    pub expiry_ns: Option<i64>,
}

impl SpreadSpec {
    /// Checks the parameters, naming the first bad one.
    pub fn validate(&self) -> Result<(), LedgerError> {
        self.spot.validate()?;
        if !matches!(self.spot.model, PriceModel::Gbm { .. }) || self.spot.substeps != 0 {
            return Err(LedgerError::invalid(
                "spot",
                "the spot of a basis model is a GBM (no sub-steps)",
            ));
        }
        let bad = |f: &str, why: &str| Err(LedgerError::invalid(f, why.to_string()));
        if !(self.premium.is_finite() && self.premium > -0.5 && self.premium < 0.5) {
            return bad("premium", "must be a fraction in (-0.5, 0.5)");
        }
        if !(self.premium0.is_finite() && self.premium0 > -0.5 && self.premium0 < 0.5) {
            return bad("premium0", "must be a fraction in (-0.5, 0.5)");
        }
        if !(self.reversion.is_finite() && self.reversion > 0.0) {
            return bad("reversion", "must be > 0 (per year)");
        }
        if !(self.premium_vol.is_finite() && self.premium_vol >= 0.0) {
            return bad("premium_vol", "must be >= 0");
        }
        if self.expiry_ns.is_some_and(|e| e <= self.spot.start_ts) {
            return bad(
                "expiry",
                "the delivery contract expires before the paths start (give start= before it)",
            );
        }
        // The premium's stationary spread: beyond ±50 % the future is not a future of this spot.
        if self.premium_vol / (2.0 * self.reversion).sqrt() > 0.1 {
            return bad(
                "premium_vol",
                "the premium's stationary standard deviation (premium_vol / sqrt(2 reversion)) \
                 is over 10 %: not a perpetual tied to its spot",
            );
        }
        Ok(())
    }

    /// The future's price at the start.
    pub fn future_s0(&self) -> f64 {
        self.spot.s0 * (1.0 + self.premium0)
    }

    /// Writes path `rng`'s bars: `out[0]` the spot, `out[1]` the future (with the funding). Per
    /// bar: the spot's normal and bridge extremes, then the premium's normal, then the funding.
    pub fn generate(&self, rng: &mut Rng, out: &mut [PathBuf]) {
        let s = &self.spot;
        let n = out[0].len();
        let dt = s.interval_ns as f64 / YEAR_NS;
        let PriceModel::Gbm { drift, vol } = s.model else {
            unreachable!("the spot is a GBM (validated)")
        };
        let a = (-self.reversion * dt).exp();
        let sd = self.premium_vol * ((1.0 - a * a) / (2.0 * self.reversion)).sqrt();
        let mut clock = FundingClock::new(s.start_ts, s.funding_interval_ns);
        for b in out.iter_mut() {
            b.funding_ts.clear();
            b.funding_rate.clear();
        }
        let (mut prev, mut x) = (s.s0, self.premium0);
        // The premium's scale at time `t`: 1 for a perpetual; for a delivery future the time left
        // to expiry over the time left at the start (0 from expiry on).
        let scale = |t: i64| match self.expiry_ns {
            None => 1.0,
            Some(e) => (e - t).max(0) as f64 / (e - s.start_ts) as f64,
        };
        for k in 0..n {
            let ts = s.start_ts + k as i64 * s.interval_ns;
            let r = (drift - 0.5 * vol * vol) * dt + vol * dt.sqrt() * rng.normal();
            let (o, h, l, c) = s.bar_from(rng, prev, r, vol, dt);
            prev = c;
            let x_open = x;
            x = self.premium + (x - self.premium) * a + sd * rng.normal();
            // The premium at the bar's open and close (× 1 exactly for a perpetual).
            let (p0, p1) = (x_open * scale(ts), x * scale(ts + s.interval_ns));
            let (lo, hi) = (p0.min(p1), p0.max(p1));
            let future = (
                o * (1.0 + p0),
                h * (1.0 + hi),
                l * (1.0 + lo),
                c * (1.0 + p1),
            );
            // A delivery future pays no funding.
            let funding = if self.expiry_ns.is_none() && clock.due(ts) {
                s.funding.draw(rng)
            } else {
                f64::NAN
            };
            out[0].put(k, ts, (o, h, l, c), f64::NAN);
            out[1].put(k, ts, future, funding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mc::FundingModel;

    fn spec(premium_vol: f64) -> SpreadSpec {
        SpreadSpec {
            spot: ModelSpec {
                model: PriceModel::Gbm {
                    drift: 0.0,
                    vol: 0.6,
                },
                s0: 100.0,
                interval_ns: 3_600_000_000_000,
                start_ts: 0,
                funding: FundingModel::Constant(0.0001),
                funding_interval_ns: 8 * 3_600_000_000_000,
                substeps: 0,
            },
            premium: 0.0005,
            reversion: 1_000.0,
            premium_vol,
            premium0: 0.002,
            expiry_ns: None,
        }
    }

    #[test]
    fn the_premium_reverts_to_its_level_with_its_stationary_spread() {
        let s = spec(0.05);
        s.validate().unwrap();
        let n = 200_000;
        let mut out = vec![PathBuf::new(n); 2];
        s.generate(&mut Rng::for_path(3, 0), &mut out);
        let p: Vec<f64> = (0..n)
            .map(|k| out[1].close[k] / out[0].close[k] - 1.0)
            .collect();
        let m = p.iter().sum::<f64>() / n as f64;
        let sd = (p.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64).sqrt();
        assert!((m - 0.0005).abs() < 5e-5, "{m}");
        let theory = 0.05 / (2.0f64 * 1_000.0).sqrt();
        assert!((sd / theory - 1.0).abs() < 0.05, "{sd} vs {theory}");
        assert_eq!(out[1].open[0], 100.0 * 1.002);
        assert!(out[0].funding_ts.is_empty());
        assert_eq!(out[1].funding_ts.len(), n.div_ceil(8));
        for k in 0..n {
            assert!(out[1].low[k] <= out[1].open[k].min(out[1].close[k]));
            assert!(out[1].high[k] >= out[1].open[k].max(out[1].close[k]));
        }
    }

    #[test]
    fn parameters_that_cut_the_future_loose_are_refused() {
        assert_eq!(spec(10.0).validate().unwrap_err().field, "premium_vol");
        let mut s = spec(0.05);
        s.reversion = 0.0;
        assert_eq!(s.validate().unwrap_err().field, "reversion");
    }
}
