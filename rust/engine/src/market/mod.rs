//! Market data: columnar bars per symbol (borrowed, zero-copy), validation, and the intrabar path.

pub mod bars;
pub mod path;
pub mod premium;
mod scan;
pub mod times;

pub use bars::{Bar, BarSeries, Series};
pub use path::PathModel;
pub use times::{ns_from_unit, Times};
