//! Monte Carlo and sweeps from Python: a model dict → `ModelSpec`, strategy dicts → `BuiltIn`,
//! the runs in the engine with the GIL released, the per-path rows back as numpy columns.

use perpsim_engine::engine::Inputs;
use perpsim_engine::mc::{
    sweep_data, with_threads, Curves, FundingModel, McRun, ModelSpec, PriceModel,
};
use perpsim_engine::strategy::BuiltIn;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::columns::{inputs_of, Columns, SymbolColumns};
use crate::errors::{invalid, IntoPyResult};
use crate::exchange::PyExchange;
use crate::stats::stats_columns;
use crate::strategies::get;

/// The model described by `m` (kind, parameters, s0, interval_ns, start_ts, funding,
/// funding_interval_ns, substeps).
fn model_of(py: Python<'_>, m: &Bound<'_, PyDict>) -> PyResult<ModelSpec> {
    let kind: String = get(py, m, "kind")?;
    let model = match kind.as_str() {
        "gbm" => PriceModel::Gbm {
            drift: get(py, m, "drift")?,
            vol: get(py, m, "volatility")?,
        },
        "jump_diffusion" => PriceModel::Merton {
            drift: get(py, m, "drift")?,
            vol: get(py, m, "volatility")?,
            intensity: get(py, m, "intensity")?,
            jump_mean: get(py, m, "jump_mean")?,
            jump_std: get(py, m, "jump_std")?,
        },
        "student_t" => PriceModel::StudentT {
            drift: get(py, m, "drift")?,
            vol: get(py, m, "volatility")?,
            dof: get(py, m, "dof")?,
        },
        "bootstrap" => {
            let rel: Vec<[f64; 4]> = get(py, m, "relative_bars")?;
            PriceModel::Bootstrap {
                rel,
                block: get(py, m, "block")?,
            }
        }
        k => return Err(invalid(py, "model", format!("unknown model {k:?}"))),
    };
    let funding = match m.get_item("funding")? {
        None => FundingModel::None,
        Some(f) if f.is_none() => FundingModel::None,
        Some(f) => match f.extract::<f64>() {
            Ok(r) => FundingModel::Constant(r),
            Err(_) => FundingModel::Resample(
                f.extract()
                    .map_err(|_| invalid(py, "funding", "a rate or a list of rates"))?,
            ),
        },
    };
    let spec = ModelSpec {
        model,
        s0: get(py, m, "s0")?,
        interval_ns: get(py, m, "interval_ns")?,
        start_ts: get(py, m, "start_ts")?,
        funding,
        funding_interval_ns: get(py, m, "funding_interval_ns")?,
        substeps: get(py, m, "substeps")?,
    };
    spec.validate().py(py)?;
    Ok(spec)
}

fn strategies_of(
    py: Python<'_>,
    ex: &PyExchange,
    specs: &Bound<'_, PyList>,
) -> PyResult<Vec<BuiltIn>> {
    specs
        .iter()
        .map(|s| {
            let d = s.cast_into::<PyDict>()?;
            crate::strategies::build(py, &d, ex.engine(py)?.account(), &[])
        })
        .collect()
}

/// A checked run of `model` on `ex`'s account and matching options.
fn run_of<'a>(
    py: Python<'_>,
    ex: &'a PyExchange,
    model: &'a ModelSpec,
    n_bars: usize,
    seed: u64,
    curve_every: u64,
) -> PyResult<McRun<'a>> {
    let engine = ex.engine(py)?;
    let run = McRun {
        model,
        account: engine.account(),
        config: engine.config(),
        n_bars,
        seed,
        curve_every,
    };
    run.validate().py(py)?;
    Ok(run)
}

