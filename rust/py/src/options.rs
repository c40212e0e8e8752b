//! The run options (the engine's [`Config`]) from keyword arguments, and strict readers of
//! numbers and flags. This is the one list of option names on the Python side: `Exchange`,
//! `backtest`, the configuration files and the reference read it from here
//! (`_core.exchange_options`); defaults are `Config::default()`'s.

use perpsim_engine::{Config, LiquidationClose, Named, PathModel, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyInt, PyString, PyType};

use crate::convert::Choice;
use crate::errors::{invalid, invalid_from, IntoPyResult};
use crate::interrupt::{or_interrupt, repr_of};

/// The option names, in the order users read them.
pub const OPTIONS: [&str; 12] = [
    "path",
    "slippage",
    "touch_fills",
    "same_bar",
    "max_participation",
    "liquidation_fee",
    "liquidation_close",
    "adl_move",
    "allow_negative_balance",
    "liquidation",
    "what_if",
    "record",
];

/// A number (int or float, not a bool) in `field` (the strict reading of [`crate::args::Num`]).
pub fn num(py: Python<'_>, field: &str, v: &Bound<'_, PyAny>) -> PyResult<f64> {
    v.extract::<crate::args::Num>()
        .map(|n| n.0)
        .map_err(|e| invalid_from(py, field, e, ""))
}

/// A flag (a bool) in `field`.
pub fn flag(py: Python<'_>, field: &str, v: &Bound<'_, PyAny>) -> PyResult<bool> {
    if v.is_instance_of::<PyBool>() {
        return v.extract();
    }
    let numpy_bool = v
        .get_type()
        .name()
        .is_ok_and(|n| n == "bool" || n == "bool_");
    if numpy_bool && !v.is_instance_of::<PyInt>() {
        if let Ok(b) = v.extract::<bool>() {
            return Ok(b);
        }
    }
    let shown = repr_of(v)?;
    Err(invalid(
        py,
        field,
        format!("must be True or False, got {shown}"),
    ))
}

static PD_TIMEDELTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The `record` option: `"steps"` (every step), an int k (every k-th step), a pandas frequency
/// or Timedelta (`"1h"`: the first step of each hour), `"fills"` or `"final"`.
fn record_of(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Record> {
    let bad = |why: String| invalid(py, "record", why);
    if v.is_instance_of::<PyBool>() {
        return Err(bad(format!("not a recording mode: {}", repr_of(v)?)));
    }
    if v.is_instance_of::<PyInt>() {
        let k: i64 = v.extract()?;
        return match u32::try_from(k) {
            Ok(k) if k >= 1 => Ok(Record::Every(k)),
            _ => Err(bad(format!(
                "every k steps needs an integer k >= 1, got {k}"
            ))),
        };
    }
    if let Ok(s) = v.cast::<PyString>() {
        match &*s.to_cow()? {
            "steps" => return Ok(Record::Every(1)),
            "fills" => return Ok(Record::Fills),
            "final" => return Ok(Record::Final),
            _ => {}
        }
    }
    let td = PD_TIMEDELTA.import(py, "pandas", "Timedelta")?;
    let ns = td
        .call1((v,))
        .and_then(|t| t.getattr("value"))
        .and_then(|x| x.extract::<i64>())
        .map_err(|e| {
            or_interrupt(py, e, |_| match repr_of(v) {
                Ok(shown) => bad(format!(
                    "'steps', an integer k, a frequency such as '1h', 'fills' or 'final'; \
                     got {shown}"
                )),
                Err(failed) => failed,
            })
        })?;
    if ns <= 0 {
        return Err(bad(format!(
            "the interval must be > 0, got {}",
            repr_of(v)?
        )));
    }
    Ok(Record::Interval(ns))
}

/// The name users give a recording mode.
fn record_name(py: Python<'_>, r: Record) -> PyResult<Py<PyAny>> {
    Ok(match r {
        Record::Every(1) => "steps".into_pyobject(py)?.into_any().unbind(),
        Record::Every(k) => k.into_pyobject(py)?.into_any().unbind(),
        Record::Fills => "fills".into_pyobject(py)?.into_any().unbind(),
        Record::Final => "final".into_pyobject(py)?.into_any().unbind(),
        Record::Interval(ns) => PD_TIMEDELTA
            .import(py, "pandas", "Timedelta")?
            .call1((ns,))?
            .unbind(),
    })
}

/// The options in `kw` over the defaults; an unknown name or a bad value is an error naming it.
pub fn config_of(py: Python<'_>, kw: Option<&Bound<'_, PyDict>>) -> PyResult<Config> {
    let mut c = Config::default();
    for (k, v) in kw.into_iter().flat_map(|d| d.iter()) {
        let key: String = k.extract()?;
        match key.as_str() {
            "path" => c.path = v.extract::<Choice<PathModel>>()?.0,
            "slippage" => c.slippage = num(py, "slippage", &v)?,
            "touch_fills" => c.touch_fills = flag(py, "touch_fills", &v)?,
            "same_bar" => c.same_bar = flag(py, "same_bar", &v)?,
            "max_participation" => c.max_participation = num(py, "max_participation", &v)?,
            "liquidation_fee" => c.liquidation_fee = num(py, "liquidation_fee", &v)?,
            "liquidation_close" => c.liquidation_close = v.extract::<Choice<LiquidationClose>>()?.0,
            "adl_move" => c.adl_move = num(py, "adl_move", &v)?,
            "allow_negative_balance" => {
                c.allow_negative_balance = flag(py, "allow_negative_balance", &v)?
            }
            "liquidation" => c.liquidation = flag(py, "liquidation", &v)?,
            "what_if" => c.what_if = flag(py, "what_if", &v)?,
            "record" => c.record = record_of(py, &v)?,
            other => {
                return Err(invalid(
                    py,
                    other,
                    format!(
                        "unknown option {other:?}; the options are {}",
                        OPTIONS.join(", ")
                    ),
                ))
            }
        }
    }
    c.validate().py(py)?;
    Ok(c)
}

/// The options of `c` as a dict, in [`OPTIONS`] order.
pub fn options_dict<'py>(py: Python<'py>, c: &Config) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("path", c.path.name())?;
    d.set_item("slippage", c.slippage)?;
    d.set_item("touch_fills", c.touch_fills)?;
    d.set_item("same_bar", c.same_bar)?;
    d.set_item("max_participation", c.max_participation)?;
    d.set_item("liquidation_fee", c.liquidation_fee)?;
    d.set_item("liquidation_close", c.liquidation_close.name())?;
    d.set_item("adl_move", c.adl_move)?;
    d.set_item("allow_negative_balance", c.allow_negative_balance)?;
    d.set_item("liquidation", c.liquidation)?;
    d.set_item("what_if", c.what_if)?;
    d.set_item("record", record_name(py, c.record)?)?;
    Ok(d)
}

/// The run options given in `options`, checked, over the defaults: a dict of every option. With
/// no argument, the defaults (and so the list of option names).
#[pyfunction]
#[pyo3(signature = (**options))]
pub fn exchange_options<'py>(
    py: Python<'py>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    options_dict(py, &config_of(py, options)?)
}
