//! The built-in strategies from their Python dataclasses (`perpsim.Grid`, `Rebalance`,
//! `TargetPositions`, `IndexDeviation`, `Basis`): each class's fields are read by name into a typed
//! struct (the protocol's one declaration here), and the engine's constructors judge them. The
//! dataclasses call [`check_strategy`] at construction, so errors arrive there, naming the field;
//! a run builds the same way, with what only the run knows (symbols, the timeline's targets, the
//! spot series) from [`StrategyInputs`].

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use perpsim_engine::strategy::{
    Basis, BasisConfig, BasisSize, BuiltIn, Grid, GridConfig, GridMode, GridQty, IndexDeviation,
    Rebalance, Spacing, TargetPositions, TargetUnit, DEFAULT_MAX_GRIDS,
};
use perpsim_engine::Account;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyType};

use crate::args::{class_of, read, Count, Flag, Num};
use crate::convert::Choice;
use crate::errors::{invalid, IntoPyResult};
use crate::interrupt::str_of;

/// `perpsim.Grid`.
#[derive(FromPyObject)]
pub struct GridArgs {
    lower: Num,
    upper: Num,
    grid_count: Count,
    mode: Choice<GridMode>,
    spacing: Choice<Spacing>,
    qty: Option<Num>,
    quote_per_grid: Option<Num>,
    trigger: Option<Num>,
    stop_upper: Option<Num>,
    stop_lower: Option<Num>,
    close_on_stop: Flag,
    trailing_up: Flag,
    trailing_down: Flag,
    trailing_up_limit: Option<Num>,
    trailing_down_limit: Option<Num>,
    symbol: Option<String>,
    max_grids: Option<Count>,
}

/// `perpsim.Rebalance` (targets: a number for the first symbol, or a mapping symbol → number).
#[derive(FromPyObject)]
pub struct RebalanceArgs<'py> {
    target_value: Option<Bound<'py, PyAny>>,
    target_ratio: Option<Bound<'py, PyAny>>,
    adjust_ratio: Num,
    limit_orders: Flag,
}

/// `perpsim.TargetPositions` (the targets themselves come aligned to the run's steps).
#[derive(FromPyObject)]
pub struct TargetsArgs {
    unit: Choice<TargetUnit>,
}

/// `perpsim.IndexDeviation`.
#[derive(FromPyObject)]
pub struct DeviationArgs<'py> {
    trade_value: Num,
    step: Num,
    min_trade_value: Num,
    base: Bound<'py, PyAny>,
    stop_deviation: Option<Num>,
    reentry_deviation: Option<Num>,
}

/// `perpsim.Basis`.
#[derive(FromPyObject)]
pub struct BasisArgs {
    open_threshold: Num,
    close_threshold: Option<Num>,
    annualized: Flag,
    hold_to_expiry: Flag,
    amount: Option<Num>,
    value: Option<Num>,
    fraction: Option<Num>,
    spot: Option<String>,
    spot_fee: Option<Num>,
}

/// What a run adds to a strategy's own parameters: `perpsim._protocol.StrategyInputs`.
#[derive(FromPyObject)]
pub struct StrategyInputs<'py> {
    /// Target positions: one row per symbol, one column per time of `target_times`.
    targets: Option<PyReadonlyArray2<'py, f64>>,
    /// Target positions: the rows' times (ns).
    target_times: Option<PyReadonlyArray1<'py, i64>>,
    /// Basis: the spot close per step.
    spot: Option<PyReadonlyArray1<'py, f64>>,
    /// Basis: the spot fee when the strategy does not set one.
    spot_fee: Option<f64>,
    /// Basis: quote cash in the spot wallet at the start.
    initial_cash: Option<f64>,
    /// Extra step times (ns).
    pub clock: Option<PyReadonlyArray1<'py, i64>>,
}

/// The field names of each class as read here, for the test that they match the dataclasses.
pub const FIELDS: [(&str, &[&str]); 5] = [
    (
        "Grid",
        &[
            "lower",
            "upper",
            "grid_count",
            "mode",
            "spacing",
            "qty",
            "quote_per_grid",
            "trigger",
            "stop_upper",
            "stop_lower",
            "close_on_stop",
            "trailing_up",
            "trailing_down",
            "trailing_up_limit",
            "trailing_down_limit",
            "symbol",
            "max_grids",
        ],
    ),
    (
        "Rebalance",
        &[
            "target_value",
            "target_ratio",
            "adjust_ratio",
            "limit_orders",
        ],
    ),
    ("TargetPositions", &["unit"]),
    (
        "IndexDeviation",
        &[
            "trade_value",
            "step",
            "min_trade_value",
            "base",
            "stop_deviation",
            "reentry_deviation",
        ],
    ),
    (
        "Basis",
        &[
            "open_threshold",
            "close_threshold",
            "annualized",
            "hold_to_expiry",
            "amount",
            "value",
            "fraction",
            "spot",
            "spot_fee",
        ],
    ),
];

