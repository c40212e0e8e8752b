//! `Exchange` stepping and runs: `update` (ticks) and `step` (bars) one step at a time, whole
//! columnar runs with no strategy, a built-in strategy or a Python callback strategy (all through
//! the engine's one event loop, the GIL released), funding and settlement calls.

use perpsim_engine::engine::{run_checked, Inputs};
use perpsim_engine::market::BarSeries;
use perpsim_engine::{Bar, NoStrategy, Strategy};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::{price_ok, PyExchange};
use crate::columns::{inputs_of, SymbolColumns};
use crate::convert::timestamp_ns;
use crate::errors::{invalid, to_py, IntoPyResult};
use crate::interrupt::{detach_watched, worth_watching};
use crate::pystrategy::PyStrategy;
use crate::stats::stats_dict;
use crate::strategies::{build, StrategyInputs};

#[pymethods]
impl PyExchange {
    /// Marks every symbol from `prices` (a mapping symbol → price; NaN keeps the last price; a
    /// plain number for a one-symbol exchange) as a one-point path (resting orders and
    /// liquidations are checked at that price), and appends a row to the history.
    fn update(
        &mut self,
        py: Python<'_>,
        timestamp: &Bound<'_, PyAny>,
        prices: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ts = timestamp_ns(py, timestamp, "timestamp")?;
        self.check_time(py, ts)?;
        self.own_engine(py)?;
        self.pending.iter_mut().for_each(|p| *p = f64::NAN);
        let n = self.acc(py)?.len();
        let bad = |py: Python<'_>, sym: &str, p: f64| {
            invalid(
                py,
                "prices",
                format!("price of {sym} must be a finite number > 0 or NaN, got {p}"),
            )
        };
        if let Ok(d) = prices.cast::<PyDict>() {
            for (k, v) in d.iter() {
                let i = self.lookup(py, &k)?;
                let sym = self.acc(py)?.instruments()[i].symbol.clone();
                let p: f64 = v.extract().map_err(|_| {
                    invalid(py, "prices", format!("price of {sym} is not a number"))
                })?;
                if !price_ok(p) {
                    return Err(bad(py, &sym, p));
                }
                self.pending[i] = p;
            }
        } else if let Ok(p) = prices.extract::<f64>() {
            if n != 1 {
                return Err(invalid(py, "prices", "a plain number is only accepted for a one-symbol exchange; pass a mapping symbol -> price"));
            }
            if !price_ok(p) {
                return Err(bad(py, &self.acc(py)?.instruments()[0].symbol.clone(), p));
            }
            self.pending[0] = p;
        } else {
            let items = prices
                .call_method0("items")
                .map_err(|_| invalid(py, "prices", "must be a mapping symbol -> price"))?;
            for kv in items.try_iter()? {
                let (k, v): (Bound<'_, PyAny>, f64) = kv?
                    .extract()
                    .map_err(|_| invalid(py, "prices", "prices must be numbers"))?;
                let i = self.lookup(py, &k)?;
                if !price_ok(v) {
                    return Err(bad(py, &self.acc(py)?.instruments()[i].symbol.clone(), v));
                }
                self.pending[i] = v;
            }
        }
        self.last_ts = Some(ts);
        let eng = self.engine.as_mut().expect("checked above");
        eng.begin_step(ts, &mut NoStrategy);
        for (i, &p) in self.pending.iter().enumerate() {
            if !p.is_nan() {
                eng.bar(i, &Bar::tick(ts, p), &mut NoStrategy);
            }
        }
        eng.end_step(&mut NoStrategy);
        Ok(())
    }

