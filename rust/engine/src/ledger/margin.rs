//! Maintenance margin and liquidation prices (one-way mode), linear and inverse, isolated and
//! cross, with the bracket tier chosen so that the liquidation price's own notional falls in it.

use crate::instrument::{Brackets, ContractKind, Instrument};

/// The inputs of the liquidation-price formula for one position.
#[derive(Clone, Copy, Debug)]
pub struct LiquidationInput {
    /// +1 long, −1 short.
    pub side: f64,
    /// |qty| (contracts for inverse, base units for linear).
    pub qty: f64,
    /// Entry price.
    pub entry: f64,
    /// Wallet balance backing the position: the isolated margin, or the cross wallet balance.
    pub wallet: f64,
    /// Maintenance margin of the other cross positions (0 for isolated).
    pub mm_other: f64,
    /// Unrealized PnL of the other cross positions (0 for isolated).
    pub upnl_other: f64,
}

/// Liquidation price of a position, or `None` when there is none (flat, spot, or a price ≤ 0:
/// e.g. a 1× inverse short or a fully collateralised long).
///
/// Linear: `LP = (WB − TMM_other + UPNL_other + cum − Side·Q·EP) / (Q·MMR − Side·Q)`;
/// inverse: `LP = Q·(MMR + Side) / (WB − TMM_other + UPNL_other + cum + Side·Q/EP)`
/// (docs/accounting.md). Each bracket tier is tried in turn and the first whose notional range
/// holds the notional at LP is used; when none does, the tier of the notional at entry.
pub fn liquidation_price(inst: &Instrument, inp: &LiquidationInput) -> Option<f64> {
    if inp.qty == 0.0 || inst.kind == ContractKind::Spot {
        return None;
    }
    let q = inp.qty * inst.contract_size;
    let wb = inp.wallet - inp.mm_other + inp.upnl_other;
    let b: &Brackets = &inst.brackets;
    // A linear long's denominator is negative in every tier (MMR < 1), and its numerator is
    // least in the tier of least `cum` (the sums round monotonically): when that one is not
    // negative, no tier gives a positive price, nor does the fallback below.
    if inst.kind != ContractKind::Inverse
        && inp.side > 0.0
        && wb + b.min_cum() - inp.side * q * inp.entry >= 0.0
    {
        return None;
    }
    // The formula of tier `i` as a quotient (numerator, denominator).
    let parts = |i: usize| -> (f64, f64) {
        let t = &b.tiers()[i];
        match inst.kind {
            ContractKind::Inverse => (
                q * (t.mmr + inp.side),
                wb + t.cum + inp.side * q / inp.entry,
            ),
            _ => (
                wb + t.cum - inp.side * q * inp.entry,
                q * t.mmr - inp.side * q,
            ),
        }
    };
    let lp_for = |i: usize| -> f64 {
        let (num, den) = parts(i);
        num / den
    };
    let notional_at = |p: f64| match inst.kind {
        ContractKind::Inverse => q / p,
        _ => q * p,
    };
    let n = b.tiers().len();
    let mut chosen = None;
    for i in 0..n {
        // A quotient of opposite signs (or with a zero or NaN part) is no positive price: the
        // division is left out (a fully backed position has none in any tier).
        let (num, den) = parts(i);
        if !((num > 0.0 && den > 0.0) || (num < 0.0 && den < 0.0)) {
            continue;
        }
        let lp = num / den;
        if lp.is_finite() && lp > 0.0 {
            let x = notional_at(lp);
            if x >= b.tiers()[i].floor && x < b.ceiling(i) {
                chosen = Some(lp);
                break;
            }
        }
    }
    let lp = chosen.unwrap_or_else(|| lp_for(b.tier_index(notional_at(inp.entry))));
    (lp.is_finite() && lp > 0.0).then_some(lp)
}

/// Bankruptcy price of a position: where the wallet backing it (the isolated margin, or the cross
/// wallet with the other cross positions' unrealized PnL) is exactly used up, fees aside; `None`
/// when no positive price does so (an inverse short backed by more than its value).
///
/// Linear: `BP = EP − (WB + UPNL_other) / (Side·Q)`; inverse:
/// `BP = Side·Q / (WB + UPNL_other + Side·Q/EP)` (docs/accounting.md, "Liquidation").
pub fn bankruptcy_price(inst: &Instrument, inp: &LiquidationInput) -> Option<f64> {
    if inp.qty == 0.0 || inst.kind == ContractKind::Spot {
        return None;
    }
    let q = inp.qty * inst.contract_size;
    let wb = inp.wallet + inp.upnl_other;
    let bp = match inst.kind {
        ContractKind::Inverse => inp.side * q / (wb + inp.side * q / inp.entry),
        _ => inp.entry - wb / (inp.side * q),
    };
    (bp.is_finite() && bp > 0.0).then_some(bp)
}

