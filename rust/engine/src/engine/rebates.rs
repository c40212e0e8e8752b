//! Trade-mining and volume rebates (docs/accounting.md, "Rebates"): a schedule of periods per
//! symbol, each with the market's volume and the reward shared out for it. The account's volume in
//! a period is counted at each fill; at the first step at or after the period's end the account is
//! credited its pro-rata share, `a/(a+V)·R`, in the settlement currency, and a row is recorded.

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::error::LedgerError;
use crate::warnings::{Warning, WarningKind};

/// The share of a reward `reward` that a volume `a` earns beside the others' volume `v`:
/// `a/(a+V)·R` (0 when nobody traded). The trade-mining income of the study is this share less
/// the trading cost `a·c`, which the engine charges as fees.
#[inline]
pub fn rebate_share(a: f64, v: f64, reward: f64) -> f64 {
    if a + v > 0.0 {
        a / (a + v) * reward
    } else {
        0.0
    }
}

/// One symbol's rebate schedule, borrowed from the caller's columns: period `k` runs from
/// `start[k]` (included) to `end[k]` (excluded), the others trade `market_volume[k]` in it (in
/// quote units: USDT, or USD for inverse contracts) and `reward[k]` is shared out (in the
/// settlement currency).
#[derive(Clone, Copy, Debug)]
pub struct RebateSchedule<'a> {
    /// Period starts (ns), increasing.
    pub start: &'a [i64],
    /// Period ends (ns): after their start, at or before the next start.
    pub end: &'a [i64],
    /// The others' volume per period (quote units, ≥ 0).
    pub market_volume: &'a [f64],
    /// The reward shared out per period (settlement currency, ≥ 0).
    pub reward: &'a [f64],
}

