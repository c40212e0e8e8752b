//! Conversions from Python values: contracts (`perpsim.Contract` or a plain symbol name) and
//! timestamps (int ns, `pandas.Timestamp`, `datetime`, `numpy.datetime64`, ISO strings).

use perpsim_engine::instrument::HOUR_NS;
use perpsim_engine::{Brackets, ContractKind, Instrument, Named};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyInt, PyString, PyType};

use crate::errors::{invalid, invalid_from};
use crate::interrupt::repr_of;

/// Reads a contract: a symbol name (the preset of that name when there is one, as
/// `perpsim.preset` knows them; otherwise a plain linear contract of size 1 without filters) or an
/// object with the fields of `perpsim.Contract`.
pub fn contract(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    maker_fee: Option<f64>,
    taker_fee: Option<f64>,
) -> PyResult<Instrument> {
    let mut inst = if let Ok(s) = obj.cast::<PyString>() {
        let name = s.to_cow()?;
        perpsim_engine::presets::by_name(&name)
            .unwrap_or_else(|| Instrument::plain_linear(&name, 0.0002, 0.0005))
    } else {
        let get = |name: &str| obj.getattr(name);
        let f = |name: &str| -> PyResult<f64> { crate::options::num(py, name, &get(name)?) };
        let kind = get("kind")?.extract::<Choice<ContractKind>>()?.0;
        let tiers: Vec<(f64, f64, f64)> = get("brackets")?.extract().map_err(|_| {
            invalid(
                py,
                "brackets",
                "must be a sequence of (floor, max_leverage, mmr)",
            )
        })?;
        let brackets = Brackets::new(&tiers).map_err(|e| crate::errors::to_py(py, e))?;
        let expiry = get("expiry")?;
        let expiry = if expiry.is_none() {
            None
        } else {
            Some(timestamp_ns(py, &expiry, "expiry")?)
        };
        let fi = get("funding_interval_hours")?;
        let funding_interval = if fi.is_none() {
            None
        } else {
            let h = crate::options::num(py, "funding_interval_hours", &fi)?;
            if !(h.is_finite() && h > 0.0) {
                return Err(invalid(
                    py,
                    "funding_interval_hours",
                    format!("must be a finite number > 0, got {h}"),
                ));
            }
            Some((h * HOUR_NS as f64).round() as i64)
        };
        Instrument {
            symbol: get("symbol")?
                .extract()
                .map_err(|_| invalid(py, "symbol", "must be a non-empty string"))?,
            kind,
            settle_asset: get("settle_asset")?
                .extract()
                .map_err(|_| invalid(py, "settle_asset", "must be a string"))?,
            contract_size: f("contract_size")?,
            tick_size: f("tick_size")?,
            step_size: f("step_size")?,
            min_qty: f("min_qty")?,
            min_notional: f("min_notional")?,
            maker_fee: f("maker_fee")?,
            taker_fee: f("taker_fee")?,
            expiry,
            funding_interval,
            brackets,
            allow_short: get("allow_short")?.is_truthy()?,
            funding_cap: {
                let c = get("funding_cap")?;
                if c.is_none() {
                    None
                } else {
                    Some(crate::options::num(py, "funding_cap", &c)?)
                }
            },
            clearance_fee: get("clearance_fee")?.extract().map_err(|_| {
                invalid(
                    py,
                    "clearance_fee",
                    "must be a rate or a sequence of rates, one per bracket tier",
                )
            })?,
        }
    };
    if let Some(m) = maker_fee {
        inst.maker_fee = m;
    }
    if let Some(t) = taker_fee {
        inst.taker_fee = t;
    }
    Ok(inst)
}

/// A named engine enum read from a Python string; anything else is an `InvalidInputError` naming
/// the option and listing the names (never a silent default).
#[derive(Clone, Copy, Debug)]
pub struct Choice<T>(pub T);

impl<'a, 'py, T: Named> FromPyObject<'a, 'py> for Choice<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        if let Ok(s) = obj.cast::<PyString>() {
            if let Some(v) = T::parse(&s.to_cow()?) {
                return Ok(Choice(v));
            }
        }
        let shown = repr_of(&obj)?;
        Err(invalid(
            py,
            T::FIELD,
            format!("must be one of {}, got {shown}", T::names()),
        ))
    }
}

/// Judges a contract's fields (`perpsim.Contract` calls this at construction).
#[pyfunction]
pub fn check_contract(py: Python<'_>, contract: &Bound<'_, PyAny>) -> PyResult<()> {
    let inst = self::contract(py, contract, None, None)?;
    inst.validate().map_err(|e| crate::errors::to_py(py, e))
}

static PD_TIMESTAMP: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Reads a timestamp as ns since the epoch (UTC). Ints are taken as ns; anything else goes through
/// `pandas.Timestamp` (naive times are UTC). NaT and unparsable values are bad input in `field`.
#[inline]
pub fn timestamp_ns(py: Python<'_>, obj: &Bound<'_, PyAny>, field: &str) -> PyResult<i64> {
    if obj.is_instance_of::<PyInt>() {
        return obj
            .extract::<i64>()
            .map_err(|_| invalid(py, field, "integer timestamp out of the int64 ns range"));
    }
    let cls = PD_TIMESTAMP.import(py, "pandas", "Timestamp")?;
    let ts = if obj.is_instance(cls)? {
        obj.clone()
    } else {
        match cls.call1((obj,)) {
            Ok(ts) => ts,
            Err(e) => return Err(invalid_from(py, field, e, "not a timestamp: ")),
        }
    };
    match ts.getattr("value").and_then(|v| v.extract::<i64>()) {
        Ok(v) if v != i64::MIN => Ok(v),
        _ => Err(invalid(py, field, "not a valid timestamp (NaT?)")),
    }
}

/// Times counted in units of `per` nanoseconds (a pandas index in seconds, milliseconds or
/// microseconds) as int64 nanoseconds, in one checked pass with the GIL released
/// ([`perpsim_engine::market::ns_from_unit`]); a time that does not fit is refused naming `field`.
#[pyfunction]
pub fn _ns_from_unit<'py>(
    py: Python<'py>,
    values: numpy::PyReadonlyArray1<'py, i64>,
    per: i64,
    field: &str,
) -> PyResult<Bound<'py, numpy::PyArray1<i64>>> {
    use crate::errors::IntoPyResult;
    use numpy::IntoPyArray;
    let v = values.as_array();
    let out = match v.as_slice() {
        Some(s) => py.detach(|| perpsim_engine::market::ns_from_unit(s, per, field)),
        None => perpsim_engine::market::ns_from_unit(&v.to_vec(), per, field),
    };
    Ok(out.py(py)?.into_pyarray(py))
}
