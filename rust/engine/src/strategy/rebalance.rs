//! The balance strategy (spec/strategies.md): hold a position of a target value per symbol and
//! trade back to it at the close when it drifted more than `adjust_ratio` away.

use crate::instrument::ContractKind;
use crate::matching::Engine;
use crate::record::FillReason;
use crate::strategy::Strategy;

/// What the targets are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// A value in quote (USD for inverse contracts), signed (negative: short).
    Value,
    /// A fraction of the account's equity, recomputed at each step.
    Ratio,
}

/// Rebalance each symbol to its target at the close, by market order.
#[derive(Clone, Debug)]
pub struct Rebalance {
    /// Value or ratio.
    pub kind: TargetKind,
    /// One target per symbol of the account.
    pub targets: Vec<f64>,
    /// Trade when |value − target| / |target| exceeds this (0: every step).
    pub adjust_ratio: f64,
}

impl Rebalance {
    /// Position value of symbol `i` in quote (USD for inverse) at `price`.
    fn value(e: &Engine, i: usize, price: f64) -> f64 {
        let inst = &e.account().instruments()[i];
        let q = e.account().position(i).qty;
        match inst.kind {
            ContractKind::Inverse => q * inst.contract_size,
            _ => q * inst.contract_size * price,
        }
    }
}

impl Strategy for Rebalance {
    fn on_close(&mut self, e: &mut Engine) {
        for i in 0..self.targets.len().min(e.account().len()) {
            let price = e.price(i);
            if !price.is_finite() || e.is_expired(i) {
                continue;
            }
            let equity = e.account().equity();
            let equity_quote = if e.account().is_inverse() {
                equity * price
            } else {
                equity
            };
            let target = match self.kind {
                TargetKind::Value => self.targets[i],
                TargetKind::Ratio => self.targets[i] * equity_quote,
            };
            let value = Self::value(e, i, price);
            let drift = if target != 0.0 {
                (value - target).abs() / target.abs()
            } else if value != 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            if drift <= self.adjust_ratio {
                continue;
            }
            let inst = &e.account().instruments()[i];
            let per_unit = match inst.kind {
                ContractKind::Inverse => inst.contract_size,
                _ => inst.contract_size * price,
            };
            let dq = inst.round_qty((target - value) / per_unit);
            // Dust (a relative 1e-9 of the target) is not worth an order.
            if dq.abs() * per_unit > 1e-9 * target.abs().max(value.abs()) {
                let _ = e.market(i, dq, FillReason::Rebalance, self);
            }
        }
    }
}
