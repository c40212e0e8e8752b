//! Built-in strategy specs from Python (a dict with `kind` and parameters) and their reports.

use perpsim_engine::engine::SymbolInput;
use perpsim_engine::strategy::{
    Basis, BasisConfig, BasisSize, BuiltIn, Grid, GridConfig, GridMode, GridQty, IndexDeviation,
    Rebalance, TargetKind, TargetPositions, TargetUnit,
};
use perpsim_engine::Account;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{invalid, IntoPyResult};

/// `d[key]` as a `T`, or an error naming the key.
pub(crate) fn get<'py, T: FromPyObjectOwned<'py>>(
    py: Python<'py>,
    d: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<T> {
    match d.get_item(key)? {
        Some(v) => v
            .extract::<T>()
            .map_err(|_| invalid(py, key, format!("{key}: bad value {v}"))),
        None => Err(invalid(py, key, format!("{key}: missing"))),
    }
}

fn opt<'py, T: FromPyObjectOwned<'py>>(
    py: Python<'py>,
    d: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => {
            Ok(Some(v.extract::<T>().map_err(|_| {
                invalid(py, key, format!("{key}: bad value {v}"))
            })?))
        }
        _ => Ok(None),
    }
}

/// Builds the strategy described by `spec`.
pub fn build(
    py: Python<'_>,
    spec: &Bound<'_, PyDict>,
    acc: &Account,
    inputs: &[SymbolInput<'_>],
) -> PyResult<BuiltIn> {
    let kind: String = get(py, spec, "kind")?;
    match kind.as_str() {
        "grid" => {
            let symbol: usize = get(py, spec, "symbol")?;
            let mode = match get::<String>(py, spec, "mode")?.as_str() {
                "neutral" => GridMode::Neutral,
                "long" => GridMode::Long,
                "short" => GridMode::Short,
                m => {
                    return Err(invalid(
                        py,
                        "mode",
                        format!("must be neutral, long or short, got {m:?}"),
                    ))
                }
            };
            let qty = match (
                opt::<f64>(py, spec, "qty")?,
                opt::<f64>(py, spec, "quote_per_grid")?,
            ) {
                (Some(q), None) => GridQty::Base(q),
                (None, Some(v)) => GridQty::Quote(v),
                _ => {
                    return Err(invalid(
                        py,
                        "qty",
                        "give exactly one of qty and quote_per_grid",
                    ))
                }
            };
            let cfg = GridConfig {
                symbol,
                lower: get(py, spec, "lower")?,
                upper: get(py, spec, "upper")?,
                n: get(py, spec, "grid_count")?,
                geometric: get::<String>(py, spec, "spacing")? == "geometric",
                mode,
                qty,
                trigger: opt(py, spec, "trigger")?,
                stop_upper: opt(py, spec, "stop_upper")?,
                stop_lower: opt(py, spec, "stop_lower")?,
                close_on_stop: get(py, spec, "close_on_stop")?,
                trailing_up: get(py, spec, "trailing_up")?,
                trailing_down: get(py, spec, "trailing_down")?,
                trailing_up_limit: opt(py, spec, "trailing_up_limit")?,
                trailing_down_limit: opt(py, spec, "trailing_down_limit")?,
            };
            Ok(BuiltIn::Grid(Box::new(
                Grid::new(cfg, &acc.instruments()[symbol]).py(py)?,
            )))
        }
        "rebalance" => {
            let targets: Vec<f64> = get(py, spec, "targets")?;
            let k = match get::<String>(py, spec, "target_kind")?.as_str() {
                "value" => TargetKind::Value,
                _ => TargetKind::Ratio,
            };
            Ok(BuiltIn::Rebalance(Rebalance::new(
                k,
                targets,
                get(py, spec, "adjust_ratio")?,
                get(py, spec, "limit_orders")?,
            )))
        }
        "targets" => {
            let targets: Vec<Vec<f64>> = get(py, spec, "targets")?;
            let steps = inputs.iter().map(|i| i.bars.len()).max().unwrap_or(0);
            if targets.iter().any(|t| t.len() < steps.min(1)) {
                return Err(invalid(
                    py,
                    "targets",
                    "one target column per symbol, one row per step",
                ));
            }
            let unit = match get::<String>(py, spec, "unit")?.as_str() {
                "qty" => TargetUnit::Qty,
                "value" => TargetUnit::Value,
                _ => TargetUnit::Fraction,
            };
            Ok(BuiltIn::Targets(TargetPositions {
                unit,
                targets,
                step: 0,
            }))
        }
        "deviation" => {
            let stop: Option<f64> = opt(py, spec, "stop_deviation")?;
            let reentry: Option<f64> = opt(py, spec, "reentry_deviation")?;
            Ok(BuiltIn::Deviation(IndexDeviation::new(
                acc.len(),
                get(py, spec, "trade_value")?,
                get(py, spec, "step")?,
                get(py, spec, "min_trade_value")?,
                get(py, spec, "window")?,
                stop.unwrap_or(f64::NAN),
                reentry.or(stop).unwrap_or(f64::INFINITY),
            )))
        }
        "basis" => {
            let size = match get::<String>(py, spec, "size_kind")?.as_str() {
                "coin" => BasisSize::Coin(get(py, spec, "size")?),
                "quote" => BasisSize::Quote(get(py, spec, "size")?),
                _ => BasisSize::Fraction(get(py, spec, "size")?),
            };
            let cfg = BasisConfig {
                spot: get(py, spec, "spot")?,
                spot_fee: get(py, spec, "spot_fee")?,
                open_threshold: get(py, spec, "open_threshold")?,
                close_threshold: opt(py, spec, "close_threshold")?.unwrap_or(f64::NAN),
                annualized: get(py, spec, "annualized")?,
                hold_to_expiry: get(py, spec, "hold_to_expiry")?,
                size,
                initial_cash: get(py, spec, "initial_cash")?,
            };
            Ok(BuiltIn::Basis(Box::new(Basis::new(cfg))))
        }
        k => Err(invalid(py, "kind", format!("unknown strategy {k:?}"))),
    }
}

/// The strategy's own figures after a run.
pub fn report<'py>(py: Python<'py>, s: &BuiltIn, acc: &Account) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    if let BuiltIn::Grid(g) = s {
        let i = g.symbol();
        let mark = acc.mark_price(i).unwrap_or(f64::NAN);
        d.set_item("matched_profit", g.matched_profit())?;
        d.set_item("matched_count", g.matched_count())?;
        d.set_item("unmatched_pnl", g.unmatched_pnl(mark))?;
        d.set_item("levels", g.levels())?;
        d.set_item("quantities", g.quantities())?;
        d.set_item("trailing_shifts", g.shifts())?;
        let (a, b) = g.times();
        d.set_item("started_at", a)?;
        d.set_item("stopped_at", b)?;
        d.set_item("state", format!("{:?}", g.state()).to_lowercase())?;
    }
    if let BuiltIn::Basis(b) = s {
        let t = b.trades();
        let spot = PyDict::new(py);
        spot.set_item("timestamp", t.iter().map(|x| x.ts).collect::<Vec<_>>())?;
        spot.set_item("side", t.iter().map(|x| x.side).collect::<Vec<_>>())?;
        spot.set_item("qty", t.iter().map(|x| x.qty).collect::<Vec<_>>())?;
        spot.set_item("price", t.iter().map(|x| x.price).collect::<Vec<_>>())?;
        spot.set_item("fee", t.iter().map(|x| x.fee).collect::<Vec<_>>())?;
        d.set_item("spot_fills", spot)?;
        d.set_item("value_quote", b.value_quote())?;
        d.set_item("value_coin", b.value_coin())?;
        d.set_item("premium", b.premiums())?;
        d.set_item("spot_fees", b.spot_fees())?;
        d.set_item("spot_volume", b.spot_volume())?;
        d.set_item("spot_cash", b.cash())?;
        d.set_item("spot_coin", b.coin())?;
        let (o, c, st) = b.counts();
        d.set_item("opens", o)?;
        d.set_item("early_closes", c)?;
        d.set_item("settled_closes", st)?;
        d.set_item("held", b.held())?;
    }
    Ok(d)
}
