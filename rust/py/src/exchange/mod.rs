//! `perpsim._core.Exchange`: the step-driven account with its engine, for Python strategies and
//! embedding. Thin: it converts arguments, calls the engine and maps errors. Its methods are
//! split by concern, as polars splits a pyclass: [`construct`] (constructor, properties,
//! pickling), [`orders`] (trading), [`step`] (stepping and runs), [`export`] (records and
//! figures to Python).

pub mod construct;
mod export;
mod orders;
mod step;

use std::ptr::NonNull;

use perpsim_engine::{
    Account, Engine, LedgerError, NoStrategy, OrderKind, OrderRequest, PositionSide, WorkingType,
};
use pyo3::prelude::*;
use pyo3::types::PyString;
use serde::{Deserialize, Serialize};

use crate::errors::{invalid, to_py, IntoPyResult};
use crate::interrupt::{repr_of, text};
use crate::records::PyFill;

/// Everything an exchange holds, for pickling.
#[derive(Serialize, Deserialize)]
struct State {
    engine: Engine,
    last_ts: Option<i64>,
}

/// The engine lent to a strategy callback for the callback's duration (see [`PyExchange`]).
struct Lent(NonNull<Engine>);

// SAFETY: the pointer is set and cleared on the thread that runs the callback, with the GIL
// held, and only dereferenced there while the callback runs.
unsafe impl Send for Lent {}
unsafe impl Sync for Lent {}

/// A step-driven exchange account (see `perpsim.Exchange` for the documented Python API).
///
/// While a Python callback strategy runs (`_run_python`), the engine is out of `engine`, held by
/// the run's loop; during each callback the loop lends it through `lent`, so that the strategy's
/// calls on this object (orders, positions, records) act on the running engine.
#[pyclass(module = "perpsim._core", name = "Exchange", subclass)]
pub struct PyExchange {
    engine: Option<Engine>,
    lent: Option<Lent>,
    last_ts: Option<i64>,
    names: Vec<Py<PyString>>,
    pending: Vec<f64>,
}

impl PyExchange {
    fn from_parts(py: Python<'_>, engine: Engine, last_ts: Option<i64>) -> Self {
        let names = engine
            .account()
            .instruments()
            .iter()
            .map(|i| PyString::intern(py, &i.symbol).unbind())
            .collect();
        let pending = vec![f64::NAN; engine.account().len()];
        Self {
            engine: Some(engine),
            lent: None,
            last_ts,
            names,
            pending,
        }
    }

    fn busy(py: Python<'_>) -> PyErr {
        invalid(
            py,
            "exchange",
            "this exchange is running a backtest; use it from the strategy's callbacks",
        )
    }

    /// The engine: the exchange's own, or the one lent to the callback being run.
    pub(crate) fn eng(&self, py: Python<'_>) -> PyResult<&Engine> {
        match (&self.lent, &self.engine) {
            // SAFETY: see `Lent`: set only for the duration of a callback on this thread.
            (Some(l), _) => Ok(unsafe { l.0.as_ref() }),
            (None, Some(e)) => Ok(e),
            (None, None) => Err(Self::busy(py)),
        }
    }

    /// The engine, mutable (see [`PyExchange::eng`]).
    pub(crate) fn eng_mut(&mut self, py: Python<'_>) -> PyResult<&mut Engine> {
        match (&mut self.lent, &mut self.engine) {
            // SAFETY: see `Lent`; the callback's `&mut Engine` is not used while this runs.
            (Some(l), _) => Ok(unsafe { l.0.as_mut() }),
            (None, Some(e)) => Ok(e),
            (None, None) => Err(Self::busy(py)),
        }
    }

    /// The exchange's own engine, for whole runs and steps (refused inside a callback).
    fn own_engine(&mut self, py: Python<'_>) -> PyResult<&mut Engine> {
        if self.lent.is_some() {
            return Err(invalid(
                py,
                "exchange",
                "cannot step or start a run from inside a strategy callback",
            ));
        }
        self.engine.as_mut().ok_or_else(|| Self::busy(py))
    }

    /// Lends `engine` to callbacks (None: takes it back).
    pub(crate) fn lend(&mut self, engine: Option<&mut Engine>) {
        self.lent = engine.map(|e| Lent(NonNull::from(e)));
    }

    fn acc(&self, py: Python<'_>) -> PyResult<&Account> {
        Ok(self.eng(py)?.account())
    }

    /// The engine (for the Monte Carlo and sweep runners, which copy it and never change it).
    pub(crate) fn engine(&self, py: Python<'_>) -> PyResult<&Engine> {
        self.eng(py)
    }

    /// The symbols' names, in order.
    pub(crate) fn symbol_names(&self, py: Python<'_>) -> Vec<String> {
        self.names.iter().map(|n| text(n.bind(py))).collect()
    }

    /// Index of a symbol given as a Python str (identity first: literals are interned).
    #[inline]
    fn lookup(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<usize> {
        for (i, n) in self.names.iter().enumerate() {
            if key.is(n.bind(py)) {
                return Ok(i);
            }
        }
        for (i, n) in self.names.iter().enumerate() {
            if key.eq(n.bind(py))? {
                return Ok(i);
            }
        }
        let shown = repr_of(key)?;
        Err(to_py(
            py,
            LedgerError::unknown_symbol(shown.trim_matches('\'')),
        ))
    }

    /// The fill of order `id` among the fills after the first `before`, as a `Fill`.
    fn fill_result(&self, py: Python<'_>, id: u64, before: usize) -> PyResult<Option<PyFill>> {
        let fills = self.eng(py)?.fills();
        Ok(fills[before..]
            .iter()
            .rev()
            .find(|f| f.order_id == id)
            .map(|f| PyFill::from_row(self.names[f.symbol].clone_ref(py), f)))
    }

    fn trade(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        price: f64,
        qty: f64,
        sign: f64,
        side: PositionSide,
    ) -> PyResult<PyFill> {
        let i = self.lookup(py, symbol)?;
        if !(qty.is_finite() && qty > 0.0) {
            return Err(invalid(
                py,
                "qty",
                format!("must be a finite number > 0, got {qty}"),
            ));
        }
        let eng = self.eng_mut(py)?;
        let before = eng.fills().len();
        let id = eng
            .fill_at_side(i, side, sign * qty, price, true, None, &mut NoStrategy)
            .py(py)?;
        self.fill_result(py, id, before)?
            .ok_or_else(|| invalid(py, "qty", "the market order did not fill"))
    }

    fn check_time(&self, py: Python<'_>, ts: i64) -> PyResult<()> {
        if let Some(last) = self.last_ts {
            if ts < last {
                return Err(invalid(
                    py,
                    "timestamp",
                    format!("{ts} is earlier than the previous step {last}"),
                ));
            }
        }
        Ok(())
    }

    fn place(&mut self, py: Python<'_>, r: OrderRequest) -> PyResult<u64> {
        self.eng_mut(py)?.place(&r, &mut NoStrategy).py(py)
    }

    #[allow(clippy::too_many_arguments)]
    fn protect(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        side: PositionSide,
        trigger: f64,
        qty: Option<f64>,
        kind: OrderKind,
        working_type: WorkingType,
    ) -> PyResult<u64> {
        let i = self.lookup(py, symbol)?;
        self.eng_mut(py)?
            .protect_side(i, side, kind, trigger, qty, working_type, &mut NoStrategy)
            .py(py)
    }
}

fn price_ok(p: f64) -> bool {
    p.is_nan() || (p.is_finite() && p > 0.0)
}
