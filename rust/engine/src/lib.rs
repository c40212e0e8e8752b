//! perpsim's engine: instruments, the ledger (positions, account, margin, funding, liquidation
//! prices) and columnar records, for linear (USDT-margined) and inverse (coin-margined) contracts.
//!
//! This crate has no Python dependency: `cargo test` and `cargo bench` run on it alone. The
//! `perpsim-py` crate wraps it for Python.

pub mod error;
pub mod instrument;
pub mod ledger;
pub mod presets;
pub mod record;

pub use error::{ErrorKind, LedgerError};
pub use instrument::{Bracket, Brackets, ContractKind, Instrument};
pub use ledger::{Account, Fill, Liquidity, MarginMode, Position};
pub use record::EquityHistory;