impl RebateSchedule<'_> {
    /// Checks the schedule; the error names the column and the first bad row.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let n = self.start.len();
        if self.end.len() != n || self.market_volume.len() != n || self.reward.len() != n {
            return Err(LedgerError::invalid(
                "rebates",
                "start, end, market_volume and reward must have one value per period",
            ));
        }
        for k in 0..n {
            if self.end[k] <= self.start[k] {
                return Err(LedgerError::bad_row(
                    "end",
                    k,
                    "a period must end after it starts",
                ));
            }
            if k + 1 < n && self.start[k + 1] < self.end[k] {
                return Err(LedgerError::bad_row(
                    "start",
                    k + 1,
                    "periods must follow each other without overlapping",
                ));
            }
            for (name, v) in [
                ("market_volume", self.market_volume[k]),
                ("reward", self.reward[k]),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(LedgerError::bad_row(
                        name,
                        k,
                        "must be a finite number >= 0",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One credited period, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RebateRow {
    /// The period's end (ns): when the reward is credited.
    pub ts: i64,
    /// Symbol index.
    pub symbol: usize,
    /// The account's volume in the period (quote units).
    pub volume: f64,
    /// The others' volume (quote units).
    pub market_volume: f64,
    /// The reward shared out (settlement currency).
    pub reward: f64,
    /// The account's share, credited to the wallet (settlement currency).
    pub amount: f64,
}

/// A symbol's schedule inside the engine for one run: the periods and the account's volume in
/// each so far.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct RebateBook {
    start: Vec<i64>,
    end: Vec<i64>,
    market_volume: Vec<f64>,
    reward: Vec<f64>,
    /// The account's volume per period.
    volume: Vec<f64>,
    /// The first period not yet credited.
    credited: usize,
    /// The first period whose end is after the last fill counted (fills come in time order).
    counting: usize,
}

impl Engine {
    /// Gives symbol `i` the rebate schedule of the coming run (`None`: no rebates), replacing any
    /// earlier one. Periods that ended at or before the engine's last step are behind it and are
    /// not credited; a period the earlier schedule had too (same start and end) and did not credit
    /// keeps the volume counted so far (a run continued in pieces).
    pub fn set_rebates(&mut self, i: usize, s: Option<&RebateSchedule<'_>>) {
        let old = self.rebates[i].take();
        self.rebates[i] = s.map(|s| {
            let behind = s.end.partition_point(|&t| t <= self.now);
            let mut volume = vec![0.0; s.start.len()];
            if let Some(o) = &old {
                for k in o.credited..o.start.len() {
                    let same = s.start.partition_point(|&t| t < o.start[k]);
                    if same < s.start.len()
                        && s.start[same] == o.start[k]
                        && s.end[same] == o.end[k]
                    {
                        volume[same] = o.volume[k];
                    }
                }
            }
            RebateBook {
                start: s.start.to_vec(),
                end: s.end.to_vec(),
                market_volume: s.market_volume.to_vec(),
                reward: s.reward.to_vec(),
                volume,
                credited: behind,
                counting: behind,
            }
        });
    }

    /// Counts a fill of `value` (quote units) on symbol `i` now in its rebate period.
    #[inline]
    pub(super) fn count_rebate_volume(&mut self, i: usize, value: f64) {
        let now = self.now;
        let Some(b) = self.rebates.get_mut(i).and_then(|b| b.as_mut()) else {
            return;
        };
        while b.counting < b.end.len() && b.end[b.counting] <= now {
            b.counting += 1;
        }
        let k = b.counting;
        if k < b.start.len() && b.start[k] <= now {
            b.volume[k] += value;
        }
    }

    /// The next time symbol `i` has a rebate to credit (`i64::MAX`: none).
    #[inline]
    pub(super) fn next_rebate(&self, i: usize) -> i64 {
        match &self.rebates[i] {
            Some(b) => b.end.get(b.credited).copied().unwrap_or(i64::MAX),
            None => i64::MAX,
        }
    }

    /// Credits symbol `i` the periods that ended at or before `ts`, each `a/(a+V)·R`, and records
    /// the ones in which the account traded.
    pub(super) fn credit_rebates(&mut self, i: usize, ts: i64) {
        // Taken out while the account is credited (a move, not a copy), then put back.
        let Some(mut b) = self.rebates[i].take() else {
            return;
        };
        while b.credited < b.end.len() && b.end[b.credited] <= ts {
            let k = b.credited;
            b.credited += 1;
            let a = b.volume[k];
            if a <= 0.0 {
                continue;
            }
            let amount = rebate_share(a, b.market_volume[k], b.reward[k]);
            self.account.credit_rebate(amount);
            self.rebate_rows.push(RebateRow {
                ts: b.end[k],
                symbol: i,
                volume: a,
                market_volume: b.market_volume[k],
                reward: b.reward[k],
                amount,
            });
            self.touch_liquidation();
        }
        self.rebates[i] = Some(b);
    }

    /// At the end of a run: the periods in which the account traded but which ended after the
    /// last step (not credited) are reported.
    pub(super) fn count_pending_rebates(&mut self) {
        for i in 0..self.rebates.len() {
            let Some(b) = &self.rebates[i] else { continue };
            let pending = b.volume[b.credited..].iter().filter(|&&a| a > 0.0).count() as u64;
            if pending > 0 {
                let w = Warning::new(
                    WarningKind::Unmatched,
                    Some(i),
                    "rebate periods with trading (ending after the last step: not credited)",
                )
                .counted(pending, 0);
                self.push_warning(w);
            }
        }
    }

    /// Every rebate credited, in order.
    pub fn rebate_rows(&self) -> &[RebateRow] {
        &self.rebate_rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_pro_rata_and_zero_when_nobody_traded() {
        assert_eq!(
            rebate_share(400.0, 1_000_000.0, 100.0),
            400.0 / 1_000_400.0 * 100.0
        );
        assert_eq!(rebate_share(5.0, 0.0, 7.0), 7.0);
        assert_eq!(rebate_share(0.0, 0.0, 7.0), 0.0);
    }

    #[test]
    fn a_schedule_is_checked_row_by_row() {
        let ok = RebateSchedule {
            start: &[0, 10],
            end: &[10, 20],
            market_volume: &[1.0, 2.0],
            reward: &[3.0, 4.0],
        };
        assert!(ok.validate().is_ok());
        let overlap = RebateSchedule {
            end: &[11, 20],
            ..ok
        };
        let e = overlap.validate().unwrap_err();
        assert_eq!((e.field.as_str(), e.row), ("start", Some(1)));
        let negative = RebateSchedule {
            reward: &[3.0, -4.0],
            ..ok
        };
        assert_eq!(negative.validate().unwrap_err().field, "reward");
    }
}
