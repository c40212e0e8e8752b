//! Liquidation and settlement: the liquidation price (cached until a fill, funding or mark change
//! can move it), forced closes of isolated and cross positions with the insurance floor, the
//! blown account, and delivery settlement at expiry.

use super::LiquidationClose;
use super::{Engine, Strategy, NONE};
use crate::error::{positive, LedgerError};
use crate::ledger::{Liquidity, MarginMode, PositionSide};
use crate::matching::{OrderKind, OrderRequest, Side, Status};

impl Engine {
    /// Symbol `i`'s liquidation levels `(down, up)`: where a falling price liquidates and where a
    /// rising one does (NaN: none that way, or liquidation switched off).
    #[inline]
    pub(super) fn liq_levels(&mut self, i: usize) -> (f64, f64) {
        if !self.config.liquidation {
            return (NONE, NONE);
        }
        if self.liq_dirty {
            for j in 0..self.account.len() {
                let (d, u) = self.account.liquidation_levels(j);
                self.liq[j] = (d.unwrap_or(NONE), u.unwrap_or(NONE));
            }
            self.liq_dirty = false;
        }
        self.liq[i]
    }

    /// The side liquidated when symbol `i`'s price reaches its level falling (`down`) or rising:
    /// one-way, the position; hedge mode, isolated, the long (falling) or the short (rising);
    /// cross, every side (named by its open long, else its short).
    fn liquidated_side(&self, i: usize, down: bool) -> PositionSide {
        if !self.account.is_hedge() || self.account.margin_mode(i) == MarginMode::Isolated {
            self.account.side_of(down)
        } else if self.account.leg(i, PositionSide::Long).qty != 0.0 {
            PositionSide::Long
        } else {
            PositionSide::Short
        }
    }

    /// The open sides of symbol `i` with their quantities (one-way: its position), taken before
    /// any of them closes.
    fn open_sides(&self, i: usize) -> Vec<(PositionSide, f64)> {
        let sides: &[PositionSide] = if self.account.is_hedge() {
            &[PositionSide::Long, PositionSide::Short]
        } else {
            &[PositionSide::Both]
        };
        sides
            .iter()
            .map(|&s| (s, self.account.leg(i, s).qty))
            .filter(|&(_, q)| q != 0.0)
            .collect()
    }

    /// Liquidates at `price`, reached falling (`down`) or rising: an isolated position alone (its
    /// loss capped at its margin; in hedge mode the side on that way), or every cross position (the
    /// others at their current prices), after which the account is blown.
    /// With `liquidation_close = bankruptcy_price` the liquidated position closes at its
    /// bankruptcy price instead, without fees (the other cross positions at their marks, also
    /// without fees): the account loses exactly the margin at stake.
    pub(super) fn liquidate<S: Strategy>(
        &mut self,
        i: usize,
        price: f64,
        down: bool,
        strat: &mut S,
    ) {
        if self.liquidated_at.is_none() {
            self.liquidated_at = Some(self.now);
            self.liquidation_step = Some(self.steps.saturating_sub(1));
        }
        let bankrupt = self.config.liquidation_close == LiquidationClose::BankruptcyPrice;
        let side = self.liquidated_side(i, down);
        // The bankruptcy price is taken before anything closes (the others at their marks).
        let bp = if bankrupt {
            self.account.bankruptcy_price(i, side)
        } else {
            None
        };
        let (close_at, how) = match bp {
            Some(bp) => (bp, Liquidity::Bankrupt),
            None => (price, Liquidity::Taker),
        };
        if self.account.margin_mode(i) == MarginMode::Isolated {
            let p = *self.account.leg(i, side);
            let inst = &self.account.instruments()[i];
            let margin = inst.notional(p.qty, p.entry) / self.account.leverage(i);
            let wallet_before = self.account.wallet_balance();
            self.force_close(i, side, p.qty, close_at, OrderKind::Liquidation, how, strat);
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
                let p = if j == i {
                    close_at
                } else {
                    self.account.mark_price(j).unwrap_or(price)
                };
                for (s, pos) in self.open_sides(j) {
                    self.force_close(j, s, pos, p, OrderKind::Liquidation, how, strat);
                }
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

    /// Closes position `pos` of symbol `i` on `side` at `price` with an engine order of `kind`: a
    /// taker fill (liquidations add the clearance fee; settlements do not) or a fee-free take-over
    /// at the bankruptcy price.
    #[allow(clippy::too_many_arguments)]
    fn force_close<S: Strategy>(
        &mut self,
        i: usize,
        side: PositionSide,
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
        let mut r = OrderRequest::new(i, Side::of(-pos), kind, pos.abs());
        r.position_side = side;
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
        // A falling price deleverages a short, a rising one a long (in hedge mode, that side).
        let p = self.account.leg(i, self.account.side_of(!down));
        let r = self.bar_ref[i];
        match (down, p.qty) {
            (true, q) if q < 0.0 && r * (1.0 - m) < p.entry => r * (1.0 - m),
            (false, q) if q > 0.0 && r * (1.0 + m) > p.entry => r * (1.0 + m),
            _ => NONE,
        }
    }

    /// The auto-deleveraging model closes symbol `i`'s position at `price`, without fee (in hedge
    /// mode the short when the price fell, `down`, else the long).
    pub(super) fn deleverage<S: Strategy>(
        &mut self,
        i: usize,
        price: f64,
        down: bool,
        strat: &mut S,
    ) {
        let side = self.account.side_of(!down);
        let pos = self.account.leg(i, side).qty;
        if pos != 0.0 {
            self.force_close(
                i,
                side,
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
        for (side, pos) in self.open_sides(i) {
            self.force_close(
                i,
                side,
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
