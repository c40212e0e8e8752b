//! Price models from their Python dataclasses (`perpsim.GBM`, `JumpDiffusion`, `StudentT`,
//! `Bootstrap`): fields read by name into typed structs, judged by the engine's
//! `ModelSpec::validate` (the dataclasses call [`check_model`] at construction). What a run adds
//! (start time, funding, a bootstrap's relative bars) comes as [`ModelInputs`].

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use perpsim_engine::mc::{BasketSpec, FundingModel, Model, ModelSpec, PriceModel, Rng, SpreadSpec};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

use crate::args::{class_of, read, Count, Num};
use crate::columns::Columns;
use crate::errors::{invalid, IntoPyResult};
use crate::interrupt::{or_interrupt, repr_of};

/// A duration (a `pandas.Timedelta` or a string it reads, such as "1h"; not a bare number) in ns.
#[derive(Clone, Copy, Debug)]
pub struct Interval(pub i64);

static PD_TIMEDELTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();

impl<'a, 'py> FromPyObject<'a, 'py> for Interval {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        if obj.is_instance_of::<pyo3::types::PyInt>()
            || obj.is_instance_of::<pyo3::types::PyFloat>()
        {
            // pandas would read a bare number as nanoseconds.
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "a duration with a unit (\"1h\", a pandas.Timedelta), not a bare number: {}",
                repr_of(&obj)?
            )));
        }
        let td = PD_TIMEDELTA.import(py, "pandas", "Timedelta")?;
        td.call1((obj,))
            .and_then(|t| t.getattr("value"))
            .and_then(|v| v.extract::<i64>())
            .map(Interval)
            .map_err(|e| {
                or_interrupt(py, e, |_| match repr_of(&obj) {
                    Ok(shown) => {
                        pyo3::exceptions::PyTypeError::new_err(format!("not a duration: {shown}"))
                    }
                    Err(failed) => failed,
                })
            })
    }
}

/// The fields every diffusion model has.
#[derive(FromPyObject)]
struct DiffusionArgs {
    volatility: Num,
    s0: Num,
    drift: Num,
    interval: Interval,
    substeps: Count,
}

/// `perpsim.JumpDiffusion`'s own fields.
#[derive(FromPyObject)]
struct JumpArgs {
    intensity: Num,
    jump_mean: Num,
    jump_std: Num,
}

/// `perpsim.StudentT`'s own field.
#[derive(FromPyObject)]
struct StudentArgs {
    dof: Num,
}

/// `perpsim.Bootstrap`'s fields (its bars arrive as relative bars in [`ModelInputs`]).
#[derive(FromPyObject)]
struct BootstrapArgs {
    block: Num,
    interval: Interval,
}

/// What a run adds to a model: `perpsim._protocol.ModelInputs`.
#[derive(FromPyObject)]
pub struct ModelInputs<'py> {
    start_ts: i64,
    funding_rate: Option<f64>,
    funding_history: Option<PyReadonlyArray1<'py, f64>>,
    funding_interval_ns: i64,
    relative_bars: Option<PyReadonlyArray2<'py, f64>>,
    s0: Option<f64>,
    expiry_ns: Option<i64>,
}

/// The field names read here per class (for the test that they match the dataclasses).
pub const FIELDS: [(&str, &[&str]); 4] = [
    (
        "GBM",
        &["volatility", "s0", "drift", "interval", "substeps"],
    ),
    (
        "JumpDiffusion",
        &[
            "volatility",
            "s0",
            "drift",
            "interval",
            "substeps",
            "intensity",
            "jump_mean",
            "jump_std",
        ],
    ),
    (
        "StudentT",
        &["volatility", "s0", "drift", "interval", "substeps", "dof"],
    ),
    ("Bootstrap", &["block", "s0"]),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gbm,
    Jump,
    Student,
    Bootstrap,
}

