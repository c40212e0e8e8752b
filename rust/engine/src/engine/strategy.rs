//! The trait the engine calls: a strategy reacts to fills (mid-path: its orders are live at once
//! on the rest of the path), to watched price levels, and decides at each step's close. The
//! built-in strategies (`crate::strategy`) and the binding's Python callback strategy implement
//! it; the engine is monomorphised over it (no dynamic dispatch per call).

use super::{Engine, Inputs};
use crate::error::LedgerError;
use crate::record::FillRow;
use crate::stats::RunStats;

/// A strategy driven by the engine (see the module doc).
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
    /// The prices of `symbol` at which the strategy's close (and after-close) does nothing: while
    /// every bar of a one-symbol run stays strictly inside the band ([`QuietBand`]: its path and
    /// its close) and nothing else happens, the engine may run the bars without calling the
    /// strategy (a quiet stretch). `None` (the default): call it at every step.
    fn quiet_band(&self, _engine: &Engine, _symbol: usize) -> Option<QuietBand> {
        None
    }
    /// The path reached a watched level of `symbol` at `price`.
    fn on_price(&mut self, _engine: &mut Engine, _symbol: usize, _price: f64) {}
    /// The value the run is judged by, when the strategy holds assets outside the account (a
    /// spot wallet): before the first step, its starting capital; after each step, its total at
    /// that step. `None`: the account's equity.
    fn value(&self, _engine: &Engine) -> Option<f64> {
        None
    }
    /// Whether the run goes on (a callback that failed stops it; checked after every step).
    fn keep_going(&self) -> bool {
        true
    }
    /// Checks, before the run starts, that its data suit the strategy; it may count warnings on
    /// the engine. The default is the rule for several symbols ([`Inputs::check_overlap`]: each
    /// symbol's dates overlap another's).
    fn check_inputs(
        &self,
        engine: &mut Engine,
        inputs: &Inputs<'_, '_>,
    ) -> Result<(), LedgerError> {
        inputs.check_overlap(engine.account(), false)
    }
    /// Adds the strategy's own figures to the run's statistics (and corrects the common ones
    /// for what it trades outside the account).
    fn report(&self, _engine: &Engine, _stats: &mut RunStats) {}
    /// Whether the strategy reads none of the run's figures ([`Engine::stats`],
    /// [`Engine::curve`]) while the run goes (its report, after the run, may): then the
    /// statistics fold may run on another core. False unless a strategy says so.
    fn figures_unread(&self) -> bool {
        false
    }
}

/// Where a strategy does nothing at a step's close ([`Strategy::quiet_band`]): a bar whose path
/// stays strictly inside `path` (its low above the first, its high below the second) and whose
/// close stays strictly inside `close`. A strategy that decides on the close alone (a balance
/// strategy trading at the close) gives a band of closes, so that a bar's wicks need not be read;
/// one that reacts to any price of the bar (a grid's stops) gives a band of the path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuietBand {
    /// The prices the bar's path may reach.
    pub path: (f64, f64),
    /// The closes.
    pub close: (f64, f64),
}

impl QuietBand {
    /// Every price: the strategy does nothing whatever the bar.
    pub const ALL: QuietBand = QuietBand {
        path: (f64::NEG_INFINITY, f64::INFINITY),
        close: (f64::NEG_INFINITY, f64::INFINITY),
    };

    /// A band of the path: every price of the bar strictly inside `(lo, hi)`.
    pub const fn of_path(lo: f64, hi: f64) -> Self {
        QuietBand {
            path: (lo, hi),
            ..Self::ALL
        }
    }

    /// A band of the closes: the bar's close strictly inside `(lo, hi)`, its path anywhere.
    pub const fn of_close(lo: f64, hi: f64) -> Self {
        QuietBand {
            close: (lo, hi),
            ..Self::ALL
        }
    }
}

/// No strategy: resting orders only.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStrategy;

impl Strategy for NoStrategy {
    fn quiet_band(&self, _engine: &Engine, _symbol: usize) -> Option<QuietBand> {
        Some(QuietBand::ALL)
    }
    fn figures_unread(&self) -> bool {
        true
    }
}
