//! Liquidation and settlement: the liquidation price (cached until a fill, funding or mark change
//! can move it), forced closes of isolated and cross positions with the insurance floor, the
//! blown account, and delivery settlement at expiry.

use super::LiquidationClose;
use super::{Engine, Strategy, NONE};
use crate::error::{positive, LedgerError};
use crate::ledger::{Liquidity, MarginMode};
use crate::matching::{OrderKind, OrderRequest, Side, Status};

impl Engine {
    /// Symbol `i`'s liquidation price (NaN: none, or liquidation switched off).
    #[inline]
    pub(super) fn liq_level(&mut self, i: usize) -> f64 {
        if !self.config.liquidation {
            return NONE;
        }
        if self.liq_dirty {
            for j in 0..self.account.len() {
                self.liq[j] = self.account.liquidation_price(j).unwrap_or(NONE);
            }
            self.liq_dirty = false;
        }
        self.liq[i]
    }

    /// Liquidates at `price`: an isolated position alone (its loss capped at its margin), or every
    /// cross position (the others at their current prices), after which the account is blown.
    /// With `liquidation_close = bankruptcy_price` the liquidated position closes at its
    /// bankruptcy price instead, without fees (the other cross positions at their marks, also
    /// without fees): the account loses exactly the margin at stake.
    pub(super) fn liquidate<S: Strategy>(&mut self, i: usize, price: f64, strat: &mut S) {
        if self.liquidated_at.is_none() {
            self.liquidated_at = Some(self.now);
            self.liquidation_step = Some(self.steps.saturating_sub(1));
        }
        let bankrupt = self.config.liquidation_close == LiquidationClose::BankruptcyPrice;
        // The bankruptcy price is taken before anything closes (the others at their marks).
        let bp = if bankrupt {
            self.account.bankruptcy_price(i)
        } else {
            None
        };
        let (close_at, how) = match bp {
            Some(bp) => (bp, Liquidity::Bankrupt),
            None => (price, Liquidity::Taker),
        };
        if self.account.margin_mode(i) == MarginMode::Isolated {
            let margin = self.account.position_margin(i);
            let wallet_before = self.account.wallet_balance();
            let pos = self.account.position(i).qty;
            self.force_close(i, pos, close_at, OrderKind::Liquidation, how, strat);
            let loss = wallet_before - self.account.wallet_balance();
            if loss > margin && !self.config.allow_negative_balance {
                self.account.cover_loss(loss - margin);
            }
        } else {
            let order: Vec<usize> = std::iter::once(i)
                .chain((0..self.account.len()).filter(|&j| j != i))
                .collect();
            for j in order {
                if self.account.margin_mode(j) != MarginMode::Cross {
                    continue;
                }
                let pos = self.account.position(j).qty;
                if pos == 0.0 {
                    continue;
                }
                let p = if j == i {
                    close_at
                } else {
                    self.account.mark_price(j).unwrap_or(price)
                };
                self.force_close(j, pos, p, OrderKind::Liquidation, how, strat);
            }
            self.blow_up();
        }
        if !self.config.allow_negative_balance {
            let w = self.account.wallet_balance();
            if w < 0.0 {
                self.account.cover_loss(-w);
            }
        }
        if self.account.wallet_balance() <= 0.0 {
            self.blow_up();
        }
    }

    /// The clearance fee rate of liquidating `qty` of symbol `i` at `price`: the contract's rate
    /// for the bracket of that notional, else the run's `liquidation_fee`.
    fn clearance_rate(&self, i: usize, qty: f64, price: f64) -> f64 {
        let inst = &self.account.instruments()[i];
        inst.clearance_rate(inst.notional(qty, price))
            .unwrap_or(self.config.liquidation_fee)
    }

    /// Closes position `pos` of symbol `i` at `price` with an engine order of `kind`: a taker fill
    /// (liquidations add the clearance fee; settlements do not) or a fee-free take-over at the
    /// bankruptcy price.
    fn force_close<S: Strategy>(
        &mut self,
        i: usize,
        pos: f64,
        price: f64,
        kind: OrderKind,
        how: Liquidity,
        strat: &mut S,
    ) {
        let extra = match (kind, how) {
            (OrderKind::Liquidation, Liquidity::Taker) => self.clearance_rate(i, pos, price),
            _ => 0.0,
        };
        let r = OrderRequest::new(i, Side::of(-pos), kind, pos.abs());
        let idx = self.new_order(&r);
        self.force_fill(idx, -pos, price, how, extra, strat);
    }

    /// The auto-deleveraging level of symbol `i`'s position in the direction `down` (NaN: none):
    /// the bar's reference price moved by `adl_move` against the other side (a short's level
    /// going down, a long's going up), where the position is in profit.
    #[inline]
    pub(super) fn adl_level(&self, i: usize, down: bool) -> f64 {
        let m = self.config.adl_move;
        if m <= 0.0 {
            return NONE;
        }
        let p = self.account.position(i);
        let r = self.bar_ref[i];
        match (down, p.qty) {
            (true, q) if q < 0.0 && r * (1.0 - m) < p.entry => r * (1.0 - m),
            (false, q) if q > 0.0 && r * (1.0 + m) > p.entry => r * (1.0 + m),
            _ => NONE,
        }
    }

    /// The auto-deleveraging model closes symbol `i`'s position at `price`, without fee.
    pub(super) fn deleverage<S: Strategy>(&mut self, i: usize, price: f64, strat: &mut S) {
        let pos = self.account.position(i).qty;
        if pos != 0.0 {
            self.force_close(
                i,
                pos,
                price,
                OrderKind::Deleverage,
                Liquidity::Bankrupt,
                strat,
            );
        }
    }

    /// The account is blown: every open order is cancelled and nothing trades any more.
    fn blow_up(&mut self) {
        self.blown = true;
        self.book
            .end_all(None, Status::Cancelled, "account liquidated", self.now);
    }

    /// Delivery settlement of symbol `i` at `price`: the position closes at that price with the
    /// taker fee, its orders expire and the symbol no longer trades.
    pub fn settle<S: Strategy>(
        &mut self,
        i: usize,
        price: f64,
        strat: &mut S,
    ) -> Result<(), LedgerError> {
        positive("price", price)?;
        self.book
            .end_all(Some(i), Status::Expired, "contract expired", self.now);
        self.expired[i] = true;
        self.cur[i] = price;
        self.account.mark(i, price)?;
        let pos = self.account.position(i).qty;
        if pos != 0.0 {
            self.force_close(
                i,
                pos,
                price,
                OrderKind::Settlement,
                Liquidity::Taker,
                strat,
            );
        }
        Ok(())
    }
}