/// Paths `start..stop` of `model` through the strategy `spec` on `ex`'s account and options (the
/// exchange is copied, never changed). Returns (row columns, [(path, equity curve)]).
#[pyfunction]
#[pyo3(signature = (ex, model, spec, n_bars, seed, start, stop, threads=None, curve_every=0))]
#[allow(clippy::too_many_arguments)]
pub fn _mc_run<'py>(
    py: Python<'py>,
    ex: PyRef<'py, PyExchange>,
    model: &Bound<'py, PyDict>,
    spec: &Bound<'py, PyDict>,
    n_bars: usize,
    seed: u64,
    start: u64,
    stop: u64,
    threads: Option<usize>,
    curve_every: u64,
) -> PyResult<(Bound<'py, PyDict>, Curves)> {
    let model = model_of(py, model)?;
    let strat = crate::strategies::build(py, spec, ex.engine(py)?.account(), &[])?;
    let run = run_of(py, &ex, &model, n_bars, seed, curve_every)?;
    let (r, curves) = py
        .detach(|| with_threads(threads, || run.paths(&strat, start, stop)))
        .py(py)?
        .py(py)?;
    Ok((stats_columns(py, &r)?, curves))
}

/// A Monte Carlo sweep: every strategy spec on the same paths `start..stop`.
#[pyfunction]
#[pyo3(signature = (ex, model, specs, n_bars, seed, start, stop, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn _mc_sweep<'py>(
    py: Python<'py>,
    ex: PyRef<'py, PyExchange>,
    model: &Bound<'py, PyDict>,
    specs: &Bound<'py, PyList>,
    n_bars: usize,
    seed: u64,
    start: u64,
    stop: u64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let model = model_of(py, model)?;
    let strats = strategies_of(py, &ex, specs)?;
    let run = run_of(py, &ex, &model, n_bars, seed, 0)?;
    let r = py
        .detach(|| with_threads(threads, || run.sweep(&strats, start, stop)))
        .py(py)?
        .py(py)?;
    stats_columns(py, &r)
}

/// A sweep on historical data: every strategy spec over `data`, each a backtest keeping only its
/// figures (one row each, the same figures as `backtest(...).stats`).
#[pyfunction]
#[pyo3(signature = (ex, data, specs, threads=None))]
pub fn _sweep_data<'py>(
    py: Python<'py>,
    ex: PyRef<'py, PyExchange>,
    data: Vec<SymbolColumns<'py>>,
    specs: &Bound<'py, PyList>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let engine = ex.engine(py)?;
    let inputs = inputs_of(py, engine.account().len(), &data)?;
    let strats: Vec<BuiltIn> = specs
        .iter()
        .map(|s| {
            let d = s.cast_into::<PyDict>()?;
            crate::strategies::build(py, &d, engine.account(), &inputs)
        })
        .collect::<PyResult<_>>()?;
    let checked = Inputs::check(engine.account(), &inputs, &[]).py(py)?;
    let r = py
        .detach(|| {
            with_threads(threads, || {
                sweep_data(engine.account(), engine.config(), &checked, &strats)
            })
        })
        .py(py)?
        .py(py)?;
    stats_columns(py, &r)
}

/// The bars of paths `start..stop` of `model` (for inspection and tests): columns path,
/// timestamp, open, high, low, close, funding (NaN: no funding time in the bar).
#[pyfunction]
pub fn _mc_paths<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    n_bars: usize,
    seed: u64,
    start: u64,
    stop: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let model = model_of(py, model)?;
    let n = (stop.saturating_sub(start) as usize) * n_bars;
    let mut out: [Vec<f64>; 5] = Default::default();
    let mut ts = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    let mut buf = perpsim_engine::mc::PathBuf::new(n_bars);
    for p in start..stop {
        model.generate(&mut perpsim_engine::mc::Rng::for_path(seed, p), &mut buf);
        ids.extend(std::iter::repeat_n(p, n_bars));
        ts.extend_from_slice(&buf.ts);
        for (o, src) in
            out.iter_mut()
                .zip([&buf.open, &buf.high, &buf.low, &buf.close, &buf.funding])
        {
            o.extend_from_slice(src);
        }
    }
    let mut c = Columns::new(py);
    c.num("path", ids.into_iter())?;
    c.num("timestamp", ts.into_iter())?;
    let [o, h, l, cl, f] = out;
    c.num("open", o.into_iter())?;
    c.num("high", h.into_iter())?;
    c.num("low", l.into_iter())?;
    c.num("close", cl.into_iter())?;
    c.num("funding", f.into_iter())?;
    Ok(c.into_dict())
}
