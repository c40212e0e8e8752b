//! The balance strategy (docs/strategies.md): hold a position of a target value per symbol and
//! trade back to it at the close when it drifted more than `adjust_ratio` away.

use crate::engine::{Engine, QuietBand, Strategy};
use crate::error::LedgerError;
use crate::instrument::ContractKind;
use crate::record::FillReason;
use crate::warnings::WarningKind;

/// What the targets are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetKind {
    #[default]
    /// A value in quote (USD for inverse contracts), signed (negative: short).
    Value,
    /// A fraction of the account's equity, recomputed at each step.
    Ratio,
}

/// Rebalance each symbol to its target: at the close by market order, or (`limit_orders`) by a
/// resting buy and sell at the prices where the value would be `adjust_ratio` away from the target,
/// re-placed after each fill (how it trades live; live at once on the rest of the path).
#[derive(Clone, Debug, Default)]
pub struct Rebalance {
    /// Value or ratio.
    pub kind: TargetKind,
    /// One target per symbol of the account.
    pub targets: Vec<f64>,
    /// Trade when |value − target| / |target| exceeds this (0: every step).
    pub adjust_ratio: f64,
    /// Rest limit orders at the threshold prices instead of trading at the close.
    pub limit_orders: bool,
    /// Per symbol: the ids of the resting pair.
    pair: Vec<(u64, u64)>,
}

/// Why an adjustment was not sent.
const NO_BALANCE: &str = "no available balance to margin an order adding to the position";

/// The tag that marks the strategy's resting orders.
const PAIR_TAG: u32 = 0x5245_4241;

impl Rebalance {
    /// A balance strategy with one target per symbol.
    pub fn new(kind: TargetKind, targets: Vec<f64>, adjust_ratio: f64, limit_orders: bool) -> Self {
        let n = targets.len();
        Self {
            kind,
            targets,
            adjust_ratio,
            limit_orders,
            pair: vec![(0, 0); n],
        }
    }

    /// Checks the parameters; the error names the field (`target_value` or `target_ratio` for
    /// the targets).
    pub fn validate(&self) -> Result<(), LedgerError> {
        let field = match self.kind {
            TargetKind::Value => "target_value",
            TargetKind::Ratio => "target_ratio",
        };
        if let Some(t) = self.targets.iter().find(|t| !t.is_finite()) {
            return Err(LedgerError::invalid(
                field,
                format!("must be finite, got {t}"),
            ));
        }
        let a = self.adjust_ratio;
        if !(a.is_finite() && a >= 0.0) {
            return Err(LedgerError::invalid(
                "adjust_ratio",
                format!("must be >= 0, got {a}"),
            ));
        }
        if self.limit_orders && !(a > 0.0 && a < 1.0) {
            return Err(LedgerError::invalid(
                "adjust_ratio",
                format!("resting limit orders need 0 < adjust_ratio < 1, got {a}"),
            ));
        }
        Ok(())
    }

    /// A balance strategy from the two ways of giving targets: exactly one of per-symbol values
    /// (`value`) and fractions of equity (`ratio`); checked.
    pub fn from_options(
        value: Option<Vec<f64>>,
        ratio: Option<Vec<f64>>,
        adjust_ratio: f64,
        limit_orders: bool,
    ) -> Result<Self, LedgerError> {
        let (kind, targets) = match (value, ratio) {
            (Some(v), None) => (TargetKind::Value, v),
            (None, Some(r)) => (TargetKind::Ratio, r),
            _ => {
                return Err(LedgerError::invalid(
                    "target_value",
                    "give exactly one of target_value and target_ratio",
                ))
            }
        };
        let r = Self::new(kind, targets, adjust_ratio, limit_orders);
        r.validate()?;
        Ok(r)
    }

    fn target(&self, e: &Engine, i: usize, price: f64) -> f64 {
        match self.kind {
            TargetKind::Value => self.targets[i],
            TargetKind::Ratio => self.targets[i] * e.account().equity_in_quote(price),
        }
    }

    /// Whether an order of symbol `i`'s pair still rests.
    fn pair_live(&self, e: &Engine, i: usize) -> bool {
        let (a, b) = self.pair[i];
        [a, b].iter().any(|&id| {
            id != 0
                && e.order(id)
                    .is_some_and(|o| o.status == crate::matching::Status::Open)
        })
    }

    /// Cancels what is left of symbol `i`'s resting pair.
    fn cancel_pair(&mut self, e: &mut Engine, i: usize) {
        let (a, b) = self.pair[i];
        for id in [a, b] {
            if id != 0
                && e.order(id)
                    .is_some_and(|o| o.status == crate::matching::Status::Open)
            {
                let _ = e.cancel(id);
            }
        }
        self.pair[i] = (0, 0);
    }

