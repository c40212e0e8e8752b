//! `perpsim._core`: the thin PyO3 layer over `perpsim-engine`. It converts arguments, calls the
//! engine and maps its errors to the exception classes of `perpsim.errors`. A Rust panic surfaces
//! as `pyo3_runtime.PanicException`, never as an abort.

mod args;
mod calc;
mod columns;
mod convert;
mod errors;
mod exchange;
mod funding;
mod interrupt;
mod models;
mod montecarlo;
mod options;
mod pystrategy;
mod records;
mod resample;
mod stats;
mod strategies;

use perpsim_engine::{presets, Named};

/// An allocation that fails inside the extension does not abort the interpreter: the allocator
/// spends an emergency reserve and the run stops with `OutOfMemoryError` (see
/// `perpsim_engine::memory::guard`).
#[global_allocator]
static ALLOC: perpsim_engine::memory::guard::GuardedAlloc =
    perpsim_engine::memory::guard::GuardedAlloc;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// The fields of a contract preset as a dict (the input of `perpsim.Contract`).
#[pyfunction]
fn preset<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
    let i = presets::by_name(name).ok_or_else(|| {
        errors::invalid(
            py,
            "name",
            format!(
                "unknown preset {name:?}; known: {}",
                presets::NAMES.join(", ")
            ),
        )
    })?;
    let d = PyDict::new(py);
    d.set_item("symbol", &i.symbol)?;
    d.set_item("kind", i.kind.name())?;
    d.set_item("settle_asset", &i.settle_asset)?;
    d.set_item("contract_size", i.contract_size)?;
    d.set_item("tick_size", i.tick_size)?;
    d.set_item("step_size", i.step_size)?;
    d.set_item("min_qty", i.min_qty)?;
    d.set_item("min_notional", i.min_notional)?;
    d.set_item("maker_fee", i.maker_fee)?;
    d.set_item("taker_fee", i.taker_fee)?;
    d.set_item(
        "funding_interval_hours",
        i.funding_interval
            .map(|ns| ns as f64 / perpsim_engine::instrument::HOUR_NS as f64),
    )?;
    let tiers: Vec<(f64, f64, f64)> = i
        .brackets
        .tiers()
        .iter()
        .map(|t| (t.floor, t.max_leverage, t.mmr))
        .collect();
    d.set_item("brackets", tiers)?;
    d.set_item("allow_short", i.allow_short)?;
    d.set_item("funding_cap", i.funding_cap)?;
    d.set_item("clearance_fee", PyTuple::new(py, &i.clearance_fee)?)?;
    Ok(d)
}

/// The leverage an account uses for `contract` unless told otherwise (spot 1x; futures 20x capped
/// by the contract's maximum).
#[pyfunction]
fn default_leverage(py: Python<'_>, contract: &Bound<'_, PyAny>) -> PyResult<f64> {
    Ok(convert::contract(py, contract, None, None)?.default_leverage())
}

/// Names of the contract presets.
#[pyfunction]
fn preset_names() -> Vec<&'static str> {
    presets::NAMES.to_vec()
}

/// Panics on purpose: lets the test suite check that a Rust panic raises a Python exception
/// instead of aborting the interpreter.
#[pyfunction]
fn _panic_for_tests() {
    panic!("deliberate panic from perpsim._core._panic_for_tests");
}

/// Rust panics in this process so far (counted by a hook installed when the module loads, that
/// then reports them as before).
static PANICS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn count_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            report(info);
        }));
    });
}

/// The number of Rust panics in this process so far, caught or not (the test suite checks it
/// stays 0: no panic may reach the interpreter).
#[pyfunction]
fn _panic_count() -> u64 {
    PANICS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Called in a child process made by `fork` (registered with `os.register_at_fork`): parallel
/// runs in the child build their own thread pool (the parent's pool threads are not in it).
#[pyfunction]
fn _after_fork() {
    perpsim_engine::mc::forked();
}

/// The extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    count_panics();
    perpsim_engine::memory::guard::rearm();
    interrupt::load_numpy(m.py())?;
    m.add_function(wrap_pyfunction!(_panic_count, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork, m)?)?;
    m.add_class::<exchange::PyExchange>()?;
    m.add_class::<records::PyFill>()?;
    m.add_class::<records::PyPosition>()?;
    m.add_class::<records::PyAccountInfo>()?;
    m.add_function(wrap_pyfunction!(preset, m)?)?;
    m.add_function(wrap_pyfunction!(preset_names, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(montecarlo::_mc_run, m)?)?;
    m.add_function(wrap_pyfunction!(montecarlo::_mc_sweep, m)?)?;
    m.add_function(wrap_pyfunction!(montecarlo::_sweep_data, m)?)?;
    m.add_function(wrap_pyfunction!(montecarlo::_given_paths, m)?)?;
    m.add_function(wrap_pyfunction!(models::_mc_paths, m)?)?;
    m.add_function(wrap_pyfunction!(resample::_resample_trades, m)?)?;
    m.add_function(wrap_pyfunction!(stats::_curve_stats, m)?)?;
    m.add_function(wrap_pyfunction!(models::check_model, m)?)?;
    m.add_function(wrap_pyfunction!(strategies::check_strategy, m)?)?;
    m.add_function(wrap_pyfunction!(strategies::basis_default_leverage, m)?)?;
    m.add_function(wrap_pyfunction!(convert::check_contract, m)?)?;
    m.add_function(wrap_pyfunction!(convert::_ns_from_unit, m)?)?;
    m.add_function(wrap_pyfunction!(exchange::construct::check_fee_tiers, m)?)?;
    m.add_function(wrap_pyfunction!(calc::calc_grid_levels, m)?)?;
    m.add_function(wrap_pyfunction!(calc::calc_round_price, m)?)?;
    m.add_function(wrap_pyfunction!(calc::calc_floor_qty, m)?)?;
    m.add_function(wrap_pyfunction!(calc::calc_rebate_share, m)?)?;
    m.add_function(wrap_pyfunction!(calc::calc_liquidation_price, m)?)?;
    m.add_function(wrap_pyfunction!(calc::calc_funding, m)?)?;
    m.add_function(wrap_pyfunction!(calc::calc_premium, m)?)?;
    m.add_function(wrap_pyfunction!(funding::_funding_from_premium, m)?)?;
    m.add_function(wrap_pyfunction!(default_leverage, m)?)?;
    let fields = PyDict::new(m.py());
    for (name, f) in strategies::FIELDS.iter().chain(models::FIELDS.iter()) {
        fields.set_item(name, f.to_vec())?;
    }
    m.add("_FIELDS", fields)?;
    m.add("YEAR_NS", perpsim_engine::stats::YEAR_NS)?;
    m.add_function(wrap_pyfunction!(options::exchange_options, m)?)?;
    m.add("_SYMBOL_COLUMNS", columns::SYMBOL_COLUMNS.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
