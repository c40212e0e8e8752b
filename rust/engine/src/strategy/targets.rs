//! Target positions (docs/strategies.md): rows of targets by time, per symbol (quantity, quote
//! value or fraction of equity), that the engine trades to at the close of the step with the row's
//! time, fully inside the compiled core.

use crate::engine::{Engine, Inputs, Strategy};
use crate::error::LedgerError;
use crate::record::FillReason;
use crate::warnings::{Warning, WarningKind};

/// The unit of the targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetUnit {
    /// Signed quantity (contracts for inverse).
    Qty,
    /// Signed value in quote (USD for inverse).
    Value,
    /// Signed fraction of equity.
    Fraction,
}

impl crate::names::Named for TargetUnit {
    const FIELD: &'static str = "unit";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("qty", Self::Qty),
        ("value", Self::Value),
        ("fraction", Self::Fraction),
    ];
}

/// Trade to each row of targets at the close of the step with the row's time: `targets[symbol]`
/// holds one value per row (NaN: leave the position as it is). A row whose time is no step of the
/// run is not used (counted as a warning before the run); a symbol without a bar at its row's
/// step keeps the target until it has one.
#[derive(Clone, Debug)]
pub struct TargetPositions {
    /// Unit of the targets.
    pub unit: TargetUnit,
    /// The rows' times (ns, increasing).
    times: Vec<i64>,
    /// One column per symbol, one value per row.
    targets: Vec<Vec<f64>>,
    /// The next row to match.
    row: usize,
    /// Per symbol: a target that waits for a bar (NaN: none).
    waiting: Vec<f64>,
}

impl TargetPositions {
    /// Targets in `unit`, one column per symbol with one value per time of `times`; checked
    /// (times increasing, columns as long as the times, no infinite target).
    pub fn new(
        unit: TargetUnit,
        times: Vec<i64>,
        targets: Vec<Vec<f64>>,
    ) -> Result<Self, LedgerError> {
        if let Some(k) = times.windows(2).position(|w| w[1] <= w[0]) {
            return Err(LedgerError::bad_row(
                "targets",
                k + 1,
                "the targets' times must increase",
            ));
        }
        if let Some(c) = targets.iter().find(|c| c.len() != times.len()) {
            return Err(LedgerError::invalid(
                "targets",
                format!("{} targets for {} times", c.len(), times.len()),
            ));
        }
        for c in &targets {
            if let Some(r) = c.iter().position(|x| x.is_infinite()) {
                return Err(LedgerError::bad_row("targets", r, "infinite target"));
            }
        }
        let n = targets.len();
        Ok(Self {
            unit,
            times,
            targets,
            row: 0,
            waiting: vec![f64::NAN; n],
        })
    }

    /// Trades symbol `i` to target `t` at the close.
    fn trade_to(&mut self, e: &mut Engine, i: usize, t: f64) {
        let price = e.price(i);
        let inst = &e.account().instruments()[i];
        let per_unit = inst.unit_value(price);
        let equity_quote = e.account().equity_in_quote(price);
        let want = match self.unit {
            TargetUnit::Qty => t,
            TargetUnit::Value => t / per_unit,
            TargetUnit::Fraction => t * equity_quote / per_unit,
        };
        let have = e.account().position(i).qty;
        let dq = inst.round_qty(want - have);
        // Dust (a relative 1e-9 of the position) is not worth an order.
        if dq.abs() > 1e-9 * want.abs().max(have.abs()) {
            let _ = e.market(i, dq, FillReason::Strategy, self);
        }
    }
}

impl Strategy for TargetPositions {
    fn check_inputs(&self, e: &mut Engine, inputs: &Inputs<'_, '_>) -> Result<(), LedgerError> {
        inputs.check_overlap(e.account(), false)?;
        let steps = inputs.step_times();
        let is_step = |t: i64| steps.binary_search(&t).is_ok();
        let missed: Vec<i64> = self
            .times
            .iter()
            .copied()
            .filter(|&t| !is_step(t))
            .collect();
        if let (Some(&first), Some(&last)) = (missed.first(), missed.last()) {
            let total = self.times.len() as u64;
            let mut w = Warning::new(WarningKind::Unmatched, None, "target rows")
                .counted(missed.len() as u64, total)
                .between(Some(first), Some(last));
            w.doubtful = missed.len() as u64 == total;
            e.push_warning(w);
        }
        Ok(())
    }

    fn on_close(&mut self, e: &mut Engine) {
        let now = e.now();
        while self.row < self.times.len() && self.times[self.row] < now {
            self.row += 1; // no step at its time (counted before the run)
        }
        let row = (self.row < self.times.len() && self.times[self.row] == now).then(|| {
            self.row += 1;
            self.row - 1
        });
        for i in 0..self.targets.len().min(e.account().len()) {
            let t = row.map_or(f64::NAN, |r| self.targets[i][r]);
            if !e.price(i).is_finite() || e.is_stale(i) {
                // No bar (or no price yet) at this step: the target waits for one.
                if !t.is_nan() {
                    self.waiting[i] = t;
                }
                continue;
            }
            let t = if t.is_nan() { self.waiting[i] } else { t };
            self.waiting[i] = f64::NAN;
            if t.is_nan() || e.is_expired(i) {
                continue;
            }
            self.trade_to(e, i, t);
        }
    }
}