static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn kind_of(obj: &Bound<'_, PyAny>) -> PyResult<Kind> {
    const KINDS: [(&str, Kind); 4] = [
        ("GBM", Kind::Gbm),
        ("JumpDiffusion", Kind::Jump),
        ("StudentT", Kind::Student),
        ("Bootstrap", Kind::Bootstrap),
    ];
    let names = KINDS.map(|(n, _)| n);
    match class_of(obj, &CLASSES, "perpsim.pathmodels", &names)? {
        Some(k) => Ok(KINDS[k].1),
        None => Err(invalid(
            obj.py(),
            "model",
            "a perpsim GBM, JumpDiffusion, StudentT or Bootstrap",
        )),
    }
}

/// The model `obj` with what the run adds (`inputs`; None: a check at construction), checked.
pub fn model_of(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    inputs: Option<&ModelInputs<'_>>,
) -> PyResult<ModelSpec> {
    let kind = kind_of(obj)?;
    let (model, s0, interval, substeps) = if kind == Kind::Bootstrap {
        let a = read::<BootstrapArgs>(obj)?;
        let rel: Vec<[f64; 4]> = match inputs.and_then(|i| i.relative_bars.as_ref()) {
            Some(r) => {
                let r = r.as_array();
                if r.ncols() != 4 {
                    return Err(invalid(py, "bars", "relative bars have 4 columns"));
                }
                r.rows()
                    .into_iter()
                    .map(|x| [x[0], x[1], x[2], x[3]])
                    .collect()
            }
            None => vec![[1.0; 4]],
        };
        let s0 = inputs.and_then(|i| i.s0).unwrap_or(1.0);
        let model = PriceModel::Bootstrap {
            rel,
            block: a.block.0,
        };
        (model, s0, a.interval.0, 0)
    } else {
        let d = read::<DiffusionArgs>(obj)?;
        let (drift, vol) = (d.drift.0, d.volatility.0);
        let model = match kind {
            Kind::Gbm => PriceModel::Gbm { drift, vol },
            Kind::Jump => {
                let j = read::<JumpArgs>(obj)?;
                PriceModel::Merton {
                    drift,
                    vol,
                    intensity: j.intensity.0,
                    jump_mean: j.jump_mean.0,
                    jump_std: j.jump_std.0,
                }
            }
            _ => PriceModel::StudentT {
                drift,
                vol,
                dof: read::<StudentArgs>(obj)?.dof.0,
            },
        };
        let substeps = u32::try_from(d.substeps.0)
            .map_err(|_| invalid(py, "substeps", "substeps: too large"))?;
        (model, d.s0.0, d.interval.0, substeps)
    };
    let funding = match inputs {
        Some(ModelInputs {
            funding_rate: Some(r),
            ..
        }) => FundingModel::Constant(*r),
        Some(ModelInputs {
            funding_history: Some(h),
            ..
        }) => FundingModel::Resample(h.as_array().to_vec()),
        _ => FundingModel::None,
    };
    let spec = ModelSpec {
        model,
        s0,
        interval_ns: interval,
        start_ts: inputs.map_or(0, |i| i.start_ts),
        funding,
        funding_interval_ns: inputs.map_or(0, |i| i.funding_interval_ns),
        substeps,
    };
    spec.validate().py(py)?;
    Ok(spec)
}

/// Judges a model's parameters (the dataclasses call this at construction; a bootstrap passes
/// its relative bars in `inputs`).
/// A model read from Python: one symbol's, or a correlated basket's.
pub enum Built {
    /// One symbol.
    One(ModelSpec),
    /// A basket (`perpsim.Basket`).
    Basket(BasketSpec),
    /// A spot and a perpetual's premium (`perpsim.BasisSpread`).
    Spread(SpreadSpec),
}

impl Built {
    /// The engine's view of it.
    pub fn model(&self) -> Model<'_> {
        match self {
            Built::One(m) => Model::One(m),
            Built::Basket(b) => Model::Basket(b),
            Built::Spread(s) => Model::Spread(s),
        }
    }
}

static BASKET: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

#[derive(FromPyObject)]
struct SpreadArgs<'py> {
    spot: Bound<'py, PyAny>,
    premium: Num,
    reversion: Num,
    premium_vol: Num,
    premium0: Option<Num>,
}

