//! perpsim's engine: instruments, the ledger (positions, account, margin, funding, liquidation
//! prices), market data, the matching engine along the intrabar path, strategies and the event
//! loop, for linear (USDT-margined) and inverse (coin-margined) contracts.
//!
//! This crate has no Python dependency: `cargo test` and `cargo bench` run on it alone. The
//! `perpsim-py` crate wraps it for Python.

pub mod control;
pub mod engine;
pub mod error;
pub mod instrument;
pub mod ledger;
pub mod machine;
pub mod market;
pub mod matching;
pub mod mc;
pub mod memory;
pub mod names;
pub mod presets;
pub mod record;
mod rounding;
pub mod stats;
pub mod strategy;
pub mod warnings;

pub use engine::{Config, Engine, History, LiquidationClose, NoStrategy, Record, Strategy};
pub use error::{ErrorKind, LedgerError};
pub use instrument::{Bracket, Brackets, ContractKind, Instrument};
pub use ledger::{Account, Fill, Liquidity, MarginMode, Position, PositionMode, PositionSide};
pub use market::{Bar, BarSeries, PathModel, Series};
pub use matching::{Order, OrderKind, OrderRequest, Side, Status, WorkingType};
pub use names::Named;
pub use record::{FillReason, FillRow, FundingRow};
pub use stats::{CurveStats, RunStats, Stat};
pub use warnings::{Warning, WarningKind, Warnings};
