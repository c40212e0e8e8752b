//! Typed reading of Python configuration objects (the dataclasses `perpsim.Grid`, `perpsim.GBM`,
//! ...): a `#[derive(FromPyObject)]` struct per class reads its fields by name, with the strict
//! value types below; [`read`] turns any failure into an `InvalidInputError` that names the field.
//! The structs are the one declaration of the protocol on the Rust side; a test checks their
//! field names against the dataclasses' (`_core._fields`).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyType};

use crate::errors::{invalid, invalid_from};
use crate::interrupt::{message_of, or_interrupt, repr_of};

/// A number: an int or a float (Python or numpy), not a bool.
#[derive(Clone, Copy, Debug)]
pub struct Num(pub f64);

impl<'a, 'py> FromPyObject<'a, 'py> for Num {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyBool>() || obj.get_type().name()? == "bool" {
            return Err(got(&obj, "must be a number"));
        }
        obj.extract::<f64>()
            .map(Num)
            .map_err(|e| or_interrupt(obj.py(), e, |_| got(&obj, "must be a number")))
    }
}

/// A whole number ≥ 0: an int (Python or numpy), not a bool or a float.
#[derive(Clone, Copy, Debug)]
pub struct Count(pub u64);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let bad = || got(&obj, "must be an integer >= 0");
        if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyFloat>() {
            return Err(bad());
        }
        if !obj.is_instance_of::<PyInt>() && !obj.hasattr("__index__")? {
            return Err(bad());
        }
        obj.extract::<u64>()
            .map(Count)
            .map_err(|e| or_interrupt(obj.py(), e, |_| bad()))
    }
}

/// A flag: True or False (Python or numpy), nothing else.
#[derive(Clone, Copy, Debug)]
pub struct Flag(pub bool);

impl<'a, 'py> FromPyObject<'a, 'py> for Flag {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let is_bool = obj.is_instance_of::<PyBool>()
            || (obj.get_type().name()? == "bool" && !obj.is_instance_of::<PyInt>());
        if is_bool {
            return obj.extract::<bool>().map(Flag);
        }
        Err(got(&obj, "must be True or False"))
    }
}

/// A `TypeError` "`what`, got `repr(obj)`" (or the failure of `repr`: a pending Ctrl-C).
fn got(obj: &Borrowed<'_, '_, PyAny>, what: &str) -> PyErr {
    match repr_of(obj) {
        Ok(shown) => PyTypeError::new_err(format!("{what}, got {shown}")),
        Err(e) => e,
    }
}

/// Reads `T` from `obj`; a field that cannot be read is an `InvalidInputError` naming it (a
/// `perpsim` error raised for the field, such as an unknown choice, passes through unchanged).
pub fn read<'py, T>(obj: &Bound<'py, PyAny>) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
{
    obj.extract::<T>().map_err(|e| field_error(obj.py(), e))
}

static PERPSIM_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn field_error(py: Python<'_>, e: PyErr) -> PyErr {
    let msg = match message_of(py, &e) {
        Ok(msg) => msg,
        Err(failed) => return failed,
    };
    let Some(path) = msg.strip_prefix("failed to extract field ") else {
        return e;
    };
    let field = path.rsplit('.').next().unwrap_or(path).to_string();
    match e.cause(py) {
        Some(cause) => {
            let ours = PERPSIM_ERROR.import(py, "perpsim.errors", "PerpsimError");
            // Ours passes unchanged (and a KeyboardInterrupt: `invalid_from`).
            if ours.is_ok_and(|t| cause.is_instance(py, t)) {
                return cause;
            }
            invalid_from(py, &field, cause, "")
        }
        None => invalid(py, &field, "cannot be read"),
    }
}

/// Which of the classes `names` of module `module` `obj` is an instance of (the classes are looked
/// up once and kept in `cache`); `None` for none of them.
pub fn class_of(
    obj: &Bound<'_, PyAny>,
    cache: &'static PyOnceLock<Vec<Py<PyType>>>,
    module: &str,
    names: &[&str],
) -> PyResult<Option<usize>> {
    let py = obj.py();
    let classes = cache.get_or_try_init(py, || -> PyResult<_> {
        let m = py.import(module)?;
        names
            .iter()
            .map(|n| Ok(m.getattr(*n)?.cast_into::<PyType>()?.unbind()))
            .collect()
    })?;
    for (k, cls) in classes.iter().enumerate() {
        if obj.is_instance(cls.bind(py))? {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

/// Method arguments read strictly, an `InvalidInputError` naming the argument when they cannot
/// be (PyO3 would raise a bare `TypeError`); used as `#[pyo3(from_py_with = arg::qty)]`.
pub mod arg {
    use super::Count;
    use crate::errors::invalid_from;
    use pyo3::prelude::*;

    fn num(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<f64> {
        crate::options::num(obj.py(), field, obj)
    }

    fn opt_num(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Option<f64>> {
        if obj.is_none() {
            Ok(None)
        } else {
            num(obj, field).map(Some)
        }
    }

    macro_rules! numbers {
        ($($f:ident),*) => {$(
            #[doc = concat!("The `", stringify!($f), "` argument: a number.")]
            pub fn $f(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
                num(obj, stringify!($f))
            }
        )*};
    }

    macro_rules! optional_numbers {
        ($($f:ident => $name:literal),*) => {$(
            #[doc = concat!("The optional `", $name, "` argument: a number or None.")]
            pub fn $f(obj: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
                opt_num(obj, $name)
            }
        )*};
    }

    numbers!(price, qty, trigger, callback, rate, mark_price);
    optional_numbers!(opt_price => "price", opt_qty => "qty", opt_activation => "activation");

    /// The `order_id` argument: a whole number >= 0.
    pub fn order_id(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
        obj.extract::<Count>()
            .map(|c| c.0)
            .map_err(|e| invalid_from(obj.py(), "order_id", e, ""))
    }
}
