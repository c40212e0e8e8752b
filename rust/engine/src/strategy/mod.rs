//! Strategies driven by the engine: the trait the event loop calls, with no Python per bar.

pub mod basis;
pub mod builtin;
pub mod deviation;
pub mod grid;
pub mod rebalance;
pub mod targets;

pub use basis::{Basis, BasisConfig, BasisSize, SpotTrade};
pub use builtin::BuiltIn;
pub use deviation::IndexDeviation;
pub use grid::{Grid, GridConfig, GridMode, GridQty, GridState};
pub use rebalance::{Rebalance, TargetKind};
pub use targets::{TargetPositions, TargetUnit};

use crate::matching::Engine;
use crate::record::FillRow;

/// A strategy reacting to fills (mid-path: its orders are live at once on the rest of the path)
/// and deciding at each step's close (its market orders fill at the close).
pub trait Strategy {
    /// Called after each fill of the account (including liquidations and settlements).
    fn on_fill(&mut self, _engine: &mut Engine, _fill: &FillRow) {}
    /// Called at each step's close, after the marks are set and before the step is recorded
    /// (not once the account is blown: it can no longer trade).
    fn on_close(&mut self, _engine: &mut Engine) {}
    /// Called at every step's end, after [`Strategy::on_close`], blown account or not: for
    /// bookkeeping outside the account (a spot wallet, per-step records).
    fn after_close(&mut self, _engine: &Engine) {}
    /// Prices of `symbol` at which the strategy wants [`Strategy::on_price`] called along the path:
    /// (a level reached going down, a level reached going up); NaN for none. When called, the
    /// strategy must move the level it was called for away from the price (or clear it).
    fn watch(&self, _symbol: usize) -> (f64, f64) {
        (f64::NAN, f64::NAN)
    }
    /// The path reached a watched level of `symbol` at `price`.
    fn on_price(&mut self, _engine: &mut Engine, _symbol: usize, _price: f64) {}
}

/// No strategy: resting orders only.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStrategy;

impl Strategy for NoStrategy {}
