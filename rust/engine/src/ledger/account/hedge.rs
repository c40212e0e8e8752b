//! Position modes: one-way (one net position per symbol) and hedge (Binance's dual-side mode: a
//! long and a short position per symbol at once). The account keeps the long (or the one-way)
//! position of each symbol in `positions` and, in hedge mode only, the short one in `shorts`.

use serde::{Deserialize, Serialize};

use super::Account;
use crate::error::LedgerError;
use crate::ledger::position::Position;

/// The account's position mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PositionMode {
    /// One net position per symbol (Binance's default).
    #[default]
    OneWay,
    /// A long and a short position per symbol at once (Binance's dual-side position mode).
    Hedge,
}

impl crate::names::Named for PositionMode {
    const FIELD: &'static str = "position_mode";
    const CHOICES: &'static [(&'static str, Self)] =
        &[("one_way", Self::OneWay), ("hedge", Self::Hedge)];
}

/// Which position an order or fill belongs to (Binance's `positionSide`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PositionSide {
    /// The one position of one-way mode.
    #[default]
    Both,
    /// The long position of hedge mode: buys open it, sells close it.
    Long,
    /// The short position of hedge mode: sells open it, buys close it.
    Short,
}

impl crate::names::Named for PositionSide {
    const FIELD: &'static str = "position_side";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("both", Self::Both),
        ("long", Self::Long),
        ("short", Self::Short),
    ];
}

impl PositionSide {
    /// Whether an order of signed direction `sign` (+1 buy, −1 sell) on this side only closes
    /// (a sell on the long side, a buy on the short side); never for one-way orders.
    #[inline]
    pub fn closes(self, sign: f64) -> bool {
        match self {
            Self::Both => false,
            Self::Long => sign < 0.0,
            Self::Short => sign > 0.0,
        }
    }
}

impl Account {
    /// The position mode.
    #[inline]
    pub fn position_mode(&self) -> PositionMode {
        if self.shorts.is_empty() {
            PositionMode::OneWay
        } else {
            PositionMode::Hedge
        }
    }

    /// Whether the account is in hedge mode.
    #[inline]
    pub fn is_hedge(&self) -> bool {
        !self.shorts.is_empty()
    }

    /// Checks that `side` fits the position mode (`both` in one-way mode, `long` or `short` in
    /// hedge mode); returns whether it is the short slot.
    #[inline]
    pub fn check_side(&self, side: PositionSide) -> Result<bool, LedgerError> {
        match (self.is_hedge(), side) {
            (false, PositionSide::Both) | (true, PositionSide::Long) => Ok(false),
            (true, PositionSide::Short) => Ok(true),
            (false, _) => Err(LedgerError::invalid(
                "position_side",
                "long and short positions exist only in hedge mode (position_mode=\"hedge\"); \
                 one-way orders are \"both\"",
            )),
            (true, PositionSide::Both) => Err(LedgerError::invalid(
                "position_side",
                "in hedge mode an order names its position: \"long\" or \"short\"",
            )),
        }
    }

    /// The side holding a long (`long`) or a short position: `Both` in one-way mode.
    #[inline]
    pub fn side_of(&self, long: bool) -> PositionSide {
        match (self.is_hedge(), long) {
            (false, _) => PositionSide::Both,
            (true, true) => PositionSide::Long,
            (true, false) => PositionSide::Short,
        }
    }

    /// The position of symbol `i` on `side` (the one-way position for `both`; a side that does
    /// not fit the mode reads the long or one-way slot: check it first with
    /// [`Account::check_side`]).
    #[inline]
    pub fn leg(&self, i: usize, side: PositionSide) -> &Position {
        match side {
            PositionSide::Short if self.is_hedge() => &self.shorts[i],
            _ => &self.positions[i],
        }
    }

    #[inline]
    pub(super) fn leg_mut(&mut self, i: usize, short: bool) -> &mut Position {
        if short {
            &mut self.shorts[i]
        } else {
            &mut self.positions[i]
        }
    }

    /// The other slot of symbol `i` in hedge mode (the short one when `short` is false).
    #[inline]
    pub(super) fn other_leg(&self, i: usize, short: bool) -> Option<&Position> {
        if short {
            Some(&self.positions[i])
        } else {
            self.shorts.get(i)
        }
    }

    /// The open positions of symbol `i`: the one-way position, or hedge mode's long and short.
    #[inline]
    pub fn legs(&self, i: usize) -> impl Iterator<Item = &Position> {
        std::iter::once(&self.positions[i])
            .chain(self.shorts.get(i))
            .filter(|p| p.qty != 0.0)
    }

    /// The net quantity of symbol `i` (long + short in hedge mode).
    #[inline]
    pub fn net_qty(&self, i: usize) -> f64 {
        self.positions[i].qty + self.shorts.get(i).map_or(0.0, |p| p.qty)
    }

    /// Whether a falling (`down`) or rising price can bring symbol `i` to a liquidation: one-way,
    /// a long falling or a short rising; hedge mode, any open side (under cross margin both sides
    /// decide which way, so the level is looked up).
    #[inline]
    pub fn exposed(&self, i: usize, down: bool) -> bool {
        if self.is_hedge() {
            return !self.is_flat(i);
        }
        let q = self.positions[i].qty;
        if down {
            q > 0.0
        } else {
            q < 0.0
        }
    }

    /// Whether symbol `i` holds no position on any side.
    #[inline]
    pub fn is_flat(&self, i: usize) -> bool {
        self.positions[i].qty == 0.0 && self.shorts.get(i).is_none_or(|p| p.qty == 0.0)
    }

    /// Unrealized PnL, notional at the mark, initial margin and maintenance margin of symbol `i`'s
    /// position on `side` alone (zeros when flat).
    pub fn leg_figures(&self, i: usize, side: PositionSide) -> LegFigures {
        let p = self.leg(i, side);
        if p.qty == 0.0 {
            return LegFigures::default();
        }
        let inst = &self.instruments[i];
        let mark = self.marks[i].unwrap_or(p.entry);
        let notional = inst.notional(p.qty, mark);
        LegFigures {
            unrealized: p.unrealized(inst, mark),
            notional,
            margin: inst.notional(p.qty, p.entry) / self.leverage[i],
            maintenance: inst.brackets.maintenance_margin(notional),
        }
    }
}

/// The figures of one position (one side in hedge mode), see [`Account::leg_figures`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LegFigures {
    /// Unrealized PnL at the mark.
    pub unrealized: f64,
    /// Notional at the mark.
    pub notional: f64,
    /// Initial margin: notional at entry / leverage.
    pub margin: f64,
    /// Maintenance margin at the mark.
    pub maintenance: f64,
}
