//! The engine's own formulas for `perpsim.calc`: grid levels, liquidation price, funding,
//! premium, tick and step rounding (the calculators call these instead of writing them again).

use perpsim_engine::ledger::margin::{liquidation_price, LiquidationInput};
use perpsim_engine::strategy::basis::premium;
use perpsim_engine::strategy::{GridConfig, GridQty, Spacing};
use perpsim_engine::Instrument;
use pyo3::prelude::*;

use crate::convert::{contract as read_contract, Choice};
use crate::errors::{invalid, IntoPyResult};

fn ticked(tick: f64) -> Instrument {
    let mut i = Instrument::plain_linear("X", 0.0, 0.0);
    i.tick_size = tick;
    i
}

/// The N + 1 levels of a grid, rounded to `tick` (the engine's grid rule); at most `max_grids`
/// intervals (the engine's default unless given).
#[pyfunction]
#[pyo3(signature = (lower, upper, grid_count, spacing, tick=0.0, max_grids=None))]
pub fn calc_grid_levels(
    py: Python<'_>,
    lower: f64,
    upper: f64,
    grid_count: usize,
    spacing: Choice<Spacing>,
    tick: f64,
    max_grids: Option<usize>,
) -> PyResult<Vec<f64>> {
    let mut cfg = GridConfig::neutral(lower, upper, grid_count, GridQty::Base(1.0));
    cfg.geometric = spacing.0 == Spacing::Geometric;
    if let Some(m) = max_grids {
        cfg.max_grids = m;
    }
    cfg.validate().py(py)?;
    let inst = ticked(tick);
    Ok((0..=grid_count as i64)
        .map(|k| inst.round_price(cfg.raw_level(k)))
        .collect())
}

/// `price` rounded to `tick` (the engine's rule).
#[pyfunction]
pub fn calc_round_price(price: f64, tick: f64) -> f64 {
    ticked(tick).round_price(price)
}

/// `qty` rounded down to `step` (the engine's rule for grid quantities).
#[pyfunction]
pub fn calc_floor_qty(qty: f64, step: f64) -> f64 {
    let mut i = Instrument::plain_linear("X", 0.0, 0.0);
    i.step_size = step;
    i.floor_qty(qty)
}

/// The share of a rebate `reward` that volume `a` earns beside the others' volume `v`:
/// `a/(a+V)·R` (the engine's rule for rebate periods).
#[pyfunction]
pub fn calc_rebate_share(a: f64, v: f64, reward: f64) -> f64 {
    perpsim_engine::engine::rebate_share(a, v, reward)
}

/// The liquidation price of a position of `contract` (NaN: none).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn calc_liquidation_price(
    py: Python<'_>,
    contract: &Bound<'_, PyAny>,
    long: bool,
    qty: f64,
    entry_price: f64,
    wallet_balance: f64,
    mm_other: f64,
    upnl_other: f64,
) -> PyResult<f64> {
    let inst = read_contract(py, contract, None, None)?;
    let inp = LiquidationInput {
        side: if long { 1.0 } else { -1.0 },
        qty,
        entry: entry_price,
        wallet: wallet_balance,
        mm_other,
        upnl_other,
    };
    Ok(liquidation_price(&inst, &inp).unwrap_or(f64::NAN))
}

/// Funding received by a signed position `qty` of `contract` at `mark_price` and `rate`.
#[pyfunction]
pub fn calc_funding(
    py: Python<'_>,
    contract: &Bound<'_, PyAny>,
    qty: f64,
    mark_price: f64,
    rate: f64,
) -> PyResult<f64> {
    let inst = read_contract(py, contract, None, None)?;
    perpsim_engine::error::positive("mark_price", mark_price).py(py)?;
    Ok(inst.funding_received(qty, mark_price, rate))
}

/// The premium (F − S)/S and, with `days_to_expiry`, its annualized value.
#[pyfunction]
#[pyo3(signature = (future, spot, days_to_expiry=None))]
pub fn calc_premium(
    py: Python<'_>,
    future: f64,
    spot: f64,
    days_to_expiry: Option<f64>,
) -> PyResult<(f64, f64)> {
    perpsim_engine::error::positive("future", future).py(py)?;
    perpsim_engine::error::positive("spot", spot).py(py)?;
    let expiry = match days_to_expiry {
        Some(d) if d.is_finite() && d > 0.0 => Some((d * 86_400e9).round() as i64),
        Some(d) => {
            return Err(invalid(
                py,
                "days_to_expiry",
                format!("must be a finite number > 0, got {d}"),
            ))
        }
        None => None,
    };
    Ok(premium(future, spot, expiry, 0))
}
