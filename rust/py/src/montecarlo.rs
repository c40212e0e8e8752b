//! Monte Carlo and sweeps from Python: a model and built-in strategies read from their dataclasses
//! (`crate::models`, `crate::strategies`), the runs in the engine with the GIL released, one row of
//! the engine's run figures per path or set (`crate::stats`).

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use perpsim_engine::engine::Inputs;
use perpsim_engine::mc::{run_given, sweep_data, with_threads, Curves, GivenPaths, McRun};

use crate::interrupt::detach_watched;
use perpsim_engine::strategy::BuiltIn;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::columns::{inputs_of, SymbolColumns};
use crate::errors::IntoPyResult;
use crate::exchange::PyExchange;
use crate::models::{built_of, Built, ModelInputs};
use crate::stats::stats_columns;
use crate::strategies::{build, StrategyInputs};

/// Each strategy of `strategies` built for `ex`'s account (a sweep's parameter sets).
fn strategies_of(
    py: Python<'_>,
    ex: &PyExchange,
    strategies: &Bound<'_, PyList>,
    inputs: Option<&StrategyInputs<'_>>,
) -> PyResult<Vec<BuiltIn>> {
    let acc = ex.engine(py)?.account();
    let symbols = ex.symbol_names(py);
    strategies
        .iter()
        .map(|s| build(py, &s, Some(acc), &symbols, inputs))
        .collect()
}

/// A checked run of `model` on `ex`'s account and matching options.
fn run_of<'a>(
    py: Python<'_>,
    ex: &'a PyExchange,
    model: &'a Built,
    n_bars: usize,
    seed: u64,
    curve_every: u64,
) -> PyResult<McRun<'a>> {
    let engine = ex.engine(py)?;
    let run = McRun {
        model: model.model(),
        account: engine.account(),
        config: engine.config(),
        n_bars,
        seed,
        curve_every,
    };
    run.validate().py(py)?;
    Ok(run)
}

/// Paths `start..stop` of `model` through `strategy` on `ex`'s account and options (the exchange
/// is copied, never changed). Returns (the run figures' columns, [(path, equity curve)]). With
/// `total`, first checks that a whole run of that many paths fits in memory.
#[pyfunction]
#[pyo3(signature = (ex, model, inputs, strategy, *, n_bars, seed, start, stop, threads=None, curve_every=0, total=None, strategy_inputs=None))]
#[allow(clippy::too_many_arguments)]
pub fn _mc_run<'py>(
    py: Python<'py>,
    ex: PyRef<'py, PyExchange>,
    model: &Bound<'py, PyAny>,
    inputs: ModelInputs<'py>,
    strategy: &Bound<'py, PyAny>,
    n_bars: usize,
    seed: u64,
    start: u64,
    stop: u64,
    threads: Option<usize>,
    curve_every: u64,
    total: Option<u64>,
    strategy_inputs: Option<StrategyInputs<'py>>,
) -> PyResult<(Bound<'py, PyDict>, Curves)> {
    let model = built_of(py, model, Some(&inputs))?;
    let symbols = ex.symbol_names(py);
    let acc = Some(ex.engine(py)?.account());
    let strat = build(py, strategy, acc, &symbols, strategy_inputs.as_ref())?;
    let run = run_of(py, &ex, &model, n_bars, seed, curve_every)?;
    run.model.check_strategy(&strat).py(py)?;
    if let Some(n) = total {
        let cores = perpsim_engine::machine::cores();
        run.check_memory(n, 1, threads.unwrap_or(cores)).py(py)?;
    }
    let (r, curves) = detach_watched(py, true, || {
        with_threads(threads, || run.paths(&strat, start, stop))
    })?
    .py(py)?
    .py(py)?;
    Ok((stats_columns(py, &r)?, curves))
}

