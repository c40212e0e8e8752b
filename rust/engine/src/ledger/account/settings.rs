//! The account's settings per symbol: leverage, margin mode, and the account's position mode
//! (one-way or hedge).

use super::{Account, MarginMode, PositionMode};
use crate::error::{positive, LedgerError};
use crate::instrument::ContractKind;
use crate::ledger::position::Position;

impl Account {
    pub(super) fn check_leverage(&self, i: usize, leverage: f64) -> Result<f64, LedgerError> {
        positive("leverage", leverage)?;
        let inst = &self.instruments[i];
        if inst.kind == ContractKind::Spot {
            if leverage != 1.0 {
                return Err(LedgerError::invalid(
                    "leverage",
                    format!("spot {} trades at leverage 1, got {leverage}", inst.symbol),
                ));
            }
            return Ok(1.0);
        }
        let max = inst.brackets.max_leverage();
        if leverage > max {
            return Err(LedgerError::invalid(
                "leverage",
                format!("{leverage} is above {}'s maximum of {max}", inst.symbol),
            ));
        }
        Ok(leverage)
    }

    /// Sets the leverage of symbol `i` (both sides in hedge mode). Rejected (account unchanged)
    /// when above the bracket maximum for a position's notional, or when the open positions'
    /// initial margin would exceed equity.
    pub fn set_leverage(&mut self, i: usize, leverage: f64) -> Result<(), LedgerError> {
        let lev = self.check_leverage(i, leverage)?;
        let inst = &self.instruments[i];
        let mut at_entry = 0.0;
        for p in self.legs(i) {
            let notional = inst.notional(p.qty, p.entry);
            let tier_max = inst.brackets.tier(notional).max_leverage;
            if lev > tier_max {
                return Err(LedgerError::rejected(
                    "leverage",
                    format!("{lev} is above the {tier_max}x allowed for the position's notional"),
                ));
            }
            at_entry += notional;
        }
        if at_entry != 0.0 {
            let im = self.initial_margin() - at_entry / self.leverage[i] + at_entry / lev;
            if im > self.equity() {
                return Err(LedgerError::rejected("leverage", "insufficient margin"));
            }
        }
        self.leverage[i] = lev;
        Ok(())
    }

    /// Sets the margin mode of symbol `i` (only while it is flat, as on the exchanges).
    pub fn set_margin_mode(&mut self, i: usize, mode: MarginMode) -> Result<(), LedgerError> {
        if self.legs(i).next().is_some() && self.modes[i] != mode {
            return Err(LedgerError::rejected(
                "margin_mode",
                "the margin mode can change only while the position is flat",
            ));
        }
        self.modes[i] = mode;
        Ok(())
    }

    /// Sets the position mode: one-way (one net position per symbol) or hedge (a long and a short
    /// position per symbol at once, Binance's dual-side mode). Only while every symbol is flat.
    pub fn set_position_mode(&mut self, mode: PositionMode) -> Result<(), LedgerError> {
        if mode == self.position_mode() {
            return Ok(());
        }
        if (0..self.len()).any(|i| self.legs(i).next().is_some()) {
            return Err(LedgerError::rejected(
                "position_mode",
                "the position mode can change only while every position is flat",
            ));
        }
        self.shorts = match mode {
            PositionMode::OneWay => Vec::new(),
            PositionMode::Hedge => vec![Position::default(); self.len()],
        };
        Ok(())
    }
}