    /// Runs one step: each symbol's bar `(open, high, low, close[, volume])` along the intrabar
    /// path (a symbol left out has no bar this step), then records a history row.
    fn step(
        &mut self,
        py: Python<'_>,
        timestamp: &Bound<'_, PyAny>,
        bars: &Bound<'_, PyDict>,
    ) -> PyResult<()> {
        let ts = timestamp_ns(py, timestamp, "timestamp")?;
        self.check_time(py, ts)?;
        self.own_engine(py)?;
        let mut parsed: Vec<(usize, Bar)> = Vec::with_capacity(bars.len());
        for (k, v) in bars.iter() {
            let i = self.lookup(py, &k)?;
            let sym = self.acc(py)?.instruments()[i].symbol.clone();
            let vals: Vec<f64> = v.extract().map_err(|_| {
                invalid(
                    py,
                    "bars",
                    format!("bar of {sym} must be (open, high, low, close[, volume])"),
                )
            })?;
            if !(4..=5).contains(&vals.len()) {
                return Err(invalid(
                    py,
                    "bars",
                    format!("bar of {sym} must be (open, high, low, close[, volume])"),
                ));
            }
            let mut bar = Bar::ohlc(ts, vals[0], vals[1], vals[2], vals[3]);
            if vals.len() == 5 {
                bar.volume = vals[4];
            }
            let t = [ts];
            let series = BarSeries::ohlc(&t, &vals[0..1], &vals[1..2], &vals[2..3], &vals[3..4]);
            series.validate().map_err(|mut e| {
                e.message = format!("bar of {sym}: {}", e.message);
                to_py(py, e)
            })?;
            parsed.push((i, bar));
        }
        self.last_ts = Some(ts);
        let eng = self.own_engine(py)?;
        eng.begin_step(ts, &mut NoStrategy);
        parsed.sort_by_key(|(i, _)| *i);
        for (i, bar) in &parsed {
            eng.bar(*i, bar, &mut NoStrategy);
        }
        eng.end_step(&mut NoStrategy);
        Ok(())
    }