/// The inputs of the hedge-mode cross liquidation price of one symbol's long and short.
#[derive(Clone, Copy, Debug)]
pub struct HedgeInput {
    /// Long quantity (≥ 0).
    pub long_qty: f64,
    /// Long entry price (any value when flat).
    pub long_entry: f64,
    /// Short quantity as a magnitude (≥ 0).
    pub short_qty: f64,
    /// Short entry price (any value when flat).
    pub short_entry: f64,
    /// The cross wallet balance (less the isolated margins).
    pub wallet: f64,
    /// Maintenance margin of the other cross positions.
    pub mm_other: f64,
    /// Unrealized PnL of the other cross positions.
    pub upnl_other: f64,
}

/// Hedge mode, cross margin: the one price at which a symbol's long and short, moving together,
/// bring the cross margin balance down to the maintenance margin (`maintenance`; each side in the
/// bracket tier of its own notional there), or to zero (the bankruptcy price, without
/// maintenance), and whether a falling price reaches it (`true`) or a rising one.
///
/// Linear: `LP = (WB − TMM_other + UPNL_other + cum_L + cum_S − Q_L·EP_L + Q_S·EP_S) /
/// (Q_L·MMR_L + Q_S·MMR_S − Q_L + Q_S)`, reached falling when the denominator is negative;
/// inverse: `LP = (Q_L·(MMR_L + 1) + Q_S·(MMR_S − 1)) / (WB − TMM_other + UPNL_other + cum_L +
/// cum_S + Q_L/EP_L − Q_S/EP_S)`, reached falling when the numerator is positive
/// (docs/accounting.md, "Hedge mode"). With one side flat these are the one-way formulas.
pub fn hedge_liquidation_price(
    inst: &Instrument,
    h: &HedgeInput,
    maintenance: bool,
) -> Option<(f64, bool)> {
    if inst.kind == ContractKind::Spot || (h.long_qty == 0.0 && h.short_qty == 0.0) {
        return None;
    }
    let (ql, qs) = (
        h.long_qty * inst.contract_size,
        h.short_qty * inst.contract_size,
    );
    let wb = h.wallet - h.mm_other + h.upnl_other;
    let b: &Brackets = &inst.brackets;
    // (mmr, cum) of a side in tier `t` (nothing for a flat side or for the bankruptcy price).
    let rate = |q: f64, t: usize| {
        if q == 0.0 || !maintenance {
            (0.0, 0.0)
        } else {
            (b.tiers()[t].mmr, b.tiers()[t].cum)
        }
    };
    // The two sides' exposures are netted first (exactly, for equal sizes), then the rest added.
    let solve = |tl: usize, ts: usize| -> (f64, bool) {
        let ((ml, cl), (ms, cs)) = (rate(ql, tl), rate(qs, ts));
        let mm = ql * ml + qs * ms;
        match inst.kind {
            ContractKind::Inverse => {
                let long = if ql != 0.0 { ql / h.long_entry } else { 0.0 };
                let short = if qs != 0.0 { qs / h.short_entry } else { 0.0 };
                let den = (long - short) + (wb + cl + cs);
                let num = (ql - qs) + mm;
                (num / den, num > 0.0)
            }
            _ => {
                let long = if ql != 0.0 { ql * h.long_entry } else { 0.0 };
                let short = if qs != 0.0 { qs * h.short_entry } else { 0.0 };
                let num = (short - long) + (wb + cl + cs);
                let den = (qs - ql) + mm;
                (num / den, den < 0.0)
            }
        }
    };
    let notional_at = |q: f64, p: f64| match inst.kind {
        ContractKind::Inverse => q / p,
        _ => q * p,
    };
    let fits = |q: f64, t: usize, p: f64| {
        q == 0.0 || !maintenance || {
            let x = notional_at(q, p);
            x >= b.tiers()[t].floor && x < b.ceiling(t)
        }
    };
    let n = |q: f64| {
        if q == 0.0 || !maintenance {
            1
        } else {
            b.tiers().len()
        }
    };
    let mut chosen = None;
    'search: for tl in 0..n(ql) {
        for ts in 0..n(qs) {
            let (lp, down) = solve(tl, ts);
            if lp.is_finite() && lp > 0.0 && fits(ql, tl, lp) && fits(qs, ts, lp) {
                chosen = Some((lp, down));
                break 'search;
            }
        }
    }
    let (lp, down) = chosen.unwrap_or_else(|| {
        let at_entry = |q: f64, e: f64| {
            if q == 0.0 || !maintenance {
                0
            } else {
                b.tier_index(notional_at(q, e))
            }
        };
        solve(at_entry(ql, h.long_entry), at_entry(qs, h.short_entry))
    });
    (lp.is_finite() && lp > 0.0).then_some((lp, down))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(kind: ContractKind, mmr: f64, cum_tiers: Option<&[(f64, f64, f64)]>) -> Instrument {
        let mut i = Instrument::plain_linear("X", 0.0, 0.0);
        i.kind = kind;
        i.brackets = match cum_tiers {
            Some(t) => Brackets::new(t).unwrap(),
            None => Brackets::flat(mmr, 125.0).unwrap(),
        };
        i
    }

    fn iso(side: f64, qty: f64, entry: f64, wallet: f64) -> LiquidationInput {
        LiquidationInput {
            side,
            qty,
            entry,
            wallet,
            mm_other: 0.0,
            upnl_other: 0.0,
        }
    }

    fn r2(x: f64) -> f64 {
        (x * 100.0).round() / 100.0
    }

    #[test]
    fn linear_isolated_examples() {
        let i = inst(ContractKind::Linear, 0.004, None);
        let long = liquidation_price(&i, &iso(1.0, 1.0, 50_000.0, 5_000.0)).unwrap();
        let short = liquidation_price(&i, &iso(-1.0, 1.0, 50_000.0, 5_000.0)).unwrap();
        assert_eq!(r2(long), 45_180.72);
        assert_eq!(r2(short), 54_780.88);
    }

    #[test]
    fn linear_isolated_large_tier_example() {
        // WB 1,535,443.01, Q 3,683.979 long at 1,456.84, MMR 0.10, cum 135,365 → LP 1,114.78.
        // A table whose tier holding ~5.4M notional has MMR 10 % and cum 135,365.
        let mut i = inst(ContractKind::Linear, 0.1, None);
        let t = Brackets::new(&[(0.0, 20.0, 0.05), (2_707_300.0, 10.0, 0.10)]).unwrap();
        assert!((t.tiers()[1].cum - 135_365.0).abs() < 1e-6);
        i.brackets = t;
        let lp = liquidation_price(&i, &iso(1.0, 3_683.979, 1_456.84, 1_535_443.01)).unwrap();
        assert_eq!(r2(lp), 1_114.78);
    }

    #[test]
    fn a_long_backed_in_one_tier_is_judged_in_every_tier() {
        // The rate falls from 5 % to 1 % at 10,000: the second tier's cum is −400. A long of 1
        // at 50,000 backed by 50,200 has no liquidation price in the first tier (numerator
        // +200) but has one in the second (−200 over −0.99), the tier of its entry notional.
        let mut i = inst(ContractKind::Linear, 0.05, None);
        i.brackets = Brackets::new(&[(0.0, 20.0, 0.05), (10_000.0, 20.0, 0.01)]).unwrap();
        assert_eq!(i.brackets.min_cum(), -400.0);
        let lp = liquidation_price(&i, &iso(1.0, 1.0, 50_000.0, 50_200.0)).unwrap();
        assert_eq!(lp, (50_200.0 - 400.0 - 50_000.0) / (0.01 - 1.0));
        // Backed beyond that tier too: none.
        assert!(liquidation_price(&i, &iso(1.0, 1.0, 50_000.0, 50_400.0)).is_none());
        // The table's least cum survives a round trip through its stored form (its tiers).
        let json = serde_json::to_string(&i.brackets).unwrap();
        assert!(!json.contains("min_cum"), "{json}");
        let back: Brackets = serde_json::from_str(&json).unwrap();
        assert_eq!(back, i.brackets);
        assert_eq!(back.min_cum(), -400.0);
    }

    #[test]
    fn inverse_isolated_examples() {
        let mut i = inst(ContractKind::Inverse, 0.004, None);
        i.contract_size = 100.0;
        let long = liquidation_price(&i, &iso(1.0, 100.0, 50_000.0, 0.02)).unwrap();
        let short = liquidation_price(&i, &iso(-1.0, 100.0, 50_000.0, 0.02)).unwrap();
        assert_eq!(r2(long), 45_636.36);
        assert_eq!(r2(short), 55_333.33);
    }

    #[test]
    fn no_liquidation_when_fully_collateralised() {
        let i = inst(ContractKind::Linear, 0.004, None);
        assert!(liquidation_price(&i, &iso(1.0, 1.0, 50_000.0, 60_000.0)).is_none());
        let mut inv = inst(ContractKind::Inverse, 0.004, None);
        inv.contract_size = 100.0;
        // 1x short on inverse: WB = Q/EP
        assert!(liquidation_price(&inv, &iso(-1.0, 100.0, 50_000.0, 0.2)).is_none());
    }
}
