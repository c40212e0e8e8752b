//! Orders and their matching along the intrabar path.

pub mod book;
pub mod engine;
pub mod order;

pub use engine::{Config, Engine};
pub use order::{Order, OrderKind, OrderRequest, Side, Status};
