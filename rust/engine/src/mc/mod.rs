//! Monte Carlo (docs/montecarlo.md): a portable random generator, price-path models with
//! Brownian-bridge highs and lows, and the parallel runner (each path through the engine's one
//! event loop, its figures from the one statistics engine).

pub mod basket;
pub mod fastmath;
mod gbm;
pub mod given;
pub mod meaning;
pub mod models;
pub mod resample;
pub mod rng;
pub mod runner;
pub mod spread;

pub use basket::BasketSpec;
pub use given::{run_given, GivenPaths};
pub use models::{FundingModel, ModelSpec, PathBuf, PriceModel};
pub use resample::{resample_trades, ResampleRow, Resampling};
pub use rng::Rng;
pub use runner::{forked, is_forked, sweep_data, with_threads, Curves, McRun, Model, PathStats};
pub use spread::SpreadSpec;
