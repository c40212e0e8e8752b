//! The built-in strategies, driven by the engine with no Python per bar (the trait they
//! implement, [`Strategy`], lives with the engine that calls it).

pub mod basis;
pub mod builtin;
pub mod deviation;
pub mod grid;
pub mod rebalance;
pub mod targets;

pub use basis::{Basis, BasisConfig, BasisSize, SpotTrade};
pub use builtin::BuiltIn;
pub use deviation::IndexDeviation;
pub use grid::{Grid, GridConfig, GridMode, GridQty, GridState, Spacing, DEFAULT_MAX_GRIDS};
pub use rebalance::{Rebalance, TargetKind};
pub use targets::{TargetPositions, TargetUnit};

pub use crate::engine::{NoStrategy, Strategy};
