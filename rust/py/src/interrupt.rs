//! Ctrl-C during a long run: the engine runs on a thread of rayon's pool, the GIL released, while the
//! calling thread checks for a Python signal every 50 ms; a signal raises the engine's interrupt
//! flag (`perpsim_engine::control`), every running run stops at the end of its current step, and
//! the signal's exception (`KeyboardInterrupt`) is raised once the worker has returned — nothing
//! is left running and no partial result is returned.
//!
//! A Ctrl-C that comes while arguments are read must not be lost either. `Display` on a Python
//! object (`to_string()`, `format!("{obj}")`) calls `str()`, and CPython's `str()` and `repr()`
//! first run any pending signal handler; when it raises, `Display` cannot return the error: PyO3
//! prints it as "Exception ignored", writes `<unprintable ... object>` instead and the call goes on
//! as if no Ctrl-C had come. So text is read here without `str()` ([`text`]), the failures of
//! `str()`/`repr()` are returned ([`str_of`], [`repr_of`], [`message_of`]), an error turned into an
//! `InvalidInputError` passes through when it is no error of the value ([`or_interrupt`], which
//! `crate::errors::invalid_from` uses), and
//! numpy's C API, which rust-numpy loads on first use by running Python code (and would panic if
//! that raised), is loaded when the module is imported ([`load_numpy`]).

use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

use numpy::PyArrayMethods;
use perpsim_engine::control;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// How often the calling thread looks for a signal.
const POLL: Duration = Duration::from_millis(50);

/// Runs `f` with the GIL released. With `watch`, on a worker thread while this thread watches
/// for signals (see the module doc); without (short runs), here.
pub fn detach_watched<T, F>(py: Python<'_>, watch: bool, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    control::lower(control::INTERRUPT);
    // Not watched: short runs, and runs started from a thread of rayon's pool (waiting there
    // for a job of the same pool could wait for ever).
    if !watch || rayon::current_thread_index().is_some() {
        return Ok(py.detach(f));
    }
    let mut signal: Option<PyErr> = None;
    let mut out: Option<std::thread::Result<T>> = None;
    let forked = perpsim_engine::mc::is_forked();
    py.detach(|| {
        let (tx, rx) = channel::<()>();
        let slot = &mut out;
        let job = move || {
            *slot = Some(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
            let _ = tx.send(());
        };
        let mut watch = || loop {
            match rx.recv_timeout(POLL) {
                Err(RecvTimeoutError::Timeout) if signal.is_none() => {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        signal = Some(e);
                        control::interrupt();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                _ => break,
            }
        };
        if forked {
            // A child made by fork has none of the global pool's threads: a plain thread.
            std::thread::scope(|s| {
                s.spawn(job);
                watch();
            })
        } else {
            // The work goes to a thread of rayon's pool (kept warm across runs: a fresh thread
            // would start with a fresh allocator arena and fault its memory in again).
            rayon::in_place_scope(|s| {
                s.spawn(move |_| job());
                watch();
            })
        }
    });
    let out = match out {
        Some(Ok(v)) => v,
        Some(Err(panic)) => std::panic::resume_unwind(panic),
        None => unreachable!("the scope waits for its job"),
    };
    control::lower(control::INTERRUPT);
    match signal {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Whether a run of `steps` steps is long enough to be watched (a thread costs tens of µs; a run
/// this short ends within a second anyway).
pub fn worth_watching(steps: usize) -> bool {
    steps >= 200_000
}

/// The text of a Python `str` (no `str()` call, so no signal check).
pub fn text(s: &Bound<'_, PyString>) -> String {
    s.to_string_lossy().into_owned()
}

/// `str(obj)`; a failure (a pending Ctrl-C) is returned.
pub fn str_of(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    obj.str().map(|s| text(&s))
}

/// `repr(obj)` for an error message; a failure (a pending Ctrl-C) is returned.
pub fn repr_of(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    obj.repr().map(|s| text(&s))
}

/// The message of `e` (its `str()`), for an error built from it; `Err` carries the failure of
/// `str()` itself (a pending Ctrl-C), which the caller returns instead.
pub fn message_of(py: Python<'_>, e: &PyErr) -> PyResult<String> {
    str_of(e.value(py).as_any())
}

/// Loads numpy's C API and rust-numpy's borrow checking (both run Python code the first time).
/// Called when the module is imported, after a signal check: a Ctrl-C pending there stops the
/// import with its own exception, and no later call can meet a first load (whose failure
/// rust-numpy turns into a panic).
pub fn load_numpy(py: Python<'_>) -> PyResult<()> {
    py.check_signals()?;
    py.import("numpy")?;
    let f = numpy::PyArray1::<f64>::zeros(py, 1, false);
    let i = numpy::PyArray1::<i64>::zeros(py, 1, false);
    drop((f.readonly(), i.readonly()));
    Ok(())
}

/// `e` itself when it is no error of the value (`KeyboardInterrupt`, `SystemExit`: a signal that
/// came while the value was read), else `bad(e)` (the error that names the field).
pub fn or_interrupt(py: Python<'_>, e: PyErr, bad: impl FnOnce(PyErr) -> PyErr) -> PyErr {
    if e.is_instance_of::<PyException>(py) {
        bad(e)
    } else {
        e
    }
}
