//! Ctrl-C during a long run: the engine runs on a thread of rayon's pool, the GIL released, while the
//! calling thread checks for a Python signal every 50 ms; a signal raises the engine's interrupt
//! flag (`perpsim_engine::control`), every running run stops at the end of its current step, and
//! the signal's exception (`KeyboardInterrupt`) is raised once the worker has returned — nothing
//! is left running and no partial result is returned.

use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

use perpsim_engine::control;
use pyo3::prelude::*;

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
