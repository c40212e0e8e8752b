//! The account's figures read from its state: per position (unrealized PnL, notional, margins)
//! and in total (equity, margins, notional, effective leverage, available balance), and the
//! liquidation price of a position in its margin mode.

use super::{Account, MarginMode, PositionSide};
use crate::instrument::Valuation;
use crate::ledger::margin::{
    bankruptcy_price, hedge_liquidation_price, liquidation_price, HedgeInput, LiquidationInput,
};
use crate::ledger::position::Position;

impl Account {
    /// `f` summed over symbol `i`'s open positions (the one-way position; in hedge mode both
    /// sides), written out for the one-way hot path.
    #[inline(always)]
    fn over_legs(&self, i: usize, f: impl Fn(&Position) -> f64) -> f64 {
        let p = &self.positions[i];
        let mut v = if p.qty == 0.0 { 0.0 } else { f(p) };
        if self.is_hedge() && self.shorts[i].qty != 0.0 {
            v += f(&self.shorts[i]);
        }
        v
    }

    /// Unrealized PnL and notional of symbol `i` at its mark in one pass (both sides in hedge
    /// mode): [`Account::position_unrealized`] and [`Account::position_notional`] for the
    /// per-step record.
    #[inline(always)]
    pub fn position_marked(&self, i: usize) -> (f64, f64) {
        let m = self.marker(i);
        m.marked_legs(
            self.mark_or(i, m.long.entry),
            self.mark_or(i, m.short.entry),
        )
    }

    /// Symbol `i`'s legs and the wallet as they stand, to be marked at any price
    /// ([`Marker`]).
    #[inline(always)]
    pub fn marker(&self, i: usize) -> Marker {
        let short = if self.is_hedge() {
            self.shorts[i]
        } else {
            Position::default()
        };
        Marker {
            val: self.instruments[i].valuation(),
            long: self.positions[i],
            short,
            wallet: self.wallet,
        }
    }

    /// Unrealized PnL of symbol `i` at its mark (both sides in hedge mode).
    #[inline]
    pub fn position_unrealized(&self, i: usize) -> f64 {
        let inst = &self.instruments[i];
        self.over_legs(i, |p| p.unrealized(inst, self.mark_or(i, p.entry)))
    }

    /// Notional of symbol `i` at its mark (both sides in hedge mode).
    #[inline]
    pub fn position_notional(&self, i: usize) -> f64 {
        let inst = &self.instruments[i];
        self.over_legs(i, |p| inst.notional(p.qty, self.mark_or(i, p.entry)))
    }

    /// Initial margin of symbol `i`: notional at entry / leverage (for an isolated position this is
    /// its isolated margin; both sides in hedge mode).
    #[inline]
    pub fn position_margin(&self, i: usize) -> f64 {
        let inst = &self.instruments[i];
        self.over_legs(i, |p| inst.notional(p.qty, p.entry) / self.leverage[i])
    }

