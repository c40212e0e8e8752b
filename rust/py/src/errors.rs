//! Maps engine errors to the Python exception classes defined in `perpsim.errors`.

use perpsim_engine::{ErrorKind, LedgerError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::interrupt::{message_of, or_interrupt};

static INVALID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UNKNOWN: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static REJECTED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INTERRUPTED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MEMORY: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Builds the Python exception for an engine error: `InvalidInputError` (a `ValueError`),
/// `UnknownSymbolError` (an `InvalidInputError`), `OrderRejectedError`, `RunInterruptedError` or
/// `OutOfMemoryError` (a `MemoryError`); each carries `.field`.
pub fn to_py(py: Python<'_>, e: LedgerError) -> PyErr {
    let (cell, name) = match e.kind {
        ErrorKind::InvalidInput => (&INVALID, "InvalidInputError"),
        ErrorKind::UnknownSymbol => (&UNKNOWN, "UnknownSymbolError"),
        ErrorKind::Rejected => (&REJECTED, "OrderRejectedError"),
        ErrorKind::Interrupted => (&INTERRUPTED, "RunInterruptedError"),
        ErrorKind::OutOfMemory => (&MEMORY, "OutOfMemoryError"),
    };
    match cell.import(py, "perpsim.errors", name) {
        Ok(cls) => match cls.call1((e.to_string(), e.field.as_str())) {
            Ok(obj) => PyErr::from_value(obj),
            Err(err) => err,
        },
        Err(err) => err,
    }
}

/// Bad input in `field`, as a Python `InvalidInputError`.
pub fn invalid(py: Python<'_>, field: &str, message: impl Into<String>) -> PyErr {
    to_py(py, LedgerError::invalid(field, message))
}

/// `e`, a failure to read `field`, as an `InvalidInputError` naming the field with `e`'s message
/// after `prefix`. What is no error of the value (`KeyboardInterrupt`: a Ctrl-C that came while
/// the field was read) passes unchanged, and so does a failure to read the message itself
/// (interrupt.rs).
pub fn invalid_from(py: Python<'_>, field: &str, e: PyErr, prefix: &str) -> PyErr {
    or_interrupt(py, e, |e| match message_of(py, &e) {
        Ok(msg) => invalid(py, field, format!("{prefix}{msg}")),
        Err(failed) => failed,
    })
}

/// Extension for engine results: converts the error to the matching Python exception.
pub trait IntoPyResult<T> {
    /// Converts `Err(LedgerError)` into the Python exception.
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, LedgerError> {
    #[inline]
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
