//! Fee tiers by 30-day volume (an exchange's VIP levels; docs/accounting.md, "Fee tiers"): a
//! schedule of (30-day volume from which a tier applies, maker rate, taker rate). At the first step
//! of each UTC day the account's tier is set from its volume over the 30 days before that day, and
//! its rates replace every contract's maker and taker fees until the next day. The account holds
//! the schedule ([`crate::ledger::Account::set_fee_tiers`]), so every copy of it (a Monte Carlo
//! path, a sweep's set) starts from the same state.

use serde::{Deserialize, Serialize};

use crate::error::LedgerError;

/// One day in ns.
pub const DAY_NS: i64 = 86_400_000_000_000;
/// The window of the volume that sets the tier, in days.
pub const WINDOW_DAYS: usize = 30;

/// The schedule and the account's volume by day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeeTiers {
    floors: Vec<f64>,
    maker: Vec<f64>,
    taker: Vec<f64>,
    /// Quote volume of each of the last [`WINDOW_DAYS`] complete days, oldest first.
    past: Vec<f64>,
    /// Quote volume of the current day so far.
    current: f64,
    /// The current UTC day (`i64::MIN`: none yet).
    day: i64,
    tier: usize,
}

impl FeeTiers {
    /// A schedule of `tiers` (30-day quote volume from which the tier applies, maker rate, taker
    /// rate; the first from 0, volumes increasing) for an account that traded `volume_30d` over
    /// the 30 days before the run (spread evenly over them). The error names `fee_tiers`.
    pub fn new(tiers: &[(f64, f64, f64)], volume_30d: f64) -> Result<Self, LedgerError> {
        let bad = |why: String| LedgerError::invalid("fee_tiers", why);
        if tiers.is_empty() || tiers[0].0 != 0.0 {
            return Err(bad("the first tier starts at a 30-day volume of 0".into()));
        }
        for (k, &(floor, maker, taker)) in tiers.iter().enumerate() {
            if !floor.is_finite() || (k > 0 && floor <= tiers[k - 1].0) {
                return Err(bad(format!("tier {k}: volumes must increase")));
            }
            for (name, r) in [("maker", maker), ("taker", taker)] {
                if !(r.is_finite() && r.abs() < 1.0) {
                    return Err(bad(format!("tier {k}: the {name} rate must be in (-1, 1)")));
                }
            }
        }
        if !(volume_30d.is_finite() && volume_30d >= 0.0) {
            return Err(LedgerError::invalid(
                "volume_30d",
                format!("must be a finite number >= 0, got {volume_30d}"),
            ));
        }
        let mut t = Self {
            floors: tiers.iter().map(|t| t.0).collect(),
            maker: tiers.iter().map(|t| t.1).collect(),
            taker: tiers.iter().map(|t| t.2).collect(),
            past: vec![volume_30d / WINDOW_DAYS as f64; WINDOW_DAYS],
            current: 0.0,
            day: i64::MIN,
            tier: 0,
        };
        t.tier = t.tier_of(t.past.iter().sum());
        Ok(t)
    }

    fn tier_of(&self, volume: f64) -> usize {
        self.floors.iter().rposition(|&f| volume >= f).unwrap_or(0)
    }

    /// The current tier's (maker, taker) rates.
    pub fn rates(&self) -> (f64, f64) {
        (self.maker[self.tier], self.taker[self.tier])
    }

    /// The current tier (0: the first).
    pub fn tier(&self) -> usize {
        self.tier
    }

    /// Counts a fill of quote value `value` towards today's volume.
    #[inline]
    pub fn add(&mut self, value: f64) {
        self.current += value;
    }

    /// Moves to the UTC day of `ts`: the days since close (with no volume after the first), and
    /// the tier is set from the last [`WINDOW_DAYS`] complete days. Returns whether the day changed.
    pub fn roll(&mut self, ts: i64) -> bool {
        let day = ts.div_euclid(DAY_NS);
        if day == self.day {
            return false;
        }
        if self.day != i64::MIN && day > self.day {
            let gone = ((day - self.day) as usize).min(WINDOW_DAYS + 1);
            for k in 0..gone {
                self.past.remove(0);
                self.past.push(if k == 0 { self.current } else { 0.0 });
            }
        }
        self.current = 0.0;
        self.day = day;
        self.tier = self.tier_of(self.past.iter().sum());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tier_follows_the_last_thirty_complete_days() {
        let mut t = FeeTiers::new(&[(0.0, 2e-4, 5e-4), (1e6, 1.6e-4, 4e-4)], 0.0).unwrap();
        assert!(t.roll(0));
        assert_eq!(t.tier(), 0);
        t.current += 1.2e6; // day 0
        t.roll(DAY_NS + 5);
        assert_eq!(t.rates(), (1.6e-4, 4e-4));
        t.roll(30 * DAY_NS); // day 0 is still among the last 30 complete days
        assert_eq!(t.tier(), 1);
        t.roll(31 * DAY_NS); // no longer
        assert_eq!(t.tier(), 0);
        let prior = FeeTiers::new(&[(0.0, 2e-4, 5e-4), (1e6, 1.6e-4, 4e-4)], 3e6).unwrap();
        assert_eq!(prior.tier(), 1);
    }

    #[test]
    fn a_bad_schedule_names_the_field() {
        for tiers in [
            vec![],
            vec![(1.0, 0.0, 0.0)],
            vec![(0.0, 0.0, 0.0), (0.0, 0.0, 0.0)],
            vec![(0.0, 1.5, 0.0)],
        ] {
            assert_eq!(FeeTiers::new(&tiers, 0.0).unwrap_err().field, "fee_tiers");
        }
        let e = FeeTiers::new(&[(0.0, 0.0, 0.0)], -1.0).unwrap_err();
        assert_eq!(e.field, "volume_30d");
    }
}
