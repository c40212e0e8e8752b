//! Monte Carlo (spec/montecarlo.md): a portable random generator, price-path models with
//! Brownian-bridge highs and lows, online per-path statistics and the parallel runner.

pub mod models;
pub mod rng;
pub mod runner;
pub mod tracker;

pub use models::{FundingModel, ModelSpec, PathBuf, PriceModel};
pub use rng::Rng;
pub use runner::{sweep_data, with_threads, McRun, PathStats};
pub use tracker::{CurveStats, Tracked};
