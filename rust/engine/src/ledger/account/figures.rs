//! The account's figures read from its state: per position (unrealized PnL, notional, margins)
//! and in total (equity, margins, notional, effective leverage, available balance), and the
//! liquidation price of a position in its margin mode.

use super::{Account, MarginMode};
use crate::ledger::margin::{bankruptcy_price, liquidation_price, LiquidationInput};

impl Account {
    /// Unrealized PnL of symbol `i` at its mark.
    #[inline]
    pub fn position_unrealized(&self, i: usize) -> f64 {
        let p = &self.positions[i];
        if p.qty == 0.0 {
            0.0
        } else {
            p.unrealized(&self.instruments[i], self.mark_or(i, p.entry))
        }
    }

    /// Notional of symbol `i` at its mark.
    #[inline]
    pub fn position_notional(&self, i: usize) -> f64 {
        let p = &self.positions[i];
        if p.qty == 0.0 {
            0.0
        } else {
            self.instruments[i].notional(p.qty, self.mark_or(i, p.entry))
        }
    }

    /// Initial margin of symbol `i`: notional at entry / leverage (for an isolated position this is
    /// its isolated margin).
    #[inline]
    pub fn position_margin(&self, i: usize) -> f64 {
        let p = &self.positions[i];
        if p.qty == 0.0 {
            0.0
        } else {
            self.instruments[i].notional(p.qty, p.entry) / self.leverage[i]
        }
    }

    /// Maintenance margin of symbol `i` at its mark: `notional·MMR − cum` of its tier.
    pub fn position_maintenance_margin(&self, i: usize) -> f64 {
        self.instruments[i]
            .brackets
            .maintenance_margin(self.position_notional(i))
    }

    /// Σ unrealized PnL at the marks.
    #[inline]
    pub fn unrealized(&self) -> f64 {
        (0..self.len()).map(|i| self.position_unrealized(i)).sum()
    }

    /// Equity (margin balance) = wallet + Σ unrealized.
    #[inline]
    pub fn equity(&self) -> f64 {
        self.wallet + self.unrealized()
    }

    /// Equity in quote at `price` (inverse accounts hold coin: equity × price; else the equity).
    #[inline]
    pub fn equity_in_quote(&self, price: f64) -> f64 {
        let e = self.equity();
        if self.is_inverse() {
            e * price
        } else {
            e
        }
    }

    /// Σ initial margin (notional at entry / leverage).
    #[inline]
    pub fn initial_margin(&self) -> f64 {
        (0..self.len()).map(|i| self.position_margin(i)).sum()
    }

    /// Σ maintenance margin at the marks.
    pub fn maintenance_margin(&self) -> f64 {
        (0..self.len())
            .map(|i| self.position_maintenance_margin(i))
            .sum()
    }

    /// Σ notional at the marks.
    pub fn notional(&self) -> f64 {
        (0..self.len()).map(|i| self.position_notional(i)).sum()
    }

    /// Σ notional at mark / equity (infinite when equity ≤ 0 with a position open, 0 when flat).
    pub fn effective_leverage(&self) -> f64 {
        let n = self.notional();
        if n == 0.0 {
            0.0
        } else {
            let e = self.equity();
            if e > 0.0 {
                n / e
            } else {
                f64::INFINITY
            }
        }
    }

    /// Equity − Σ initial margin.
    pub fn available_balance(&self) -> f64 {
        self.equity() - self.initial_margin()
    }

    /// Liquidation price of symbol `i` (one-way mode), or `None` (flat, spot, or no positive
    /// price liquidates it). Isolated: backed by its isolated margin only. Cross: by the wallet
    /// less the isolated margins, with the other cross positions' maintenance margin and
    /// unrealized PnL at their marks.
    pub fn liquidation_price(&self, i: usize) -> Option<f64> {
        if self.positions[i].qty == 0.0 {
            return None;
        }
        liquidation_price(&self.instruments[i], &self.liquidation_input(i))
    }

    /// Bankruptcy price of symbol `i`'s position, where the wallet backing it is used up (the
    /// isolated margin; for cross, the wallet less the isolated margins plus the other cross
    /// positions' unrealized PnL), or `None` when flat or when there is none.
    pub fn bankruptcy_price(&self, i: usize) -> Option<f64> {
        if self.positions[i].qty == 0.0 {
            return None;
        }
        bankruptcy_price(&self.instruments[i], &self.liquidation_input(i))
    }

    /// The inputs of the liquidation and bankruptcy prices of symbol `i`'s position.
    fn liquidation_input(&self, i: usize) -> LiquidationInput {
        let p = &self.positions[i];
        match self.modes[i] {
            MarginMode::Isolated => LiquidationInput {
                side: p.side(),
                qty: p.qty.abs(),
                entry: p.entry,
                wallet: self.position_margin(i),
                mm_other: 0.0,
                upnl_other: 0.0,
            },
            MarginMode::Cross => {
                let mut wallet = self.wallet;
                let mut mm_other = 0.0;
                let mut upnl_other = 0.0;
                for j in 0..self.len() {
                    if j == i {
                        continue;
                    }
                    match self.modes[j] {
                        MarginMode::Isolated => wallet -= self.position_margin(j),
                        MarginMode::Cross => {
                            mm_other += self.position_maintenance_margin(j);
                            upnl_other += self.position_unrealized(j);
                        }
                    }
                }
                LiquidationInput {
                    side: p.side(),
                    qty: p.qty.abs(),
                    entry: p.entry,
                    wallet,
                    mm_other,
                    upnl_other,
                }
            }
        }
    }
}
