//! Drivers: the single-run event loop over columnar market data.

pub mod run;

pub use run::{run, run_clocked, SymbolInput};
