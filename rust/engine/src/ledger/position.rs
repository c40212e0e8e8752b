//! One symbol's position: signed quantity, average entry, realized PnL, fees and funding, and the
//! pure function that applies a fill to it (add, reduce, close, flip).

use serde::{Deserialize, Serialize};

use crate::instrument::Instrument;

/// Relative size under which what is left of a position after a reducing fill counts as dust and
/// the position is closed exactly (guards against `0.1 + 0.2 − 0.3` leaving 5.6e-17 open).
pub const DUST: f64 = 1e-9;

/// A position in one symbol. `qty` is signed (long > 0, short < 0) and counts base units × contract
/// size for linear contracts, contracts for inverse ones. `entry` is 0 when flat.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Signed quantity.
    pub qty: f64,
    /// Average entry price (arithmetic for linear, harmonic for inverse); 0 when flat.
    pub entry: f64,
    /// Realized PnL of this symbol, settlement currency.
    pub realized: f64,
    /// Fees paid on this symbol (negative for net rebates).
    pub fees: f64,
    /// Net funding received on this symbol (negative when paid).
    pub funding: f64,
}

/// What a fill does to a position, computed before anything is changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FillEffect {
    /// Signed quantity after the fill.
    pub qty: f64,
    /// Entry price after the fill (0 when flat).
    pub entry: f64,
    /// PnL realized by the closing part of the fill.
    pub realized: f64,
    /// Whether the fill opens exposure (adds, opens or flips) rather than only reducing it.
    pub opens: bool,
}

impl Position {
    /// The effect of filling signed `dq` at `price` on this position (nothing is modified).
    /// With a step size, the new quantity is snapped to the step grid, so that float sums of
    /// step multiples stay the decimals they stand for (exchange positions are step multiples).
    #[inline]
    pub fn fill_effect(&self, inst: &Instrument, dq: f64, price: f64) -> FillEffect {
        let q = self.qty;
        if q == 0.0 || (q > 0.0) == (dq > 0.0) {
            let entry = if q == 0.0 {
                price
            } else {
                inst.average_entry(q.abs(), self.entry, dq.abs(), price)
            };
            return FillEffect {
                qty: inst.round_qty(q + dq),
                entry,
                realized: 0.0,
                opens: true,
            };
        }
        // Opposite direction: close up to |q|, then maybe flip.
        let rest = dq.abs() - q.abs();
        let tol = DUST * dq.abs();
        if rest < -tol {
            // Partial reduce by |dq|; entry unchanged.
            let closed = -dq; // signed like q
            FillEffect {
                qty: inst.round_qty(q + dq),
                entry: self.entry,
                realized: inst.pnl(closed, self.entry, price),
                opens: false,
            }
        } else {
            let realized = inst.pnl(q, self.entry, price);
            if rest > tol {
                FillEffect {
                    qty: rest.copysign(dq),
                    entry: price,
                    realized,
                    opens: true,
                }
            } else {
                FillEffect {
                    qty: 0.0,
                    entry: 0.0,
                    realized,
                    opens: false,
                }
            }
        }
    }

    /// Unrealized PnL at `mark` (0 when flat).
    #[inline]
    pub fn unrealized(&self, inst: &Instrument, mark: f64) -> f64 {
        if self.qty == 0.0 {
            0.0
        } else {
            inst.pnl(self.qty, self.entry, mark)
        }
    }

    /// +1 long, −1 short, 0 flat.
    #[inline]
    pub fn side(&self) -> f64 {
        if self.qty > 0.0 {
            1.0
        } else if self.qty < 0.0 {
            -1.0
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::ContractKind;

    fn linear() -> Instrument {
        Instrument::plain_linear("BTCUSDT", 0.0002, 0.0005)
    }

    #[test]
    fn add_reduce_flip_reset() {
        let i = linear();
        let mut p = Position::default();
        let e = p.fill_effect(&i, 1.0, 100.0);
        assert_eq!(
            (e.qty, e.entry, e.realized, e.opens),
            (1.0, 100.0, 0.0, true)
        );
        p.qty = e.qty;
        p.entry = e.entry;
        let e = p.fill_effect(&i, 3.0, 200.0);
        assert_eq!((e.qty, e.entry), (4.0, 175.0));
        p.qty = e.qty;
        p.entry = e.entry;
        let e = p.fill_effect(&i, -1.0, 275.0);
        assert_eq!(
            (e.qty, e.entry, e.realized, e.opens),
            (3.0, 175.0, 100.0, false)
        );
        let e = p.fill_effect(&i, -6.0, 75.0);
        assert_eq!(
            (e.qty, e.entry, e.realized, e.opens),
            (-2.0, 75.0, -400.0, true)
        );
        let e = p.fill_effect(&i, -4.0, 75.0);
        assert_eq!((e.qty, e.entry, e.realized), (0.0, 0.0, -400.0));
    }

    #[test]
    fn dust_closes_exactly() {
        let i = linear();
        let p = Position {
            qty: 0.1 + 0.2,
            entry: 10.0,
            ..Default::default()
        };
        let e = p.fill_effect(&i, -0.3, 10.0);
        assert_eq!((e.qty, e.entry), (0.0, 0.0));
    }

    #[test]
    fn inverse_example_pnl() {
        // spec: 1,000 contracts (1 USD each) long from 1,000 to 1,250 → +0.2 coin.
        let mut i = linear();
        i.kind = ContractKind::Inverse;
        let p = Position {
            qty: 1000.0,
            entry: 1000.0,
            ..Default::default()
        };
        assert!((p.unrealized(&i, 1250.0) - 0.2).abs() < 1e-15);
        let e = p.fill_effect(&i, -1000.0, 1250.0);
        assert!((e.realized - 0.2).abs() < 1e-15);
    }
}
