//! Errors of the engine. Every error names the argument (field) it is about, so that the binding
//! layer can raise a Python exception that says which input was wrong.

use std::fmt;

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// An input value is invalid (NaN, infinite, negative, out of range): bad input.
    InvalidInput,
    /// A symbol is not part of the account.
    UnknownSymbol,
    /// The order was valid but the exchange would refuse it (filters, margin, spot short).
    Rejected,
    /// The run stopped before its end (a strategy callback failed, or the user interrupted it).
    Interrupted,
    /// What the run needs does not fit in the memory available (estimated before it starts, or an
    /// allocation that failed).
    OutOfMemory,
}

/// An engine error: its kind, the argument it is about and a readable message.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The argument or field the error is about (e.g. `"price"`, `"leverage"`, `"symbol"`).
    pub field: String,
    /// A readable explanation.
    pub message: String,
    /// For data errors: the first bad row (0-based).
    pub row: Option<usize>,
}

impl LedgerError {
    /// Bad input in `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::InvalidInput,
            field: field.to_string(),
            message: message.into(),
            row: None,
        }
    }

    /// Bad data in `column` at `row` (0-based): the first bad row.
    pub fn bad_row(column: &str, row: usize, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::InvalidInput,
            field: column.to_string(),
            message: format!("row {row}: {}", message.into()),
            row: Some(row),
        }
    }

    /// An unknown symbol.
    pub fn unknown_symbol(symbol: &str) -> Self {
        Self {
            kind: ErrorKind::UnknownSymbol,
            field: "symbol".to_string(),
            message: format!("unknown symbol {symbol:?}"),
            row: None,
        }
    }

    /// A run that stopped before its end, at `row` (the step it stopped after).
    pub fn interrupted(step: usize, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Interrupted,
            field: "run".to_string(),
            message: message.into(),
            row: Some(step),
        }
    }

    /// `bytes` for `what` do not fit (`available`: the bytes available, when known).
    pub fn out_of_memory(field: &str, what: &str, bytes: u64, available: Option<u64>) -> Self {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        let left = match available {
            Some(a) => format!(", {:.2} GiB available", gib(a)),
            None => String::new(),
        };
        Self {
            kind: ErrorKind::OutOfMemory,
            field: field.to_string(),
            message: format!("{what} needs {:.2} GiB{left}", gib(bytes)),
            row: None,
        }
    }

    /// An allocation failed during a run (after step `step`): the process ran out of memory.
    pub fn memory_exhausted(step: u64) -> Self {
        Self {
            kind: ErrorKind::OutOfMemory,
            field: "run".to_string(),
            message: format!(
                "the process ran out of memory at step {step}; record less (record=...), run fewer \
                 paths at once, or free memory"
            ),
            row: Some(step as usize),
        }
    }

    /// An order the exchange would reject, with the reason (e.g. `"insufficient margin"`).
    pub fn rejected(field: &str, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Rejected,
            field: field.to_string(),
            message: message.into(),
            row: None,
        }
    }
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for LedgerError {}

/// Checks that `value` is finite and > 0.
#[inline]
pub fn positive(field: &str, value: f64) -> Result<f64, LedgerError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(LedgerError::invalid(
            field,
            format!("must be a finite number > 0, got {value}"),
        ))
    }
}

/// Checks that `value` is finite.
#[inline]
pub fn finite(field: &str, value: f64) -> Result<f64, LedgerError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(LedgerError::invalid(
            field,
            format!("must be a finite number, got {value}"),
        ))
    }
}