/// `obj` as a model: a `perpsim.Basket` (its GBM legs, each read by [`model_of`] with the same
/// run `inputs`, and its correlation matrix), a `perpsim.BasisSpread` (its spot GBM read with the
/// run `inputs`, which fund the future), else one symbol's model.
pub fn built_of(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    inputs: Option<&ModelInputs<'_>>,
) -> PyResult<Built> {
    let which = class_of(
        obj,
        &BASKET,
        "perpsim.pathmodels",
        &["Basket", "BasisSpread"],
    )?;
    if which.is_none() {
        return model_of(py, obj, inputs).map(Built::One);
    }
    if which == Some(1) {
        let a = read::<SpreadArgs<'_>>(obj)?;
        let s = SpreadSpec {
            spot: model_of(py, &a.spot, inputs)?,
            premium: a.premium.0,
            reversion: a.reversion.0,
            premium_vol: a.premium_vol.0,
            premium0: a.premium0.map_or(a.premium.0, |p| p.0),
            expiry_ns: inputs.and_then(|i| i.expiry_ns),
        };
        s.validate().py(py)?;
        return Ok(Built::Spread(s));
    }
    let legs: Vec<Bound<'_, PyAny>> = obj.call_method0("_legs")?.extract()?;
    let specs = legs
        .iter()
        .map(|l| model_of(py, l, inputs))
        .collect::<PyResult<Vec<_>>>()?;
    let corr: PyReadonlyArray2<'_, f64> = obj
        .call_method0("_correlation")?
        .extract()
        .map_err(|_| invalid(py, "correlation", "a square matrix of numbers"))?;
    let c: Vec<f64> = corr.as_array().iter().copied().collect();
    BasketSpec::new(specs, c).py(py).map(Built::Basket)
}

#[pyfunction]
#[pyo3(signature = (model, inputs=None))]
pub fn check_model(
    py: Python<'_>,
    model: &Bound<'_, PyAny>,
    inputs: Option<ModelInputs<'_>>,
) -> PyResult<()> {
    built_of(py, model, inputs.as_ref()).map(|_| ())
}

/// The bars of paths `start..stop` of `model` (for inspection and tests): columns path, symbol
/// (the index in a basket; 0 for one symbol), timestamp, open, high, low, close, funding (NaN: no
/// funding time in the bar).
#[pyfunction]
pub fn _mc_paths<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    inputs: ModelInputs<'py>,
    n_bars: usize,
    seed: u64,
    start: u64,
    stop: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let built = built_of(py, model, Some(&inputs))?;
    let model = built.model();
    model.validate_horizon(n_bars).py(py)?;
    let k = model.symbols();
    let n = (stop.saturating_sub(start) as usize)
        .saturating_mul(n_bars)
        .saturating_mul(k);
    // Seven columns, each collected here and again in the DataFrame.
    let bytes = (n as u64).saturating_mul(7 * 8 * 2);
    perpsim_engine::memory::ensure("n_paths", "the generated paths", bytes).py(py)?;
    let mut out: [Vec<f64>; 5] = Default::default();
    let mut ts = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    let mut sym = Vec::with_capacity(n);
    let mut bufs = model.buffers(n_bars);
    for p in start..stop {
        model.generate(&mut Rng::for_path(seed, p), &mut bufs);
        if !model.in_range(&bufs) {
            return Err(invalid(
                py,
                "model",
                format!("path {p} left the range of meaningful prices (a factor 1e12 from the start price)"),
            ));
        }
        for (i, buf) in bufs.iter().enumerate() {
            ids.extend(std::iter::repeat_n(p, n_bars));
            sym.extend(std::iter::repeat_n(i as u64, n_bars));
            ts.extend_from_slice(&buf.ts);
            for (o, src) in
                out.iter_mut()
                    .zip([&buf.open, &buf.high, &buf.low, &buf.close, &buf.funding])
            {
                o.extend_from_slice(src);
            }
        }
    }
    let mut c = Columns::new(py);
    c.num("path", ids.into_iter())?;
    c.num("symbol", sym.into_iter())?;
    c.num("timestamp", ts.into_iter())?;
    let [o, h, l, cl, f] = out;
    c.num("open", o.into_iter())?;
    c.num("high", h.into_iter())?;
    c.num("low", l.into_iter())?;
    c.num("close", cl.into_iter())?;
    c.num("funding", f.into_iter())?;
    Ok(c.into_dict())
}