    /// Places symbol `i`'s pair at the prices where the value is `adjust_ratio` away from the
    /// target (linear contracts with a position on the target's side; else nothing).
    fn place_pair(&mut self, e: &mut Engine, i: usize) {
        let price = e.price(i);
        let inst = e.account().instruments()[i].clone();
        let q = e.account().position(i).qty;
        let target = self.target(e, i, price);
        if inst.kind == ContractKind::Inverse
            || q == 0.0
            || target == 0.0
            || (q > 0.0) != (target > 0.0)
        {
            return;
        }
        let mut ids = [0u64; 2];
        for (k, b) in [1.0 + self.adjust_ratio, 1.0 - self.adjust_ratio]
            .into_iter()
            .enumerate()
        {
            let vb = target * b;
            let p = inst.round_price(vb / (q * inst.contract_size));
            if !(p.is_finite() && p > 0.0) {
                continue;
            }
            let dq =
                inst.round_qty((target - q * inst.contract_size * p) / (inst.contract_size * p));
            if dq == 0.0 {
                continue;
            }
            let side = if dq > 0.0 {
                crate::matching::Side::Buy
            } else {
                crate::matching::Side::Sell
            };
            let r = crate::matching::OrderRequest::limit(i, side, p, dq.abs())
                .tagged(PAIR_TAG, FillReason::Rebalance);
            if let Ok(id) = e.place(&r, self) {
                ids[k] = id;
            }
        }
        self.pair[i] = (ids[0], ids[1]);
    }

    /// Whether `value` is within `adjust_ratio` of `target` (no trade). More than adjust_ratio
    /// by a relative 1e-9: a drift at the threshold does not trade, whatever the float noise in
    /// the position's sum.
    fn within_ratio(&self, value: f64, target: f64) -> bool {
        let drift = if target != 0.0 {
            (value - target).abs() / target.abs()
        } else if value != 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        drift <= self.adjust_ratio * (1.0 + 1e-9)
    }

    /// Position value of symbol `i` in quote (USD for inverse) at `price`.
    fn value(e: &Engine, i: usize, price: f64) -> f64 {
        e.account().position(i).qty * e.account().instruments()[i].unit_value(price)
    }
}

impl Strategy for Rebalance {
    /// The closes at which no adjustment is due (a band of closes: the adjustment is decided on
    /// the close alone). With value targets the position's value is monotone in the price
    /// (constant for inverse contracts), so they form a band: the one where the drift stays
    /// within `adjust_ratio`, narrowed by a relative 1e-7 so that float noise at its edges is
    /// left to the full step. Ratio targets move with the equity: no band.
    fn quiet_band(&self, e: &Engine, i: usize) -> Option<QuietBand> {
        const ALL: QuietBand = QuietBand::ALL;
        if i >= self.targets.len() {
            return Some(ALL);
        }
        if self.kind != TargetKind::Value {
            return None;
        }
        let inst = &e.account().instruments()[i];
        if self.limit_orders && inst.kind != ContractKind::Inverse {
            // The resting pair trades it; without one, the close places it.
            return self.pair_live(e, i).then_some(ALL);
        }
        let (target, q) = (self.targets[i], e.account().position(i).qty);
        let price = e.price(i);
        if !self.within_ratio(Self::value(e, i, price), target) {
            return None;
        }
        if q == 0.0 || inst.kind == ContractKind::Inverse {
            return Some(ALL); // the value does not move with the price
        }
        // value = q · contract_size · p: the band in value, divided by q · contract_size.
        let (slack, unit) = (target.abs() * self.adjust_ratio, q * inst.contract_size);
        let (a, b) = ((target - slack) / unit, (target + slack) / unit);
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let lo = lo * (1.0 + 1e-7);
        let hi = hi * (1.0 - 1e-7);
        (lo < price && price < hi).then_some(QuietBand::of_close(lo, hi))
    }

    fn on_fill(&mut self, e: &mut Engine, f: &crate::record::FillRow) {
        if !self.limit_orders || f.reason != FillReason::Rebalance || f.symbol >= self.pair.len() {
            return;
        }
        let (a, b) = self.pair[f.symbol];
        if f.order_id == a || f.order_id == b {
            self.cancel_pair(e, f.symbol);
            self.place_pair(e, f.symbol);
        }
    }

    fn on_close(&mut self, e: &mut Engine) {
        for i in 0..self.targets.len().min(e.account().len()) {
            let price = e.price(i);
            // No price yet, expired, or no bar at this step: it waits.
            if !price.is_finite() || e.is_expired(i) || e.is_stale(i) {
                continue;
            }
            let target = self.target(e, i, price);
            let value = Self::value(e, i, price);
            let inverse = e.account().instruments()[i].kind == ContractKind::Inverse;
            let limit_mode = self.limit_orders && !inverse;
            if limit_mode && self.pair_live(e, i) {
                continue; // the resting pair trades it
            }
            if self.within_ratio(value, target) {
                if limit_mode {
                    self.place_pair(e, i);
                }
                continue;
            }
            let inst = &e.account().instruments()[i];
            let per_unit = inst.unit_value(price);
            let dq = inst.round_qty((target - value) / per_unit);
            // An order adding to the position while nothing is available to margin it would be
            // refused (initial margin after > equity after): not sent, so a blown-through account
            // does not fill the orders log with one refusal per bar.
            let pos = e.account().position(i).qty;
            let adds = pos == 0.0 || (pos > 0.0) == (dq > 0.0);
            let hopeless = adds && e.account().available_balance() <= 0.0;
            // Dust (a relative 1e-9 of the target) is not worth an order.
            if dq.abs() * per_unit > 1e-9 * target.abs().max(value.abs()) {
                if hopeless {
                    e.warn(WarningKind::NotSent, Some(i), NO_BALANCE);
                } else {
                    let _ = e.market(i, dq, FillReason::Rebalance, self);
                }
            }
            if limit_mode {
                self.cancel_pair(e, i);
                self.place_pair(e, i);
            }
        }
    }
}