    /// Maintenance margin of symbol `i` at its mark: `notional·MMR − cum` of its tier (in hedge
    /// mode each side in the tier of its own notional).
    pub fn position_maintenance_margin(&self, i: usize) -> f64 {
        let inst = &self.instruments[i];
        self.over_legs(i, |p| {
            let n = inst.notional(p.qty, self.mark_or(i, p.entry));
            inst.brackets.maintenance_margin(n)
        })
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
    /// unrealized PnL at their marks. In hedge mode: [`Account::liquidation_price_of`].
    pub fn liquidation_price(&self, i: usize) -> Option<f64> {
        self.liquidation_price_of(i, PositionSide::Both)
    }

    /// Liquidation price of symbol `i`'s position on `side`: in hedge mode an isolated side's own,
    /// and under cross margin the one price at which the symbol's long and short, moving
    /// together, leave the account at its maintenance margin (the same for both sides).
    pub fn liquidation_price_of(&self, i: usize, side: PositionSide) -> Option<f64> {
        self.price_of(i, side, true)
    }

    /// Bankruptcy price of symbol `i`'s position (on `side` in hedge mode), where the wallet
    /// backing it is used up (the isolated margin; for cross, the wallet less the isolated margins
    /// plus the other cross positions' unrealized PnL), or `None` when flat or when there is none.
    pub fn bankruptcy_price(&self, i: usize, side: PositionSide) -> Option<f64> {
        self.price_of(i, side, false)
    }

    /// The liquidation levels of symbol `i` as `(down, up)`: the price at or under which a
    /// falling price liquidates, and at or over which a rising one does (`None`: none that way).
    /// One-way: a long's below, a short's above. Hedge mode: isolated, the long side's below and
    /// the short side's above; cross, the symbol's one price on the side its net exposure to
    /// the price (with the maintenance margin) points to.
    pub fn liquidation_levels(&self, i: usize) -> (Option<f64>, Option<f64>) {
        if !self.is_hedge() {
            let q = self.positions[i].qty;
            if q == 0.0 {
                return (None, None);
            }
            let lp = liquidation_price(&self.instruments[i], &self.liquidation_input(i));
            return if q > 0.0 { (lp, None) } else { (None, lp) };
        }
        match self.modes[i] {
            MarginMode::Isolated => (
                self.liquidation_price_of(i, PositionSide::Long),
                self.liquidation_price_of(i, PositionSide::Short),
            ),
            MarginMode::Cross => match self.cross_hedge(i, true) {
                Some((lp, true)) => (Some(lp), None),
                Some((lp, false)) => (None, Some(lp)),
                None => (None, None),
            },
        }
    }

    /// The liquidation (`maintenance`) or bankruptcy price of symbol `i` on `side`.
    fn price_of(&self, i: usize, side: PositionSide, maintenance: bool) -> Option<f64> {
        self.check_side(side).ok()?;
        let p = *self.leg(i, side);
        if p.qty == 0.0 {
            return None;
        }
        let inst = &self.instruments[i];
        let inp = match (self.is_hedge(), self.modes[i]) {
            (true, MarginMode::Cross) => return self.cross_hedge(i, maintenance).map(|(x, _)| x),
            // A hedge-mode isolated side is backed by its own margin only.
            (true, MarginMode::Isolated) => LiquidationInput {
                side: p.side(),
                qty: p.qty.abs(),
                entry: p.entry,
                wallet: inst.notional(p.qty, p.entry) / self.leverage[i],
                mm_other: 0.0,
                upnl_other: 0.0,
            },
            (false, _) => self.liquidation_input(i),
        };
        if maintenance {
            liquidation_price(inst, &inp)
        } else {
            bankruptcy_price(inst, &inp)
        }
    }

    /// Hedge mode, cross margin: symbol `i`'s one liquidation (or bankruptcy) price with both
    /// sides moving together, and whether a falling price reaches it.
    fn cross_hedge(&self, i: usize, maintenance: bool) -> Option<(f64, bool)> {
        let inp = self.liquidation_input(i);
        let (l, s) = (&self.positions[i], &self.shorts[i]);
        let h = HedgeInput {
            long_qty: l.qty,
            long_entry: l.entry,
            short_qty: -s.qty,
            short_entry: s.entry,
            wallet: inp.wallet,
            mm_other: if maintenance { inp.mm_other } else { 0.0 },
            upnl_other: inp.upnl_other,
        };
        hedge_liquidation_price(&self.instruments[i], &h, maintenance)
    }

    /// The inputs of the liquidation and bankruptcy prices of symbol `i`'s position (one-way; in
    /// hedge mode the caller puts in the side's own quantity and backing).
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

/// One symbol's legs (the one-way position, or both sides in hedge mode) and the wallet, frozen:
/// the figures that move with the mark alone, for a stretch of bars in which nothing else changes.
/// [`Account::position_marked`] is this at the account's mark, and [`Marker::equity`] is
/// [`Account::equity`] of a one-symbol account, with the same arithmetic (the same bits).
#[derive(Clone, Copy, Debug)]
pub struct Marker {
    val: Valuation,
    long: Position,
    short: Position,
    wallet: f64,
}

impl Marker {
    /// (Σ unrealized PnL, Σ notional) of the legs, each at its own mark.
    #[inline(always)]
    fn marked_legs(&self, long_mark: f64, short_mark: f64) -> (f64, f64) {
        let (val, p, s) = (self.val, &self.long, &self.short);
        let (mut u, mut n) = (0.0, 0.0);
        // `Position::unrealized` is `pnl` for a leg that is not flat.
        if p.qty != 0.0 {
            u = val.pnl(p.qty, p.entry, long_mark);
            n = val.notional(p.qty, long_mark);
        }
        if s.qty != 0.0 {
            u += val.pnl(s.qty, s.entry, short_mark);
            n += val.notional(s.qty, short_mark);
        }
        (u, n)
    }

    /// (Σ unrealized PnL, Σ notional) of the legs at the mark `m`.
    #[inline(always)]
    pub fn marked(&self, m: f64) -> (f64, f64) {
        self.marked_legs(m, m)
    }

    /// The equity of a one-symbol account whose legs' unrealized PnL is `unrealized`
    /// ([`Marker::marked`]): the wallet plus the sum over its one symbol.
    #[inline(always)]
    pub fn equity(&self, unrealized: f64) -> f64 {
        self.wallet + std::iter::once(unrealized).sum::<f64>()
    }
}
