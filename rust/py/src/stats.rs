//! The engine's run figures ([`RunStats`]) handed to Python: one run as a dict (floats, ints,
//! bools, UTC `pandas.Timestamp`s), many runs as columns (numpy arrays; times as datetime64[ns]).
//! The names and their order come from [`RunStats::fields`]: nothing is listed here.

use perpsim_engine::mc::PathStats;
use perpsim_engine::{RunStats, Stat};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

use crate::columns::Columns;

static PD_TIMESTAMP: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// A time (ns) as a UTC `pandas.Timestamp`, or None.
pub(crate) fn timestamp<'py>(py: Python<'py>, t: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
    match t {
        None => Ok(py.None().into_bound(py)),
        Some(ns) => {
            let cls = PD_TIMESTAMP.import(py, "pandas", "Timestamp")?;
            let kw = PyDict::new(py);
            kw.set_item("unit", "ns")?;
            kw.set_item("tz", "UTC")?;
            cls.call((ns,), Some(&kw))
        }
    }
}

/// One run's figures as a dict, in [`RunStats::fields`] order.
pub fn stats_dict<'py>(py: Python<'py>, s: &RunStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, v) in s.fields() {
        match v {
            Stat::F(x) => d.set_item(name, x)?,
            Stat::U(x) => d.set_item(name, x)?,
            Stat::B(x) => d.set_item(name, x)?,
            Stat::T(t) => d.set_item(name, timestamp(py, t)?)?,
        }
    }
    Ok(d)
}

/// Many runs' figures as columns: `path`, `set`, every figure, then `liquidation_step` (−1:
/// none). Every row has the fields of the first (one strategy kind per call).
pub fn stats_columns<'py>(py: Python<'py>, rows: &[PathStats]) -> PyResult<Bound<'py, PyDict>> {
    let mut c = Columns::new(py);
    c.num("path", rows.iter().map(|r| r.path))?;
    c.num("set", rows.iter().map(|r| r.set))?;
    let table: Vec<Vec<(&'static str, Stat)>> = rows.iter().map(|r| r.stats.fields()).collect();
    let names = table
        .first()
        .cloned()
        .unwrap_or_else(|| RunStats::default().fields());
    for (k, (name, kind)) in names.iter().enumerate() {
        let col = table.iter().map(|f| f[k].1);
        match kind {
            Stat::F(_) => c.num(
                name,
                col.map(|v| if let Stat::F(x) = v { x } else { f64::NAN }),
            )?,
            Stat::U(_) => c.num(name, col.map(|v| if let Stat::U(x) = v { x } else { 0 }))?,
            Stat::B(_) => c.num(name, col.map(|v| matches!(v, Stat::B(true))))?,
            // NaT (i64::MIN) for none; viewed as datetime64[ns] below.
            Stat::T(_) => c.num(
                name,
                col.map(|v| {
                    if let Stat::T(Some(t)) = v {
                        t
                    } else {
                        i64::MIN
                    }
                }),
            )?,
        }
    }
    c.num(
        "liquidation_step",
        rows.iter()
            .map(|r| r.stats.liquidation_step.map_or(-1, |s| s as i64)),
    )?;
    let d = c.into_dict();
    for (name, kind) in &names {
        if matches!(kind, Stat::T(_)) {
            let col = d.get_item(name)?.expect("just set");
            d.set_item(name, col.call_method1("view", ("datetime64[ns]",))?)?;
        }
    }
    Ok(d)
}

/// The run figures of a given equity curve (`values` at the ends of the steps `ts`, ns, from
/// `initial`) with the account's totals given: how a stitched curve (walk-forward's
/// out-of-sample windows) gets the same figures as a backtest, from the one statistics engine.
#[pyfunction]
#[pyo3(signature = (ts, values, initial, *, fills=0, volume=0.0, fees=0.0, funding=0.0, rebates=0.0, liquidated_at=None, liquidation_step=None))]
#[allow(clippy::too_many_arguments)]
pub fn _curve_stats<'py>(
    py: Python<'py>,
    ts: numpy::PyReadonlyArray1<'py, i64>,
    values: numpy::PyReadonlyArray1<'py, f64>,
    initial: f64,
    fills: u64,
    volume: f64,
    fees: f64,
    funding: f64,
    rebates: f64,
    liquidated_at: Option<i64>,
    liquidation_step: Option<u64>,
) -> PyResult<Bound<'py, PyDict>> {
    use crate::errors::IntoPyResult;
    use perpsim_engine::{CurveStats, LedgerError};
    let (ts, values) = (ts.as_slice()?, values.as_slice()?);
    if ts.len() != values.len() {
        return Err(LedgerError::invalid("values", "one value per time")).py(py);
    }
    if !(initial.is_finite() && initial > 0.0) {
        return Err(LedgerError::invalid("initial", "must be a positive number")).py(py);
    }
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(LedgerError::bad_row("values", k, "not a finite number")).py(py);
    }
    if let Some(k) = ts.windows(2).position(|w| w[1] <= w[0]) {
        return Err(LedgerError::bad_row("ts", k + 1, "times must increase")).py(py);
    }
    let mut c = CurveStats::new(initial);
    for (&t, &v) in ts.iter().zip(values) {
        c.push(t, v);
    }
    let totals = perpsim_engine::stats::Totals {
        fills,
        volume,
        fees,
        funding,
        rebates,
        liquidated_at,
        liquidation_step,
    };
    stats_dict(py, &RunStats::new(&c, &totals))
}
