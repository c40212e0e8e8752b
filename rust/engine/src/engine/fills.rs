//! Fills: an order filling what it can at a price (reduce-only caps, the bar's volume cap, the
//! account's margin check), forced fills (liquidation, settlement), and the fill record handed to
//! the strategy.

use super::{Engine, Strategy};
use crate::error::LedgerError;
use crate::ledger::Liquidity;
use crate::matching::{Side, Status};
use crate::record::FillRow;

impl Engine {
    /// Fills what order `idx` can fill now at `price`. Reduce-only orders are capped at the
    /// position (cancelled when there is nothing to reduce); maker fills respect the bar's volume
    /// cap. A fill the account refuses (margin) rejects the order.
    pub(super) fn execute<S: Strategy>(
        &mut self,
        idx: u32,
        price: f64,
        liquidity: Liquidity,
        strat: &mut S,
    ) -> Result<bool, LedgerError> {
        let o = self.book.get(idx);
        let i = o.symbol;
        let side = o.side;
        let ps = o.position_side;
        let mut q = if o.close_position {
            f64::INFINITY
        } else {
            o.qty - o.filled
        };
        if o.reduce_only {
            let pos = self.account.leg(i, ps).qty;
            if pos == 0.0 || (pos > 0.0) == (side == Side::Buy) {
                self.book.unrest(idx);
                self.end_order(idx, Status::Cancelled, "reduce-only: no position to reduce");
                return Ok(false);
            }
            q = q.min(pos.abs());
        }
        let capped = liquidity == Liquidity::Maker && self.vol_left[i].is_finite();
        if capped {
            let cap = self.account.instruments()[i].floor_qty(self.vol_left[i]);
            if cap <= 0.0 {
                // Less than one step of volume left: the bar's budget is spent.
                self.vol_left[i] = 0.0;
                return Ok(false);
            }
            q = q.min(cap);
        }
        let reason = self.book.get(idx).fill_reason;
        match self
            .account
            .fill_leg(i, ps, side.sign() * q, price, liquidity)
        {
            Ok(f) => {
                if capped {
                    self.vol_left[i] -= q;
                }
                let now = self.now;
                let o = self.book.get_mut(idx);
                o.avg_price = (o.avg_price * o.filled + price * q) / (o.filled + q);
                o.filled += q;
                o.updated = now;
                if o.close_position || o.reduce_only || o.filled >= o.qty * (1.0 - 1e-12) {
                    o.status = Status::Filled;
                    self.book.unrest(idx);
                } else {
                    // A partial fill: the order counts for what is left.
                    self.book.recount(idx, &self.account.instruments()[i]);
                }
                let row = FillRow {
                    ts: now,
                    symbol: i,
                    order_id: idx as u64 + 1,
                    side: side.sign() as i8,
                    qty: q,
                    price,
                    fee: f.fee,
                    maker: liquidity == Liquidity::Maker,
                    realized: f.realized,
                    position: f.position,
                    entry: f.entry,
                    reason,
                };
                self.after_fill(row, strat);
                Ok(true)
            }
            Err(e) => {
                self.book.unrest(idx);
                self.book.unpend(idx);
                Err(self.reject_fill(idx, e))
            }
        }
    }

    fn reject_fill(&mut self, idx: u32, e: LedgerError) -> LedgerError {
        self.reject(idx, &e.field, e.message)
    }

    fn after_fill<S: Strategy>(&mut self, row: FillRow, strat: &mut S) {
        self.touch_liquidation();
        if self.rebates[row.symbol].is_some() {
            let value = self.account.instruments()[row.symbol].order_value_usd(row.qty, row.price);
            self.count_rebate_volume(row.symbol, value);
        }
        // The strategy reads the row it was handed (not a copy read back from the log).
        self.fills.push(row);
        strat.on_fill(self, &row);
    }

    /// A forced fill (liquidation, settlement) that the account always accepts (it reduces), at
    /// the fee of `how` (taker, or none for a take-over at the bankruptcy price) plus an extra fee
    /// at `extra_fee_rate` of the notional.
    pub(super) fn force_fill<S: Strategy>(
        &mut self,
        idx: u32,
        dq: f64,
        price: f64,
        how: Liquidity,
        extra_fee_rate: f64,
        strat: &mut S,
    ) {
        let o = self.book.get(idx);
        let (i, ps) = (o.symbol, o.position_side);
        let reason = o.kind.fill_reason();
        let f = self
            .account
            .fill_leg(i, ps, dq, price, how)
            .expect("a closing fill is always accepted");
        let extra = extra_fee_rate * self.account.instruments()[i].notional(dq, price);
        if extra != 0.0 {
            self.account.charge_fee(i, ps, extra);
        }
        let now = self.now;
        let o = self.book.get_mut(idx);
        o.filled = dq.abs();
        o.avg_price = price;
        o.status = Status::Filled;
        o.updated = now;
        let row = FillRow {
            ts: now,
            symbol: i,
            order_id: idx as u64 + 1,
            side: if dq > 0.0 { 1 } else { -1 },
            qty: dq.abs(),
            price,
            fee: f.fee + extra,
            maker: false,
            realized: f.realized,
            position: f.position,
            entry: f.entry,
            reason,
        };
        self.after_fill(row, strat);
    }
}