    /// Runs whole columnar series (one `SymbolColumns` per symbol, in symbol order) with the GIL
    /// released; the arrays are borrowed, not copied. Returns the run's figures.
    fn _run<'py>(
        &mut self,
        py: Python<'py>,
        data: Vec<SymbolColumns<'py>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut s = NoStrategy;
        self.run_with(py, &data, &[], &mut s)?;
        stats_dict(py, &self.eng(py)?.stats(&s))
    }

    /// Runs whole columnar series with a built-in strategy (one of the `perpsim.Grid`, ...
    /// dataclasses) and what the run adds to it (`inputs`: a `perpsim._protocol.StrategyInputs`);
    /// returns (the strategy's own records, the run's figures).
    fn _run_strategy<'py>(
        &mut self,
        py: Python<'py>,
        data: Vec<SymbolColumns<'py>>,
        strategy: &Bound<'py, PyAny>,
        inputs: StrategyInputs<'py>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let symbols = self.symbol_names(py);
        let mut strat = build(py, strategy, Some(self.acc(py)?), &symbols, Some(&inputs))?;
        let clock: Vec<i64> = match &inputs.clock {
            Some(c) => c.as_array().to_vec(),
            None => Vec::new(),
        };
        self.run_with(py, &data, &clock, &mut strat)?;
        let eng = self.eng(py)?;
        let report = crate::strategies::report(py, &strat, eng.account())?;
        let stats = stats_dict(py, &eng.stats(&strat))?;
        PyTuple::new(py, [report.into_any(), stats.into_any()])
    }

    /// Runs whole columnar series with a Python callback strategy: `on_bar(exchange, timestamp,
    /// bars)` at each close, `on_fill(exchange, fill)` after each fill (as it happens along the
    /// path, and for fills made inside the callbacks), called with this exchange, which acts on
    /// the running engine. Returns the run's figures.
    #[pyo3(signature = (data, on_bar=None, on_fill=None))]
    fn _run_python<'py>(
        slf: &Bound<'py, Self>,
        data: Vec<SymbolColumns<'py>>,
        on_bar: Option<Bound<'py, PyAny>>,
        on_fill: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let (mut engine, last, names) = {
            let mut me = slf.borrow_mut();
            me.own_engine(py)?;
            let names: Vec<_> = me.names.iter().map(|n| n.clone_ref(py)).collect();
            (me.engine.take().expect("checked above"), me.last_ts, names)
        };
        let steps_before = engine.steps();
        // The engine goes back into the exchange whatever happens (errors, even panics).
        let res = catch_unwind(AssertUnwindSafe(|| {
            let inputs = inputs_of(py, engine.account().len(), &data)?;
            let inputs = Inputs::check(engine.account(), &inputs, &[]).py(py)?;
            check_start(py, last, &inputs)?;
            let mut strat = PyStrategy::new(slf, names, &inputs, on_bar, on_fill);
            let eng = &mut engine;
            let out = py.detach(|| run_checked(eng, &inputs, &mut strat));
            if let Some(err) = strat.take_error() {
                return Err(err);
            }
            out.py(py)?;
            stats_dict(py, &engine.stats(&strat))
        }));
        let mut me = slf.borrow_mut();
        me.lent = None;
        if engine.steps() > steps_before {
            me.last_ts = Some(engine.now());
        }
        me.engine = Some(engine);
        match res {
            Ok(r) => r,
            Err(_) => Err(PanicException::new_err(
                "internal error in the engine during a Python strategy run",
            )),
        }
    }

    /// The run's figures so far (no strategy: the account's own).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.eng(py)?.stats(&NoStrategy))
    }

    /// Applies funding on `symbol` at `rate` and `mark_price`; returns the amount received
    /// (negative when paid).
    fn apply_funding(
        &mut self,
        py: Python<'_>,
        symbol: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::args::arg::rate)] rate: f64,
        #[pyo3(from_py_with = crate::args::arg::mark_price)] mark_price: f64,
    ) -> PyResult<f64> {
        let i = self.lookup(py, symbol)?;
        let ts = self.last_ts.unwrap_or(0);
        self.eng_mut(py)?.funding(i, ts, rate, mark_price).py(py)
    }

    /// Delivery settlement of `symbol` at `price` (closes the position, expires its orders).
    fn settle(&mut self, py: Python<'_>, symbol: &Bound<'_, PyAny>, price: f64) -> PyResult<()> {
        let i = self.lookup(py, symbol)?;
        self.eng_mut(py)?.settle(i, price, &mut NoStrategy).py(py)
    }
}

/// A run must not start before the exchange's last step.
fn check_start(py: Python<'_>, last: Option<i64>, inputs: &Inputs<'_, '_>) -> PyResult<()> {
    match (last, inputs.first_ts()) {
        (Some(last), Some(first)) if first < last => Err(invalid(
            py,
            "timestamp",
            format!("{first} is earlier than the previous step {last}"),
        )),
        _ => Ok(()),
    }
}

impl PyExchange {
    /// Runs `data` (and the extra step times `clock`) with `strat`, the GIL released.
    fn run_with<S: Strategy + Send>(
        &mut self,
        py: Python<'_>,
        data: &[SymbolColumns<'_>],
        clock: &[i64],
        strat: &mut S,
    ) -> PyResult<()> {
        let last = self.last_ts;
        let engine = self.own_engine(py)?;
        let inputs = inputs_of(py, engine.account().len(), data)?;
        // The strategy here acts on the engine alone (a built-in one, or none): a fresh engine's
        // run checks its bars' rows as it goes (`Inputs::check_deferring`).
        let inputs = if engine.steps() == 0 {
            Inputs::check_deferring(engine.account(), &inputs, clock)
        } else {
            Inputs::check(engine.account(), &inputs, clock)
        }
        .py(py)?;
        check_start(py, last, &inputs)?;
        let watch = worth_watching(inputs.step_count_hint());
        detach_watched(py, watch, || run_checked(engine, &inputs, strat))?.py(py)?;
        if engine.steps() > 0 {
            self.last_ts = Some(engine.now());
        }
        Ok(())
    }
}
