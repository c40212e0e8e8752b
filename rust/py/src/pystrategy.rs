//! A strategy written in Python, run inside the engine's event loop like the built-in ones: the
//! loop runs with the GIL released and takes it only for the callbacks. Funding, settlement,
//! liquidation, recording and statistics are the engine's, the same code as for every run.
//!
//! - `on_fill(exchange, fill)`: after each fill, in order: as it happens along the path (its
//!   orders are live at once on the rest of the path, unless `same_bar` is off) and for fills
//!   made inside the callbacks (a marketable order);
//! - `on_bar(exchange, timestamp, bars)`: at each close, `bars` mapping each symbol with a bar at
//!   this step to its `(open, high, low, close)`; not once the account is blown.
//!
//! During a callback `exchange` (the `Exchange` running the backtest) acts on the running engine.
//! A callback that raises stops the run; the exception reaches the caller of the backtest.

use perpsim_engine::engine::Inputs;
use perpsim_engine::{Engine, Strategy};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::exchange::PyExchange;
use crate::records::PyFill;

/// The Python callbacks of one run (see the module doc).
pub struct PyStrategy<'i, 'a> {
    exchange: Py<PyExchange>,
    names: Vec<Py<PyString>>,
    inputs: &'i Inputs<'i, 'a>,
    /// Per symbol: the next bar not yet behind the current step.
    cursor: Vec<usize>,
    on_bar: Option<Py<PyAny>>,
    on_fill: Option<Py<PyAny>>,
    /// Fills handed to `on_fill` so far.
    delivered: usize,
    error: Option<PyErr>,
}

impl<'i, 'a> PyStrategy<'i, 'a> {
    /// The callbacks of a run of `exchange` (whose symbols are `names`) over `inputs`.
    pub fn new(
        exchange: &Bound<'_, PyExchange>,
        names: Vec<Py<PyString>>,
        inputs: &'i Inputs<'i, 'a>,
        on_bar: Option<Bound<'_, PyAny>>,
        on_fill: Option<Bound<'_, PyAny>>,
    ) -> Self {
        let delivered = exchange
            .borrow()
            .eng(exchange.py())
            .map_or(0, |e| e.fills().len());
        Self {
            exchange: exchange.clone().unbind(),
            cursor: vec![0; names.len()],
            names,
            inputs,
            on_bar: on_bar.map(Bound::unbind),
            on_fill: on_fill.map(Bound::unbind),
            delivered,
            error: None,
        }
    }

    /// The exception a callback raised (it stopped the run), if any.
    pub fn take_error(&mut self) -> Option<PyErr> {
        self.error.take()
    }

    /// Runs `f` with the GIL, `engine` lent to the exchange for its duration; an exception is
    /// kept (and stops the run).
    fn call<F>(&mut self, engine: &mut Engine, f: F)
    where
        F: FnOnce(Python<'_>, &Bound<'_, PyAny>, &mut Self) -> PyResult<()>,
    {
        if self.error.is_some() {
            return;
        }
        Python::attach(|py| {
            let ex = self.exchange.clone_ref(py).into_bound(py);
            let lent = ex.try_borrow_mut().map(|mut me| me.lend(Some(engine)));
            let r = match lent {
                Ok(()) => f(py, ex.as_any(), self),
                Err(e) => Err(e.into()),
            };
            if let Ok(mut me) = ex.try_borrow_mut() {
                me.lend(None);
            }
            if let Err(e) = r {
                self.error = Some(e);
            }
        });
    }

    /// Hands every fill not yet delivered to `on_fill`, in order (including those its own calls
    /// make).
    fn deliver(&mut self, engine: &mut Engine) {
        if self.on_fill.is_none() || self.delivered >= engine.fills().len() {
            return;
        }
        self.call(engine, |py, ex, me| {
            let cb = me.on_fill.as_ref().expect("checked").clone_ref(py);
            loop {
                // The engine is reached through the exchange while the callback may trade.
                let next = {
                    let x = ex.cast::<PyExchange>()?.borrow();
                    let fills = x.eng(py)?.fills();
                    fills
                        .get(me.delivered)
                        .map(|f| PyFill::from_row(me.names[f.symbol].clone_ref(py), f))
                };
                let Some(fill) = next else { return Ok(()) };
                me.delivered += 1;
                cb.call1(py, (ex, fill))?;
            }
        });
    }

    /// `bars` for `on_bar`: each symbol with a bar at `now`, to its (open, high, low, close).
    fn bars<'py>(&mut self, py: Python<'py>, now: i64) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, s) in self.inputs.symbols().iter().enumerate() {
            let b = &s.bars;
            let mut r = self.cursor[k];
            while r < b.len() && b.ts.at(r) < now {
                r += 1;
            }
            self.cursor[k] = r;
            if r < b.len() && b.ts.at(r) == now {
                let bar = (b.open[r], b.high[r], b.low[r], b.close[r]);
                d.set_item(self.names[k].bind(py), bar)?;
            }
        }
        Ok(d)
    }
}

impl Strategy for PyStrategy<'_, '_> {
    fn on_fill(&mut self, engine: &mut Engine, _fill: &perpsim_engine::FillRow) {
        self.deliver(engine);
    }

    fn on_close(&mut self, engine: &mut Engine) {
        self.deliver(engine);
        if self.on_bar.is_some() {
            let now = engine.now();
            self.call(engine, |py, ex, me| {
                let ts = crate::stats::timestamp(py, Some(now))?;
                let bars = me.bars(py, now)?;
                let cb = me.on_bar.as_ref().expect("checked").bind(py);
                cb.call1((ex, ts, bars))?;
                Ok(())
            });
        } else if engine.steps() % 8_192 == 0 && self.error.is_none() {
            // No Python runs at each close: look for Ctrl-C now and then.
            if let Err(e) = Python::attach(|py| py.check_signals()) {
                self.error = Some(e);
            }
        }
        self.deliver(engine);
    }

    fn keep_going(&self) -> bool {
        self.error.is_none()
    }
}