/// A Monte Carlo sweep: every strategy of `strategies` on the same paths `start..stop`.
#[pyfunction]
#[pyo3(signature = (ex, model, inputs, strategies, *, n_bars, seed, start, stop, threads=None, strategy_inputs=None))]
#[allow(clippy::too_many_arguments)]
pub fn _mc_sweep<'py>(
    py: Python<'py>,
    ex: PyRef<'py, PyExchange>,
    model: &Bound<'py, PyAny>,
    inputs: ModelInputs<'py>,
    strategies: &Bound<'py, PyList>,
    n_bars: usize,
    seed: u64,
    start: u64,
    stop: u64,
    threads: Option<usize>,
    strategy_inputs: Option<StrategyInputs<'py>>,
) -> PyResult<Bound<'py, PyDict>> {
    let model = built_of(py, model, Some(&inputs))?;
    let strats = strategies_of(py, &ex, strategies, strategy_inputs.as_ref())?;
    let run = run_of(py, &ex, &model, n_bars, seed, 0)?;
    for s in &strats {
        run.model.check_strategy(s).py(py)?;
    }
    let r = detach_watched(py, true, || {
        with_threads(threads, || run.sweep(&strats, start, stop))
    })?
    .py(py)?
    .py(py)?;
    stats_columns(py, &r)
}

/// A sweep on historical data: every strategy of `strategies` over `data`, each a backtest
/// keeping only its figures (one row each, the same figures as `backtest(...).stats`).
#[pyfunction]
#[pyo3(signature = (ex, data, strategies, inputs, *, threads=None))]
pub fn _sweep_data<'py>(
    py: Python<'py>,
    ex: PyRef<'py, PyExchange>,
    data: Vec<SymbolColumns<'py>>,
    strategies: &Bound<'py, PyList>,
    inputs: StrategyInputs<'py>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let engine = ex.engine(py)?;
    let columns = inputs_of(py, engine.account().len(), &data)?;
    let strats = strategies_of(py, &ex, strategies, Some(&inputs))?;
    // One set is one backtest: its rows are checked as it runs, as `backtest`'s are
    // (`Inputs::check_deferring`). Several sets share one check before they start.
    let checked = if strats.len() == 1 {
        Inputs::check_deferring(engine.account(), &columns, &[])
    } else {
        Inputs::check(engine.account(), &columns, &[])
    }
    .py(py)?;
    let run = || sweep_data(engine.account(), engine.config(), &checked, &strats);
    let r = if strats.len() == 1 {
        detach_watched(py, true, run)?.py(py)? // here, as a backtest runs: no pool to wake
    } else {
        detach_watched(py, true, || with_threads(threads, run))?
            .py(py)?
            .py(py)?
    };
    stats_columns(py, &r)
}

/// Given paths (`perpsim.run_paths`): every strategy of `strategies` on each path of the
/// (paths × bars) C-contiguous arrays, borrowed without a copy, the GIL released; one row of the
/// run figures per strategy and path.
#[pyfunction]
#[pyo3(signature = (ex, strategies, ts, open, high, low, close, *, funding_ts=None, funding_rate=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn _given_paths<'py>(
    py: Python<'py>,
    ex: PyRef<'py, PyExchange>,
    strategies: &Bound<'py, PyList>,
    ts: PyReadonlyArray1<'py, i64>,
    open: PyReadonlyArray2<'py, f64>,
    high: PyReadonlyArray2<'py, f64>,
    low: PyReadonlyArray2<'py, f64>,
    close: PyReadonlyArray2<'py, f64>,
    funding_ts: Option<PyReadonlyArray1<'py, i64>>,
    funding_rate: Option<PyReadonlyArray1<'py, f64>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let strats = strategies_of(py, &ex, strategies, None)?;
    let engine = ex.engine(py)?;
    fn slice<'a>(
        py: Python<'_>,
        a: &'a PyReadonlyArray2<'_, f64>,
        name: &str,
    ) -> PyResult<&'a [f64]> {
        a.as_slice()
            .map_err(|_| crate::errors::invalid(py, name, "must be a C-contiguous float64 array"))
    }
    let funding = match (&funding_ts, &funding_rate) {
        (Some(t), Some(r)) => Some(perpsim_engine::market::Series {
            ts: t.as_slice()?,
            values: r.as_slice()?,
        }),
        _ => None,
    };
    if let Some(f) = funding {
        f.validate("funding_rate").py(py)?;
    }
    let paths = GivenPaths {
        ts: ts.as_slice()?,
        open: slice(py, &open, "open")?,
        high: slice(py, &high, "high")?,
        low: slice(py, &low, "low")?,
        close: slice(py, &close, "close")?,
        funding,
    };
    let rows = detach_watched(py, true, || {
        with_threads(threads, || {
            run_given(engine.account(), engine.config(), &paths, &strats)
        })
    })?
    .py(py)?
    .py(py)?;
    stats_columns(py, &rows)
}
