//! Robustness of one run from Python (`perpsim.robustness`): its closed trades resampled in the
//! engine (`perpsim_engine::mc::resample_trades`), the GIL released, one row per sequence.

use numpy::PyReadonlyArray1;
use perpsim_engine::mc::{resample_trades, with_threads, Resampling};
use perpsim_engine::LedgerError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::columns::Columns;
use crate::errors::IntoPyResult;

/// `n` sequences of the trades' net PnLs `pnl` (`how`: "shuffle", "bootstrap" or "as_run"), each from
/// `initial`; ruin at an equity ≤ `ruin_level`. Columns final_equity, max_drawdown, min_equity,
/// ruined.
#[pyfunction]
#[pyo3(signature = (pnl, initial, n, seed, how, ruin_level, *, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn _resample_trades<'py>(
    py: Python<'py>,
    pnl: PyReadonlyArray1<'py, f64>,
    initial: f64,
    n: usize,
    seed: u64,
    how: &str,
    ruin_level: f64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let how = match how {
        "shuffle" => Resampling::Shuffle,
        "bootstrap" => Resampling::Bootstrap,
        "as_run" => Resampling::AsRun,
        _ => {
            return Err(LedgerError::invalid(
                "how",
                "\"shuffle\", \"bootstrap\" or \"as_run\"",
            ))
            .py(py);
        }
    };
    let pnl = pnl.as_slice()?;
    let rows = py
        .detach(|| {
            with_threads(threads, || {
                resample_trades(pnl, initial, n, seed, how, ruin_level)
            })
        })
        .py(py)?
        .py(py)?;
    let mut c = Columns::new(py);
    c.num("final_equity", rows.iter().map(|r| r.final_equity))?;
    c.num("max_drawdown", rows.iter().map(|r| r.max_drawdown))?;
    c.num("min_equity", rows.iter().map(|r| r.min_equity))?;
    c.num("ruined", rows.iter().map(|r| r.ruined))?;
    Ok(c.into_dict())
}