/// Which built-in strategy class `obj` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Grid,
    Rebalance,
    Targets,
    Deviation,
    Basis,
}

static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn kind_of(obj: &Bound<'_, PyAny>) -> PyResult<Kind> {
    const KINDS: [(&str, Kind); 5] = [
        ("Grid", Kind::Grid),
        ("Rebalance", Kind::Rebalance),
        ("TargetPositions", Kind::Targets),
        ("IndexDeviation", Kind::Deviation),
        ("Basis", Kind::Basis),
    ];
    let names = KINDS.map(|(n, _)| n);
    match class_of(obj, &CLASSES, "perpsim.strategies", &names)? {
        Some(k) => Ok(KINDS[k].1),
        None => Err(invalid(
            obj.py(),
            "strategy",
            "a perpsim.Grid, Rebalance, TargetPositions, IndexDeviation or Basis",
        )),
    }
}

fn opt(v: Option<Num>) -> Option<f64> {
    v.map(|n| n.0)
}

impl GridArgs {
    fn config(&self, py: Python<'_>, symbols: &[String]) -> PyResult<GridConfig> {
        let symbol = match &self.symbol {
            None => 0,
            Some(s) if symbols.is_empty() => {
                let _ = s;
                0
            }
            Some(s) => symbols.iter().position(|n| n == s).ok_or_else(|| {
                invalid(py, "symbol", format!("symbol: {s:?} is not in the data"))
            })?,
        };
        let cfg = GridConfig {
            symbol,
            lower: self.lower.0,
            upper: self.upper.0,
            n: self.grid_count.0 as usize,
            max_grids: self.max_grids.map_or(DEFAULT_MAX_GRIDS, |m| m.0 as usize),
            geometric: self.spacing.0 == Spacing::Geometric,
            mode: self.mode.0,
            qty: GridQty::from_options(opt(self.qty), opt(self.quote_per_grid)).py(py)?,
            trigger: opt(self.trigger),
            stop_upper: opt(self.stop_upper),
            stop_lower: opt(self.stop_lower),
            close_on_stop: self.close_on_stop.0,
            trailing_up: self.trailing_up.0,
            trailing_down: self.trailing_down.0,
            trailing_up_limit: opt(self.trailing_up_limit),
            trailing_down_limit: opt(self.trailing_down_limit),
        };
        cfg.validate().py(py)?;
        Ok(cfg)
    }
}

/// Per-symbol targets from a number (the first symbol) or a mapping symbol → number; with no
/// symbols (a check at construction), the values alone.
fn targets(
    py: Python<'_>,
    field: &str,
    v: &Bound<'_, PyAny>,
    symbols: &[String],
) -> PyResult<Vec<f64>> {
    let num = |x: &Bound<'_, PyAny>| read_num(py, field, x);
    // isinstance(v, Mapping) may run Python code; its failure (a Ctrl-C) is returned.
    static MAPPING: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    if v.is_instance_of::<PyDict>()
        || v.is_instance(MAPPING.import(py, "collections.abc", "Mapping")?)?
    {
        let mut out = vec![0.0; symbols.len()];
        for item in v.call_method0("items")?.try_iter()? {
            let (k, x): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            let x = num(&x)?;
            if symbols.is_empty() {
                out.push(x);
                continue;
            }
            let name = str_of(&k)?;
            let i = symbols
                .iter()
                .position(|s| *s == name)
                .ok_or_else(|| invalid(py, field, format!("{field}: unknown symbol {name:?}")))?;
            out[i] = x;
        }
        return Ok(out);
    }
    let x = num(v)?;
    let mut out = vec![0.0; symbols.len().max(1)];
    out[0] = x;
    Ok(out)
}

fn read_num(py: Python<'_>, field: &str, v: &Bound<'_, PyAny>) -> PyResult<f64> {
    v.extract::<Num>()
        .map(|n| n.0)
        .map_err(|e| invalid(py, field, format!("{field}: {}", e.value(py))))
}

/// The moving-average window of `base`: 0 for "first", else an integer >= 1.
fn window(py: Python<'_>, base: &Bound<'_, PyAny>) -> PyResult<usize> {
    if let Ok(s) = base.cast::<PyString>() {
        if s.to_cow()? == "first" {
            return Ok(0);
        }
    }
    match base.extract::<Count>() {
        Ok(Count(k)) if k >= 1 => Ok(k as usize),
        _ => Err(invalid(
            py,
            "base",
            format!(
                "base: 'first' or a moving-average window >= 1, got {}",
                str_of(base)?
            ),
        )),
    }
}

