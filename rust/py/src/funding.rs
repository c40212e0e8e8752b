//! Funding rates from the premium index (`perpsim.data.funding_from_premium` calls this): the rule
//! lives in `perpsim_engine::market::premium`.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use perpsim_engine::market::premium::{funding_from_premium, funding_times, PremiumRule};
use perpsim_engine::market::Series;
use pyo3::prelude::*;

use crate::errors::{invalid, IntoPyResult};

type Rates<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
);

/// The rates at `times` (None: every `interval_ns` aligned to the epoch whose whole interval lies
/// within the samples' span)
/// from premium index samples; returns (times with a rate, rates, times without a sample).
#[pyfunction]
#[pyo3(signature = (ts, values, times, interval_ns, interest_rate, clamp, cap))]
#[allow(clippy::too_many_arguments)]
pub fn _funding_from_premium<'py>(
    py: Python<'py>,
    ts: PyReadonlyArray1<'_, i64>,
    values: PyReadonlyArray1<'_, f64>,
    times: Option<PyReadonlyArray1<'_, i64>>,
    interval_ns: i64,
    interest_rate: f64,
    clamp: f64,
    cap: f64,
) -> PyResult<Rates<'py>> {
    let err = |_| invalid(py, "premium", "arrays must be contiguous");
    let series = Series {
        ts: ts.as_slice().map_err(err)?,
        values: values.as_slice().map_err(err)?,
    };
    let own;
    let times: &[i64] = match &times {
        Some(t) => t.as_slice().map_err(err)?,
        None => {
            let (first, last) = match (series.ts.first(), series.ts.last()) {
                (Some(&a), Some(&b)) => (a, b),
                _ => return Err(invalid(py, "premium", "no premium index samples")),
            };
            // The funding times whose whole interval the samples cover: from the first interval
            // that starts at or after the first sample to the end of the last sample (a kline
            // covers one spacing from its open time).
            let n = series.ts.len();
            let spacing = if n > 1 { last - series.ts[n - 2] } else { 0 };
            own = funding_times(
                first.saturating_add(interval_ns.max(1) - 1),
                last.saturating_add(spacing),
                interval_ns,
            );
            &own
        }
    };
    let rule = PremiumRule {
        interest_8h: interest_rate,
        clamp_8h: clamp,
        cap,
    };
    let out = py
        .detach(|| funding_from_premium(&series, times, interval_ns, &rule))
        .py(py)?;
    Ok((
        out.times.into_pyarray(py),
        out.rates.into_pyarray(py),
        out.empty.into_pyarray(py),
    ))
}
