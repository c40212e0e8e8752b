//! Funding rates as the exchange computes them from the premium index (docs/accounting.md,
//! "Funding from the premium index"): at each funding time, the average premium index `P` over the
//! interval since the previous funding time (samples weighted 1, 2, …, n in time order, the later
//! the heavier, as Binance weights its 5-second samples), then
//! `F = s·(P + clamp(I − P, −c, c))` with the 8-hour interest rate `I` and clamp band `c`, scaled by
//! `s = interval hours / 8`, and capped to `[−cap, cap]`.

use super::bars::Series;
use crate::error::LedgerError;
use crate::instrument::HOUR_NS;

/// The constants of the rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PremiumRule {
    /// Interest rate per 8 hours (Binance: 0.01 %).
    pub interest_8h: f64,
    /// Half-width of the clamp of `I − P` per 8 hours (Binance: 0.05 %).
    pub clamp_8h: f64,
    /// The cap of the rate per interval (the contract's `funding_cap_rate`).
    pub cap: f64,
}

impl PremiumRule {
    /// Checks the constants, naming the first bad one.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let ok = |v: f64| v.is_finite() && v.abs() < 1.0;
        if !ok(self.interest_8h) {
            return Err(LedgerError::invalid(
                "interest_rate",
                "must be a rate in (-1, 1)",
            ));
        }
        if !(ok(self.clamp_8h) && self.clamp_8h >= 0.0) {
            return Err(LedgerError::invalid("clamp", "must be a rate in [0, 1)"));
        }
        if !(ok(self.cap) && self.cap > 0.0) {
            return Err(LedgerError::invalid(
                "funding_cap",
                "must be a rate in (0, 1)",
            ));
        }
        Ok(())
    }

    /// The rate for an average premium `p` over an interval of `hours`.
    #[inline]
    pub fn rate(&self, p: f64, hours: f64) -> f64 {
        let s = hours / 8.0;
        let f = s * (p + (self.interest_8h - p).clamp(-self.clamp_8h, self.clamp_8h));
        f.clamp(-self.cap, self.cap)
    }
}

/// Funding times every `interval` ns (aligned to the epoch, so 8 hours gives 00:00, 08:00 and
/// 16:00 UTC) in `(start, end]`.
pub fn funding_times(start: i64, end: i64, interval: i64) -> Vec<i64> {
    if interval <= 0 || end <= start {
        return Vec::new();
    }
    let first = start
        .div_euclid(interval)
        .saturating_add(1)
        .saturating_mul(interval);
    let mut out = Vec::new();
    let mut t = first;
    while t <= end {
        out.push(t);
        t = match t.checked_add(interval) {
            Some(n) => n,
            None => break,
        };
    }
    out
}

/// Rates computed from the premium index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PremiumRates {
    /// The funding times that have a rate.
    pub times: Vec<i64>,
    /// Their rates.
    pub rates: Vec<f64>,
    /// The funding times whose interval holds no premium sample (no rate).
    pub empty: Vec<i64>,
}

/// The rates at `times` (strictly increasing) from the premium index samples `premium` (times
/// strictly increasing, finite values): each over the samples in `[previous time, time)`, the first
/// time's window `first_window` ns long. The times whose window holds no sample get no rate (the
/// caller reports them).
pub fn funding_from_premium(
    premium: &Series<'_>,
    times: &[i64],
    first_window: i64,
    rule: &PremiumRule,
) -> Result<PremiumRates, LedgerError> {
    premium.validate("premium")?;
    rule.validate()?;
    if times.windows(2).any(|w| w[1] <= w[0]) {
        return Err(LedgerError::invalid(
            "times",
            "funding times must be strictly increasing",
        ));
    }
    if first_window <= 0 {
        return Err(LedgerError::invalid("interval", "must be > 0"));
    }
    let mut out = PremiumRates::default();
    let mut k = 0usize;
    let mut prev = times.first().map_or(0, |&t| t.saturating_sub(first_window));
    for &t in times {
        // Samples in [prev, t).
        while k < premium.ts.len() && premium.ts[k] < prev {
            k += 1;
        }
        let (mut num, mut den, mut w) = (0.0, 0.0, 0.0);
        while k < premium.ts.len() && premium.ts[k] < t {
            w += 1.0;
            num += w * premium.values[k];
            den += w;
            k += 1;
        }
        if den > 0.0 {
            let hours = (t - prev) as f64 / HOUR_NS as f64;
            out.times.push(t);
            out.rates.push(rule.rate(num / den, hours));
        } else {
            out.empty.push(t);
        }
        prev = t;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: PremiumRule = PremiumRule {
        interest_8h: 0.0001,
        clamp_8h: 0.0005,
        cap: 0.004,
    };

    #[test]
    fn the_rate_is_the_interest_rate_near_it_and_follows_the_premium_beyond_the_band() {
        assert!((RULE.rate(0.0003, 8.0) - 0.0001).abs() < 1e-18); // |I − P| within the band: F = I
        assert!((RULE.rate(0.0010, 8.0) - 0.0005).abs() < 1e-18); // P − 0.05 %
        assert!((RULE.rate(-0.0010, 8.0) + 0.0005).abs() < 1e-18); // P + 0.05 %
        assert_eq!(RULE.rate(0.05, 8.0), 0.004); // capped
        assert!((RULE.rate(0.0003, 4.0) - 0.00005).abs() < 1e-18); // half the interval, half
    }

    #[test]
    fn later_samples_weigh_more_and_windows_without_samples_are_reported() {
        let h = HOUR_NS;
        let ts = [0, h, 2 * h, 3 * h, 9 * h];
        let v = [0.001, 0.002, 0.003, 0.004, 0.01];
        let s = Series {
            ts: &ts,
            values: &v,
        };
        let times = [4 * h, 8 * h, 12 * h];
        let rule = PremiumRule { cap: 0.5, ..RULE };
        let out = funding_from_premium(&s, &times, 4 * h, &rule).unwrap();
        let r = &out.rates;
        assert_eq!(out.times, vec![4 * h, 12 * h]);
        assert_eq!(out.empty, vec![8 * h]);
        // (1·0.001 + 2·0.002 + 3·0.003 + 4·0.004) / 10 = 0.003, over 4 hours
        let p: f64 = 0.003;
        assert!((r[0] - 0.5 * (p + (0.0001 - p).clamp(-0.0005, 0.0005))).abs() < 1e-15);
        assert!((r[1] - 0.5 * (0.01 - 0.0005)).abs() < 1e-15);
    }

    #[test]
    fn funding_times_are_aligned_to_the_epoch() {
        let h = HOUR_NS;
        assert_eq!(funding_times(h, 17 * h, 8 * h), vec![8 * h, 16 * h]);
        assert_eq!(funding_times(0, 8 * h, 8 * h), vec![8 * h]);
        assert!(funding_times(5, 5, h).is_empty());
    }
}
