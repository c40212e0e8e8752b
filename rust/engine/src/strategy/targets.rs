//! Target positions (docs/strategies.md): per step and symbol a target (quantity, quote value or
//! fraction of equity) that the engine trades to at the close, fully inside the compiled core.

use crate::engine::{Engine, Strategy};
use crate::instrument::ContractKind;
use crate::record::FillReason;

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

/// Trade to `targets[symbol][step]` at each step's close (NaN: leave the position as it is).
#[derive(Clone, Debug)]
pub struct TargetPositions {
    /// Unit of the targets.
    pub unit: TargetUnit,
    /// One column per symbol, one value per step of the run.
    pub targets: Vec<Vec<f64>>,
    /// The step about to close.
    pub step: usize,
}

impl Strategy for TargetPositions {
    fn on_close(&mut self, e: &mut Engine) {
        let k = self.step;
        self.step += 1;
        for i in 0..self.targets.len().min(e.account().len()) {
            let Some(&t) = self.targets[i].get(k) else {
                continue;
            };
            let price = e.price(i);
            if t.is_nan() || !price.is_finite() || e.is_expired(i) {
                continue;
            }
            let inst = &e.account().instruments()[i];
            let per_unit = match inst.kind {
                ContractKind::Inverse => inst.contract_size,
                _ => inst.contract_size * price,
            };
            let equity = e.account().equity();
            let equity_quote = if e.account().is_inverse() {
                equity * price
            } else {
                equity
            };
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
}