/// Builds the strategy `obj` for a run on `acc` (whose symbols are `symbols`), with the run's
/// `inputs`; with no symbols (a check at construction), only what the parameters say is judged.
pub fn build(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    acc: Option<&Account>,
    symbols: &[String],
    inputs: Option<&StrategyInputs<'_>>,
) -> PyResult<BuiltIn> {
    match kind_of(obj)? {
        Kind::Grid => {
            let cfg = read::<GridArgs>(obj)?.config(py, symbols)?;
            match acc {
                Some(a) => Ok(BuiltIn::Grid(Box::new(
                    Grid::new(cfg, &a.instruments()[cfg.symbol]).py(py)?,
                ))),
                None => Ok(BuiltIn::Grid(Box::new(
                    Grid::new(
                        cfg,
                        &perpsim_engine::Instrument::plain_linear("X", 0.0, 0.0),
                    )
                    .py(py)?,
                ))),
            }
        }
        Kind::Rebalance => {
            let a = read::<RebalanceArgs>(obj)?;
            let val = a
                .target_value
                .as_ref()
                .map(|v| targets(py, "target_value", v, symbols))
                .transpose()?;
            let ratio = a
                .target_ratio
                .as_ref()
                .map(|v| targets(py, "target_ratio", v, symbols))
                .transpose()?;
            let r = Rebalance::from_options(val, ratio, a.adjust_ratio.0, a.limit_orders.0);
            Ok(BuiltIn::Rebalance(r.py(py)?))
        }
        Kind::Targets => {
            let a = read::<TargetsArgs>(obj)?;
            let targets: Vec<Vec<f64>> = match inputs.and_then(|i| i.targets.as_ref()) {
                Some(t) => t
                    .as_array()
                    .rows()
                    .into_iter()
                    .map(|r| r.to_vec())
                    .collect(),
                None => Vec::new(),
            };
            let times: Vec<i64> = match inputs.and_then(|i| i.target_times.as_ref()) {
                Some(t) => t.as_array().to_vec(),
                None => Vec::new(),
            };
            let t = TargetPositions::new(a.unit.0, times, targets).py(py)?;
            Ok(BuiltIn::Targets(t))
        }
        Kind::Deviation => {
            let a = read::<DeviationArgs>(obj)?;
            let stop = opt(a.stop_deviation);
            let d = IndexDeviation::new(
                symbols.len(),
                a.trade_value.0,
                a.step.0,
                a.min_trade_value.0,
                window(py, &a.base)?,
                stop.unwrap_or(f64::NAN),
                opt(a.reentry_deviation).or(stop).unwrap_or(f64::INFINITY),
            );
            d.validate().py(py)?;
            Ok(BuiltIn::Deviation(d))
        }
        Kind::Basis => {
            let a = read::<BasisArgs>(obj)?;
            let _ = &a.spot; // resolved by the caller (which data is the spot leg)
            let spot: Vec<f64> = inputs
                .and_then(|i| i.spot.as_ref())
                .map_or_else(Vec::new, |s| s.as_array().to_vec());
            let cfg = BasisConfig {
                spot,
                spot_fee: opt(a.spot_fee)
                    .or(inputs.and_then(|i| i.spot_fee))
                    .unwrap_or(perpsim_engine::strategy::basis::DEFAULT_SPOT_FEE),
                open_threshold: a.open_threshold.0,
                close_threshold: opt(a.close_threshold).unwrap_or(f64::NAN),
                annualized: a.annualized.0,
                hold_to_expiry: a.hold_to_expiry.0,
                size: BasisSize::from_options(opt(a.amount), opt(a.value), opt(a.fraction))
                    .py(py)?,
                initial_cash: inputs.and_then(|i| i.initial_cash).unwrap_or(0.0),
            };
            cfg.validate().py(py)?;
            Ok(BuiltIn::Basis(Box::new(Basis::new(cfg))))
        }
    }
}

/// Judges a strategy's parameters (the dataclasses call this at construction).
#[pyfunction]
pub fn check_strategy(py: Python<'_>, strategy: &Bound<'_, PyAny>) -> PyResult<()> {
    build(py, strategy, None, &[], None).map(|_| ())
}

/// The futures leverage of a basis trade unless told otherwise (the engine's rule).
#[pyfunction]
pub fn basis_default_leverage(inverse: bool) -> f64 {
    perpsim_engine::strategy::basis::default_leverage(inverse)
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
        d.set_item("spot_cash", b.cash())?;
        d.set_item("spot_coin", b.coin())?;
        d.set_item("held", b.held())?;
    }
    Ok(d)
}
