//! The built-in strategies as one enum: the event loop is monomorphised over it, no dynamic
//! dispatch per call.

use super::basis::Basis;
use super::deviation::IndexDeviation;
use super::grid::Grid;
use super::rebalance::Rebalance;
use super::targets::TargetPositions;
use super::Strategy;
use crate::engine::{Engine, Inputs, QuietBand};
use crate::error::LedgerError;
use crate::record::FillRow;
use crate::stats::RunStats;

/// One of the built-in strategies.
#[derive(Clone, Debug)]
pub enum BuiltIn {
    /// The futures grid (boxed: it is much larger than the others).
    Grid(Box<Grid>),
    /// The balance strategy.
    Rebalance(Rebalance),
    /// Target positions.
    Targets(TargetPositions),
    /// Index deviation over the account's symbols.
    Deviation(IndexDeviation),
    /// Futures-spot basis (cash-and-carry).
    Basis(Box<Basis>),
}

impl Strategy for BuiltIn {
    /// None of the built-in strategies reads the run's figures before its report; the grid's
    /// and the balance strategy's are made on another core (engine/fold.rs). The others keep
    /// them on the run's thread: they trade several symbols or value a spot leg.
    fn figures_unread(&self) -> bool {
        matches!(self, BuiltIn::Grid(_) | BuiltIn::Rebalance(_))
    }
    #[inline]
    fn on_fill(&mut self, e: &mut Engine, f: &FillRow) {
        match self {
            BuiltIn::Grid(s) => s.on_fill(e, f),
            BuiltIn::Rebalance(s) => s.on_fill(e, f),
            BuiltIn::Targets(s) => s.on_fill(e, f),
            BuiltIn::Deviation(s) => s.on_fill(e, f),
            BuiltIn::Basis(s) => s.on_fill(e, f),
        }
    }

    #[inline]
    fn on_close(&mut self, e: &mut Engine) {
        match self {
            BuiltIn::Grid(s) => s.on_close(e),
            BuiltIn::Rebalance(s) => s.on_close(e),
            BuiltIn::Targets(s) => s.on_close(e),
            BuiltIn::Deviation(s) => s.on_close(e),
            BuiltIn::Basis(s) => s.on_close(e),
        }
    }

    #[inline]
    fn after_close(&mut self, e: &Engine) {
        if let BuiltIn::Basis(s) = self {
            s.after_close(e);
        }
    }

    fn check_inputs(&self, e: &mut Engine, inputs: &Inputs<'_, '_>) -> Result<(), LedgerError> {
        if e.account().is_hedge() && !matches!(self, BuiltIn::Grid(_)) {
            return Err(LedgerError::invalid(
                "position_mode",
                "this strategy trades one net position per symbol: of the built-in strategies \
                 only the grid runs in hedge mode (a Python strategy names each order's side)",
            ));
        }
        match self {
            BuiltIn::Grid(s) => s.check_inputs(e, inputs),
            BuiltIn::Rebalance(s) => s.check_inputs(e, inputs),
            BuiltIn::Targets(s) => s.check_inputs(e, inputs),
            BuiltIn::Deviation(s) => s.check_inputs(e, inputs),
            BuiltIn::Basis(s) => s.check_inputs(e, inputs),
        }
    }

    #[inline]
    fn quiet_band(&self, e: &Engine, symbol: usize) -> Option<QuietBand> {
        match self {
            BuiltIn::Grid(s) => s.quiet_band(e, symbol),
            BuiltIn::Rebalance(s) => s.quiet_band(e, symbol),
            _ => None,
        }
    }

    #[inline]
    fn value(&self, e: &Engine) -> Option<f64> {
        match self {
            BuiltIn::Basis(s) => s.value(e),
            _ => None,
        }
    }

    fn report(&self, e: &Engine, stats: &mut RunStats) {
        match self {
            BuiltIn::Grid(s) => s.report(e, stats),
            BuiltIn::Basis(s) => s.report(e, stats),
            BuiltIn::Deviation(s) => s.report(stats),
            _ => {}
        }
    }

    #[inline]
    fn watch(&self, symbol: usize) -> (f64, f64) {
        match self {
            BuiltIn::Grid(s) => s.watch(symbol),
            BuiltIn::Rebalance(s) => s.watch(symbol),
            BuiltIn::Targets(s) => s.watch(symbol),
            BuiltIn::Deviation(s) => s.watch(symbol),
            BuiltIn::Basis(s) => s.watch(symbol),
        }
    }

    #[inline]
    fn on_price(&mut self, e: &mut Engine, symbol: usize, price: f64) {
        match self {
            BuiltIn::Grid(s) => s.on_price(e, symbol, price),
            BuiltIn::Rebalance(s) => s.on_price(e, symbol, price),
            BuiltIn::Targets(s) => s.on_price(e, symbol, price),
            BuiltIn::Deviation(s) => s.on_price(e, symbol, price),
            BuiltIn::Basis(s) => s.on_price(e, symbol, price),
        }
    }
}
